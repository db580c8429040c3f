"""underfitting's ``no_fit`` form: the model never moved away from the prior even on its training set, so no other
cause can be judged (whether the labels carry signal cannot be told until it fits). What the run's settings say comes
first among the remedies: regularisation that pins it, a learning rate far outside its optimizer's range, a gradient
clip far below the gradients, frozen parameters, outputs that never changed (no step reached the weights), unscaled
inputs, a collapse onto the majority class."""

from __future__ import annotations

from lossgap.analysis.gradients import STALLED_UPDATE_RATIO
from lossgap.diagnosis.causes.underfitting_classes import collapse_words, majority_collapse
from lossgap.diagnosis.causes.underfitting_stopped import architecture, clipped_far_below
from lossgap.diagnosis.causes.underfitting_wording import form_title, gradient_note, regularisation_note
from lossgap.diagnosis.constraints import (fast_learning_rate, frozen_note, held_back, high_learning_rate,
                                           low_in_range, narrow_layer_advice, rate_and_range,
                                           slow_learning_rate, tiny_hidden, wide_enough)
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import ended_by_early_stopping
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import below_prior

#: Confidence of the no_fit form when nothing the run records holds the model back (a layer of a few units, a rate
#: out of its optimizer's range, heavy regularisation, a starving clip, frozen or unreached weights, unscaled inputs,
#: long sequences read at the last step): labels without signal look the same, and on trial 16 and a grid of shuffled
#: and learnable synthetic tasks about half of such runs were each.
UNEXPLAINED_CAP = 0.5
UNEXPLAINED_CLAUSE = ("; nothing the run records holds it back (no layer of a few units, no learning rate out of the "
                      "ordinary for its optimizer, no heavy regularisation or starving clip), and labels that carry "
                      "no signal leave a model at the prior just as a rule it has not found yet does: which of the two "
                      "it is cannot be told until the model fits train, so let it fit train first")
#: Epochs from which a run at the prior that early stopping did not cut short is not told to train longer first.
LONG_RUN = 100
#: The sentence's end otherwise.
SIGNAL_UNTOLD = "; whether the labels carry signal cannot be told until the model fits them"


