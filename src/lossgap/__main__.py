"""``python -m lossgap``: the ``lossgap`` command, also what ``torchrun -m lossgap train ...`` starts."""

from lossgap.cli.app import main

if __name__ == "__main__":
    main()
