"""The Python API: train with a permuted-label control, diagnose, and the public re-exports."""

import json

import numpy as np

import lossgap
from lossgap import DataConfig, ModelConfig, TrainConfig
from lossgap.training.once import model_for
from lossgap.data import load_splits


def test_permuted_label_control_is_trained_beside_the_run_and_used_by_the_diagnosis(tmp_path):
    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=300"), model=ModelConfig(hidden_size=16),
                         epochs=15, batch_size=32, control="permuted-labels")
    result = lossgap.train(config, tmp_path / "run")
    control = lossgap.read_run(tmp_path / "run" / "control")
    assert control.config["role"] == "permuted-label control"
    real = lossgap.read_run(tmp_path / "run")
    # Same val samples and labels, shuffled train labels.
    assert np.array_equal(real.dynamics["val"].labels, control.dynamics["val"].labels)
    assert not np.array_equal(real.dynamics["train"].labels, control.dynamics["train"].labels)
    comparison = result.diagnosis.verdict("no_signal").evidence["control"]
    assert comparison["real_accuracy"] > comparison["control_accuracy"] + 0.2 and comparison["significant"]
    assert "no_signal" not in result.diagnosis.causes


def test_diagnose_writes_diagnosis_json_and_returns_the_same(tmp_path):
    config = TrainConfig(data=DataConfig(source="synthetic:random-labels,samples=150"), epochs=5, batch_size=32)
    result = lossgap.train(config, tmp_path / "run")
    # A notebook shows the result's repr: one line, not the whole fit history and model.
    assert repr(result).startswith(f"TrainResult({str(tmp_path / 'run')!r}, ") and len(repr(result)) < 300
    assert "after 5 epochs" in repr(result)
    (tmp_path / "run" / "diagnosis.json").unlink()
    diagnosis = lossgap.diagnose(tmp_path / "run")
    written = json.loads((tmp_path / "run" / "diagnosis.json").read_text())
    assert written["verdicts"] == json.loads(json.dumps(diagnosis.to_dict()))["verdicts"]


def test_importing_lossgap_does_not_import_optional_dependencies():
    import subprocess
    import sys

    code = "import sys, lossgap; print('lightning' in sys.modules, 'aeon' in sys.modules, 'optuna' in sys.modules)"
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.split() == ["False", "False", "False"]


def test_auto_patch_and_readout_resolve_from_the_train_split_length():
    auto = ModelConfig(readout="auto", patch_length="auto")
    long = load_splits("synthetic:sum-sign,samples=40,length=100", seed=0).splits
    short = load_splits("synthetic:sum-sign,samples=40,length=32", seed=0).splits
    built_long = model_for(TrainConfig(model=auto), long)
    built_short = model_for(TrainConfig(model=auto), short)
    assert (built_long.patch_length, built_long.readout) == (4, "max")   # ceil(100 / 32) steps per patch
    assert (built_short.patch_length, built_short.readout) == (1, "last")
    # Asked for explicitly, a readout is kept whatever the patch length.
    explicit = model_for(TrainConfig(model=ModelConfig(readout="mean", patch_length="auto")), long)
    assert explicit.readout == "mean"


def test_auto_patch_length_follows_the_longest_train_sequence_not_the_padded_width(tmp_path):
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 21, size=60)
    lengths[0] = 20
    features = rng.normal(size=(60, 20, 1)).astype(np.float32)
    features[np.arange(20)[None, :] >= lengths[:, None]] = 0.0
    wide = np.zeros((60, 200, 1), dtype=np.float32)
    wide[:, :20] = features
    auto = TrainConfig(model=ModelConfig(readout="auto", patch_length="auto"))
    built = []
    for name, padded in (("narrow", features), ("wide", wide)):
        np.savez(tmp_path / f"{name}.npz", X=padded, y=np.arange(60) % 2, lengths=lengths)
        model = model_for(auto, load_splits(str(tmp_path / f"{name}.npz"), seed=0).splits)
        built.append((model.patch_length, model.readout))
    assert built == [(1, "last"), (1, "last")]