def no_fit(evidence: RunEvidence, book: RemedyBook, facts: dict) -> Verdict:
    """The no_fit form: the model never left the prior on its training set (see the module docstring); ``facts`` are
    the rule's common ones."""
    fit = evidence.fit
    regularisation = regularisation_note(evidence)
    # A learning rate far above its optimizer's usual range keeps a model at the prior by itself (an own
    # Transformer at AdamW lr 0.1, where lr 0.001 reached val 0.92, had been told to regularise less, then to
    # grow and train longer, and never that its learning rate was 100x the working one).
    fast = fast_learning_rate(evidence.settings)
    # And one far below it: an LSTM-FCN at Adam 1e-5, at chance after 60 epochs, had been told to grow 64 -> 256
    # first and to raise its rate only 3x, to 3e-5, second.
    slow = slow_learning_rate(evidence.settings)
    # A rate above the top of its range, not far enough to count as evidence (Adam-like 0.02): a lower one is worth a
    # try (own Transformers at AdamW 0.02, at the constant guess where 0.001 reached val 1.000, had been told only to
    # grow and to regularise less).
    high = "" if fast else high_learning_rate(evidence.settings)
    # A clip far below the gradients starves every update whatever the rate (a Lightning LSTM at SGD 0.05 clipped at
    # 1e-4 had been told to grow 32 -> 128 and train longer; without the clip it reached val 0.87 and rising).
    starved = clipped_far_below(evidence)
    clip_note = (f"it clips the gradient norm at {starved[0]:g}, {starved[1] / starved[0]:.0f}x below the gradients' "
                 f"median norm of {starved[1]:.2g}, which starves every update" if starved else "")
    frozen = frozen_note(evidence.settings)
    pace_note = ((f"it has {frozen}" if frozen else "") or clip_note or fast or slow
                 or (f"{high}, where a lower one may let it fit" if high else ""))
    # Outputs that never changed at all say no step reached the weights (an own loop calling optimizer.step() before
    # loss.backward() had been told to grow and to raise its rate); frozen parameters, when described, say why.
    still = evidence.outputs_unchanged and not frozen
    still_note = (f"its val outputs were the same in all {evidence.num_epochs} epochs: no training step changed its "
                  "weights" if still else "")
    pace_note = still_note or pace_note
    # Tensors backward never reached (a detach() before the head) are held at their initial values whatever the size
    # or the rate (an own GRU detached before its head, NaN gradients for every GRU tensor, had been told to grow).
    ungraded = _ungraded_modules(evidence)
    if ungraded and not still:
        pace_note = (f"no gradient reached {ungraded} in any epoch (its gradient hooks never ran): backward stops "
                     "before it, so it keeps its initial weights")
    # Steps too small to move the weights at all (GradientHealth.stalled), at a rate not far below its range: gradients
    # clipped or scaled far down where the loop does not describe its clip (an own loop clipping at 1e-4 under SGD 0.05,
    # gradients of norm 2.8, no step above 5e-6 of the weights, had read unstable_optimization 1.00 and "lower the
    # learning rate"; without the clip it reached test 0.966 against 0.095).
    gradients = evidence.gradients
    stalled = bool(gradients is not None and gradients.stalled and not (frozen or still or ungraded or starved or slow))
    # lossgap's own trainer records its clip and never scales the loss: with no clip set, the rate is what sets the
    # steps' size (trial 17's 4 units at Adam 1e-4, no clip, had been told to check the clip and loss scaling first).
    rate_sets_steps = stalled and _unclipped_own_run(evidence)
    if stalled:
        pace_note = (f"no step moved its weights by as much as {STALLED_UPDATE_RATIO:g} of their norm (at most "
                     f"{gradients.largest_update_ratio:.1g} in an epoch; working runs take 1e-3 to 1e-2) while its "
                     f"gradients' norm was about {gradients.total_grad_norm_end:.2g}: its steps are far too small, "
                     + (f"and with no gradient clip and no loss scaling in this run, its learning rate of "
                        f"{rate_and_range(evidence.settings)[1]:g} is what sets their size" if rate_sets_steps
                        else "as when the gradients are clipped or the loss is scaled far down"))
    # "(majority share 0.502; 0.502 at epoch 5)" had read as two shares: the judged epoch's accuracy is its own clause.
    summary = (f"the model did not fit even its training set: {below_prior(fit)}{regularisation}, and train accuracy "
               f"reached at best {fit.train_accuracy_max:.3f} against a majority share of {fit.train_baseline:.3f} "
               f"({fit.train_accuracy:.3f} at epoch {evidence.judged_epoch}, the judged one){gradient_note(evidence)}"
               f"{'; ' + pace_note if pace_note else ''}")
    # A larger model under the same pinning regularisation stays pinned (Adam's L2 of 1, every unit dead, had been
    # told to grow 32 -> 128 second, its command keeping --weight-decay 1): regularising less is the remedy then.
    grow = ((book.less_regularisation(),) if regularisation
            else (book.larger_hidden(4), book.less_regularisation()))
    narrow, widen = narrow_layer(evidence, book)
    reach = architecture(evidence, book)
    # Nothing the run records holds the model at the prior: labels that carry no signal leave a model there just as
    # a rule it has not found yet does, so the verdict is no surer than the two are apart (trial 16's shuffled labels
    # at hidden 16, 64 and 256 had read 0.80 with "grow the hidden size" each time).
    # A rate low in its range, and a collapse onto the majority class, are reasons too (class weights and a higher
    # rate fixed the own loops that set them).
    collapse = majority_collapse(evidence)
    unexplained = not (pace_note or regularisation or held_back(evidence.settings) or widen or any(reach)
                       or evidence.unscaled_inputs or evidence.saturated_at_usual_rate or collapse is not None
                       or low_in_range(evidence.settings))
    summary += UNEXPLAINED_CLAUSE if unexplained else SIGNAL_UNTOLD
    if fast or regularisation:
        # A model its regularisation pins stays pinned however long it trains, and a higher learning rate makes
        # decoupled decay shrink the weights faster still: neither is offered then, nor where the rate is too high.
        ordered = (book.lower_lr(10.0) if fast else None, widen, *grow, book.lower_lr() if high else None,
                   *reach)
    elif slow:
        ordered = (widen, *reach, book.higher_lr(10.0, usual=True), *grow,
                   book.more_epochs(evidence.num_epochs))
    elif high:
        ordered = (widen, book.lower_lr(), *grow, *reach, book.more_epochs(evidence.num_epochs))
    elif unexplained:
        # Letting the model fit train is the experiment that tells the two readings apart, so it comes first: grown
        # 16 -> 64 -> 256 under the same early stopping, shuffled labels had stayed at the prior (trial 16).
        # Not grown where the layer is wide already: nothing says its size holds it back, and shuffled labels at 256
        # units had been told to grow to 1024 second.
        # Nor trained longer first after LONG_RUN epochs that early stopping did not cut short, and most recurrent units
        # dead are a rate's doing before anything else (trial 18: shuffled labels at 2 x 128 units and Adam 0.01, every
        # unit dead after 120 epochs, had been told to train 240, and then 480).
        through = book.more_epochs(evidence.num_epochs, through=True)
        long_run = evidence.num_epochs >= LONG_RUN and not ended_by_early_stopping(evidence)
        dead = bool(gradients is not None and getattr(gradients, "dead", False))
        ordered = (book.lower_lr() if dead else None, None if long_run else through,
                   *(grow[1:] if wide_enough(evidence.settings) else grow), None if dead else book.higher_lr(),
                   through if long_run else None)
    else:
        # On long sequences a recurrent layer read at its last step may not carry the early steps that far: reading
        # both directions, or a convolution branch, comes before growing it (a label in steps 5-10 of 200 had been
        # told to grow 32 -> 128, which gained nothing; --bidirectional reached val 0.92). Except a layer of a few
        # units, which the sentence names as too small: growing it comes first (trial 33: hidden size 1 on 100-step
        # tasks had been told to switch to LSTM-FCN and to read both directions before growing it).
        sized = (*grow, *reach) if tiny_hidden(evidence.settings) else (*reach, *grow)
        ordered = (widen, *sized, book.higher_lr(), book.more_epochs(evidence.num_epochs))
        if low_in_range(evidence.settings):
            # A rate in the lower half of its family's usual range is the cheaper thing to try first (an own GRU at
            # SGD 0.01, at the prior after 40 epochs, had been told to grow 32 -> 128 first; at 0.05 it reached 0.965),
            # and to at least the middle of that range, as the stopped-early form raises it (trial 24: Adam 1e-4 was told
            # 3e-4 in this form and 1e-3 in that one, for the same fault at another seed).
            ordered = (widen, book.higher_lr(usual=True), *sized, book.more_epochs(evidence.num_epochs))
    if starved:
        ordered = (book.loosen_clip(starved[1]), *ordered)
    if rate_sets_steps:
        faster = book.higher_lr(10.0, usual=True)
        ordered = (faster, *(remedy for remedy in ordered if remedy is None or remedy.name != "higher_lr"))
    elif stalled:
        norm = f"{gradients.total_grad_norm_end:.2g}"
        ordered = (book.advice("check_clip", "check the gradient clipping and any scaling of the loss or the "
                               f"gradients: clip at about the gradients' own norm ({norm}) or not at all"), *ordered)
    if frozen:
        ordered = (unfreeze(book), *ordered)
    if ungraded and not still:
        ordered = (book.advice("check_graph", f"check the forward pass for a detach(), torch.no_grad() or a tensor "
                               f"rebuilt outside the graph between {ungraded} and the loss"), *ordered)
    if still:
        ordered = (book.advice("check_step", "check that optimizer.step() runs after loss.backward() in every training "
                               "step, that the optimizer was built on this model's parameters (not a copy's), and that "
                               "its learning rate is above 0"), *ordered)
    remedies = present(*ordered, book.permuted_control("to see whether the labels carry signal",
                                                       when="once it fits, "))
    if evidence.unscaled_inputs:
        # The sentence names the unscaled inputs; a motif task scaled by 1000, 100% of its gates saturated, had
        # then been told to grow 32 -> 128 first (standardised, the same data reached val 1.000).
        remedies = present(book.standardize(), *remedies)
    elif evidence.saturated_at_usual_rate:
        remedies = present(book.check_input_scale(), *remedies)
    # The title names what in the settings keeps the model at the prior, most specific first; the form's own title
    # already names a rate far out of range, heavy regularisation or a tiny layer.
    general = form_title("no_fit", None)
    reason = next((words for found, words in ((still, "its outputs never changed, so no step reached its weights"),
                                              (ungraded, f"no gradient reached {ungraded}"),
                                              (evidence.unscaled_inputs, "its inputs are not standardised"),
                                              (frozen, "most of its parameters are frozen"),
                                              (starved, "its gradient clip starves the updates"),
                                              (rate_sets_steps, "its learning rate is too low to move its weights"),
                                              (stalled, "its steps barely move its weights")) if found), "")
    title = f"{general}: {reason}" if reason else form_title("no_fit", evidence.settings)
    if collapse is not None:
        facts["majority_collapse"] = collapse
        summary += collapse_words(evidence, collapse)
        # Class weights first, unless something in the settings already explains a model that learned nothing at
        # all (a rate far out of range, frozen parameters, a starving clip, ...): then they come after its fix.
        explained = title != general
        remedies = present(*remedies[:int(explained)], book.class_weights(), *remedies[int(explained):])
        if not explained:
            title = f"{general}: it predicts the majority class for every sample"
    if unexplained and title == general:
        title = f"{general}, and nothing in its settings says why"
    return Verdict("underfitting", UNEXPLAINED_CAP if unexplained else 0.8, summary + narrow,
                   {**facts, "form": "no_fit", "no_fit": True, "unexplained": unexplained,
                    "clip_starved": list(starved) if starved else None,
                    "ungraded_named": bool(ungraded and not still), "title": title}, remedies)


