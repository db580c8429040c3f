"""The report's text parts: number formatting, header facts, verdict cards, config and metrics tables."""

import dataclasses
import json
import math

import numpy as np
import pytest

from lossgap.diagnosis import Remedy, Verdict, diagnose_record
from lossgap.report import tables
from lossgap.run.rundir import read_run


@pytest.mark.parametrize("value, text", [
    (3, "3"), (np.int64(7), "7"), (2.0, "2"), (0.123456, "0.1235"), (1234567.0, "1.235e+06"),
    (math.nan, "-"), (None, "-"), (True, "yes"), (np.bool_(False), "no"), ("adam", "adam"),
])
def test_format_number(value, text):
    assert tables.format_number(value) == text


def test_format_value_cuts_long_lists_and_joins_dicts():
    assert tables.format_value(list(range(10)), limit=3) == "[0, 1, 2, \u2026 (10 in all)]"
    assert tables.format_value({"a": 0.5, "b": [1, 2]}) == "a: 0.5, b: [1, 2]"


def test_header_of_an_own_loop_run(refining_run):
    record = read_run(refining_run)
    head = tables.header(record, diagnose_record(record))
    assert head["own_loop"] and head["run_name"] == "refining" and head["class_count"] == 3
    assert head["sizes"] == "train 300, val 150"
    labels = [tile["label"] for tile in head["tiles"]]
    assert labels[0] == "best epoch" and head["tiles"][0]["value"] == "30"
    assert head["tiles"][0]["note"].startswith("by val_loss")
    assert not any(label.startswith("test accuracy") for label in labels)


def test_header_shows_the_delivered_models_test_accuracy(configured_run):
    record = read_run(configured_run)
    head = tables.header(record, diagnose_record(record))
    assert not head["own_loop"]
    test = next(tile for tile in head["tiles"] if tile["label"].startswith("test accuracy"))
    assert test["label"] == "test accuracy (delivered model, epoch 30)" and test["value"] == "0.688"
    assert "64 test samples" in test["note"]


def test_verdict_card():
    verdict = Verdict("overfitting", 0.834, "val loss rose", {"onset_epoch": 12, "gap": [0.1] * 12},
                      (Remedy("dropout", "raise dropout from 0 to 0.2", {"model.dropout": 0.2}),
                       Remedy("inspect", "look at the data")))
    card = tables.verdict_card(verdict)
    assert card["percent"] == 83 and card["level"] == "high"
    assert card["title"].startswith("train loss keeps falling")
    assert card["remedies"] == [{"action": "raise dropout from 0 to 0.2", "changes": "model.dropout = 0.2",
                                 "command": None},
                                {"action": "look at the data", "changes": "", "command": None}]
    assert card["evidence"][0] == ("onset_epoch", "12") and "(12 in all)" in card["evidence"][1][1]
    assert tables.verdict_card(dataclasses.replace(verdict, confidence=0.6))["level"] == "medium"
    assert tables.verdict_card(verdict, explanation=True)["level"] == "explanation"
    # A verdict that names its own form of the cause is titled by it, as in the headline.
    own = dataclasses.replace(verdict, evidence={"title": "the model fits its training samples far better than val"})
    assert tables.verdict_card(own)["title"] == "the model fits its training samples far better than val"


def test_config_sections_flatten_options_and_skip_a_missing_train_section(configured_run, refining_run):
    sections = {section["title"]: dict(section["rows"]) for section in
                tables.config_sections(read_run(configured_run).config)}
    assert sections["Training options"]["model.hidden_size"] == "32"
    assert sections["Data"]["class_names"] == "[up, down, flat]"
    assert "Environment" in sections
    own = [section["title"] for section in tables.config_sections(read_run(refining_run).config)]
    assert own == ["Data", "Environment"]
    described = {"settings": {"model": {"hidden_size": 1}, "optimizer": {"name": "adamw", "weight_decay": 10.0}}}
    sections = tables.config_sections(described)
    assert sections[0]["title"] == "Settings the training loop described"
    assert dict(sections[0]["rows"]) == {"model.hidden_size": "1", "optimizer.name": "adamw",
                                         "optimizer.weight_decay": "10"}


