"""The model families ``--model`` chooses from. Adding one is a module with its class and a line here.

Classes are named, not imported, so reading the list (the CLI's help, a config's validation) costs no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

#: ``--model`` name -> "module:Class". The class takes the recurrent classifiers' arguments (see
#: :class:`~lossgap.model.recurrent.RecurrentClassifier`) and may add its own (``fcn_width``).
MODELS = {
    "lstm": "lossgap.model.lstm:LSTMClassifier",
    "gru": "lossgap.model.gru:GRUClassifier",
    "lstm-fcn": "lossgap.model.lstm_fcn:LSTMFCNClassifier",
}


def model_class(kind: str) -> Any:
    """The classifier class registered as ``kind`` (KeyError for an unknown name)."""
    module, name = MODELS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def build_model(config: Any, *, num_features: int, num_classes: int, train_max_length: int) -> Any:
    """The classifier ``config`` (a :class:`~lossgap.model.config.ModelConfig`) describes, for this data.

    ``patch_length="auto"`` is resolved from ``train_max_length``, the train split's longest sequence (never
    val or test, and not a file's padded width); ``readout="auto"`` then from the patch length.
    """
    from lossgap.model.recurrent import auto_patch_length, auto_readout

    patch_length = config.patch_length
    if patch_length == "auto":
        patch_length = auto_patch_length(int(train_max_length))
    readout = config.readout if config.readout != "auto" else auto_readout(patch_length)
    arguments = {"input_size": num_features, "hidden_size": config.hidden_size, "num_classes": num_classes,
                 "num_layers": config.num_layers, "dropout": config.dropout, "bidirectional": config.bidirectional,
                 "readout": readout, "patch_length": patch_length}
    if config.kind == "lstm-fcn":
        arguments["fcn_width"] = config.fcn_width
    return model_class(config.kind)(**arguments)


def model_from_hyperparameters(hyperparameters: dict) -> Any:
    """Rebuild a classifier from its ``hyperparameters()`` (as checkpoints store them); checkpoints from
    before model families were added hold no ``kind`` and are LSTMs."""
    arguments = dict(hyperparameters)
    return model_class(arguments.pop("kind", "lstm"))(**arguments)
