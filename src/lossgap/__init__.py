"""lossgap: why does my LSTM's accuracy plateau while the loss keeps falling?"""
__version__ = "0.1.0"
