"""Remedies: from the run's own settings, never one the run already applies, each a ready command."""

import shlex

import pytest

from lossgap.diagnosis.remedies import RemedyBook
from lossgap.training.config import TrainConfig


def book_for(**changes):
    config = TrainConfig(**changes).to_dict()
    return RemedyBook(config, "runs/mine")


def test_a_remedy_carries_the_command_that_tries_it():
    remedy = book_for().dropout()
    assert remedy.changes == {"model.dropout": 0.2}
    args = shlex.split(remedy.command)
    assert args[:2] == ["lossgap", "train"] and args[args.index("--dropout") + 1] == "0.2"
    assert args[args.index("--out") + 1] == "runs/mine-dropout"


def test_remedies_the_run_already_applies_are_not_offered():
    book = book_for(early_stopping={"patience": 10}, class_weights="balanced", optimizer={"clip_grad": 1.0})
    assert book.early_stopping([1.0, 0.8, 0.9]) is None
    assert book.class_weights() is None
    assert book.clip_grad() is None
    assert book_for(early_stopping={"patience": 5, "monitor": "val_accuracy"}).monitor_accuracy() is None


def test_a_remedy_that_changes_nothing_is_not_offered():
    assert book_for(model={"dropout": 0.5}).dropout() is None
    assert book_for(model={"num_layers": 1}).fewer_layers() is None
    assert book_for().less_regularisation() is None


def test_regularising_less_leaves_a_light_weight_decay_alone():
    # AdamW's 1e-4 at lr 0.003 shrinks each weight by 3e-7 per step: "1e-4 -> 0" would change nothing visible.
    light = {"optimizer": {"name": "adamw", "lr": 0.003, "weight_decay": 1e-4}}
    assert book_for(**light).less_regularisation() is None
    remedy = book_for(**light, model={"dropout": 0.5}).less_regularisation()
    assert remedy.changes == {"model.dropout": 0.0} and remedy.action == "regularise less: dropout 0.5 -> 0"
    # Nor dropout at what the dropout remedy itself adds (0.2): "dropout 0.1 -> 0" went to a model one unit wide.
    assert book_for(**light, model={"dropout": 0.1}).less_regularisation() is None
    heavy = book_for(optimizer={"name": "adamw", "lr": 0.003, "weight_decay": 5.0}).less_regularisation()
    assert heavy.changes == {"optimizer.weight_decay": 0.0333}  # a tenth of what holds a model back


def test_own_loop_runs_get_advice_in_general_words_and_no_command():
    remedy = RemedyBook(None).larger_hidden()
    assert remedy.command is None and "16" not in remedy.action


def test_an_own_loop_that_described_its_settings_gets_their_values_in_words_and_nothing_it_already_does():
    settings = {"model": {"kind": "lstm", "hidden_size": 1, "num_layers": 1, "dropout": 0.5},
                "optimizer": {"name": "adamw", "lr": 0.005, "weight_decay": 10.0}}
    book = RemedyBook(None, settings=settings)
    assert book.larger_hidden().action == "use a larger model: hidden size 1 -> 32"
    assert book.less_regularisation().action == "regularise less: weight decay 10 -> 0.02, dropout 0.5 -> 0"
    # Three times 0.005 would pass the top of Adam's usual range: the top it is.
    assert book.higher_lr().action == "raise the learning rate: learning rate 0.005 -> 0.01"
    assert all(remedy.command is None and not remedy.changes
               for remedy in (book.larger_hidden(), book.less_regularisation(), book.higher_lr()))
    assert book.dropout() is None  # already at 0.5: never offered again
    # A change to a setting the loop did not describe stays in general words (lossgap's default is not its value).
    assert RemedyBook(None, settings={"model": {"hidden_size": 8}}).higher_lr().action == (
        "raise the learning rate (3x larger)")


def test_switch_model_changes_the_family_and_is_not_offered_to_the_family_itself():
    remedy = book_for().switch_model()
    # The README's recommended LSTM-FCN (a quarter of the published width, patches of steps), not 128 filters,
    # which took 209 s per run on ACSF1.
    assert remedy.changes == {"model.kind": "lstm-fcn", "model.fcn_width": 32, "model.patch_length": "auto",
                              "model.readout": "auto"}
    assert remedy.action.endswith(": --model lstm-fcn --fcn-width 32 --patch auto --readout auto")
    assert "--model lstm-fcn" in remedy.command and "--fcn-width 32" in remedy.command
    # A run that chose its own patching keeps it.
    assert book_for(model={"patch_length": 4}).switch_model().changes == {"model.kind": "lstm-fcn",
                                                                          "model.fcn_width": 32}
    assert book_for(model={"kind": "lstm-fcn"}).switch_model() is None
    assert book_for(model={"kind": "lstm-fcn"}).switch_model("gru").changes == {"model.kind": "gru"}


