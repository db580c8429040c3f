"""class_imbalance_bias: accuracy rides on the frequent classes; the rare ones are rarely predicted."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.per_class import probability_lift, probability_shortfall
from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes.class_imbalance_doubts import few_of_every_class, weighted_rare_still_rising
from lossgap.diagnosis.causes.underfitting_classes import majority_at_slow_rate
from lossgap.diagnosis.causes.unstable_records import delivered_model_jumps, evaluation_only_bounces
from lossgap.diagnosis.constraints import fast_learning_rate, resampled_classes, slow_learning_rate
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import val_showed_learning
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import clip, guess_loss, pct, share_below_prior

#: Gap between plain and balanced val accuracy at which the rule reaches full strength...
GAP_FULL = 0.1
#: ... and the rare classes' recall shortfall (beyond its noise) against the frequent classes', or their
#: shortfall in the probability given to the true class (beyond its standard error), on the same scale.
DEFICIT_FULL = 0.2
#: Share of a rare class's train samples (plus those the model says hide under other labels) from which the
#: class is taken as made rare by moved labels, not by nature, and left out of the probability evidence.
HIDDEN_FULL = 0.2
#: The probability evidence stands in for recall where recall cannot resolve a deficit. Where every rare class
#: has enough val samples for a DEFICIT_FULL shortfall to cost at least RESOLVING_MISSES of them, and their
#: recall is within its noise of the others', no decision leans on the frequent classes: the lower probability
#: alone is then at most "considered" (class-conditional label noise lowers it just as much). Per class, since
#: the bias acts per class: eight rare classes of 2 val samples each move recall in steps of 0.5, whatever their
#: total. Recall alone decides this: on a class-balanced val split plain and balanced accuracy are equal
#: whatever the bias.
RESOLVING_MISSES = 2
PROBABILITY_ONLY_CAP = 0.4
#: Highest confidence while the run is still learning (RunEvidence.still_learning): rare classes, with their
#: small share of the gradient, are learned last, so a run stopped mid-learning is short of rare recall whether
#: or not a finished model would lean on the frequent classes. Still reported, but low enough that the
#: stopped-early verdict it explains away in part stays above it (train longer first; weight the classes if
#: the gap stays).
STILL_LEARNING_CAP = 0.55
#: Highest confidence when a frequent class is recalled no better than the rare ones: the model is weak across
#: classes, not leaning on the frequent ones (an OSULeaf GRU at val accuracy 0.59 recalled a class of 16% of
#: train 0.14 and its rare class of 8% 0.33 on 3 val samples, and had read imbalance 1.00 from the rare class's
#: lower probability, above the overfitting that was the run's story).
WEAK_ACROSS_CAP = 0.4
#: Highest confidence when a class-weighted run never fitted its weighted objective (see rule).
NOT_LEANING_CAP = 0.4
#: Highest confidence when the evaluated model jumps while its training pass does not (see rule): considered.
EVALUATION_JUMPS_CAP = 0.45
#: Share of the frequent classes' own training samples wrong (at the judged epoch) from which the model counts
#: as weak across classes (WEAK_ACROSS_CAP).
FREQUENT_UNFIT = 0.2
#: Highest confidence when the frequent classes too fall well short on val of their own training recall (by
#: GENERAL_DROP or more) and the rare classes' val recall is within LEAN_NOISE standard errors of what that general
#: drop predicts from their training recall, with no clear lean on train either: the model overfits every class,
#: and a few rare val samples cannot tell a lean from that (OSULeaf at hidden 32: the frequent classes 0.88 on train
#: and 0.60 on val, the rare class 8 of 12 on train and 0 of 3 on val, had read imbalance 1.00; on test the rare
#: class was recalled 0.26 against 0.15-0.39 for three of the frequent ones).
OVERFIT_ACROSS_CAP = 0.4
GENERAL_DROP = 0.15
LEAN_NOISE = 2.0
#: Highest confidence for an unweighted model at a usual learning rate that never gave the rare classes' val samples
#: LIFT_SHOWN times their class's share of probability (see rule).
SHARES_ONLY_CAP = 0.6
LIFT_SHOWN = 1.5
#: Share of the rare classes' own training samples right from which they count as learned (the still-learning cap
#: no longer applies: see rule).
RARE_FITTED = 0.9


def rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Rare classes (under half an equal share of train) recalled poorly while accuracy rides on the rest."""
    per_class = evidence.val_per_class
    index = evidence.judged_epoch - 1
    counts = evidence.train_class_counts.astype(np.float64)
    shares = counts / counts.sum()
    accuracy = float(per_class.accuracy[index])
    balanced = float(per_class.balanced_accuracy[index])
    recall = per_class.recall[index]
    rare = evidence.rare_classes
    facts = {"epoch": evidence.judged_epoch, "train_class_shares": shares.tolist(), "val_accuracy": accuracy,
             "val_balanced_accuracy": balanced, "recall": [None if not np.isfinite(r) else float(r) for r in recall],
             "predicted_share": per_class.predicted_share[index].tolist(),
             "true_share": per_class.true_share.tolist(), "rare_classes": [int(c) for c in rare]}
    if not rare:
        return Verdict("class_imbalance_bias", 0.0, "the classes are roughly balanced", facts)
    rare_recall = float(np.nanmean(recall[rare]))
    frequent = [c for c in range(len(recall)) if c not in rare and np.isfinite(recall[c])]
    frequent_recall = float(np.nanmean(recall[frequent])) if frequent else 1.0
    # The rare classes' recall is measured on few val samples: its shortfall must clear that noise.
    rare_support = int(per_class.support[rare].sum())
    deficit = frequent_recall - rare_recall
    noise = float(np.sqrt(max(rare_recall * (1 - rare_recall), 0.05) / max(rare_support, 1)))
    gap = accuracy - balanced
    by_recall = clip((deficit - noise) / DEFICIT_FULL) * clip(gap / GAP_FULL)
    # With a handful of val samples per rare class recall moves in big steps and can miss the bias; the
    # probability the rare samples give their own class shows it on the same samples, graded.
    # A class made rare by labels moved away from it (class-conditional noise) is short of probability too;
    # the model then calls many train samples of other labels by its name. Such classes are left out here.
    moved = _moved_label_classes(evidence, rare)
    natural = [c for c in rare if c not in moved]
    probability = probability_shortfall(evidence.val, evidence.judged_epoch, natural) if natural else None
    by_probability = 0.0 if probability is None else clip(
        (probability.shortfall - probability.standard_error) / DEFICIT_FULL)
    smallest_rare = int(per_class.support[rare].min())
    recall_unbiased = not unresolved_rare_classes(evidence) and deficit <= noise
    if recall_unbiased:
        by_probability = min(by_probability, PROBABILITY_ONLY_CAP)
    confidence = max(by_recall, by_probability)
    facts.update({"rare_recall": rare_recall, "frequent_recall": frequent_recall, "recall_deficit": deficit,
                  "deficit_noise": noise, "rare_val_samples": rare_support})
    if probability is not None:
        facts.update({"rare_true_class_probability": probability.group_mean,
                      "frequent_true_class_probability": probability.rest_mean,
                      "probability_shortfall_error": probability.standard_error})
    facts["moved_label_classes"] = moved
    facts["recall_unbiased"] = recall_unbiased
    facts["smallest_rare_val_class"] = smallest_rare
    names = ", ".join(evidence.class_label(c) for c in rare)
    # "But" only where balanced accuracy is the lower: on a val split holding the rare classes at more than their
    # training share the two can be level (a trial's 0.698 "but" 0.700).
    summary = (f"val accuracy {accuracy:.3f} {'but' if gap > 0.005 else 'and'} balanced accuracy {balanced:.3f} at "
               f"epoch {evidence.judged_epoch}: "
               f"rare class(es) {names} ({pct(shares[rare].sum())} of training samples) are recalled "
               f"{rare_recall:.2f} on average against {frequent_recall:.2f} for the others")
    if probability is not None and by_probability > by_recall:
        summary += (f", and their val samples give their own class a probability of {probability.group_mean:.2f} "
                    f"on average against {probability.rest_mean:.2f} for the others")
        if recall_unbiased:
            summary += (f"; but with at least {smallest_rare} val samples in each rare class their recall is within "
                        "its noise of the others', so no decision leans on the frequent classes (moved labels, as "
                        "in class-conditional noise, lower that probability too)")
    else:
        summary += (f", and the most predicted class takes {pct(per_class.predicted_share[index].max())} "
                    "of val predictions")
    uncapped = confidence
    worst_frequent = min(frequent, key=lambda c: recall[c]) if frequent else None
    facts["worst_frequent_class"] = worst_frequent
    # Weak across classes: a frequent class as poorly recalled as the rare ones, both well short of the best.
    weak_across = (worst_frequent is not None and recall[worst_frequent] <= rare_recall
                   and recall[worst_frequent] < np.nanmax(recall) - 2 * noise)
    if weak_across and confidence > WEAK_ACROSS_CAP:
        confidence = WEAK_ACROSS_CAP
        summary += (f"; but the frequent class {evidence.class_label(worst_frequent)} is recalled "
                    f"{recall[worst_frequent]:.2f}, no better: the model is weak across classes rather than leaning "
                    "on the frequent ones")
    # A model that gets the frequent classes' own training samples wrong as well is weak across classes, not
    # leaning on them (an OSULeaf GRU of 2 units, 48% of its training samples wrong, recalled its rare class 0 of
    # 3 and had read imbalance 0.94 above the capacity verdict that was its story).
    frequent_train = _train_recall(evidence, rare, of_rare=False)
    rare_train = _train_recall(evidence, rare, of_rare=True)
    frequent_error = None if frequent_train is None else 1.0 - frequent_train[0]
    facts["frequent_train_error"] = frequent_error
    if frequent_error is not None and frequent_error >= FREQUENT_UNFIT and confidence > WEAK_ACROSS_CAP:
        confidence = WEAK_ACROSS_CAP
        summary += (f"; but the model gets {pct(frequent_error)} of the frequent classes' own training samples wrong "
                    "too: it is weak across classes, and imbalance can be judged once a model fits them")
    overfit_across = _overfit_across(frequent_train, rare_train, frequent_recall, rare_recall, rare_support, facts)
    if overfit_across and confidence > OVERFIT_ACROSS_CAP:
        confidence = OVERFIT_ACROSS_CAP
        summary += (f"; but the frequent classes too drop from {frequent_train[0]:.2f} on train to "
                    f"{frequent_recall:.2f} on val: the model overfits every class, and the rare classes' "
                    f"{rare_support} val sample(s) ({rare_recall:.2f} right, where that drop predicts "
                    f"{facts['rare_val_recall_expected']:.2f}) cannot tell a lean from it")
    # Weighted by class and still a constant guess: the weights took the lean away, so what is left is a model
    # that learned nothing (an 80/10/10 run with balanced weights, its weighted train loss never below log 3, had
    # read imbalance 1.00 over "did not fit even its training set").
    # Or weighted, and no epoch's balanced val accuracy significantly above chance: with the lean weighted away,
    # nothing the model learned carries over to any class (85/15 data on random labels, weighted, had read imbalance
    # 1.00 with "oversample" as its remedy).
    # Where too few val samples of all but one class leave no balanced test (NaN), plain accuracy and the val loss are
    # all val shows (JapaneseVowels cut to 61/5/5/..., weighted, 2 val samples per rare class, val accuracy 0.957 against
    # a majority share of 0.652, had been told "nothing the model learned carries over" from the untestable balanced
    # accuracy, and read "No problem found" with its rare classes recalled 0.88 against 1.00).
    weighted_unfitted = evidence.objective is not None and not evidence.objective.fit.train_moved
    balanced_p = evidence.balanced_signal_p
    # On a val split too small to show learning the cap stays: the lean is read off the same few rare val samples,
    # and on labels without signal they are missed too (a trial's weighted GRU on random labels, 3 val samples per
    # rare class, reads imbalance 1.00 without it).
    weighted_unshown = (evidence.objective is not None and not weighted_unfitted
                        and (not balanced_p < evidence.signal.alpha if np.isfinite(balanced_p)
                             else not val_showed_learning(evidence)))
    facts["weighted_and_unfitted"] = weighted_unfitted
    facts["weighted_and_balanced_at_chance"] = weighted_unshown
    if weighted_unfitted and confidence > NOT_LEANING_CAP:
        confidence = NOT_LEANING_CAP
        summary += ("; but the loss is already weighted by class and the model never got its weighted train loss "
                    "clearly below a constant guess's: it has learned nothing yet, which no weighting changes")
    if weighted_unshown and confidence > NOT_LEANING_CAP:
        confidence = NOT_LEANING_CAP
        unshown = ("no epoch's balanced val accuracy is significantly above chance" if np.isfinite(balanced_p) else
                   "val shows nothing learned (fewer than two classes with 5 or more val samples for a balanced test, "
                   "and neither its accuracy nor its loss significantly better than a constant answer's)")
        summary += (f"; but the loss is already weighted by class and {unshown}: with the lean weighted away, nothing "
                    "the model learned carries over to any class")
    # Weighted by class and still early in learning (RunEvidence.early_learning): the weights already answer the
    # imbalance, and a model that has barely begun learns every class slowly; what it leans on can be judged once it
    # has learned them (trial 14's 70/15/15 data, balanced weights at Adam 3e-5, its weighted train loss 6% below a
    # constant guess's, had read imbalance 1.00 with "collect more rare-class samples" as its only remedy; the same
    # data at Adam 3e-3 reached balanced accuracy 0.73 with the weights).
    slow = slow_learning_rate(evidence.settings)
    weighted_early = (evidence.objective is not None and not weighted_unfitted and not weighted_unshown
                      and evidence.early_learning)
    facts["weighted_and_early_in_learning"] = weighted_early
    if weighted_early and confidence > NOT_LEANING_CAP:
        confidence = NOT_LEANING_CAP
        summary += ("; but the loss is already weighted by class and the model is still early in learning (its class-"
                    f"weighted train loss {share_below_prior(evidence.objective.fit.moved_share, guess_loss(True))}, its "
                    f"val loss still setting new lows){', and ' + slow if slow else ''}; it is learning every class, so "
                    "the lean can be judged once it has learned them")
    # Unweighted, never below the class shares' loss, at a learning rate far outside its optimizer's range: the rate
    # explains a model that learned nothing, which predicts the majority whatever the balance (ItalyPowerDemand cut to
    # 92/8 at SGD lr 1e-4 had read imbalance 1.00; at the default rate the same data reach val 0.983 unweighted). At a
    # usual rate a model stuck at the shares on imbalanced data may be the lean itself (the suite's imbalance rows): what
    # the rare val samples are given tells (below).
    pace = fast_learning_rate(evidence.settings) or slow
    unmoved = (evidence.objective is None and evidence.fit.train_recorded and not evidence.fit.train_moved
               and bool(pace))
    facts["learned_nothing_at_its_rate"] = unmoved
    if unmoved and confidence > NOT_LEANING_CAP:
        confidence = NOT_LEANING_CAP
        summary += (f"; but the model never got its train loss clearly below the class shares' loss and {pace}: a "
                    "model that learned nothing predicts the majority whatever the balance, so the lean can be judged "
                    "once it learns")
    # Or still predicting the majority for every training sample at a rate far below its range, its val loss still
    # falling: it is learning the classes in order of size (trial 13's 80/10/10 data at Adam 3e-5 had read imbalance
    # 1.00 with class weights first, which reached balanced accuracy 0.634; Adam 0.01 unweighted reached 0.937).
    learning_slowly = (not unmoved and evidence.optimization.val_still_falling
                       and majority_at_slow_rate(evidence) is not None)
    facts["still_learning_at_a_slow_rate"] = learning_slowly
    if learning_slowly and confidence > NOT_LEANING_CAP:
        confidence = NOT_LEANING_CAP
        summary += ("; but the model still predicts the majority class for (nearly) every training sample while its "
                    f"val loss still falls, and {slow}: a model that slow learns the classes in order of size, so the "
                    "lean can be judged once it has learned the others")
    # Unweighted at a usual rate, and the rare val samples never given much more than their class's share: nothing the
    # model learned tells the rare classes apart on val, so nothing shows that they could be told apart at all (85/15
    # data on random labels, the model at the class shares' loss, had read imbalance 1.00, and so had 91/9 data on
    # random labels whose model memorised a little of train, its rare val samples at 1.3x their share; the suite's
    # imbalance runs gave theirs 1.2-15x). Weighting the loss stays the first remedy: it is also the experiment that
    # tells.
    # Counted from the epoch the train loss first came near the shares' loss: before it, what the rare samples get is
    # the lean of the initialisation (91/9 data on random labels, its fresh network giving every val sample 0.56 of
    # the rare class in epoch 1, had counted 6x and read imbalance 1.00).
    lift_from = evidence.fit.shares_learned_epoch or 1
    # And it is measured against what the other val samples get where they get more than the share: a model leaning to
    # the rare classes across the board lifts their samples without telling them apart (90/10 random labels gave rare
    # and frequent val samples 0.151 and 0.147 at the epoch that set a lift of 1.54, and read imbalance 1.00; a
    # memorising one 0.155 and 0.113 on 12 rare val samples, 1.58; a rare class being learned got 0.288 against 0.037).
    lift = probability_lift(evidence.val, rare, shares, first_epoch=lift_from)
    facts["rare_probability_lift_from_epoch"] = lift_from
    shares_only = (evidence.objective is None and evidence.fit.train_recorded
                   and not pace and not lift >= LIFT_SHOWN)
    facts["rare_probability_lift"] = lift
    facts["shares_only"] = shares_only
    if shares_only and confidence > SHARES_ONLY_CAP:
        confidence = SHARES_ONLY_CAP
        since = f" (from epoch {lift_from} on, once the model had learned the shares)" if lift_from > 1 else ""
        summary += (f"; but its rare val samples got at most {lift:.1f}x their class's share of probability{since}: "
                    "nothing the model learned tells the rare classes apart on val, which is also what labels with no "
                    "signal look like. A class-weighted run tells the two apart: balanced accuracy above chance "
                    "there, or not")
    facts["still_learning"] = evidence.still_learning
    # "Rare classes are learned last" does not hold once the model gets their training samples right: then more
    # epochs fit nothing more of them (an own MLP on 1000/58/61/60 samples, its rare classes 93-100% right on
    # train and 25-40% on val at epoch 20, had been told to train longer first).
    rare_fitted = rare_train is not None and rare_train[0] >= RARE_FITTED
    facts["rare_train_recall"] = None if rare_train is None else rare_train[0]
    if evidence.still_learning and not rare_fitted and confidence > STILL_LEARNING_CAP:
        confidence = STILL_LEARNING_CAP
        summary += (f"; but the run ended while still learning (its lowest val loss at epoch "
                    f"{evidence.val_loss_min_epoch} of {evidence.num_epochs}, train loss still falling): rare classes "
                    "are learned last, so train longer first, and weight the classes if the gap stays")
    # A class-weighted run trades plain val loss for the rare classes, so its val loss says nothing of whether it is still
    # learning them: its balanced accuracy does.
    rising = weighted_rare_still_rising(evidence, rare)
    facts["balanced_accuracy_still_rising"] = rising
    longer = None
    if rising is not None and not evidence.still_learning and confidence > STILL_LEARNING_CAP:
        confidence = STILL_LEARNING_CAP
        longer = book.more_epochs(evidence.num_epochs)
        summary += (f"; but its balanced val accuracy was still rising when the run ended ({rising[1]:.3f} at epoch "
                    f"{rising[0]}, {rising[2]:.3f} at epoch {evidence.num_epochs}, beyond its noise): a class-weighted "
                    "model learns its rare classes late, so train longer first")
    # Read off a model whose end-of-epoch evaluation jumps while its training pass descends smoothly (batch norm's
    # statistics lagging its weights), one epoch's rare recall is that epoch's luck (trial 15's OSULeaf LSTM-FCN: rare
    # recall 4 of 6 at the luckiest epoch of a curve from 0.36 to 0.93 read imbalance 0.67 first; its class weights took
    # test 0.588 -> 0.461, --ema 0 to 0.882, after which the lean was real but worth 3 points).
    jumps = delivered_model_jumps(evaluation_only_bounces(evidence))
    facts["evaluation_jumps"] = jumps
    if jumps and confidence > EVALUATION_JUMPS_CAP:
        confidence = EVALUATION_JUMPS_CAP
        summary += ("; but the model as evaluated jumps from epoch to epoch while its training pass descends smoothly "
                    "(batch norm's running statistics lag its weights), so one epoch's rare recall is read off that "
                    "jumping model: judge the lean again once the statistics are recomputed")
    # A loop that already balances its batches with a sampler is not told to oversample (two own loops with a
    # WeightedRandomSampler had been); what is left is more data of the rare classes.
    resampled = resampled_classes(evidence.settings)
    facts["resampled_classes"] = resampled
    if resampled:
        summary += "; its batches are already drawn to balance the classes, so what is left is more rare-class data"
    elif evidence.class_weights is not None and confidence == uncapped:
        # Only of a lean no doubt above held back: beside "weak across classes" or "train longer first" it would
        # contradict them.
        summary += "; its loss is already weighted by class, so what is left is more rare-class data"
    # Weighting the loss of batches a sampler already balances would count the rare classes twice, and so would
    # oversampling for a loss already weighted by class (trial 5's weighted runs had been told to oversample).
    balanced_already = resampled or evidence.class_weights is not None
    remedies = present(longer, None if resampled else book.class_weights(),
                       book.advice("resample", "collect more samples of the rare classes, and judge runs by balanced "
                                   "accuracy" if balanced_already else "oversample the rare classes or collect more "
                                   "of them, and judge runs by balanced accuracy"))
    return few_of_every_class(evidence, book, Verdict("class_imbalance_bias", confidence, summary, facts, remedies))


