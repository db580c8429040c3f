"""Sentence helpers: numbers printed so that the words around them stay true."""

import math

from lossgap.diagnosis.wording import change, pct, rate_pct, signed


def test_a_small_rate_is_never_printed_as_zero():
    # A val loss falling 0.4% per epoch is "still falling": "0%" would contradict the sentence it sits in.
    assert pct(0.004) == "0%"
    assert rate_pct(0.004) == "0.4%" and rate_pct(-0.004) == "-0.4%"
    assert rate_pct(0.012) == "1%" and rate_pct(0.0) == "0%" and rate_pct(math.nan) == "n/a"


def test_the_verb_is_read_off_the_printed_numbers():
    assert change("train loss", 0.008, 0.035) == "train loss rose from 0.008 to 0.035"
    assert change("val loss", 0.1004, 0.1001) == "val loss stayed at 0.100"


def test_a_train_loss_at_or_above_the_prior_is_never_a_negative_share_below_it():
    from lossgap.diagnosis.wording import share_below_prior
    # An own loop's train loss 0.4% above the prior's entropy printed as "still within -0% of" it.
    assert share_below_prior(-0.004) == "no lower than the prior's entropy"
    assert share_below_prior(0.0) == "no lower than the prior's entropy"
    assert share_below_prior(0.004) == "0.4% below the prior's entropy"
    assert share_below_prior(0.08) == "8% below the prior's entropy"
    assert share_below_prior(float("nan")) == "no lower than the prior's entropy"


def test_a_change_that_rounds_to_zero_is_never_negative_zero():
    assert signed(-0.0002) == "+0.000" and signed(0.0951) == "+0.095" and signed(-0.0123) == "-0.012"


def test_how_far_a_train_loss_got_below_the_prior_keeps_its_first_digit_and_never_prints_zero():
    # Trial 28's 2-unit GRU, 0.5% below the prior's entropy after 67 epochs, read "got at best 0% below 0.690".
    from types import SimpleNamespace

    from lossgap.diagnosis.wording import below_prior

    def words(share):
        return below_prior(SimpleNamespace(train_recorded=True, moved_share=share, prior_entropy=0.690))

    assert words(0.005).startswith("the train loss got at best 0.5% below 0.690")
    assert words(0.12).startswith("the train loss got at best 12% below 0.690")
    assert words(0.0003).startswith("the train loss never got even 0.1% below 0.690")
    assert words(-0.01).startswith("the train loss never got below 0.690")