def test_the_network_as_built_gets_its_own_section_after_the_options():
    config = {"train": {"model": {"patch_length": "auto"}}, "model": {"patch_length": 14, "readout": "max"}}
    sections = tables.config_sections(config)
    assert [section["title"] for section in sections] == ["Training options", "Network as built"]
    assert dict(sections[1]["rows"]) == {"patch_length": "14", "readout": "max"}


def test_metrics_table_puts_known_columns_first(refining_run):
    table = tables.metrics_table(read_run(refining_run).metrics)
    assert table["columns"][:3] == ["epoch", "train_loss", "val_loss"] and "lr" in table["columns"]
    assert len(table["rows"]) == 30 and table["rows"][0][0] == "1"


def test_suspect_rows_show_label_names_most_suspect_first(refining_run, kit):
    record = read_run(refining_run)
    rows = tables.suspect_rows(diagnose_record(record), record.class_names, limit=5)
    assert len(rows) == 5
    # The 30 contradicted samples tie on AUM log(0.05) - log(0.475) = -2.251; ties keep the split's order.
    assert rows[0] == {"id": kit.hostile_id, "label": "up", "aum": "-2.251", "confidence": "0.050",
                       "forgetting": 0, "learned": "never"}
    assert [row["label"] for row in rows[1:3]] == ["down", "flat"]


def test_remedy_section_reads_remedy_json_and_ignores_a_broken_one(tmp_path):
    assert tables.remedy_section(tmp_path) is None
    (tmp_path / "remedy.json").write_text("{not json")
    assert tables.remedy_section(tmp_path) is None
    interval = {"mean": 0.5, "low": 0.4, "high": 0.6}
    payload = {"metric": "val_loss", "replicates": 3, "winner_command": "lossgap train x --dropout 0.2",
               "baseline": {"name": "baseline", "val_loss": interval, "val_accuracy": interval},
               "candidates": [{"name": "dropout", "beats_baseline": True, "val_loss": interval,
                               "val_accuracy": interval, "val_balanced_accuracy": None}]}
    (tmp_path / "remedy.json").write_text(json.dumps(payload))
    section = tables.remedy_section(tmp_path)
    assert [row["name"] for row in section["table"]] == ["baseline", "dropout"]
    assert section["table"][1] == {"name": "dropout", "verdict": "yes", "judged_on": "-",
                                   "cells": ["0.500 [0.400, 0.600]", "0.500 [0.400, 0.600]", "-"]}
    assert section["judged"] == "val loss"
    # Judged each on its own target (remedy.json's metric null): the figure shows val loss, the table says which.
    payload["metric"] = None
    payload["candidates"][0]["judged_on"] = "val_accuracy"
    (tmp_path / "remedy.json").write_text(json.dumps(payload))
    section = tables.remedy_section(tmp_path)
    assert section["metric"] == "val_loss" and section["judged"] == "what each is meant to improve"
    assert section["table"][1]["judged_on"] == "val accuracy"


def test_the_permuted_control_never_beats_the_run_in_the_report(tmp_path):
    # On labels without signal shuffled labels can reach a lower val loss than the true ones; the control is no
    # remedy, and "Remedies tried since beat this run: permuted_control" would say the opposite of what it shows.
    interval, lower = {"mean": 0.70, "low": 0.69, "high": 0.71}, {"mean": 0.68, "low": 0.67, "high": 0.69}
    payload = {"metric": None, "replicates": 3,
               "baseline": {"name": "baseline", "val_loss": interval, "val_accuracy": interval},
               "candidates": [{"name": "permuted_control", "beats_baseline": True, "judged_on": "val_loss",
                               "val_loss": lower, "val_accuracy": interval}]}
    (tmp_path / "remedy.json").write_text(json.dumps(payload))
    section = tables.remedy_section(tmp_path)
    assert section["table"][1]["verdict"] == "-" and section["winners"] is None