def unresolved_rare_classes(evidence: RunEvidence) -> list[int]:
    """The rare classes (RunEvidence.rare_classes) with too few val samples for a DEFICIT_FULL shortfall of their
    recall to cost RESOLVING_MISSES of them: whether the model neglects them cannot be seen in their recall."""
    support = evidence.val_per_class.support
    return [int(c) for c in evidence.rare_classes if support[c] * DEFICIT_FULL < RESOLVING_MISSES]


def unresolved_rare_note(evidence: RunEvidence, classes: list[int]) -> str:
    """The limitation note "rare classes 'a', 'b' have 3 val samples each: ..." for the classes of
    :func:`unresolved_rare_classes`."""
    support = evidence.val_per_class.support
    names = ", ".join(evidence.class_label(c) for c in classes[:4]) + (" and more" if len(classes) > 4 else "")
    fewest, most = int(support[classes].min()), int(support[classes].max())
    count = f"{fewest}" if fewest == most else f"{fewest}-{most}"
    return (f"rare class{'es' if len(classes) > 1 else ''} {names} {'have' if len(classes) > 1 else 'has'} {count} val "
            f"sample{'' if most == 1 else 's'}{' each' if len(classes) > 1 else ''}: a model that misses a fifth of a "
            f"class's samples would miss fewer than 2 of {'these' if fewest > 1 or len(classes) > 1 else 'this one'}, "
            "so val cannot show whether it leans on the frequent classes; judge the rare classes on more samples (a "
            "larger val split, or cross-validation), or weight the loss by class and compare balanced accuracy")


