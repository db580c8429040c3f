"""Remedies as concrete changes to the run's own configuration ("dropout 0.0 -> 0.2", "stop at epoch 14").

Each remedy names a change of :class:`~lossgap.training.config.TrainConfig` fields by dotted path, so
``lossgap remedy`` can apply it, and carries the ready ``lossgap train`` command that tries it. A remedy the
run already applies (early stopping on a run that stops early, clipping on a clipped run) is never offered.
Runs trained outside lossgap have no config: their remedies carry the advice in general words and no
command, since lossgap cannot know the settings of a user's own loop.
"""

from __future__ import annotations

import math
import shlex

from lossgap.diagnosis.remedies_capacity import MAX_HIDDEN, MIN_HIDDEN, CapacityRemedies
from lossgap.diagnosis.remedies_optimisation import FAST_LR, OptimisationRemedies
from lossgap.diagnosis.remedies_regularisation import LIGHT_DROPOUT, MAX_DROPOUT, RegularisationRemedies
from lossgap.diagnosis.remedy import MORE_DATA, PERMUTED_CONTROL, Remedy
from lossgap.plain import to_plain


class RemedyBook(RegularisationRemedies, CapacityRemedies, OptimisationRemedies):
    """Builds remedies from a run's configuration (the ``train`` section of config.json, or None).

    ``run_dir`` names the run in the commands (each remedy trains into ``<run_dir>-<remedy name>``). The
    remedies are declared by concern in the mixins; this class adds the ones that change no setting.
    """

    def more_data(self) -> Remedy:
        """Whether more data would help, from a learning curve over nested shares of the training split (no
        configuration change: ``lossgap remedy RUN --only more_data`` trains the curve)."""
        if not self.has_config:
            return Remedy(MORE_DATA, "collect more labelled data; a learning curve (the same model trained on "
                                     "shares of the training set) tells whether it would pay")
        return Remedy(MORE_DATA, "check whether more data would help: a learning curve over 40-100% of the "
                                 "training set predicts val loss and accuracy at 2x and 4x the data",
                      command=shlex.join(["lossgap", "remedy", str(self.run_dir), "--only", MORE_DATA]))

    def permuted_control(self, purpose: str, when: str = "") -> Remedy:
        """Advice to train a permuted-label control ``purpose`` (e.g. "to see whether the labels carry signal"),
        prefixed by ``when`` (e.g. "once it fits, "): with the ``lossgap train ... --control permuted-labels``
        command for lossgap runs; for own loops (no config) the same experiment in words, since they have no
        such flag. A control, not a fix: it changes no setting to adopt, so ``changes`` is empty."""
        if self.has_config:
            action = f"{when}train a permuted-label control (--control permuted-labels) {purpose}"
            return Remedy(PERMUTED_CONTROL, action, {},
                          self.command_for(PERMUTED_CONTROL, {"control": "permuted-labels"}))
        action = (f"{when}train the same model again in your loop with the train and val labels shuffled by one "
                  f"fixed permutation (a permuted-label control), record it as this run was, and compare val "
                  f"accuracy {purpose}")
        return Remedy(PERMUTED_CONTROL, action, {})

    def check_val_inputs(self) -> Remedy:
        """Advice to prepare val as train is, for a val split whose inputs look unlike train's (no setting changes)."""
        return self.advice("check_val_inputs", "prepare val exactly as train: scale it with train's statistics (not "
                           "its own, nor left raw), in the same units and order of features, drawn from the same "
                           "source; then record again")

    def drop_suspects(self, sample_ids=()) -> Remedy | None:
        """Train without the suspected mislabelled training samples ``sample_ids`` (most suspect first; added to those
        the run already leaves out): what the model gains on val without them is the test of their labels a rerun
        can give. None without suspects, when the run leaves them all out already, or for an own loop (lossgap cannot
        rerun it; the advice to look at the suspects stands)."""
        ids = [str(to_plain(sample_id)) for sample_id in sample_ids]
        if not ids or not self.has_config:
            return None
        current = self._get("data.drop_train_ids")
        listed = list(dict.fromkeys([*(current.split(",") if current else []), *ids]))
        if current and len(listed) == len(current.split(",")):
            return None
        return self._remedy("drop_suspects", f"train without the {len(ids)} suspected training samples "
                            "(--drop-train-ids with their ids): if val does better, their labels held the model back",
                            "train without the suspected samples", {"data.drop_train_ids": ",".join(listed)})

    def unchanged_reason(self, name: str, val_loss) -> str:
        """Why remedy ``name`` changes nothing for this run (its method returned None), in words for an error."""
        if name == "early_stopping":
            if self._get("early_stopping.patience") is not None and self._get("early_stopping.monitor") == "val_loss":
                return "it already stops early on val loss and restores its best epoch"
            if not any(math.isfinite(loss) for loss in val_loss):
                return "it has no finite val loss to stop at"
            return (f"its val loss was lowest at its last epoch ({len(val_loss)}), the model it delivers anyway, so "
                    "there is no later rise to stop before")
        reasons = {
            "dropout": f"its dropout is already {MAX_DROPOUT:g} or more",
            "weight_decay": "its weight decay is already the most a remedy proposes (a tenth of what holds a model "
                            "back)",
            "less_regularisation": f"it has no dropout above {LIGHT_DROPOUT:g} and no weight decay strong enough to "
                                   "hold the model back",
            "smaller_hidden": f"its hidden size is already {MIN_HIDDEN} or less",
            "larger_hidden": f"its hidden size is already {MAX_HIDDEN}, the largest a remedy proposes",
            "fewer_layers": "it has a single layer",
            "higher_lr": f"its learning rate is already at the top of its optimizer's usual range, or {FAST_LR:g} or "
                         "more, where faster risks unstable weights",
            "class_weights": "it already weights its loss by inverse class frequency",
            "clip_grad": "it already clips the gradient norm",
            "standardize": "its inputs are already standardised (or it is an own loop, whose scaling lossgap cannot "
                           "change)",
            "monitor_accuracy": "it already chooses its epoch by val accuracy",
            "switch_model": f"it already uses an {self._get('model.kind')}",
            "recompute_batch_norm": ("its model has no batch norm" if not self._batch_norm
                                     else "the run already averages its weights (--ema)"),
            "shorter_average": "it does not average its weights (--ema)",
            "drop_suspects": ("it already leaves out every suspect" if self._get("data.drop_train_ids")
                              else "its diagnosis lists no suspected mislabelled training sample"),
            "loosen_clip": "it is offered only by a verdict that measured the gradients' typical norm above the clip",
            "bidirectional": ("its recurrent layer already reads both directions" if self._get("model.bidirectional")
                              else "only a recurrent model (lstm or gru) read at its last step reads the first steps "
                                   "better both ways"),
        }
        return reasons.get(name, "the run already has that setting")

    @staticmethod
    def advice(name: str, action: str) -> Remedy:
        """A remedy that is not a setting (e.g. inspect suspect samples, check the data)."""
        return Remedy(name, action)
