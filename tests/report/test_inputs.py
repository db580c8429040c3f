"""The suspects' inputs read again for the report, and the sentence shown in their place when they cannot be:
why (the path that could not be read, or no data source) and how to show them, a fix these tests carry out."""

import json
import shutil

import numpy as np

from lossgap.diagnosis import diagnose_run
from lossgap.errors import DataError
from lossgap.report import write_report
from lossgap.report.inputs import NO_SOURCE_NOTE, OWN_LOOP_NOTE, unreadable_note
from lossgap.report.interactive import page_data, suspect_inputs
from lossgap.run.rundir import read_run


def copy_with_source(run, target, source):
    """A copy of ``run`` whose config.json names ``source`` as its data (as a moved file or an older run)."""
    shutil.copytree(run, target)
    config = json.loads((target / "config.json").read_text())
    config["train"]["data"]["source"] = source
    (target / "config.json").write_text(json.dumps(config))
    return target


def inputs_of(run):
    record = read_run(run)
    return suspect_inputs(record, diagnose_run(record))


def stories_in_page(run):
    """The suspects' stories as the written report.html hands them to its script."""
    html = write_report(run).read_text()
    payload = html.split('<script type="application/json" id="lossgap-data">', 1)[1].split("</script>", 1)[0]
    return json.loads(payload)["suspects"]


def test_a_trained_run_shows_every_suspects_input_sequence(noisy_label_run):
    stories = stories_in_page(noisy_label_run)
    assert stories and all(story["inputs"] is not None and story["inputs_note"] is None for story in stories.values())


def test_a_moved_data_file_is_named_in_place_of_the_inputs_and_putting_it_back_shows_them(noisy_label_run, tmp_path):
    data = tmp_path / "data" / "noisy.npz"
    run = copy_with_source(noisy_label_run, tmp_path / "run", str(data))
    inputs = inputs_of(run)
    assert inputs.sequences == {}
    assert inputs.note == (f"The input sequence is not shown: the run's data file {data} is not there any more "
                           f"(moved or deleted); put it back there, or set train.data.source in {run}/config.json "
                           f"to where it is now, and run lossgap report {run} again.")
    stories = stories_in_page(run)
    assert stories and all(story["inputs"] is None and story["inputs_note"] == inputs.note
                           for story in stories.values())
    data.parent.mkdir()
    shutil.copy(noisy_label_run.parent / "noisy.npz", data)   # what the note says to do
    assert all(story["inputs"] is not None for story in stories_in_page(run).values())


def test_a_moved_data_file_shows_its_inputs_once_config_json_names_where_it_is(noisy_label_run, tmp_path):
    run = copy_with_source(noisy_label_run, tmp_path / "run", str(tmp_path / "gone.npz"))
    config = json.loads((run / "config.json").read_text())
    config["train"]["data"]["source"] = str(noisy_label_run.parent / "noisy.npz")   # the note's other fix
    (run / "config.json").write_text(json.dumps(config))
    inputs = inputs_of(run)
    assert inputs.note is None and inputs.sequences


def test_a_relative_path_of_an_older_run_says_to_report_from_where_it_was_trained(noisy_label_run, tmp_path,
                                                                                 monkeypatch):
    run = copy_with_source(noisy_label_run, tmp_path / "run", "noisy.npz")
    monkeypatch.chdir(tmp_path)
    note = inputs_of(run).note
    assert "noisy.npz is a path relative to the directory the run was trained in" in note
    assert (f"{tmp_path / 'noisy.npz'} could not be read; run lossgap report {run} from that directory, or set "
            f"train.data.source in {run}/config.json to the file's absolute path.") in note
    # Another file of the same name in the current directory lends the page no inputs: it is checked first.
    original = np.load(noisy_label_run.parent / "noisy.npz")
    np.savez(tmp_path / "noisy.npz", X=original["X"][:-5], y=original["y"][:-5])
    assert f"{tmp_path / 'noisy.npz'} holds other data than the run was trained on; run lossgap report" in (
        inputs_of(run).note)
    monkeypatch.chdir(noisy_label_run.parent)   # where the run was trained
    inputs = inputs_of(run)
    assert inputs.note is None and inputs.sequences


def test_a_data_file_that_changed_names_each_sample_it_no_longer_holds(noisy_label_run, tmp_path):
    data = tmp_path / "other.npz"
    original = np.load(noisy_label_run.parent / "noisy.npz")
    np.savez(data, X=original["X"], y=original["y"], ids=np.arange(len(original["y"])) + 10_000)
    run = copy_with_source(noisy_label_run, tmp_path / "run", str(data))
    stories = page_data(read_run(run), diagnose_run(read_run(run)))["suspects"]
    story = stories["0"]
    assert story["inputs"] is None
    assert story["inputs_note"] == (f"The input sequence is not shown: sample {story['id']} is not in the run's "
                                    f"data {data} any more (it changed since the run was trained); restore the data "
                                    f"the run was trained on and run lossgap report {run} again.")


def test_a_run_without_a_data_source_says_so_in_place_of_the_inputs(refining_run, configured_run):
    for run, note in ((refining_run, OWN_LOOP_NOTE), (configured_run, NO_SOURCE_NOTE)):
        stories = page_data(read_run(run), diagnose_run(read_run(run)))["suspects"]
        assert stories and {story["inputs_note"] for story in stories.values()} == {note}, run


def test_a_source_that_cannot_be_loaded_names_it_with_the_reason_and_what_to_do(tmp_path):
    error = DataError("aeon dataset GunPoint could not be downloaded (no network); check the connection")
    assert unreadable_note("aeon:GunPoint", tmp_path / "my run", error) == (
        "The input sequence is not shown: the run's data source aeon:GunPoint could not be loaded again (aeon "
        f"dataset GunPoint could not be downloaded (no network)); run lossgap report '{tmp_path / 'my run'}' "
        "again once it loads.")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    note = unreadable_note(str(broken), tmp_path / "run", DataError(f"{broken.name} is not a valid .npz file; "
                                                                    "re-save it with numpy.savez"))
    assert note == (f"The input sequence is not shown: the run's data file {broken} could not be read again "
                    f"(broken.npz is not a valid .npz file); restore the file the run was trained on at that path "
                    f"and run lossgap report {tmp_path / 'run'} again.")