def test_bidirectional_reads_a_recurrent_layer_both_ways_only_where_its_last_step_is_read():
    # A label in steps 5-10 of 200, read at the last step: --hidden 128 and lstm-fcn gained nothing, --bidirectional
    # reached val 0.92.
    remedy = book_for().bidirectional()
    assert remedy.changes == {"model.bidirectional": True} and "--bidirectional" in remedy.command
    assert remedy.action == "read the sequences in both directions: --bidirectional"
    for model in ({"bidirectional": True}, {"kind": "lstm-fcn"}, {"readout": "mean"}):
        assert book_for(model=model).bidirectional() is None, model
    assert RemedyBook(None, settings={"model": {"hidden_size": 8}}).bidirectional() is None   # an own loop's head


def test_a_config_from_before_an_option_existed_gets_its_default():
    old = TrainConfig().to_dict()
    del old["model"]["kind"], old["model"]["fcn_width"]
    book = RemedyBook(old, "runs/old")
    assert book.switch_model().action.startswith("switch the model from lstm to lstm-fcn")
    assert book.setting("model.kind") is None   # the run's own value: it never said


def test_switch_optimizer_goes_to_the_other_family_with_a_rate_suited_to_it():
    to_sgd = book_for().switch_optimizer()   # Adam at lr 0.01
    assert to_sgd.changes == {"optimizer.name": "sgd", "optimizer.lr": 0.1}
    args = shlex.split(to_sgd.command)
    assert args[args.index("--optimizer") + 1] == "sgd" and args[args.index("--lr") + 1] == "0.1"
    assert book_for(optimizer={"lr": 0.1}).switch_optimizer().changes["optimizer.lr"] == 0.3   # SGD's ceiling
    assert book_for(optimizer={"name": "sgd", "lr": 0.05}).switch_optimizer().changes == {
        "optimizer.name": "adam", "optimizer.lr": 0.005}
    # Where weight decay is used the Adam side is AdamW (decoupled decay)...
    assert book_for(optimizer={"name": "sgd", "lr": 0.5, "weight_decay": 1e-4}).switch_optimizer().changes == {
        "optimizer.name": "adamw", "optimizer.lr": 0.01}
    assert book_for(optimizer={"weight_decay": 1e-4}).switch_optimizer().changes == {
        "optimizer.name": "adamw", "optimizer.lr": 0.01}
    # ... and AdamW goes to SGD; SGD without momentum gets it.
    assert book_for(optimizer={"name": "adamw", "lr": 0.001, "weight_decay": 0.01}).switch_optimizer().changes == {
        "optimizer.name": "sgd", "optimizer.lr": 0.01}
    assert book_for(optimizer={"momentum": 0.0}).switch_optimizer().changes["optimizer.momentum"] == 0.9


def test_more_data_is_a_learning_curve_not_a_setting():
    remedy = book_for().more_data()
    assert remedy.changes == {} and shlex.split(remedy.command) == ["lossgap", "remedy", "runs/mine", "--only",
                                                                    "more_data"]
    own_loop = RemedyBook(None).more_data()
    assert own_loop.command is None and "more labelled data" in own_loop.action


def test_a_far_too_high_learning_rate_is_lowered_into_the_usual_range_not_by_a_third():
    assert book_for(optimizer={"name": "adam", "lr": 0.5}).lower_lr().changes == {"optimizer.lr": 0.01}
    assert book_for(optimizer={"name": "sgd", "lr": 3.0}).lower_lr().changes == {"optimizer.lr": 0.3}
    assert book_for(optimizer={"name": "adam", "lr": 0.006}).lower_lr().changes == {"optimizer.lr": 0.002}
    assert "usual range" in book_for(optimizer={"name": "adamw", "lr": 0.2}).lower_lr().action


