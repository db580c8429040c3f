"""Remedies side by side: rerun a run's configuration with each remedy over several seeds and judge them."""

from lossgap.remedies.candidates import remedy_candidates
from lossgap.remedies.runner import RemedyResult, run_remedies
from lossgap.training.config import apply_changes

__all__ = ["RemedyResult", "apply_changes", "remedy_candidates", "run_remedies"]
