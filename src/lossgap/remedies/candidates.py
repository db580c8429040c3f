"""Which remedies to try for a run: those of its verdicts (with the run's own numbers) plus the article's list."""

from __future__ import annotations

from dataclasses import replace

from lossgap.diagnosis.headline import MIN_JUDGED_EPOCHS
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import MORE_DATA, PERMUTED_CONTROL, REMEDY_NAMES, Remedy
from lossgap.diagnosis.verdict import Diagnosis
from lossgap.errors import ConfigError
from lossgap.training.config import TrainConfig

#: The special candidate that trains on shuffled labels (run when no_signal is suspected).
CONTROL = PERMUTED_CONTROL


def remedy_candidates(config: TrainConfig, diagnosis: Diagnosis, *, epochs_run: int, val_loss,
                      imbalanced: bool, only: list[str] | None = None, run_dir: str | None = None,
                      val_is_fixed: bool = False) -> list[Remedy]:
    """The candidates for a run (``val_loss``: its per-epoch val loss, which sets early stopping's patience),
    verdict remedies first (they carry the run's numbers; for "No cause found", those of its likeliest candidate,
    :attr:`Diagnosis.next_steps`, and the first of :attr:`Diagnosis.next_alternative`), each name once.

    The article's list follows: dropout, weight decay, early stopping, smaller and larger hidden size, fewer
    layers, a lower learning rate, the other optimizer, and class weights where classes are imbalanced;
    ``more_data`` (a learning curve, not a configuration) only when a verdict offers it or ``only`` names it. Remedies that change
    nothing (dropout already 0.5, a single layer...) are left out. ``only`` keeps those names, in that order;
    an unknown name raises ConfigError naming the known ones. Each candidate's ``command`` trains exactly
    ``config`` with its changes, into ``<run_dir>-<name>`` as the diagnosis's commands do, with one torch thread
    (as remedy runs train) and no --val-fraction where the data bring their own val split (``val_is_fixed``).
    """
    book = RemedyBook(config.to_dict(), run_dir, val_is_fixed=val_is_fixed, threads=1, val_loss=val_loss)
    found: dict[str, Remedy] = {}
    # A run with "No cause found" has no verdict; the experiments of its likeliest candidate come first instead, then
    # the first of a candidate nearly as likely (Diagnosis.next_alternative).
    alternative = diagnosis.next_alternative
    leads = (diagnosis.verdicts if diagnosis.next_steps is None
             else (diagnosis.next_steps, *((replace(alternative, remedies=alternative.remedies[:1]),)
                                           if alternative is not None else ())))
    # A run too short for any rule ("Too short to judge: ... train longer") has no verdict to lead: training longer,
    # every epoch run and the best delivered, comes first (trial 36: a 2-epoch run had been given capacity and
    # regularisation changes at 2 epochs, none of which could help, and never more epochs).
    if not diagnosis.verdicts and epochs_run < MIN_JUDGED_EPOCHS:
        found["more_epochs"] = book.more_epochs(epochs_run, through=True)
    for verdict in leads:
        for remedy in verdict.remedies:
            # more_data changes no setting: it is a learning curve, run when a verdict offers it.
            if (remedy.changes or remedy.name == MORE_DATA) and remedy.name not in found:
                found[remedy.name] = _trained_here(book, remedy)
    article = [book.dropout(), book.weight_decay(), book.early_stopping(val_loss),
               book.smaller_hidden(), book.larger_hidden(), book.fewer_layers(), book.lower_lr(),
               book.switch_optimizer(), book.class_weights() if imbalanced else None]
    for remedy in article:
        if remedy is not None and remedy.name not in found:
            found[remedy.name] = remedy
    if "no_signal" in diagnosis.causes:
        found[CONTROL] = Remedy(CONTROL, "train on labels shuffled within train: what this setup gets from nothing")
    if only is None:
        return list(found.values())
    check_remedy_names(only)
    chosen = []
    for name in only:
        if name in found:
            chosen.append(found[name])
        elif name == CONTROL:
            chosen.append(Remedy(CONTROL, "train on labels shuffled within train"))
        else:
            remedy = _named(book, name, epochs_run, val_loss, diagnosis)
            if remedy is None:
                why = book.unchanged_reason(name, val_loss)
                raise ConfigError(f"remedy '{name}' changes nothing for this run: {why}; drop it from --only")
            chosen.append(remedy)
    return chosen


def _trained_here(book: RemedyBook, remedy: Remedy) -> Remedy:
    """A verdict's remedy with the command of what is trained here: the diagnosis built it from the run's own
    options (a --control or --refit the remedy runs leave out); the book's one naming rule gives the --out."""
    if not remedy.changes:
        return remedy
    return replace(remedy, command=book.command_for(remedy.name, remedy.changes))


def _named(book: RemedyBook, name: str, epochs_run: int, val_loss, diagnosis: Diagnosis):
    if name == "drop_suspects":
        return book.drop_suspects(diagnosis.suspected_mislabeled)
    if name == "early_stopping":
        return book.early_stopping(val_loss)
    if name == "more_epochs":
        return book.more_epochs(epochs_run)
    return getattr(book, name)()


def check_remedy_names(names: list[str] | None) -> None:
    """Raise ConfigError (one line, with the choices) when ``names`` holds a remedy lossgap does not know, or is
    an empty list (``--only ''``: nothing to try)."""
    known = set(REMEDY_NAMES) | {CONTROL}
    if names is not None and not names:
        raise ConfigError(f"--only names no remedy; give one or more of {', '.join(sorted(known))} "
                          "(comma-separated), or leave --only out to try the default list")
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise ConfigError(f"unknown remedy '{unknown[0]}' in --only; choose from {', '.join(sorted(known))}")