def _unclipped_own_run(evidence: RunEvidence) -> bool:
    """True for a run of lossgap's own trainer (config.json's "train" known) that set no gradient clip."""
    return evidence.train_config is not None and not (evidence.train_config.get("optimizer") or {}).get("clip_grad")


def _ungraded_modules(evidence: RunEvidence) -> str:
    """"the weights of 'gru'" for the modules whose every trainable tensor backward never reached
    (:attr:`GradientHealth.ungraded`), "" when none or without optimisation evidence."""
    gradients = evidence.gradients
    if gradients is None or not gradients.ungraded:
        return ""
    modules = sorted({name.rsplit(".", 1)[0] if "." in name else name for name in gradients.ungraded})
    return "the weights of " + ", ".join(f"'{module}'" for module in modules)


def narrow_layer(evidence: RunEvidence, book: RemedyBook):
    """(sentence, remedy) for a Linear layer narrower than the classes (:func:`narrow_layer_advice`)."""
    return narrow_layer_advice(evidence.settings, evidence.val.num_classes, book)


def unfreeze(book: RemedyBook):
    """The advice to unfreeze a model whose parameters are mostly frozen (constraints.frozen_note)."""
    return book.advice("unfreeze", "unfreeze the frozen parameters (requires_grad=True), or check that freezing them "
                       "is meant: a model that trains only its head may not fit")
