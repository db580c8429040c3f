"""Write ``RUN/report.html`` (one self-contained page) and ``RUN/figures/*.png`` for one run.

The page needs no network: CSS and scripts are inline (plotly.js from the installed plotly package and a
few lines of lossgap's own), figures are PNG data URIs beside their interactive versions. Every string that
comes from the user (class names, paths, sample ids, config values) passes through jinja2's autoescaping, and
the figures' data sit in a JSON script element whose <, > and & are escaped.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import jinja2

from lossgap.analysis.gradients import GradientHealth
from lossgap.diagnosis import Diagnosis, diagnose_run
from lossgap.diagnosis.engine import gradient_health_of
from lossgap.io import write_bytes, write_text
from lossgap.report import captions, figures, interactive, optimization_figure, tables
from lossgap.report.learning_curve_figure import learning_curve_figure
from lossgap.report.rendering import render_figures
from lossgap.run.rundir import FIGURES_DIR, REPORT_FILE, RunRecord, read_run

TEMPLATES = Path(__file__).parent / "templates"
#: The report's figures, in page order (file stems under RUN/figures/).
FIGURE_NAMES = ("curves", "ledger", "true_probability", "per_class", "calibration", "data_map")
#: The optimisation figure, drawn after them only for runs that recorded ``optimization.csv``.
OPTIMIZATION_FIGURE = "optimization"
#: Every figure a report may hold, in page order.
ALL_FIGURE_NAMES = FIGURE_NAMES + (OPTIMIZATION_FIGURE,)


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI, for an <img> that needs no file and no network."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class ReportFigure:
    """One figure of the report: file stem, heading, PNG bytes and a plain-words caption."""

    name: str
    title: str
    png: bytes
    caption: str

    @property
    def data_uri(self) -> str:
        """The PNG as a data URI (see :func:`data_uri`)."""
        return data_uri(self.png)


def lossgap_version() -> str:
    """The installed lossgap's version, or "" when it is not installed as a distribution (a source checkout)."""
    try:
        return metadata.version("lossgap")
    except metadata.PackageNotFoundError:
        return ""


def template_environment() -> jinja2.Environment:
    """The jinja2 environment of lossgap's page templates: autoescaping on, undefined names are errors."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def write_report(run: str | Path | RunRecord, diagnosis: Diagnosis | None = None) -> Path:
    """Write ``RUN/report.html`` and ``RUN/figures/<name>.png``; returns the path of report.html.

    ``run`` is a run directory or the :class:`RunRecord` the caller already read (training and diagnosis
    pass theirs, so the run is not read twice). ``diagnosis`` is diagnosed from the run when not given (or
    when it carries no evidence, as one rebuilt from JSON does). Raises RunDirError (one line) when ``run``
    holds no readable run.
    """
    record = run if isinstance(run, RunRecord) else read_run(run)
    if diagnosis is None or diagnosis.evidence is None:
        diagnosis = diagnose_run(record)
    drawn = report_figures(record, diagnosis)
    for figure in drawn:
        write_bytes(record.path / FIGURES_DIR / f"{figure.name}.png", figure.png)
    # A figure this run no longer allows must not linger from an earlier report of the same directory.
    for name in set(ALL_FIGURE_NAMES) - {figure.name for figure in drawn}:
        (record.path / FIGURES_DIR / f"{name}.png").unlink(missing_ok=True)
    target = record.path / REPORT_FILE
    write_text(target, render_report(record, diagnosis, drawn))
    return target


def report_figures(record: RunRecord, diagnosis: Diagnosis) -> list[ReportFigure]:
    """Every figure the run's records allow, in the page's order, each with its caption."""
    evidence = diagnosis.evidence
    names = record.class_names
    calibration = figures.val_calibration(evidence)
    candidates = [
        ("curves", "Loss and accuracy", lambda: figures.curves_figure(evidence),
         lambda: captions.curves_caption(evidence)),
        ("ledger", "Where the loss change comes from: the loss ledger", lambda: figures.ledger_figure(evidence),
         lambda: captions.ledger_caption(evidence)),
        ("true_probability", "How sure the model is of the true class",
         lambda: figures.true_probability_figure(evidence), lambda: captions.true_probability_caption(evidence)),
        ("per_class", "Classes: recall over epochs and predicted shares",
         lambda: figures.per_class_figure(evidence, names), lambda: captions.per_class_caption(evidence, names)),
        ("calibration", "Calibration: confidence against accuracy", lambda: figures.calibration_figure(evidence),
         lambda: captions.calibration_caption(calibration, evidence.val.num_samples)),
        ("data_map", "Data map of the training samples", lambda: figures.data_map_figure(evidence),
         lambda: captions.data_map_caption(evidence)),
    ]
    health = gradient_evidence(record, diagnosis)
    if health is not None:
        candidates.append((OPTIMIZATION_FIGURE, "Optimisation: gradient norms, update ratios and gates",
                           lambda: optimization_figure.optimization_figure(health),
                           lambda: optimization_figure.optimization_caption(health)))
    pngs = render_figures([draw for _, _, draw, _ in candidates])
    return [ReportFigure(name, title, png, caption())
            for (name, title, _, caption), png in zip(candidates, pngs) if png is not None]


def gradient_evidence(record: RunRecord, diagnosis: Diagnosis) -> GradientHealth | None:
    """The run's :class:`GradientHealth`: the diagnosis's own when its evidence carries one, else judged from
    the run's ``optimization.csv`` (None when the run has none)."""
    health = getattr(diagnosis.evidence, "gradients", None)
    return health if health is not None else gradient_health_of(record)


