"""The optimisation figure: drawn from a GradientHealth, captioned with its judgements, shown in report.html."""

import math

import numpy as np

from lossgap.analysis.gradients import gradient_health
from lossgap.observations import OptimizationObservations, save_observations
from lossgap.report import write_report
from lossgap.report.html import ALL_FIGURE_NAMES, FIGURE_NAMES, OPTIMIZATION_FIGURE
from lossgap.report.optimization_figure import (grouped_grad_norm, optimization_caption, optimization_figure,
                                                tensor_group)
from lossgap.run.rundir import OPTIMIZATION_FILE


def unstable_observations(epochs=30):
    """An LSTM run whose learning rate is far too high: an explosion in epoch 1, then saturated, dying gates."""
    rows = []
    for epoch in range(epochs):
        blown = epoch == 0
        row = {"steps": 20, "measured_steps": 20 if blown else 3, "grad_norm_total": 3e8 if blown else 0.5}
        for name, norm in (("lstm.weight_ih_l0", 3e7 if blown else 1e-6), ("lstm.weight_hh_l0", 1e8 if blown else 1e-6),
                           ("lstm.bias_ih_l0", 2e8 if blown else 1e-6), ("head.weight", 0.7), ("head.bias", 0.4)):
            row[f"grad_norm:{name}"] = norm
            row[f"update_ratio:{name}"] = 0.3 if blown else (1e-7 if name.startswith("lstm") else 0.02)
        if epoch % 4 == 0 or epoch == epochs - 1:  # gate statistics every fourth epoch, as for short epochs
            row["gate_saturation:lstm.l0"] = 0.63 + 0.002 * epoch
            row["dead_units:lstm.l0"] = 0.5 + 0.01 * epoch
        rows.append(row)
    return OptimizationObservations.from_rows(rows)


def test_tensor_groups_pool_a_layers_tensors_and_directions():
    assert tensor_group("lstm.weight_ih_l0") == "lstm.l0" == tensor_group("lstm.bias_hh_l0_reverse")
    assert tensor_group("lstm.weight_hh_l1") == "lstm.l1"
    assert tensor_group("head.weight") == "head" and tensor_group("model.0.weight") == "model.0"
    assert tensor_group("weight_ih_l0") == "l0" and tensor_group("scale") == "scale"


def test_group_norm_is_the_root_of_summed_squares():
    health = gradient_health(unstable_observations(3))
    groups = grouped_grad_norm(health)
    assert list(groups) == ["lstm.l0", "head"]
    assert groups["head"][1] == np.sqrt(0.7 ** 2 + 0.4 ** 2)


def test_the_figure_is_a_900_px_png_and_its_caption_names_what_was_found(kit):
    health = gradient_health(unstable_observations())
    png = optimization_figure(health)
    width, height = kit.png_size(png)
    assert width == 900 and height > 600 and kit.png_is_not_blank(png)
    caption = optimization_caption(health)
    assert "gradients exploded in epoch(s) 1" in caption and "updates were too large in epoch(s) 1" in caption
    assert "of the gates ended saturated" in caption and "of the hidden units ended dead" in caption
    assert "rule of thumb is about 0.001" in caption


def test_nothing_is_drawn_without_observations():
    assert optimization_figure(None) is None
    assert optimization_figure(gradient_health(OptimizationObservations.from_rows([{}, {}]))) is None


def test_a_healthy_model_without_recurrent_layers_gets_two_panels_and_says_nothing_was_found(kit):
    rows = [{"steps": 8, "measured_steps": 1, "grad_norm_total": 0.4 - 0.01 * e, "grad_norm:0.weight": 0.3,
             "grad_norm:0.bias": 0.1, "update_ratio:0.weight": 0.004, "update_ratio:0.bias": math.nan}
            for e in range(10)]
    health = gradient_health(OptimizationObservations.from_rows(rows))
    png = optimization_figure(health)
    assert kit.png_size(png)[1] < 600 and kit.png_is_not_blank(png)
    assert "No exploding or vanishing gradients" in optimization_caption(health)


def test_the_report_shows_the_figure_for_a_run_with_optimization_csv_and_drops_it_otherwise(tmp_path, kit):
    dynamics = kit.refining()
    run = kit.write_run(tmp_path / "run", dynamics, class_names="abc")
    save_observations(run / OPTIMIZATION_FILE, unstable_observations())
    html = write_report(run).read_text(encoding="utf-8")
    assert f'id="figure-{OPTIMIZATION_FIGURE}"' in html and "gradients exploded in epoch(s) 1" in html
    assert sorted(path.stem for path in (run / "figures").glob("*.png")) == sorted(ALL_FIGURE_NAMES)
    (run / OPTIMIZATION_FILE).unlink()
    html = write_report(run).read_text(encoding="utf-8")
    assert "figure-optimization" not in html
    assert sorted(path.stem for path in (run / "figures").glob("*.png")) == sorted(FIGURE_NAMES)
