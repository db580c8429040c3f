"""report.html: one self-contained file that opens in a real browser, shows every figure, runs no user string."""

import base64
import dataclasses
import json
import re

import numpy as np
import pytest

from lossgap import DataConfig, ModelConfig, TrainConfig, train
from lossgap.diagnosis import diagnose_record
from lossgap.errors import RunDirError
from lossgap.report import write_report
from lossgap.report.html import ALL_FIGURE_NAMES, FIGURE_NAMES
from lossgap.run.rundir import read_run

SCRIPT_CLASS = "<script>alert(1)</script>"
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def inlined_pngs(html: str) -> list[bytes]:
    """Every PNG figure inlined in ``html`` as a data URI, decoded (plotly.js, inlined after the page's body,
    carries an icon of its own)."""
    return [base64.b64decode(match) for match in DATA_URI.findall(html.split("<script", 1)[0])]


def assert_self_contained(html: str) -> None:
    """No script file, stylesheet link, external image, font or frame: the file must work with no network. Its
    scripts (plotly.js and lossgap's few lines) are inline."""
    lowered = html.lower()
    page = lowered.split("<script", 1)[0]   # plotly.js itself mentions plotly.com; Chromium checks it fetches nothing
    for needle in ("<link", "<iframe", "@import", "url(", 'src="http', "src='http", 'href="http'):
        assert needle not in page, needle
    assert lowered.count("<script") == 3 and "<script src" not in lowered


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A real (trained) run whose class name is a script tag and whose directory name is markup."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 12, 2)).astype(np.float32)
    labels = np.where(x[:, :, 0].sum(axis=1) > 0, SCRIPT_CLASS, "a & b")
    np.savez(root / "hostile.npz", X=x, y=labels)
    config = TrainConfig(data=DataConfig(source=str(root / "hostile.npz")), model=ModelConfig(hidden_size=16),
                         epochs=8, batch_size=32)
    run = train(config, root / "run <u>x").run_dir
    (run / "report.html").unlink()
    write_report(run)
    return run


def test_a_run_gets_every_figure_inlined_and_as_files(configured_run, kit):
    path = write_report(configured_run)
    assert path == configured_run / "report.html"
    html = path.read_text(encoding="utf-8")
    assert_self_contained(html)
    files = {name: (configured_run / "figures" / f"{name}.png").read_bytes() for name in FIGURE_NAMES}
    assert inlined_pngs(html) == list(files.values())  # the page's order is the figures' order
    assert all(kit.png_is_not_blank(png) for png in files.values())
    assert "Rerun this exact run" in html and "lossgap train data.npz --hidden 32 --epochs 30" in html
    assert "Training options" in html and "0.688" in html  # the delivered model's test accuracy
    assert html.index('id="verdict"') < html.index('id="figure-curves"') < html.index('id="configuration"')


def test_an_own_loop_run_has_no_command_and_says_so(refining_run):
    html = write_report(refining_run).read_text(encoding="utf-8")
    assert "recorded from a training loop outside lossgap" in html
    assert "Rerun this exact run" not in html and "Training options" not in html
    assert "confidence_refinement" in html and "79% came from samples that were already right" in html