def _train_recall(evidence: RunEvidence, rare: list[int], *, of_rare: bool) -> tuple[float, int] | None:
    """Share (0..1) of the rare classes' (``of_rare``) or the frequent classes' training samples right at the judged
    epoch, and how many samples that share is of; None without train samples of them."""
    train = evidence.train
    if train is None:
        return None
    index = evidence.judged_epoch - 1
    chosen = train.seen[index] & (np.isin(train.labels, rare) == of_rare)
    return (float(train.correct[index][chosen].mean()), int(chosen.sum())) if chosen.any() else None


def _overfit_across(frequent_train: tuple[float, int] | None, rare_train: tuple[float, int] | None,
                    frequent_recall: float, rare_recall: float, rare_support: int, facts: dict) -> bool:
    """Whether the rare classes' val shortfall is the general train-to-val drop of every class (see
    OVERFIT_ACROSS_CAP) rather than a lean; records the recall that drop predicts for them in ``facts``."""
    if frequent_train is None or rare_train is None or frequent_train[0] <= 0:
        return False
    drop = frequent_train[0] - frequent_recall
    expected = rare_train[0] * min(frequent_recall / frequent_train[0], 1.0)
    facts["rare_val_recall_expected"] = expected
    val_noise = float(np.sqrt(max(expected * (1 - expected), 0.05) / max(rare_support, 1)))
    train_noise = float(np.sqrt(max(rare_train[0] * (1 - rare_train[0]), 0.05) / rare_train[1]))
    leans_on_train = frequent_train[0] - rare_train[0] - train_noise >= DEFICIT_FULL
    return drop >= GENERAL_DROP and expected - rare_recall <= LEAN_NOISE * val_noise and not leans_on_train


def _moved_label_classes(evidence: RunEvidence, rare: list[int]) -> list[int]:
    """Rare classes for which the suspects labelled with another class but called this one by the model make
    up at least HIDDEN_FULL of the class's train samples plus those suspects."""
    suspects = evidence.suspects
    if suspects is None or evidence.train is None or not len(suspects.indices):
        return []
    given = np.asarray(evidence.train.labels)[suspects.indices]
    moved = []
    for cls in rare:
        hidden = int(np.sum((suspects.rival_classes == cls) & (given != cls)))
        if hidden / max(int(evidence.train_class_counts[cls]) + hidden, 1) >= HIDDEN_FULL:
            moved.append(int(cls))
    return moved


CAUSE = Cause(
    code="class_imbalance_bias",
    title="accuracy rides on the frequent classes; rare classes are rarely predicted",
    rule=rule,
    # A model that leans on the majority grows confident in it, which raises the rare val samples' loss
    # (overfitting's signature); the rare classes' few samples look mislabelled and unfitted.
    explains=("label_noise", "underfitting", "overfitting", "confidence_refinement"),
)