def test_the_readme_api_table_resolves_after_a_bare_import_lossgap():
    import subprocess
    import sys

    code = ("import sys, lossgap\n"
            "heavy = [name for name in ('torch', 'matplotlib', 'optuna', 'scipy') if name in sys.modules]\n"
            "listed = {'remedies', 'api', 'analysis', 'report', 'parallel', 'resume'} <= set(dir(lossgap))\n"
            "names = [lossgap.remedies.run_remedies, lossgap.api.report, lossgap.analysis.loss_ledger,\n"
            "         lossgap.report.write_report, lossgap.report.write_comparison, lossgap.parallel.train_jobs,\n"
            "         lossgap.parallel.TrainingPool, lossgap.resume.resume]\n"
            "print(heavy, listed, all(callable(name) for name in names))\n")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert printed.stdout.strip() == "[] True True", printed.stderr
    try:
        lossgap.not_a_module
    except AttributeError as error:
        assert "has no attribute 'not_a_module'" in str(error)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_an_existing_run_is_refused_in_the_wording_of_the_interface_in_use(tmp_path):
    import pickle

    import pytest
    from typer.testing import CliRunner

    from lossgap.cli.app import register_commands

    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=60"), epochs=1)
    lossgap.train(config, tmp_path / "run", diagnose_run=False)
    with pytest.raises(lossgap.RunDirError) as error:
        lossgap.train(config, tmp_path / "run")
    assert "pass overwrite=True to replace it" in str(error.value) and "--overwrite" not in str(error.value)
    assert "--overwrite" in pickle.loads(pickle.dumps(error.value)).cli_message   # from a worker process too
    with pytest.raises(lossgap.RunDirError, match="overwrite=True"):
        lossgap.save_recorded_run(lossgap.Recorder(), tmp_path / "run")
    result = CliRunner().invoke(register_commands(), ["train", "synthetic:sum-sign,samples=60", "--out",
                                                      str(tmp_path / "run"), "--epochs", "1"])
    assert result.exit_code == 2 and "choose another --out or pass --overwrite" in result.stderr


def test_an_own_loop_that_passes_its_inputs_gets_their_statistics_and_bad_inputs_write_nothing(tmp_path):
    import json

    import numpy as np
    import pytest
    import torch

    recorder, generator = lossgap.Recorder(), torch.Generator().manual_seed(0)
    labels = torch.arange(80) % 2
    for _ in range(3):
        recorder.update("train", torch.arange(60), torch.randn(60, 2, generator=generator), labels[:60])
        recorder.update("val", torch.arange(60, 80), torch.randn(20, 2, generator=generator), labels[60:])
        recorder.end_epoch()
    x = np.random.default_rng(0).normal(size=(80, 10, 2))
    run = lossgap.save_recorded_run(recorder, tmp_path / "run", inputs={"train": x[:60], "val": x[60:] * 3 + 5})
    shift = json.loads((run / "config.json").read_text())["data"]["input_shift"]["val"]
    assert shift["shifted"] and shift["mean_shift"] > 4
    # Malformed inputs are refused in one line before anything is written.
    with pytest.raises(lossgap.DataError, match="'train' and 'val'") as error:
        lossgap.save_recorded_run(recorder, tmp_path / "other", inputs={"val": x[60:]})
    assert "\n" not in str(error.value) and not (tmp_path / "other").exists()
    # Without inputs, nothing is claimed about them.
    plain = lossgap.save_recorded_run(recorder, tmp_path / "plain")
    assert "input_shift" not in json.loads((plain / "config.json").read_text())["data"]


def test_a_model_trained_without_its_flipped_labels_gets_the_clean_val_samples_right(tmp_path):
    # --drop-train-ids is label noise's rerun: with 40% of the labels moved, the same model gets far more of the
    # samples whose labels were not moved right once the moved ones are left out of training.
    from lossgap.data.synthetic import generate_synthetic
    from lossgap.run.rundir import read_run

    source = "synthetic:frequency,samples=300,classes=3,length=20,noise=0.4,seed=5"
    flipped = generate_synthetic(source).flipped_ids
    clean_accuracy, written = {}, {}
    for name, drop in (("kept", None), ("dropped", ",".join(str(i) for i in flipped))):
        config = TrainConfig(data=DataConfig(source=source, drop_train_ids=drop), model=ModelConfig(hidden_size=32),
                             epochs=25, optimizer={"lr": 0.005})
        lossgap.train(config, tmp_path / name, diagnose_run=False)
        val = read_run(tmp_path / name).dynamics["val"]
        clean = ~np.isin(val.sample_ids, flipped)
        clean_accuracy[name] = float(val.correct[-1][clean].mean())
        written[name] = json.loads((tmp_path / name / "config.json").read_text())["data"]
    assert clean_accuracy["dropped"] > clean_accuracy["kept"] + 0.05, clean_accuracy
    # config.json says what was left out; the flipped samples that fell in val stay there.
    record = written["dropped"]["dropped_train_ids"]
    in_val = np.isin(flipped, np.asarray(record["in_val"]))
    assert record["listed"] == len(flipped) and record["dropped"] == len(flipped) - in_val.sum() > 0
    assert written["dropped"]["sizes"]["train"] == written["kept"]["sizes"]["train"] - record["dropped"]
    assert written["dropped"]["sizes"]["val"] == written["kept"]["sizes"]["val"]
    assert written["kept"]["dropped_train_ids"] is None
