"""underfitting's no_fit form: what the run's settings say comes first among the remedies (a collapse onto the
majority, a gradient clip that starves the updates, frozen parameters, regularisation that pins it, the rate)."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics
from fixtures.dynamics import binary_dynamics
from fixtures.imbalance_runs import majority_collapse_run
from fixtures.no_signal_runs import unmoved_run
from lossgap.diagnosis.causes.underfitting_no_fit import UNEXPLAINED_CAP


def test_a_model_collapsed_onto_the_majority_class_is_told_to_weight_the_classes_first():
    # A Lightning LSTM on 92/8 data at train accuracy 0.908 (majority share 0.907) had been told to grow 32 -> 128
    # and raise its learning rate; class weights are what moved it (rare recall 0.5).
    diagnosis = diagnose_dynamics(majority_collapse_run(mixed_first_epoch=True))
    verdict = diagnosis.verdicts[0]
    assert diagnosis.causes[0] == "underfitting" and verdict.evidence["form"] == "no_fit", diagnosis.to_text()
    collapse = verdict.evidence["majority_collapse"]
    assert collapse["class"] == 0 and collapse["predicted_share"] == 1.0 and abs(collapse["class_share"] - 0.92) < 1e-9
    assert verdict.remedies[0].name == "class_weights"
    assert verdict.evidence["title"].endswith("it predicts the majority class for every sample")
    assert "it predicts class 0 for 100% of its training samples, the class that makes up 92% of them" in verdict.summary


def test_a_model_at_the_prior_that_still_predicts_several_classes_or_weights_them_has_not_collapsed():
    weighted = diagnose_dynamics(majority_collapse_run(mixed_first_epoch=True),
                                 config={"class_weights": "balanced", "epochs": 30})
    assert "majority_collapse" not in weighted.verdict("underfitting").evidence
    # Balanced data at the prior (the unmoved run): no class to collapse onto.
    unmoved = diagnose_dynamics(unmoved_run()).verdict("underfitting")
    assert unmoved.evidence["form"] == "no_fit" and "majority_collapse" not in unmoved.evidence


def test_a_model_at_the_prior_whose_gradient_clip_starves_it_is_told_to_loosen_the_clip_first():
    # A Lightning LSTM at SGD 0.05 with gradient_clip_val=1e-4 never left the prior and was told to grow 32 -> 128 and
    # train longer; without the clip it reached val 0.87 and rising.
    epochs = 30
    config = {"epochs": epochs, "optimizer": {"name": "sgd", "lr": 0.05, "clip_grad": 1e-4}}
    starved = diagnose_dynamics(unmoved_run(epochs=epochs), config=config,
                                metrics={"grad_norm": np.full(epochs, 0.17)})
    verdict = starved.verdict("underfitting")
    assert verdict.evidence["form"] == "no_fit" and verdict.evidence["clip_starved"] == [1e-4, 0.17], starved.to_text()
    assert "it clips the gradient norm at 0.0001, 1700x below the gradients' median norm of 0.17" in verdict.summary
    assert verdict.remedies[0].name == "loosen_clip" and verdict.remedies[0].changes == {"optimizer.clip_grad": 0.17}
    assert verdict.evidence["title"].endswith("its gradient clip starves the updates")
    # Clipped at about the gradients' own size: the clip is not what holds it.
    loose = diagnose_dynamics(unmoved_run(epochs=epochs), config=config, metrics={"grad_norm": np.full(epochs, 5e-4)})
    assert loose.verdict("underfitting").evidence["clip_starved"] is None


def test_a_model_at_the_prior_with_most_of_its_parameters_frozen_is_told_to_unfreeze_them_first():
    # An own GRU whose recurrent layer was frozen, only its head training, had been told to grow 32 -> 128 and to raise
    # its learning rate; unfrozen, the same model reached 0.99.
    settings = {"model": {"kind": "gru", "hidden_size": 32, "num_layers": 1, "dropout": 0.0,
                          "frozen": {"parameters": 3360, "share": 3360 / 3492, "modules": ["gru"]}},
                "optimizer": {"name": "adam", "lr": 0.003, "weight_decay": 0.0}}
    from lossgap.diagnosis.engine import diagnose_evidence
    from lossgap.diagnosis.evidence import gather_evidence

    verdict = diagnose_evidence(gather_evidence({}, unmoved_run(), train_config=None, settings=settings)).verdict(
        "underfitting")
    assert verdict.evidence["form"] == "no_fit" and verdict.remedies[0].name == "unfreeze"
    assert "; it has 96% of its parameters frozen ('gru': requires_grad=False);" in verdict.summary
    assert verdict.evidence["title"].endswith("most of its parameters are frozen")
    # A frozen embedding of a tenth of the model holds nothing back.
    settings["model"]["frozen"] = {"parameters": 349, "share": 0.1, "modules": ["embedding"]}
    light = diagnose_evidence(gather_evidence({}, unmoved_run(), train_config=None, settings=settings)).verdict(
        "underfitting")
    assert "unfreeze" not in {remedy.name for remedy in light.remedies} and "frozen" not in light.summary


def test_a_collapse_at_a_learning_rate_far_below_its_range_puts_the_rate_first():
    slow = diagnose_dynamics(majority_collapse_run(mixed_first_epoch=True),
                             config={"epochs": 30, "optimizer": {"name": "sgd", "lr": 1e-4}})
    verdict = slow.verdict("underfitting")
    assert verdict.evidence["form"] == "no_fit" and "majority_collapse" in verdict.evidence, slow.to_text()
    assert [remedy.name for remedy in verdict.remedies][:2] == ["higher_lr", "class_weights"]



def test_a_collapse_whose_settings_explain_a_model_that_learned_nothing_puts_their_fix_first():
    # Frozen parameters keep a model at the prior whatever the balance: unfreezing comes first, the weights second,
    # and the title names the frozen parameters rather than the collapse.
    from lossgap.diagnosis.engine import diagnose_evidence
    from lossgap.diagnosis.evidence import gather_evidence

    settings = {"model": {"kind": "gru", "hidden_size": 32, "num_layers": 1, "dropout": 0.0,
                          "frozen": {"parameters": 3360, "share": 0.96, "modules": ["gru"]}},
                "optimizer": {"name": "adam", "lr": 0.003, "weight_decay": 0.0}}
    evidence = gather_evidence({}, majority_collapse_run(mixed_first_epoch=True), train_config=None, settings=settings)
    verdict = diagnose_evidence(evidence).verdict("underfitting")
    assert "majority_collapse" in verdict.evidence, verdict.summary
    assert [remedy.name for remedy in verdict.remedies][:2] == ["unfreeze", "class_weights"]
    assert verdict.evidence["title"].endswith("most of its parameters are frozen")


def test_a_model_whose_outputs_never_changed_is_told_to_check_its_training_step_first():
    # An own loop that called optimizer.step() before loss.backward() never changed its weights (every val output the
    # same in all 30 epochs) and had been told to grow the model and to raise its rate.

    still = np.full((30, 400), 0.5)
    run = {"train": binary_dynamics(still, np.arange(400) % 2, split="train"),
           "val": binary_dynamics(still[:, :200], np.arange(200) % 2)}
    verdict = diagnose_dynamics(run).verdict("underfitting")
    assert verdict.evidence["form"] == "no_fit" and verdict.remedies[0].name == "check_step", verdict.summary
    assert verdict.remedies[0].action.startswith("check that optimizer.step() runs after loss.backward()")
    assert verdict.evidence["title"].endswith("its outputs never changed, so no step reached its weights")
    assert "its val outputs were the same in all 30 epochs: no training step changed its weights" in verdict.summary
    # A model at the prior whose outputs still move (by a few thousandths) was stepped: nothing said of it.
    moving = diagnose_dynamics(unmoved_run()).verdict("underfitting")
    assert moving.remedies[0].name != "check_step" and "outputs were the same" not in moving.summary


def test_a_class_weighted_model_is_judged_on_the_weighted_loss_it_minimised():
    # A balanced-weight run on 95/5 data whose weighted train loss fell 0.676 -> 0.45 (balanced train accuracy 0.815)
    # had read "did not fit even its training set" from its plain loss, which never got below the class shares'
    # 0.191 (the weights push frequent samples toward the rare class on purpose), and was told to grow 32 -> 128.
    from fixtures.dynamics import dynamics_from_logits

    epochs = 20
    ramp = np.clip(np.arange(1, epochs + 1) / 5, 0, 1)[:, None]

    def dynamics(counts, split):
        labels = np.repeat([0, 1], counts)
        right = (np.arange(labels.size) % 20) < 16  # 80% of each class predicted right
        margin = ramp * np.where(right, 1.2, -1.0)[None, :]
        logits = np.zeros((epochs, labels.size, 2))
        logits[:, np.arange(labels.size), labels] = margin
        return dynamics_from_logits(logits, labels, split=split)

    runs = {"train": dynamics((950, 50), "train"), "val": dynamics((190, 10), "val")}
    weighted = diagnose_dynamics(runs, config={"class_weights": "balanced", "epochs": epochs})
    verdict = weighted.verdict("underfitting")
    assert verdict.evidence.get("form") != "no_fit", weighted.to_text()
    assert "did not fit even its training set" not in weighted.to_text()
    # Unweighted, the same plain loss above the class shares' is a model that did not fit.
    plain = diagnose_dynamics(runs, config={"epochs": epochs}).verdict("underfitting")
    assert plain.evidence["form"] == "no_fit"


def test_a_model_barely_below_the_prior_whose_val_loss_turned_at_the_end_did_not_fit():
    # A plain LSTM on ArrowHead's 251 steps, its train loss 6% below the prior after 30 epochs and its val loss
    # lowest at epoch 29 of 30: "learning has barely begun" kept it from no_fit, and the last epoch's rise kept the
    # stopped-early form at 0, so it read "No cause found" (before that, "No problem found").

    epochs, rng = 30, np.random.default_rng(11)
    creep = np.linspace(0, 1, epochs)[:, None]
    train = np.clip(0.5 + creep * rng.normal(0.03, 0.12, 30)[None, :], 0.05, 0.95)
    val = 0.5 + 0.06 * creep + np.zeros((1, 6))
    val[-1] = val[-3]
    diagnosis = diagnose_dynamics({"train": binary_dynamics(train, np.arange(30) % 2, split="train"),
                                   "val": binary_dynamics(val, np.arange(6) % 2)})
    verdict = diagnosis.verdict("underfitting")
    assert diagnosis.causes[:1] == ["underfitting"] and verdict.evidence["form"] == "no_fit", diagnosis.to_text()


def test_a_model_whose_recurrent_layer_backward_never_reached_is_told_to_check_the_graph():
    # An own GRU whose hidden state was detached before the head (NaN gradients for every GRU tensor in every epoch,
    # the head's measured) had been told to grow 32 -> 128 first.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    epochs, names = 20, ("gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "head.weight", "head.bias")
    grad = np.full((epochs, len(names)), 0.1)
    grad[:, :3] = np.nan
    evidence = replace(gather_evidence({}, unmoved_run(epochs=epochs), train_config=None),
                       gradients=observed_gradients(names, grad))
    diagnosis = diagnose_evidence(evidence)
    verdict = diagnosis.verdict("underfitting")
    assert verdict.evidence["form"] == "no_fit" and verdict.evidence["title"].endswith(
        "no gradient reached the weights of 'gru'"), diagnosis.to_text()
    assert verdict.remedies[0].name == "check_graph"
    # Said once: the sentence names the module, so no note names its tensors again.
    assert verdict.evidence["ungraded_named"]
    assert not any("no gradient reached" in note for note in diagnosis.limitations), diagnosis.limitations
    # Every tensor reached: nothing to check.
    reached = replace(evidence, gradients=observed_gradients(names, np.full_like(grad, 0.1)))
    assert diagnose_evidence(reached).verdict("underfitting").remedies[0].name != "check_graph"


def test_a_long_run_at_the_prior_is_not_told_to_double_again_and_dead_units_lower_the_rate_first():
    # Trial 18: shuffled labels at 2 x 128 units and Adam 0.01, every recurrent unit dead after 120 epochs without
    # early stopping, had been told to train 240 epochs first, and after that 480.
    from dataclasses import replace
    from types import SimpleNamespace

    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    config = {"model": {"hidden_size": 16}, "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 120,
              "early_stopping": None}
    evidence = gather_evidence({}, unmoved_run(epochs=120), train_config=config)
    names = [remedy.name for remedy in diagnose_evidence(evidence).verdict("underfitting").remedies]
    assert names[:1] == ["larger_hidden"] and "more_epochs" in names[1:], names
    gradients = SimpleNamespace(silenced={}, silenced_share=0.0, ungraded=(), growing=False, stalled=False,
                                weight_names=(), vanishing=False, dead_end=1.0, saturation_end=0.0, dead=True,
                                exploding_epochs=(), large_update_epochs=(), observed=np.ones(120, dtype=bool))
    dead = diagnose_evidence(replace(evidence, gradients=gradients)).verdict("underfitting")
    assert dead.evidence["unexplained"] and dead.remedies[0].name == "lower_lr", dead.remedies
    assert "100% of the recurrent units are dead" in dead.summary
    # A shorter run trains through first, as before.
    short = diagnose_dynamics(unmoved_run(epochs=40), config={**config, "epochs": 40}).verdict("underfitting")
    assert short.remedies[0].name == "more_epochs"


def test_a_model_at_the_prior_with_a_rate_low_in_its_range_is_told_to_raise_it_before_growing():
    # An own GRU at SGD 0.01 (the bottom of SGD's usual range), at the prior after 40 epochs, had been told to grow
    # 32 -> 128 first; at 0.05 the same loop reached val 0.965. Adam at 0.005, high in its range, grows first.
    low = diagnose_dynamics(unmoved_run(), settings={"optimizer": {"name": "sgd", "lr": 0.01}}).verdict("underfitting")
    assert low.evidence["form"] == "no_fit" and [remedy.name for remedy in low.remedies][:2] == ["higher_lr",
                                                                                                  "larger_hidden"]
    usual = diagnose_dynamics(unmoved_run(), settings={"optimizer": {"name": "adam", "lr": 0.005}}).verdict(
        "underfitting")
    assert [remedy.name for remedy in usual.remedies][:2] == ["more_epochs", "larger_hidden"]
    assert low.confidence == 0.8 and usual.confidence == UNEXPLAINED_CAP
    # Raised to at least the middle of its range (trial 24: Adam 1e-4 was told 3e-4 here, 1e-3 by the stopped-early form).
    adam = diagnose_dynamics(unmoved_run(), config={"optimizer": {"name": "adam", "lr": 1e-4}}).verdict("underfitting")
    assert adam.remedies[0].name == "higher_lr" and adam.remedies[0].changes == {"optimizer.lr": 0.001}


def test_a_model_at_the_prior_that_nothing_holds_back_is_no_surer_than_labels_without_signal():
    # Trial 16: shuffled labels whose LSTM never left the constant guess (early stopping ended each run a few epochs
    # after its first) read underfitting 0.80 "grow the hidden size", and following it looped 16 -> 64 -> 256. A parity
    # task stopped alike reads the same and was learnable (64 units, 150 epochs: val 1.000): the run cannot tell them.
    config = {"model": {"hidden_size": 64}, "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 40,
              "early_stopping": {"patience": 5}}
    diagnosis = diagnose_dynamics(unmoved_run(epochs=7), config=config)
    verdict = diagnosis.verdict("underfitting")
    assert verdict.evidence["form"] == "no_fit" and verdict.evidence["unexplained"]
    assert verdict.confidence == UNEXPLAINED_CAP
    assert verdict.evidence["title"].endswith("and nothing in its settings says why")
    assert "labels that carry no signal leave a model at the prior" in verdict.summary
    # Training through its planned epochs is what lets it fit train, and so tells the two apart; a doubled patience
    # would stop it again a few epochs after the start.
    first = verdict.remedies[0]
    assert first.name == "more_epochs" and first.changes == {"early_stopping.patience": 40}, verdict.remedies
    # A layer of 64 units or more is not grown: nothing says its size holds it back (shuffled labels at 256 units had
    # been told to grow to 1024 second); a narrower one is grown second.
    assert "larger_hidden" not in {remedy.name for remedy in verdict.remedies}, verdict.remedies
    narrow = diagnose_dynamics(unmoved_run(epochs=7), config={**config, "model": {"hidden_size": 16}})
    assert [remedy.name for remedy in narrow.verdict("underfitting").remedies][1] == "larger_hidden"
    # Without early stopping it trains longer and still delivers its best epoch.
    plain = diagnose_dynamics(unmoved_run(), config={**config, "early_stopping": None}).verdict("underfitting")
    assert plain.remedies[0].changes == {"epochs": 80, "early_stopping.patience": 80}
    # Something in the settings that holds a model at the prior keeps the verdict as sure as before.
    for held in ({"model": {"hidden_size": 2}}, {"optimizer": {"name": "adam", "lr": 1e-6}},
                 {"optimizer": {"name": "adam", "lr": 0.01, "weight_decay": 1.0}}):
        pinned = diagnose_dynamics(unmoved_run(epochs=7), config={**config, **held}).verdict("underfitting")
        assert pinned.confidence == 0.8 and not pinned.evidence["unexplained"], held


def test_steps_too_small_to_move_the_weights_are_named_and_the_clip_checked_first_not_a_lower_rate():
    # An own loop clipping at 1e-4 under SGD 0.05 (gradients of norm 2.8, no step above 5e-6 of the weights) sat above
    # a constant guess where its initialisation put it and had read unstable_optimization 1.00, "lower the learning
    # rate"; without the clip it reached test 0.966 against 0.095.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    epochs, rng = 30, np.random.default_rng(0)
    # Every sample given its true class 0.45 (loss 0.80 against the prior's 0.69), never moving.
    train = np.clip(0.45 + rng.normal(0, 0.002, (epochs, 300)), 0.01, 0.99)
    val = np.clip(0.45 + rng.normal(0, 0.002, (epochs, 100)), 0.01, 0.99)
    dynamics = {"train": binary_dynamics(train, np.arange(300) % 2, split="train"),
                "val": binary_dynamics(val, np.arange(100) % 2)}
    names = ("gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight", "head.bias")
    evidence = gather_evidence({}, dynamics, train_config=None)

    def diagnosis(update_ratio):
        grad = np.full((epochs, len(names)), 1.4)
        gradients = observed_gradients(names, grad, update_ratio=update_ratio)
        return diagnose_evidence(replace(evidence, gradients=gradients))

    stalled = diagnosis(5e-6)
    verdict = stalled.verdict("underfitting")
    assert stalled.causes[:1] == ["underfitting"] and verdict.evidence["form"] == "no_fit", stalled.to_text()
    assert verdict.remedies[0].name == "check_clip" and "its steps are far too small" in verdict.summary
    assert verdict.evidence["title"].endswith("its steps barely move its weights")
    unstable = stalled.verdict("unstable_optimization")
    assert unstable.confidence < 0.3 and unstable.evidence["stalled_steps"], unstable.summary
    # Steps of a working size that leave the loss above a constant guess are the weights jumping.
    moving = diagnosis(0.05)
    assert moving.causes[:1] == ["unstable_optimization"], moving.to_text()


def test_tiny_steps_of_lossgaps_own_unclipped_run_put_the_learning_rate_first_not_the_clip():
    # Trial 17: 4 units at Adam 1e-4 in lossgap's own trainer, no clip set and no loss scaling, had been told to check
    # the gradient clipping and loss scaling first; at a higher rate the same 4 units learn the task.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from fixtures.underfitting import slow_creep_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    def verdict(clip_grad):
        config = {"model": {"hidden_size": 4, "dropout": 0.0}, "epochs": 40,
                  "optimizer": {"name": "adam", "lr": 0.0001, "weight_decay": 0.0, "clip_grad": clip_grad}}
        evidence = gather_evidence({}, slow_creep_run(train_step=0.0002), train_config=config)
        names = ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "head.weight", "head.bias")
        grad = np.full((evidence.num_epochs, len(names)), 0.13)
        gradients = observed_gradients(names, grad, update_ratio=4e-8)
        return diagnose_evidence(replace(evidence, gradients=gradients)).verdict("underfitting")

    unclipped = verdict(None)
    assert unclipped.evidence["form"] == "no_fit", unclipped.summary
    assert [remedy.name for remedy in unclipped.remedies][:1] == ["higher_lr"], unclipped.remedies
    assert unclipped.remedies[0].changes == {"optimizer.lr": 0.001}
    assert sum(remedy.name == "higher_lr" for remedy in unclipped.remedies) == 1
    assert "check_clip" not in {remedy.name for remedy in unclipped.remedies}
    assert "its learning rate of 0.0001 is what sets their size" in unclipped.summary
    assert unclipped.evidence["title"].endswith("its learning rate is too low to move its weights")
    # A clip the run set may be what starves the steps: it is checked first.
    clipped = verdict(0.001)
    assert clipped.remedies[0].name == "check_clip" and "as when the gradients are clipped" in clipped.summary


def test_tiny_steps_are_named_even_where_the_val_loss_sets_tiny_new_lows():
    # An own loop whose loss was scaled by 1e-6 under SGD (no step above 4e-8 of the weights) had read "still improving,
    # train longer": its val loss set new lows of about 1e-4 nats. Unscaled, the loop reaches test 0.988 against 0.383.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from fixtures.underfitting import slow_creep_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    evidence = gather_evidence({}, slow_creep_run(train_step=0.0002), train_config=None,
                               settings={"optimizer": {"name": "sgd", "lr": 0.05, "weight_decay": 0.0}})
    assert evidence.early_learning
    names = ("gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight", "head.bias")
    grad = np.full((evidence.num_epochs, len(names)), 1.4)
    stalled = diagnose_evidence(replace(evidence, gradients=observed_gradients(names, grad, update_ratio=4e-8)))
    verdict = stalled.verdict("underfitting")
    assert verdict.evidence["form"] == "no_fit" and verdict.remedies[0].name == "check_clip", stalled.to_text()
    # Steps of a working size: learning that has barely begun, still improving.
    moving = diagnose_evidence(replace(evidence, gradients=observed_gradients(names, grad, update_ratio=0.005)))
    assert moving.verdict("underfitting").evidence["form"] == "stopped_early", moving.to_text()


def test_a_model_its_regularisation_pins_at_the_prior_is_not_told_to_train_longer_or_faster():
    # Weight decay 1 with Adam left ArrowHead at the constant guess for 80 epochs, every recurrent unit dead, and
    # the remedies had gone on to "raise the learning rate" and "train longer" after "regularise less".

    def remedies(weight_decay, lr=0.01):
        config = {"model": {"hidden_size": 16}, "optimizer": {"name": "adam", "lr": lr,
                  "weight_decay": weight_decay}, "epochs": 30}
        verdict = diagnose_dynamics(unmoved_run(), config=config).verdict("underfitting")
        assert verdict.evidence["form"] == "no_fit"
        return [remedy.name for remedy in verdict.remedies]

    pinned = remedies(1.0)
    config = {"model": {"hidden_size": 16}, "optimizer": {"name": "adam", "lr": 0.01, "weight_decay": 1.0}, "epochs": 30}
    assert ("underfitting (0.80) - the model did not fit even its training set: its regularisation holds it back"
            in diagnose_dynamics(unmoved_run(), config=config).headline)
    assert pinned[0] == "less_regularisation" and not {"higher_lr", "more_epochs"} & set(pinned), pinned
    # Nor to grow under the same weight decay: a larger pinned model stays pinned.
    assert "larger_hidden" not in pinned, pinned
    assert {"higher_lr", "more_epochs"} <= set(remedies(0.0, lr=0.003))
    # At the top of Adam's usual range already, a higher rate is no remedy (0.01 had been sent to 0.1).
    assert "higher_lr" not in remedies(0.0) and "more_epochs" in remedies(0.0)


def test_a_model_at_the_prior_with_a_learning_rate_far_above_its_usual_range_is_told_to_lower_it_first():
    # An own Transformer at AdamW lr 0.1 (lr 0.001 reached val 0.92) sat at the constant guess; it was told to
    # regularise less, then to grow and train longer, and never that its learning rate was 100x the working one.

    def verdict(lr):
        config = {"model": {"hidden_size": 16}, "optimizer": {"name": "adamw", "lr": lr, "weight_decay": 0.05},
                  "epochs": 30}
        found = diagnose_dynamics(unmoved_run(), config=config).verdict("underfitting")
        assert found.evidence["form"] == "no_fit"
        return found

    fast = verdict(0.1)
    assert fast.evidence["title"] == ("the model did not fit even its training set: its learning rate is far above its "
                                      "optimizer's usual range")
    assert "the learning rate 0.1 is 10x the top of AdamW's usual range (0.0001-0.01)" in fast.summary
    names = [remedy.name for remedy in fast.remedies]
    assert names[0] == "lower_lr" and fast.remedies[0].changes == {"optimizer.lr": 0.01}
    assert not {"higher_lr", "more_epochs"} & set(names), names
    usual = verdict(0.01)
    assert "usual range" not in usual.summary and "lower_lr" not in {remedy.name for remedy in usual.remedies}
    # And far below it: an LSTM-FCN at Adam 1e-5, at chance after 60 epochs, had been told to grow 64 -> 256 first
    # and to raise its rate only 3x second.
    slow = verdict(1e-5)
    assert slow.evidence["title"].endswith("its learning rate is far below its optimizer's usual range")
    assert "the learning rate 1e-05 is 10x below the bottom of AdamW's usual range (0.0001-0.01)" in slow.summary
    assert slow.remedies[0].name == "higher_lr" and slow.remedies[0].changes == {"optimizer.lr": 0.001}
    assert "usual range" not in verdict(3e-4).summary
    # Above the top but not far (own Transformers at AdamW 0.02, at the constant guess where 0.001 reached val 1.000,
    # had been told only to grow and to regularise less): named, and a lower rate offered after the model's own fixes.
    high = verdict(0.02)
    assert "the learning rate 0.02 is above the top of AdamW's usual range (0.0001-0.01), where a lower one may let " \
           "it fit" in high.summary, high.summary
    names = [remedy.name for remedy in high.remedies]
    assert "lower_lr" in names and "higher_lr" not in names, names
    assert high.evidence["title"] == "the model did not fit even its training set: its regularisation holds it back"


def test_a_layer_of_one_unit_named_too_small_is_grown_before_the_model_is_switched_on_long_sequences():
    # Trial 33: hidden size 1 on 100-step tasks, read "a recurrent layer of 1 unit is too small", had been told to switch
    # to LSTM-FCN and to read both directions before growing the layer.
    def remedies(hidden, lr=0.005):
        config = {"model": {"kind": "lstm", "hidden_size": hidden, "num_layers": 1, "dropout": 0.0},
                  "optimizer": {"name": "adam", "lr": lr}, "epochs": 30}
        verdict = diagnose_dynamics(unmoved_run(), config=config, sequence_length=200).verdict("underfitting")
        assert verdict.evidence["form"] == "no_fit"
        return [remedy.name for remedy in verdict.remedies]

    tiny = remedies(1)
    assert tiny[0] == "larger_hidden" and "switch_model" in tiny, tiny
    # At a usual size, what reaches further along long sequences still comes first.
    assert remedies(32)[0] == "switch_model"
    # A rate that holds the model back still comes first, the tiny layer's growth before the switch (trial 16: 4 units at
    # Adam 1e-4 were cured by the rate).
    low = remedies(4, lr=1e-4)
    assert low[:3] == ["higher_lr", "larger_hidden", "switch_model"], low
    assert remedies(4, lr=0.0005)[:3] == ["higher_lr", "larger_hidden", "switch_model"]
