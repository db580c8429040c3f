"""overfitting_unshown: overfitting where val never showed anything the model learned."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics
from fixtures.dynamics import binary_dynamics
from fixtures.overfitting import CONFIG


def test_a_model_that_learned_little_anywhere_has_little_to_overfit():
    # ItalyPowerDemand with shuffled labels, train 0.588 at best and val never above chance, had read overfitting 0.54
    # with early stopping first once no signal stood in doubt beside a model that fitted so little of train.
    from lossgap.diagnosis.causes.overfitting_unshown import LEARNED_LITTLE_CAP

    def run(right_share):
        epochs, rng = 40, np.random.default_rng(3)
        axis = np.arange(1, epochs + 1)[:, None]
        lift = np.where(rng.random(2000) < right_share, 0.07, -0.02)  # the train loss falls to ~9% below the prior's
        train = 0.5 + np.clip(axis / 40, 0, 1) * lift[None, :]
        # Shuffled labels: the first epoch's training pass, before the model trained on a sample, is a coin flip.
        train[0] = 0.5 + rng.choice([-0.001, 0.001], 2000)
        spread = 0.02 + 0.2 * np.clip((axis - 10) / 30, 0, 1)  # val answers grow surer either way: its loss rises
        val = np.clip(0.5 + spread * rng.normal(0, 1, 500)[None, :], 0.01, 0.99)
        return {"train": binary_dynamics(train, np.arange(2000) % 2, split="train"),
                "val": binary_dynamics(val, np.arange(500) % 2)}

    diagnosis = diagnose_dynamics(run(0.58))
    verdict = diagnosis.verdict("overfitting")
    assert verdict.evidence["learned_little_anywhere"] and verdict.confidence <= LEARNED_LITTLE_CAP, diagnosis.to_text()
    assert "val never showed anything learned, and the model got only 1" in verdict.summary
    assert diagnosis.headline.startswith("No cause found"), diagnosis.headline
    # A model that fitted more of its training set memorised it while val stayed at chance: no signal's case, which
    # explains the rise away.
    fitted = diagnose_dynamics(run(0.75))
    assert "learned_little_anywhere" not in fitted.verdict("overfitting").evidence
    assert fitted.causes[:1] == ["no_signal"], fitted.to_text()


def test_a_model_that_fitted_train_while_val_showed_nothing_learned_is_overfitting_only_in_doubt():
    # Trial 29: random labels on 39 and 60 val samples read overfitting 0.77 and 0.79 (train fitted, val at chance
    # every epoch, its loss rising); trial 24's small sets with a real signal draw the same curves.
    from lossgap.diagnosis.causes.overfitting_unshown import SIGNAL_UNSHOWN_CAP

    def run(val_lead):
        epochs, rng, n_val = 40, np.random.default_rng(5), 40
        axis = np.arange(1, epochs + 1)[:, None]
        train = np.clip(0.5 + 0.49 * np.clip(axis / 20, 0, 1) + np.zeros((1, 300)), 0.01, 0.99)
        spread = 0.02 + 0.3 * np.clip((axis - 5) / 35, 0, 1)  # val answers grow surer either way: its loss rises
        lead = val_lead * np.clip(1 - np.abs(axis - 8) / 8, 0, 1)  # how far val leans right around epoch 8
        # Each answer's lean is part the sample's, part the epoch's, as at chance on shuffled labels.
        lean = 0.6 * rng.normal(0, 1, n_val)[None, :] + 0.8 * rng.normal(0, 1, (epochs, n_val))
        val = np.clip(0.5 + lead + spread * lean, 0.01, 0.99)
        return {"train": binary_dynamics(train, np.arange(300) % 2, split="train"),
                "val": binary_dynamics(val, np.arange(n_val) % 2)}

    unshown = diagnose_dynamics(run(0.0), config=CONFIG)
    verdict = unshown.verdict("overfitting")
    assert verdict.evidence["signal_unshown"] and verdict.confidence <= SIGNAL_UNSHOWN_CAP, unshown.to_text()
    assert "this run cannot tell the two apart" in verdict.summary
    names = [remedy.name for remedy in verdict.remedies]
    assert names[1] == "permuted_control" and names[0] != "permuted_control", names
    # An own loop's first training pass got these training samples right before it trained on them (the train
    # probabilities start above a half): the labels carry signal, so a val of 40 that showed none differs from train.
    from lossgap.diagnosis.causes.overfitting_unshown import LEARNED_LITTLE_CAP
    own_loop = diagnose_dynamics(run(0.0))
    own = own_loop.verdict("overfitting")
    assert own.evidence["first_pass_lead"] and own.confidence <= LEARNED_LITTLE_CAP, own.summary
    assert "so val differs from train" in own.summary and not own_loop.causes, own_loop.to_text()
    first = [verdict.remedies[0].name for verdict in own_loop.considered if verdict.remedies][0]
    assert first == "check_val_inputs", own_loop.to_text()
    # On long sequences the models that reach further come first, as a pair, and the control after them.
    long = diagnose_dynamics(run(0.0), config=CONFIG, sequence_length=400).verdict("overfitting")
    assert [remedy.name for remedy in long.remedies][:3] == ["switch_model", "bidirectional", "permuted_control"]
    # Val that showed the model learned something before the rise: overfitting as before.
    shown = diagnose_dynamics(run(0.3), config=CONFIG)
    assert "signal_unshown" not in shown.verdict("overfitting").evidence
    assert shown.causes[:1] == ["overfitting"] and shown.verdict("overfitting").confidence > 0.8, shown.to_text()