def test_the_given_diagnosis_is_used_and_its_text_escaped(refining_run):
    diagnosis = diagnose_record(read_run(refining_run))
    custom = dataclasses.replace(diagnosis, headline="All fine <b>really</b>", verdicts=(),
                                 limitations=("one <em>note</em>",),
                                 extras={**diagnosis.extras, "no_cause_found": False})
    html = write_report(refining_run, custom).read_text(encoding="utf-8")
    assert "All fine &lt;b&gt;really&lt;/b&gt;" in html and "<b>really</b>" not in html
    assert "no problem found" in html and "one &lt;em&gt;note&lt;/em&gt;" in html
    # A model that learned nothing visible on val gets no green "no problem found" card.
    weak = dataclasses.replace(custom, extras={**custom.extras, "learned_little": True})
    html = write_report(refining_run, weak).read_text(encoding="utf-8")
    assert "no cause found" in html and "no problem found" not in html and 'class="card healthy"' not in html
    # Nor one whose "No cause found" has another reason (a model far from fitting, a delivered model that lost it).
    unnamed = dataclasses.replace(custom, extras={**custom.extras, "no_cause_found": True})
    html = write_report(refining_run, unnamed).read_text(encoding="utf-8")
    assert "the curves show something no rule names" in html and 'class="card healthy"' not in html
    # With the remedies of its likeliest candidate, to try next.
    from lossgap.diagnosis.remedy import Remedy
    from lossgap.diagnosis.verdict import Verdict

    switch = Remedy("switch_model", "switch <the> model", {"model.kind": "lstm-fcn"}, "lossgap train x --model lstm-fcn")
    candidate = dataclasses.replace(weak, considered=(Verdict("no_signal", 0.45, "nothing", remedies=(switch,)),))
    html = write_report(refining_run, candidate).read_text(encoding="utf-8")
    assert "Next, to test the likeliest candidate (<code>no_signal</code>)" in html
    assert "switch &lt;the&gt; model" in html and "$ lossgap train x --model lstm-fcn" in html
    assert "Or, to test the next candidate" not in html
    # And a candidate nearly as likely, its first remedy beside them.
    lower = Remedy("lower_lr", "lower the rate", {"optimizer.lr": 0.001}, "lossgap train x --lr 0.001")
    both = dataclasses.replace(weak, considered=(Verdict("no_signal", 0.45, "nothing", remedies=(switch,)),
                                                 Verdict("unstable_optimization", 0.4, "bounces", remedies=(lower,))))
    html = write_report(refining_run, both).read_text(encoding="utf-8")
    assert "Or, to test the next candidate (<code>unstable_optimization</code>)" in html
    assert "$ lossgap train x --lr 0.001" in html
    # Nor one whose val split is too small to show what it learned.
    unshown = dataclasses.replace(custom, extras={**custom.extras, "signal_unshown": True})
    html = write_report(refining_run, unshown).read_text(encoding="utf-8")
    assert "val is too small to show what the model learned" in html and 'class="card healthy"' not in html


def test_a_metrics_column_named_like_markup_is_escaped(refining_run):
    from lossgap.run.rundir import read_metrics, write_metrics

    columns = read_metrics(refining_run)
    rows = [{**{key: float(values[index]) for key, values in columns.items()}, "<b>my_metric</b>": 1.0}
            for index in range(len(columns["epoch"]))]
    write_metrics(refining_run, rows)
    html = write_report(refining_run).read_text(encoding="utf-8")
    assert "&lt;b&gt;my_<wbr>metric&lt;/b&gt;" in html and "<b>my_" not in html


def test_figures_a_run_no_longer_allows_are_removed(tmp_path, kit):
    run = kit.write_run(tmp_path / "run", {"val": kit.refining()["val"]}, class_names="abc")
    (run / "figures").mkdir()
    (run / "figures" / "data_map.png").write_bytes(b"stale")
    (run / "figures" / "mine.png").write_bytes(b"the user's")
    html = write_report(run).read_text(encoding="utf-8")
    assert not (run / "figures" / "data_map.png").exists() and (run / "figures" / "mine.png").exists()
    assert len(inlined_pngs(html)) == 5 and "need the train split recorded" in html


def test_remedy_results_get_their_own_section(refining_run):
    interval = {"mean": 0.5, "low": 0.4, "high": 0.6}
    payload = {"metric": "val_loss", "replicates": 2, "winner_command": "lossgap train x --dropout 0.2",
               "baseline": {"name": "baseline", "val_loss": interval, "val_accuracy": interval,
                            "val_balanced_accuracy": interval},
               "candidates": [{"name": "dropout", "beats_baseline": True, "val_loss": interval,
                               "val_accuracy": interval, "val_balanced_accuracy": interval}]}
    (refining_run / "remedy.json").write_text(json.dumps(payload))
    html = write_report(refining_run).read_text(encoding="utf-8")
    assert 'id="remedies"' in html and "lossgap train x --dropout 0.2" in html
    assert len(inlined_pngs(html)) == len(FIGURE_NAMES) + 1