def render_report(record: RunRecord, diagnosis: Diagnosis, drawn: list[ReportFigure]) -> str:
    """The report page as HTML text: PNG figures inlined as data URIs, and the interactive figures (plotly.js
    inlined, so it opens offline)."""
    remedy = tables.remedy_section(record.path)
    remedy_uri = data_uri(figures.remedy_figure(remedy["rows"], remedy["metric"])) if remedy is not None else None
    curve_png = learning_curve_figure(remedy["more_data"]["entry"]) if remedy and remedy["more_data"] else None
    missing = []
    if not any(figure.name == "data_map" for figure in drawn):
        missing.append("The data map and the suspect table need the train split recorded over two epochs or more; "
                       "this run has none.")
    if not any(figure.name == "ledger" for figure in drawn):
        missing.append("The loss ledger needs two epochs or more.")
    template = template_environment().get_template("report.html.j2")
    explore = interactive.page_data(record, diagnosis)
    return template.render(
        interactive=interactive.script_json(explore),
        plotly=interactive.plotly_bundle(),
        has_stories=bool(explore["suspects"]),
        has_inputs=any(story["inputs"] is not None for story in explore["suspects"].values()),
        has_ledger="interactive-ledger" in explore["figures"],
        window=interactive.window_of(diagnosis),
        head=tables.header(record, diagnosis),
        headline=diagnosis.headline,
        learned_little=bool(diagnosis.extras.get("learned_little")),
        signal_unshown=bool(diagnosis.extras.get("signal_unshown")),
        no_cause_found=bool(diagnosis.extras.get("no_cause_found")),
        cards=[tables.verdict_card(verdict) for verdict in diagnosis.verdicts],
        explanations=[tables.verdict_card(verdict, explanation=True) for verdict in diagnosis.explanations],
        considered=[tables.verdict_card(verdict) for verdict in diagnosis.considered],
        next_step=None if diagnosis.next_steps is None else tables.verdict_card(diagnosis.next_steps),
        next_alternative=(None if diagnosis.next_alternative is None
                          else tables.verdict_card(diagnosis.next_alternative)),
        ledger_sentence=diagnosis.ledger_sentence,
        limitations=list(diagnosis.limitations),
        figures=drawn,
        missing=missing,
        suspects=tables.suspect_rows(diagnosis, record.class_names),
        suspect_total=len(diagnosis.evidence.suspects.indices) if diagnosis.evidence.suspects is not None else 0,
        remedy=remedy,
        remedy_uri=remedy_uri,
        more_data_uri=data_uri(curve_png) if curve_png is not None else None,
        config_sections=tables.config_sections(record.config),
        command=record.config.get("command"),
        metrics=tables.metrics_table(record.metrics),
        version=lossgap_version(),
    )