def test_the_permuted_control_advice_carries_its_command_but_no_setting_to_adopt():
    remedy = book_for().permuted_control("to see whether the labels carry signal")
    assert remedy.action == "train a permuted-label control (--control permuted-labels) to see whether the labels carry signal"
    assert remedy.changes == {}
    args = shlex.split(remedy.command)
    assert args[:2] == ["lossgap", "train"] and args[args.index("--control") + 1] == "permuted-labels"
    # An own loop has no --control flag: the same experiment in words, no command.
    own = RemedyBook(None).permuted_control("to see whether the labels carry signal", when="once it fits, ")
    assert own.command is None and "--control" not in own.action
    assert own.action.startswith("once it fits, train the same model again in your loop with the train and val "
                                 "labels shuffled")


def test_the_early_stopping_patience_replayed_on_the_run_restores_its_val_loss_minimum():
    import numpy as np

    from lossgap.analysis import early_stopping_epoch
    # Val loss that falls slowly with long flat stretches (a 9-epoch wait before the low at epoch 47), then rises:
    # a patience of 10% of the epochs (6) would stop at epoch 31 and keep epoch 25.
    rng = np.random.default_rng(0)
    val_loss = np.r_[np.linspace(1.0, 0.6, 25), np.full(21, 0.61) + rng.uniform(0, 0.01, 21), 0.55,
                     np.linspace(0.56, 0.8, 13)]
    remedy = book_for(epochs=60).early_stopping(val_loss)
    patience = remedy.changes["early_stopping.patience"]
    assert early_stopping_epoch(val_loss, patience=patience)[0] == 47
    assert early_stopping_epoch(val_loss, patience=patience - 1)[0] != 47
    assert "epoch 47 here" in remedy.action and f"--early-stopping {patience}" in remedy.action
    # A clean valley needs no more than the floor of 3.
    assert book_for().early_stopping([0.9, 0.8, 0.7, 0.75, 0.8]).changes["early_stopping.patience"] == 3


def test_the_wait_longer_sentence_says_why_early_stopping_fired_not_that_the_loss_fell():
    # Early stopping fires after `patience` epochs without a new best, so "while the val loss was still falling"
    # (the sentence before) was false whenever it was printed.
    remedy = book_for(epochs=80, early_stopping={"patience": 30}).more_epochs(57)
    assert remedy.changes == {"early_stopping.patience": 60}
    assert "epoch 57 of 80, after 30 epochs without a new best" in remedy.action
    assert "falling" not in remedy.action


def test_commands_train_with_the_run_s_threads_and_leave_out_a_val_fraction_the_data_ignore():
    book = RemedyBook(TrainConfig().to_dict(), "runs/mine", val_is_fixed=True, threads=3)
    words = shlex.split(book.dropout().command)
    assert "--val-fraction" not in words and words[-4:] == ["--threads", "3", "--out", "runs/mine-dropout"]
    words = shlex.split(book_for().dropout().command)
    assert "--val-fraction" in words and "--threads" not in words


def test_stopping_at_a_val_loss_minimum_that_is_the_last_epoch_is_not_offered():
    # The run delivers its last epoch anyway: "stop at the val-loss minimum (epoch 20 here)" changed nothing.
    assert book_for().early_stopping([1.0, 0.8, 0.7]) is None
    assert book_for().early_stopping([1.0, 0.7, 0.8]).changes["early_stopping.patience"] >= 1


@pytest.mark.parametrize(("changes", "name", "reason"), [
    ({"model": {"dropout": 0.5}}, "dropout", "its dropout is already 0.5 or more"),
    ({"model": {"hidden_size": 4}}, "smaller_hidden", "its hidden size is already 4 or less"),
    ({"model": {"hidden_size": 1024}}, "larger_hidden", "its hidden size is already 1024, the largest"),
    ({"model": {"num_layers": 1}}, "fewer_layers", "it has a single layer"),
    ({"optimizer": {"lr": 0.05}}, "higher_lr", "its learning rate is already at the top of its optimizer's usual range, or 0.03"),
    ({"optimizer": {"weight_decay": 0.0}, "model": {"dropout": 0.1}}, "less_regularisation",
     "it has no dropout above 0.2"),
    ({"class_weights": "balanced"}, "class_weights", "it already weights its loss"),
    ({"optimizer": {"clip_grad": 1.0}}, "clip_grad", "it already clips"),
    ({"early_stopping": {"patience": 5, "monitor": "val_accuracy"}}, "monitor_accuracy", "it already chooses"),
    ({"model": {"kind": "lstm-fcn"}}, "switch_model", "it already uses an lstm-fcn"),
    ({"model": {"bidirectional": True}}, "bidirectional", "already reads both directions"),
    ({"model": {"readout": "mean"}}, "bidirectional", "read at its last step"),
    ({"model": {"kind": "lstm"}}, "recompute_batch_norm", "its model has no batch norm"),
    ({"model": {"kind": "lstm-fcn"}, "optimizer": {"ema": 0.9}}, "recompute_batch_norm", "already averages"),
])
def test_a_remedy_that_changes_nothing_says_which_setting_stops_it(changes, name, reason):
    # The words come from the bounds the methods use (a separate table of sentences had restated them by hand).
    book = book_for(**changes)
    assert getattr(book, name)() is None
    assert reason in book.unchanged_reason(name, [1.0, 0.9])


