"""Diagnosis: evidence from the analyses -> ranked verdicts with numbers and remedies."""

from lossgap.diagnosis.causes import CAUSES, REGISTRY, Cause
from lossgap.diagnosis.engine import diagnose_evidence, diagnose_record, diagnose_run
from lossgap.diagnosis.evidence import RunEvidence, gather_evidence
from lossgap.diagnosis.remedy import REMEDY_NAMES, Remedy
from lossgap.diagnosis.verdict import Diagnosis, Verdict

__all__ = ["CAUSES", "REGISTRY", "Cause", "Diagnosis", "REMEDY_NAMES", "Remedy", "RunEvidence", "Verdict",
           "diagnose_evidence", "diagnose_record", "diagnose_run", "gather_evidence"]
