"""What a val loss's rise after its minimum cost the model overfitting names: val accuracy (fallen, held or risen
beyond its noise), the val samples that carry the rise, and whether the rise lies in val samples that copy training
inputs. The overfitting rule's sentence parts; split from :mod:`lossgap.diagnosis.causes.overfitting`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from lossgap.analysis.ledger import loss_ledger
from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import suspects_memorised_late
from lossgap.diagnosis.remedy import Remedy
from lossgap.diagnosis.split_checks import val_inputs_differ
from lossgap.diagnosis.verdict import REPORT_THRESHOLD, Verdict
from lossgap.diagnosis.wording import pct
from lossgap.plain import to_plain

#: Noise units of val accuracy beyond which its fall from the val-loss minimum to the delivered epoch is named as the
#: rise's cost (within one unit, the sentence says accuracy did not fall).
ACCURACY_COST_NOISE = 2.0


#: When samples wrong at both epochs carry this share of the val loss's rise, the val samples the model contradicts
#: most surely are named for a look at their labels (a trial's GunPoint with 15% of its val labels flipped: 97% of the
#: rise came from 12 samples, 11 of them the flipped ones, and nothing pointed at them). At most LISTED are kept.
CONTRADICTED_SHARE, LISTED, SHOWN = 0.8, 100, 5
#: Fewest suspects memorised after the val-loss minimum for overfitting to point at them (see memorised_suspects).
MEMORISED_SUSPECTS = 3
#: Val samples turned from right to wrong from which a rise is not "a few answers growing surer" (see _answers_lost).
LOST_ANSWERS = 2
#: Share of the rise one val sample carries from which the rise is that sample's (see few_samples_carry_the_rise).
ONE_SAMPLE_SHARE = 0.8
#: Share of val (at least one sample) whose rise, when it exceeds the whole rise, makes the rise theirs (see
#: few_samples_carry_the_rise).
FEW_SAMPLES_SHARE = 0.01


def copies_carry_the_rise(evidence: RunEvidence, verdict: Verdict, cap: float) -> Verdict:
    """``verdict`` at most ``cap`` when val's rise after its minimum lies all in the val samples that copy
    training inputs (the split checks' ``copied``, when it warns) while the others' loss did not rise: on held-out
    samples the model did not get worse (copies of training rows carrying random labels, a fifth of val, had read
    overfitting 0.94 with "stop at epoch 1" while the other val samples' loss fell 0.122 -> 0.097)."""
    copied = evidence.split_checks.copied
    lowest, delivered = evidence.val_loss_min_epoch, evidence.delivered_epoch
    if copied is None or not copied.warns or delivered <= lowest or verdict.confidence <= cap:
        return verdict
    loss = evidence.val.loss
    mask = copied.mask

    def mean(index: int, where: np.ndarray) -> float:
        return float(np.nanmean(loss[index, where])) if where.any() else float("nan")

    copies = (mean(lowest - 1, mask), mean(delivered - 1, mask))
    others = (mean(lowest - 1, ~mask), mean(delivered - 1, ~mask))
    if not (copies[1] > copies[0] and others[1] <= others[0]):
        return verdict
    return replace(verdict, confidence=cap,
                   summary=verdict.summary + f"; but the rise lies all in the {copied.copies} val samples that copy "
                   f"training inputs (their loss {copies[0]:.3f} -> {copies[1]:.3f} from epoch {lowest} to "
                   f"{delivered}), while the other {copied.num_val - copied.copies} val samples' loss did not rise "
                   f"({others[0]:.3f} -> {others[1]:.3f}): on held-out samples the model did not get worse",
                   evidence={**verdict.evidence, "rise_in_copies": True})


def few_samples_carry_the_rise(evidence: RunEvidence, verdict: Verdict, cap: float) -> Verdict:
    """``verdict`` at most ``cap`` when one val sample carries ONE_SAMPLE_SHARE or more of val's rise after its minimum,
    or the FEW_SAMPLES_SHARE of val samples whose loss rose most carry all of it (without them val loss fell), while
    val accuracy did not fall beyond ACCURACY_COST_NOISE of its noise: a few answers growing surer is no sign the model
    got worse on new samples (ItalyPowerDemand at 14 val samples, the whole rise one sample's, had read overfitting 0.99
    with early stopping first; stopping there lowered test accuracy 0.962 -> 0.927 on 1029 series; at another seed it
    gained 0.004). The suite's overfit runs spread their rise over 2 samples or more, and keep a rise without their top
    1% (a third or more of it)."""
    lowest, delivered = evidence.val_loss_min_epoch, evidence.delivered_epoch
    if delivered <= lowest or verdict.confidence <= cap:
        return verdict
    if accuracy_fell_after(evidence, lowest) or _answers_lost(evidence, lowest):
        return verdict
    loss = evidence.val.loss
    rise, total = _rise_per_sample(evidence)
    if not total > 0:
        return verdict
    top = int(np.argmax(rise))
    if float(rise[top]) >= ONE_SAMPLE_SHARE * total:
        sample = to_plain(evidence.val.sample_ids[top])
        clause = (f"so the rise is one val sample of {evidence.val.num_samples} (id {sample}, its loss "
                  f"{float(loss[lowest - 1, top]):.3f} -> {float(loss[delivered - 1, top]):.3f}, "
                  f"{pct(min(float(rise[top]) / total, 1.0))} of the rise): one answer growing surer")
        found = {"rise_in_one_sample": sample}
    else:
        # A trial's GRU on 500 val samples, solved (test 0.991 at the last epoch against 0.988 at the val-loss minimum,
        # on 3000 clean series), had read overfitting 0.91 with "stop at epoch 39" from a rise two samples carried (6.4
        # and 6.2 nats; the other 498 samples' loss fell 3.6 nats in all).
        few = max(1, math.ceil(FEW_SAMPLES_SHARE * rise.size))
        # Largest rise first, ties in sample order: numpy's default sort orders ties by its build's kernel, and the
        # ids shown must not change with the machine.
        risers = np.argsort(-rise, kind="stable")[:few]
        rest = total - float(rise[risers].sum())
        if rest > 0:
            return verdict
        ids = [to_plain(evidence.val.sample_ids[index]) for index in risers]
        shown = ", ".join(str(sample) for sample in ids[:SHOWN]) + (", ..." if len(ids) > SHOWN else "")
        plural = "s" if few > 1 else ""
        clause = (f"but the {few} val sample{plural} of {evidence.val.num_samples} whose loss rose most (id{plural} "
                  f"{shown}) carry all of the rise: the other {evidence.val.num_samples - few} samples' loss fell "
                  f"{-rest:.3g} nats in all, so a few answers growing surer")
        found = {"rise_in_few_samples": ids}
    return replace(verdict, confidence=cap, evidence={**verdict.evidence, **found},
                   summary=f"{verdict.summary}; {clause} is no sign the model got worse on new samples")


def memorised_suspects(evidence: RunEvidence, verdict: Verdict, inspect: Callable[[str, str], Remedy]) -> Verdict:
    """``verdict`` with a last remedy, to look at the training samples the model contradicted for most of training
    and memorised after the val-loss minimum (``inspect(name, action)`` builds it), when it names overfitting and
    MEMORISED_SUSPECTS or more of them were so memorised: if their labels are wrong, they are what it overfits (trial
    23: 5-13% of the labels flipped in train and val, no early stopping, read overfitting 0.95-1.00 with 11 of 11, 25
    of 28 and 16 of 17 of those suspects the flipped samples and no word of them). The dynamics cannot tell them from
    hard samples (see label_noise), so the confidence stays."""
    suspects, late = evidence.suspects, suspects_memorised_late(evidence)
    if (verdict.confidence < REPORT_THRESHOLD or suspects is None or len(suspects.indices) < MEMORISED_SUSPECTS
            or late < 0.5 or evidence.num_epochs <= evidence.val_loss_min_epoch):
        return verdict
    ids = to_plain(suspects.sample_ids[:SHOWN])
    count = int(round(late * len(suspects.indices)))
    action = (f"look at the {count} training samples it contradicted for most of training and memorised after epoch "
              f"{evidence.val_loss_min_epoch} (ids {', '.join(str(sample) for sample in ids)}, ...; all in "
              "diagnosis.json): if their labels are wrong, they are what it overfits, and fixing them comes before "
              "regularising")
    return replace(verdict, remedies=(*verdict.remedies, inspect("inspect_suspects", action)),
                   evidence={**verdict.evidence, "memorised_suspects": count})


def _answers_lost(evidence: RunEvidence, lowest: int) -> bool:
    """True when val accuracy at the delivered epoch lies below epoch ``lowest``'s by LOST_ANSWERS samples or more and by
    more than one noise unit: answers turned wrong, so the rise is not just a few answers growing surer, even where
    ACCURACY_COST_NOISE units are more than a small val split can show (trial 24: 12 val samples, 3 of them turned from
    right to wrong, 1.000 -> 0.750, had read "one answer growing surer is no sign the model got worse" and "No problem
    found" 0.55; test 0.738 against 0.920 for the same model on the whole pool with early stopping)."""
    accuracy = evidence.curves.val_accuracy
    at_min, at_delivered = float(accuracy[lowest - 1]), float(accuracy[evidence.delivered_epoch - 1])
    count = evidence.val.num_samples
    fall = at_min - at_delivered
    # Beyond the noise, not at it: a fall of exactly the noise floor's two samples had counted by a float's last bit
    # (trial 25: 2 of 120 val samples, a mild rate that cost nothing, read overfitting 1.00).
    return fall * count >= LOST_ANSWERS - 1e-9 and fall > accuracy_noise(at_min, count) + 1e-9


def _rise_per_sample(evidence: RunEvidence) -> tuple[np.ndarray, float]:
    """Each val sample's loss change (nats; 0 where not finite) from the val-loss minimum to the delivered epoch, and
    their sum."""
    loss = evidence.val.loss
    rise = loss[evidence.delivered_epoch - 1] - loss[evidence.val_loss_min_epoch - 1]
    rise = np.where(np.isfinite(rise), rise, 0.0)
    return rise, float(rise.sum())


def untrained_classes_carry_the_rise(evidence: RunEvidence, verdict: Verdict, cap: float) -> Verdict:
    """``verdict`` at most ``cap`` when ONE_SAMPLE_SHARE or more of val's rise after its minimum is the val samples of
    classes with no training sample (the split check ``untrained``): the model cannot predict them, so they grow surer
    wrong as it grows surer of the classes it has, which is no sign it got worse on new samples of those (an own loop
    whose train loader coded class 3 as 4 had read overfitting 0.94, "stop at epoch 10")."""
    untrained = evidence.split_checks.untrained
    lowest, delivered = evidence.val_loss_min_epoch, evidence.delivered_epoch
    if not untrained or delivered <= lowest or verdict.confidence <= cap:
        return verdict
    rise, total = _rise_per_sample(evidence)
    carried = float(rise[np.isin(evidence.val.labels, list(untrained))].sum())
    if not total > 0 or carried < ONE_SAMPLE_SHARE * total:
        return verdict
    names = ", ".join(evidence.class_label(cls) for cls in untrained)
    return replace(verdict, confidence=cap,
                   summary=verdict.summary + f"; but {pct(min(carried / total, 1.0))} of the rise is the val samples of "
                   f"class(es) {names}, which have no training sample (see the warning): the model cannot predict "
                   "them, so they grow surer wrong as it grows surer of the others, whatever it memorises",
                   evidence={**verdict.evidence, "rise_in_untrained_classes": True})


def val_inputs_carry_the_rise(evidence: RunEvidence, verdict: Verdict, cap: float, check: Remedy) -> Verdict:
    """``verdict`` at most ``cap``, with ``check`` (prepare val as train) first and a clause, when val's inputs look
    unlike train's (:func:`lossgap.diagnosis.split_checks.val_inputs_differ`): val prepared otherwise than train grows
    surer wrong as the model grows surer of train, whether or not it memorises (an own loop that fed val
    unstandardised read overfitting 0.87, "stop at epoch 1", once no signal gave way to the same doubt; prepared as
    train, val 0.98; a trial's val shifted by 1 standard deviation read overfitting 1.00 where val prepared as train
    reached 0.99)."""
    words = val_inputs_differ(evidence)
    if not words or verdict.confidence <= 0:
        return verdict
    return replace(verdict, confidence=min(verdict.confidence, cap), remedies=(check, *verdict.remedies),
                   summary=verdict.summary + f"; but val's inputs look unlike train's ({words}): val prepared or "
                   "drawn otherwise than train grows surer wrong as the model grows surer of train, whether or not it "
                   "memorises",
                   evidence={**verdict.evidence, "val_inputs_differ": True})


def wrong_from_the_start(evidence: RunEvidence, verdict: Verdict, cap: float) -> Verdict:
    """``verdict`` at most ``cap``, its val-label check first, when val trailed train from the first epoch (the split
    check :class:`lossgap.diagnosis.split_checks.WrongFromTheStart`): not memorisation, and stopping at epoch 1 would
    give up what the model learned since. No cached suite run has its val-loss minimum at epoch 1 with overfitting
    named."""
    start = evidence.split_checks.wrong_from_start
    if start is None or verdict.confidence <= cap:
        return verdict
    checks = [remedy for remedy in verdict.remedies if remedy.name == "inspect_val_labels"]
    others = [remedy for remedy in verdict.remedies if remedy.name != "inspect_val_labels"]
    return replace(verdict, confidence=cap, remedies=tuple(checks + others),
                   summary=verdict.summary + f"; but val accuracy already trailed train's by "
                   f"{start.train_accuracy - start.val_accuracy:.3f} at epoch 1, too soon for the model to have "
                   "memorised its training set, and did not fall afterwards: the val samples it gets wrong were wrong "
                   "from the start (see the warning), and stopping at epoch 1 would give up what it learned since",
                   evidence={**verdict.evidence, "wrong_from_the_start": True})


def accuracy_cost_words(evidence: RunEvidence, lowest: int, facts: dict) -> str:
    """What the rise cost the delivered model in val accuracy, against the val-loss minimum's: a clause naming the
    fall, or saying there was none within noise ("" when the delivered epoch is the minimum). Records
    ``val_accuracy_cost`` (the fall, accuracy units) in ``facts``.

    A val loss can rise while accuracy holds: the model grows surer of the answers it gets wrong. Stopping at the
    minimum then buys better probabilities, not more right answers (new-user trials' runs that read overfitting
    0.7-0.99 on such a rise changed test accuracy by 0.003 or less when stopped at the minimum)."""
    delivered = evidence.delivered_epoch
    if delivered <= lowest:
        return ""
    accuracy = evidence.curves.val_accuracy
    at_min, at_delivered = float(accuracy[lowest - 1]), float(accuracy[delivered - 1])
    noise = accuracy_noise(at_min, evidence.val.num_samples)
    facts["val_accuracy_cost"] = at_min - at_delivered
    figures = f"{at_min:.3f} at epoch {lowest}, {at_delivered:.3f} at epoch {delivered}"
    if accuracy_fell_after(evidence, lowest):
        return f"; val accuracy fell with it ({figures})"
    groups = {group.name: group for group in loss_ledger(evidence.val, lowest, delivered).groups}
    wrong, right = groups["stayed_wrong_further"], groups["stayed_correct"]
    if wrong.share >= CONTRADICTED_SHARE:
        facts["contradicted_val_ids"] = _contradicted_ids(evidence, lowest, delivered)
    if accuracy_rose_after(evidence, lowest):
        # "Did not fall ... within its noise" had been said of 0.383 -> 0.700, with "stop at epoch 6" first; a val
        # split with 30% of its labels wrong grows a loss on them while the model gets the rest right.
        return (f"; yet val accuracy rose meanwhile ({figures}, beyond its noise of +-{noise:.3f}): the model it "
                f"delivers gets more val samples right, and the rise in loss came from {_count(wrong.count)} it got "
                f"wrong at both epochs growing surer of the wrong class, so stopping at epoch {lowest} would cost "
                "right answers: the model grows overconfident rather than worse, and where val's labels may be wrong, "
                "the val samples it contradicts most surely are worth a look")
    if at_min - at_delivered > noise + 1e-9:
        # Beyond one noise unit, not two: said as it is ("" had left a fall of 3 val samples of 12 unmentioned).
        lost = round((at_min - at_delivered) * evidence.val.num_samples)
        return (f"; val accuracy fell meanwhile ({figures}: {lost} fewer of its {evidence.val.num_samples} samples "
                f"right), beyond its noise of +-{noise:.3f} but not clearly")

    def carried(group, what: str) -> str:
        # A share above 1 means the other samples' loss fell meanwhile: "the whole rise", not "131% of it".
        if group.share > 1:
            return f"the whole rise came from {_count(group.count)} {what} (the others' loss fell meanwhile)"
        return f"{pct(group.share)} of the rise came from {_count(group.count)} {what}"

    # The whole rise in samples it got wrong at both epochs, the others' loss falling, is what wrong val labels make
    # too: their check comes first (see overfitting.rule).
    facts["rise_all_in_val_errors"] = bool(wrong.share > 1 and "contradicted_val_ids" in facts)
    carrier = (carried(wrong, "it got wrong at both epochs growing surer of the wrong class")
               if wrong.share >= max(right.share, 0.5)
               else carried(right, "it got right at both epochs growing less sure") if right.share >= 0.5
               else "")
    # A fall under its noise is not no fall: past half the noise, the claim is held to what val can show (trial 14's
    # LSTM-FCN at a noise ceiling, val 0.711 -> 0.689 within +-0.030, lost 0.685 -> 0.638 on a 4000-sample test split).
    fall = at_min - at_delivered
    hedge = (f", as far as val's {evidence.val.num_samples} samples can show (its accuracy {fall:.3f} lower, under "
             "its noise)" if fall > noise / 2 else "")
    # "Did not fall" had been said of 1.000 -> 0.929 (one of 14 val samples, within +-0.143: trial 33).
    lead = "did not fall with it" if fall <= 1e-9 else "fell with it only within its noise"
    return (f"; val accuracy {lead} ({figures}, within its noise of +-{noise:.3f}): "
            + (f"{carrier}, which costs" if carrier else "the rise costs")
            + f" the calibration of its probabilities rather than right answers, so stopping at epoch {lowest} mainly "
            "buys better probabilities" + hedge)


def _contradicted_ids(evidence: RunEvidence, lowest: int, delivered: int) -> list:
    """Ids of the val samples wrong at both epochs whose loss grew between them, most surely contradicted first (the
    lowest true-class probability at ``delivered``), at most LISTED."""
    val = evidence.val
    before, after = lowest - 1, delivered - 1
    grew = (val.seen[before] & val.seen[after] & ~val.correct[before] & ~val.correct[after]
            & (val.true_log_prob[after] < val.true_log_prob[before]))
    positions = np.flatnonzero(grew)
    order = positions[np.argsort(val.true_log_prob[after][positions], kind="stable")]
    return [to_plain(sample) for sample in val.sample_ids[order[:LISTED]]]


def accuracy_fell_after(evidence: RunEvidence, lowest: int) -> bool:
    """True when val accuracy at the delivered epoch lies below the val-loss minimum's by more than
    ACCURACY_COST_NOISE noise units."""
    shift = _accuracy_shift(evidence, lowest)
    return shift is not None and -shift[0] > shift[1]


def accuracy_rose_after(evidence: RunEvidence, lowest: int) -> bool:
    """True when val accuracy at the delivered epoch lies above the val-loss minimum's by more than
    ACCURACY_COST_NOISE noise units."""
    shift = _accuracy_shift(evidence, lowest)
    return shift is not None and shift[0] > shift[1]


def _accuracy_shift(evidence: RunEvidence, lowest: int) -> tuple[float, float] | None:
    """(val accuracy at the delivered epoch minus at epoch ``lowest``, ACCURACY_COST_NOISE noise units of the accuracy
    at ``lowest``), both fractions; None when the delivered epoch is not after ``lowest``."""
    delivered = evidence.delivered_epoch
    if delivered <= lowest:
        return None
    accuracy = evidence.curves.val_accuracy
    at_min, at_delivered = float(accuracy[lowest - 1]), float(accuracy[delivered - 1])
    return at_delivered - at_min, ACCURACY_COST_NOISE * accuracy_noise(at_min, evidence.val.num_samples)


def _count(samples: int) -> str:
    """'1 sample', '6 samples'."""
    return f"{samples} sample" + ("" if samples == 1 else "s")