def test_an_own_loop_that_weights_its_loss_is_not_told_to_weight_it():
    # A class-weighted JapaneseVowels loop (weights described to the Recorder) had been told to "weight the loss by
    # inverse class frequency".
    weighted = RemedyBook(None, settings={"loss": {"class_weights": [0.69, 0.69, 8.33]}})
    assert weighted.class_weights() is None
    uniform = RemedyBook(None, settings={"loss": {"class_weights": [1.0, 1.0, 1.0]}})
    assert uniform.class_weights().action == "weight the loss by inverse class frequency"
    assert RemedyBook(None, settings={}).class_weights() is not None


def test_training_through_lets_every_planned_epoch_run_and_still_delivers_the_best():
    # For a model that has not fitted train yet: a doubled patience stops again a few epochs after a val loss that
    # never improved past its first epochs.
    stopped = book_for(epochs=40, early_stopping={"patience": 5}).more_epochs(6, through=True)
    assert stopped.changes == {"early_stopping.patience": 40}
    assert "--early-stopping 40" in stopped.action and "--early-stopping 40" in stopped.command
    unstopped = book_for(epochs=20).more_epochs(20, through=True)
    assert unstopped.changes == {"epochs": 40, "early_stopping.patience": 40}
    # A run that trained all its epochs under early stopping gets twice the epochs, as without `through`.
    assert book_for(epochs=20, early_stopping={"patience": 5}).more_epochs(20, through=True).changes == {"epochs": 40}


def test_early_stopping_added_for_more_epochs_waits_past_the_run_s_own_longest_stall():
    # Trial 16: a model plateaued on a merged pair of classes, then told them apart; "train longer with
    # --early-stopping 10" retraced the run, stopped on the plateau and cost 0.28 of test accuracy.
    from lossgap.analysis.generalization import early_stopping_epoch

    val_loss = [1.0, 0.8, 0.7] + [0.72] * 14 + [0.5, 0.4, 0.3]   # 14 epochs without a new low, then the fall
    remedy = RemedyBook(TrainConfig(epochs=20).to_dict(), "runs/mine", val_loss=val_loss).more_epochs(20)
    patience = remedy.changes["early_stopping.patience"]
    assert patience > 14 and f"--early-stopping {patience} so the extra epochs cannot hurt" in remedy.action
    assert early_stopping_epoch(val_loss, patience=patience) == (20, None)
    assert early_stopping_epoch(val_loss, patience=10)[0] == 3   # what the fixed patience had restored
    # A run without such a stall keeps the usual patience.
    assert RemedyBook(TrainConfig(epochs=20).to_dict(), "runs/mine", val_loss=[1.0, 0.8, 0.6]).more_epochs(20).changes[
        "early_stopping.patience"] == 10


def test_growing_a_tiny_lstm_fcn_grows_its_convolution_branch_too():
    # Trial 24: an LSTM-FCN at --hidden 1 --fcn-width 1 was told to grow the hidden size alone, its command keeping
    # --fcn-width 1.
    tiny = book_for(model={"kind": "lstm-fcn", "hidden_size": 1, "fcn_width": 1}).larger_hidden()
    assert tiny.changes == {"model.hidden_size": 32, "model.fcn_width": 32}
    assert tiny.action.startswith("grow the hidden size from 1 to 32 and the convolution width from 1 to 32")
    args = shlex.split(tiny.command)
    assert args[args.index("--fcn-width") + 1] == "32" and args[args.index("--hidden") + 1] == "32"
    usual = book_for(model={"kind": "lstm-fcn", "hidden_size": 1, "fcn_width": 32}).larger_hidden()
    assert usual.changes == {"model.hidden_size": 32}
    assert book_for(model={"hidden_size": 16}).larger_hidden().action == "grow the hidden size from 16 to 32: --hidden 32"
