"""The report's interactive layer: zoomed to the verdict's window, safe JSON, hover and a clickable suspect."""

import json

import numpy as np

from lossgap.diagnosis import diagnose_run
from lossgap.report import write_report
from lossgap.report.inputs import OWN_LOOP_NOTE
from lossgap.report.interactive import page_data, script_json, window_of
from lossgap.run.rundir import read_run


def test_the_figures_open_on_the_window_the_verdict_is_about(refining_run):
    record = read_run(refining_run)
    diagnosis = diagnose_run(record)
    window = window_of(diagnosis)
    assert window is not None   # the refining run has a plateau: loss falls, accuracy flat
    payload = page_data(record, diagnosis)
    curves = payload["figures"]["interactive-curves"]
    assert curves["layout"]["xaxis"]["range"] == [window[0] - 0.5, window[1] + 0.5]
    low, high = curves["layout"]["yaxis"]["range"]
    inside = slice(window[0] - 1, window[1])
    val_loss = np.asarray(curves["data"][1]["y"], dtype=float)
    # The loss axis spans the window's values (plus headroom), not the whole run's.
    assert low <= val_loss[inside].min() and high >= val_loss[inside].max()
    assert high - low < 1.3 * (max(val_loss[inside].max(), np.asarray(curves["data"][0]["y"])[inside].max())
                               - min(val_loss[inside].min(), np.asarray(curves["data"][0]["y"])[inside].min()))
    ledger = payload["figures"]["interactive-ledger"]
    assert ledger["layout"]["xaxis"]["range"] == curves["layout"]["xaxis"]["range"]
    assert [trace["name"] for trace in ledger["data"]][-1] == "net change of mean loss"


def test_user_strings_cannot_leave_the_json_element():
    text = script_json({"id": "</script><script>alert(1)</script>", "x": np.array([1.0, np.nan])})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"id": "</script><script>alert(1)</script>", "x": [1.0, None]}


def test_hovering_shows_a_value_and_clicking_a_suspect_shows_its_story(noisy_label_run, chromium_page):
    opened = chromium_page(noisy_label_run / "report.html")
    page = opened.page
    page.wait_for_selector("#interactive-curves .main-svg")
    page.locator("#interactive-curves").scroll_into_view_if_needed()
    box = page.locator("#interactive-curves .nsewdrag").first.bounding_box()
    for share in (0.5, 0.52):   # a move inside the plot area: plotly draws the unified hover label
        page.mouse.move(box["x"] + box["width"] * share, box["y"] + box["height"] * 0.5)
    page.wait_for_function("document.querySelector('#interactive-curves .hoverlayer').textContent.includes('epoch')",
                           timeout=5000)
    hover = page.evaluate("document.querySelector('#interactive-curves .hoverlayer').textContent")
    assert "epoch" in hover and any(character.isdigit() for character in hover)
    rows = page.locator("#suspect-table tr[data-row]")
    assert rows.count() > 0
    sample_id = rows.first.locator("td").first.inner_text()
    rows.first.click()
    page.wait_for_selector("#suspect-story .story-plot .main-svg")
    assert page.locator("#suspect-story .story-plot").count() == 2   # its trajectory and its input sequence
    assert f"sample {sample_id}" in page.inner_text("#suspect-story")
    story = json.loads(page.evaluate("document.getElementById('lossgap-data').textContent"))["suspects"]["0"]
    assert len(story["probability"]) == 25 and len(story["inputs"]) == 2 and len(story["inputs"][0]) == 16
    assert opened.errors == [] and opened.dialogs == []


def test_a_run_from_an_own_loop_shows_the_story_without_inputs(refining_run, chromium_page):
    opened = chromium_page(write_report(refining_run))
    page = opened.page
    page.locator("#suspect-table tr[data-row]").first.click()
    page.wait_for_selector("#suspect-story .story-plot .main-svg")
    assert page.locator("#suspect-story .story-plot").count() == 1
    # Where the input plot would be: why it is missing and what to do instead.
    note = page.locator("#suspect-story .story-plot + p.inputs-note")
    assert note.inner_text() == OWN_LOOP_NOTE and "own training loop" in OWN_LOOP_NOTE
    assert opened.errors == []
