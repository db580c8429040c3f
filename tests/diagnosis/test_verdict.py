"""What a diagnosis says: how a considered verdict's confidence is printed."""

from lossgap.diagnosis.verdict import REPORT_THRESHOLD, considered_confidence


def test_a_considered_confidence_never_prints_as_the_reporting_threshold():
    # 0.497 printed as "0.50" had sat beside "No problem found (0.50)" and read as a finding.
    assert considered_confidence(0.497) == "0.49" and considered_confidence(REPORT_THRESHOLD - 1e-9) == "0.49"
    assert considered_confidence(0.25) == "0.25" and considered_confidence(0.0) == "0.00"
    assert considered_confidence(0.29) == "0.29"  # 0.29 * 100 is 28.999... in floating point
