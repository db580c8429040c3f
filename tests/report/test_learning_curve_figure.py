"""The learning-curve figure and table of the report, drawn from remedy.json's ``more_data`` entry."""

import numpy as np
import pytest

from fixtures.learning_curves import SIZES, accuracy_law, loss_law, seeded_curve
from lossgap.analysis.learning_curve import learning_curve
from lossgap.analysis.learning_curve_verdict import more_data_verdict
from lossgap.plain import to_plain
from lossgap.report.learning_curve_figure import learning_curve_figure
from lossgap.report.tables import more_data_section


@pytest.fixture
def more_data_entry():
    """remedy.json's more_data entry for a curve still climbing (3 seeds, a run that never finished)."""
    accuracy_values = seeded_curve(accuracy_law(SIZES), 0.01, seeds=3)
    accuracy_values[0, 2] = np.nan
    accuracy = learning_curve("val_accuracy", SIZES, accuracy_values, falling=False, asymptote_bounds=(0, 1),
                              replicates=40)
    loss = learning_curve("val_loss", SIZES, seeded_curve(loss_law(SIZES), 0.01, seeds=3), falling=True,
                          asymptote_bounds=(0, np.inf), replicates=40)
    verdict = more_data_verdict(accuracy)
    return to_plain({"fractions": [0.25, 0.5, 0.75, 1.0], "sizes": [100, 200, 300, 400], "val_loss": loss.to_dict(),
                     "val_accuracy": accuracy.to_dict(), "verdict": verdict.code, "sentence": verdict.sentence})


def test_the_figure_is_a_png_and_needs_a_curve(more_data_entry):
    png = learning_curve_figure(more_data_entry)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert learning_curve_figure({**more_data_entry, "val_loss": None, "val_accuracy": None}) is None
    assert learning_curve_figure({**more_data_entry, "val_loss": None})[:4] == b"\x89PNG"   # one panel says why


def test_the_table_lists_each_share_then_the_predictions_and_the_asymptote(more_data_entry):
    section = more_data_section(more_data_entry)
    names = [row["name"] for row in section["rows"]]
    assert names == ["25% (measured)", "50% (measured)", "75% (measured)", "100% (measured)", "2x (predicted)",
                     "4x (predicted)", "asymptote"]
    two_x = section["rows"][4]
    assert two_x["size"] == "800"
    predicted = more_data_entry["val_accuracy"]["predictions"][0]
    assert two_x["cells"][1] == f"{predicted['value']:.3f} [{predicted['low']:.3f}, {predicted['high']:.3f}]"
    # The measured accuracy at 25% is the mean of the two seeds that finished.
    finished = more_data_entry["val_accuracy"]["per_seed"][0][:2]
    assert section["rows"][0]["cells"][1] == f"{np.mean(finished):.3f}"
    assert section["sentence"].startswith("more data is likely to help") and section["verdict"] == "helps"


def test_an_unreadable_entry_is_left_out_not_fatal(more_data_entry):
    assert more_data_section(None) is None
    assert more_data_section({"fractions": [0.25], "sizes": "broken"}) is None


def test_shares_left_out_of_the_fit_are_drawn_and_listed_with_their_measurements(more_data_entry):
    entry = {**more_data_entry, "fractions": [0.1, 0.25, 0.5, 0.75, 1.0], "sizes": [40, 100, 200, 300, 400],
             "left_out_sizes": [40], "left_out": {"sizes": [40], "val_loss": [[1.3, 1.4, 1.2]],
                                                   "val_accuracy": [[0.25, 0.55, None]]}}
    assert learning_curve_figure(entry)[:4] == b"\x89PNG"
    section = more_data_section(entry)
    first = section["rows"][0]
    assert first["name"] == "10% (measured, left out of the fit)" and first["size"] == "40"
    assert first["cells"] == ["1.300", "0.400"]       # the mean of the seeds that finished
    assert section["rows"][1]["name"] == "25% (measured)"