def test_remedies_that_beat_the_run_are_named_under_the_verdict(refining_run):
    # A report said "No problem found" above a remedy table in which two remedies had raised val accuracy from
    # 0.750 to 1.000, with nothing linking the two.
    def interval(mean):
        return {"mean": mean, "low": mean - 0.05, "high": mean + 0.05}

    payload = {"metric": None, "replicates": 2,
               "baseline": {"name": "baseline", "val_loss": interval(0.72), "val_accuracy": interval(0.75)},
               "candidates": [{"name": "larger_hidden", "beats_baseline": True, "judged_on": "val_accuracy",
                               "val_loss": interval(0.14), "val_accuracy": interval(1.0)},
                              {"name": "dropout", "beats_baseline": False, "judged_on": "val_loss",
                               "val_loss": interval(0.7), "val_accuracy": interval(0.75)}]}
    (refining_run / "remedy.json").write_text(json.dumps(payload))
    html = write_report(refining_run).read_text(encoding="utf-8")
    verdict = html[html.index('id="verdict"'):html.index('id="explore"')]
    assert "Remedies tried since beat this run: larger_hidden (val accuracy 0.750 -&gt; 1.000);" in verdict
    assert "dropout (" not in verdict
    payload["candidates"][0]["beats_baseline"] = False
    (refining_run / "remedy.json").write_text(json.dumps(payload))
    assert "Remedies tried since" not in write_report(refining_run).read_text(encoding="utf-8")


def test_a_missing_run_is_a_one_line_error(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        write_report(tmp_path / "nothing")


def test_a_100_epoch_5000_sample_report_stays_under_10_mb(tmp_path, kit):
    # Random predictions of 10 classes over 4000 train / 1000 val samples: the least compressible figures, and
    # plotly.js (4.8 MB) inlined for the interactive ones.
    run = kit.write_run(tmp_path / "long", kit.noisy(epochs=100, num_train=4000),
                        class_names=[f"class {i}" for i in range(10)])
    size = write_report(run).stat().st_size
    assert size < 10_000_000, size
    assert len(inlined_pngs((run / "report.html").read_text(encoding="utf-8"))) == len(FIGURE_NAMES)


def test_the_report_opens_in_chromium_with_every_figure_and_no_errors(hostile_run, chromium_page, tmp_path, kit):
    opened = chromium_page(hostile_run / "report.html")
    page = opened.page
    images = page.evaluate("Array.from(document.images).map(image => [image.complete, image.naturalWidth])")
    figure_files = sorted((hostile_run / "figures").glob("*.png"))
    # A trained run records optimization.csv, so it gets the optimisation figure too.
    assert len(figure_files) == len(ALL_FIGURE_NAMES) and len(images) == len(ALL_FIGURE_NAMES)
    assert all(complete and width == 900 for complete, width in images), images
    for png in inlined_pngs((hostile_run / "report.html").read_text(encoding="utf-8")):
        assert kit.png_is_not_blank(png)
    assert opened.errors == [] and opened.dialogs == []
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    data = screenshot.read_bytes()
    width, height = kit.png_size(data)
    assert width == 1100 and height > 4000 and len(data) > 100_000 and kit.png_is_not_blank(data)


def test_user_strings_are_shown_as_text_and_run_nothing(hostile_run, chromium_page):
    opened = chromium_page(hostile_run / "report.html")
    page = opened.page
    assert opened.dialogs == [] and opened.errors == []
    assert page.evaluate("document.scripts.length") == 3   # plotly.js, the figures' data, lossgap's script
    assert page.evaluate("document.querySelectorAll('main u').length") == 0  # the run's name is markup too
    assert page.get_by_text(SCRIPT_CLASS).first.is_visible()
    assert "run <u>x" in page.inner_text("h1")
    assert SCRIPT_CLASS not in (hostile_run / "report.html").read_text(encoding="utf-8")


def test_a_hostile_sample_id_in_the_suspect_table_stays_text(refining_run, chromium_page, kit):
    opened = chromium_page(write_report(refining_run))
    page = opened.page
    first_id = page.inner_text("#suspects tr:nth-child(2) td:first-child")
    assert first_id == kit.hostile_id
    assert page.evaluate("document.images.length") == len(FIGURE_NAMES)  # no <img> was injected
    assert opened.dialogs == [] and opened.errors == []


def test_a_run_with_nothing_wrong_says_so_first_and_shows_refinement_as_an_explanation(tmp_path, kit):
    from fixtures.diagnosis import refinement_run

    run = kit.write_run(tmp_path / "refinement", refinement_run(), class_names=["no", "yes"])
    html = write_report(run).read_text(encoding="utf-8")
    assert html.index('class="card healthy"') < html.index('class="card explanation" id="cause-confidence_refinement"')
    assert 'class="card high"' not in html and 'class="card medium"' not in html
    assert "explanation, not a fault" in html
