"""Remedies side by side: rerun a run's configuration with each remedy over several seeds and judge them."""

from lossgap.remedies.candidates import apply_changes, remedy_candidates
from lossgap.remedies.runner import RemedyResult, run_remedies

__all__ = ["RemedyResult", "apply_changes", "remedy_candidates", "run_remedies"]
