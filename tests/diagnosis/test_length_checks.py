"""Sequence lengths that give the labels away: a warning before the headline, and val counted as unlike train when
train's lengths say the class and val's do not."""

from fixtures.diagnosis import diagnose_dynamics, healthy_run
from fixtures.no_signal_runs import memorised_noise_run


def _payload(train, val, val_majority=0.5, samples=200):
    return {"bins": 10, "train": {"accuracy": train, "majority": 0.5, "samples": 800},
            "val": {"accuracy": val, "majority": val_majority, "samples": samples}}


def test_lengths_that_say_the_class_in_train_only_warn_and_count_as_val_unlike_train():
    # A trial's train held one class at 10-59 steps and the other at 150-200, val drew lengths at random: train fitted
    # by the length, val at 0.68, read overfitting 0.75 with "raise dropout" (which took test from 0.685 to 0.544).
    leak = diagnose_dynamics(memorised_noise_run(), length_shortcut=_payload(0.97, 0.51))
    assert leak.headline.startswith("Val's sequence lengths do not carry train's labels: a rule on sequence length "
                                    "alone gets 0.970 of train right (majority share 0.500) but 0.510 of val (0.500)")
    # The rules that val unlike train can mislead hold back (no signal had read 0.95 on the same curves), and say why.
    assert not leak.verdicts and leak.verdict("no_signal").confidence <= 0.45
    assert "val's inputs look unlike train's (above): until val is prepared as train" in leak.headline
    plain = diagnose_dynamics(memorised_noise_run())
    assert plain.verdicts[0].cause == "no_signal" and plain.verdicts[0].confidence > 0.9
    assert "sequence length" not in plain.headline


def test_lengths_that_say_the_class_in_both_splits_warn_and_lengths_that_merely_inform_do_not():
    both = diagnose_dynamics(healthy_run(), length_shortcut=_payload(0.99, 1.0, val_majority=0.575))
    assert both.headline.startswith("Sequence length alone predicts the labels: a rule on sequence length alone gets "
                                    "0.990 of train and 1.000 of val right (majority shares 0.500 and 0.575)")
    assert "No problem found" in both.headline
    # JapaneseVowels: its nine speakers differ in how long they speak (0.31 of train by length, 0.19 of val, majority
    # 0.11): information, not a giveaway.
    vowels = {"bins": 9, "train": {"accuracy": 0.31, "majority": 0.111, "samples": 216},
              "val": {"accuracy": 0.185, "majority": 0.111, "samples": 54}}
    # Lengths that only lean (0.88 against 0.51: 75% of the way to all right), and val sharing most of a giveaway.
    for payload in (vowels, _payload(0.88, 0.86), _payload(0.97, 0.85), None):
        assert "sequence length" not in diagnose_dynamics(healthy_run(), length_shortcut=payload).headline.lower()
    # Lengths that decide the class up to the 10-bin rule's resolution (0.948 against 0.51, 89% of the way) do warn,
    # and so does a partial giveaway in train only (0.79 against 0.50, 58% of the way; val at its majority share).
    assert diagnose_dynamics(healthy_run(), length_shortcut=_payload(0.948, 0.968)).headline.startswith(
        "Sequence length alone predicts the labels")
    assert diagnose_dynamics(healthy_run(), length_shortcut=_payload(0.79, 0.53)).headline.startswith(
        "Val's sequence lengths do not carry train's labels")
