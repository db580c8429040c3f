"""The report's figures: real PNGs of the expected size, never blank, and honest about what they show."""

import numpy as np
import pytest

from fixtures.dynamics import binary_dynamics
from lossgap.diagnosis import diagnose_record
from lossgap.report import figures
from lossgap.run.rundir import read_run


@pytest.fixture
def evidence(refining_run):
    return diagnose_record(read_run(refining_run)).evidence


@pytest.mark.parametrize("draw", [
    figures.curves_figure, figures.ledger_figure, figures.true_probability_figure, figures.calibration_figure,
    figures.data_map_figure, lambda evidence: figures.per_class_figure(evidence, ["up", "down", "flat"]),
], ids=["curves", "ledger", "true_probability", "calibration", "data_map", "per_class"])
def test_every_figure_is_a_modest_png_with_content(evidence, draw, kit):
    png = draw(evidence)
    width, height = kit.png_size(png)
    assert width == 900 and 300 <= height <= 600  # 9 inches at 100 dpi
    assert kit.png_is_not_blank(png)
    assert len(png) < 300_000


def test_true_probability_shares_put_each_sample_in_its_bin():
    # Epoch 1: probabilities 0.1, 0.1, 0.6, 1.0; epoch 2: 0.3, 0.55, 0.6, 0.99 (4 bins of width 0.25).
    dynamics = binary_dynamics(np.array([[0.1, 0.1, 0.6, 1.0 - 1e-9], [0.3, 0.55, 0.6, 0.99]]),
                               labels=np.array([0, 1, 0, 1]))
    shares = figures.true_probability_shares(dynamics, bins=4)
    assert shares.shape == (4, 2)
    np.testing.assert_allclose(shares[:, 0], [0.5, 0.0, 0.25, 0.25])
    np.testing.assert_allclose(shares[:, 1], [0.0, 0.25, 0.5, 0.25])


def test_true_probability_shares_leave_out_unseen_samples():
    dynamics = binary_dynamics(np.array([[0.1, 0.9], [0.1, 0.9]]), labels=np.array([0, 1]))
    dynamics.predicted[1, 1] = -1  # sample 2 not recorded in epoch 2
    shares = figures.true_probability_shares(dynamics, bins=2)
    np.testing.assert_allclose(shares, [[0.5, 1.0], [0.5, 0.0]])


def test_class_names_with_dollar_signs_draw_as_text(tmp_path, kit):
    # "$...$" would be parsed as mathtext and an unknown command raises at draw time.
    names = [r"$\undefinedcommand$", "a $ b", "c"]
    run = kit.write_run(tmp_path / "dollars", kit.refining(), class_names=names)
    evidence = diagnose_record(read_run(run)).evidence
    assert kit.png_is_not_blank(figures.per_class_figure(evidence, names))


def test_figures_that_need_two_epochs_or_a_train_split_say_so_with_none(tmp_path, kit):
    dynamics = kit.refining(epochs=1)
    one_epoch = diagnose_record(read_run(kit.write_run(tmp_path / "one", dynamics, class_names="abc"))).evidence
    assert figures.ledger_figure(one_epoch) is None and figures.data_map_figure(one_epoch) is None
    assert kit.png_is_not_blank(figures.curves_figure(one_epoch))
    val_only = {"val": kit.refining()["val"]}
    no_train = diagnose_record(read_run(kit.write_run(tmp_path / "val", val_only, class_names="abc"))).evidence
    assert figures.data_map_figure(no_train) is None
    assert kit.png_is_not_blank(figures.ledger_figure(no_train))


def test_calibration_is_drawn_from_confidences_when_no_logits_were_kept(tmp_path, kit):
    dynamics = kit.refining()
    val = dynamics["val"]
    dynamics["val"] = type(val)(val.split, val.sample_ids, val.labels, val.true_log_prob, val.predicted,
                                val.max_prob, val.margin, val.num_classes, logits=None)
    evidence = diagnose_record(read_run(kit.write_run(tmp_path / "nologits", dynamics, class_names="abc"))).evidence
    assert evidence.val_calibration is None
    calibration = figures.val_calibration(evidence)
    assert calibration.ece.shape == (30,) and calibration.temperature_final is None
    assert kit.png_is_not_blank(figures.calibration_figure(evidence))


def test_remedy_figure_has_one_row_per_configuration(kit):
    rows = [{"name": "baseline", "val_loss": {"mean": 0.5, "low": 0.45, "high": 0.55}},
            {"name": "dropout", "val_loss": {"mean": 0.4, "low": 0.35, "high": 0.45}, "beats_baseline": True},
            {"name": "no interval", "val_loss": {"mean": 0.52, "low": None, "high": None}}]
    png = figures.remedy_figure(rows, "val_loss")
    width, height = kit.png_size(png)
    assert width == 900 and height == int(round(100 * (0.42 * 3 + 1.3)))
    assert kit.png_is_not_blank(png)


def test_a_users_matplotlib_settings_do_not_change_the_figures(evidence):
    import matplotlib

    plain = figures.curves_figure(evidence)
    # LaTeX text would need a TeX installation and fail on "_" in labels; a dark style would change the look.
    with matplotlib.rc_context({"text.usetex": True, "axes.facecolor": "black", "lines.linewidth": 5}):
        assert figures.curves_figure(evidence) == plain
