"""Data layer: sources -> SequenceData splits (stratified validation, train-fitted standardisation).

Names are resolved on first use (PEP 562): reading the data options (``lossgap.data.config``, which the CLI's
help needs) loads neither numpy nor a data source.
"""

from __future__ import annotations

from lossgap.lazy import lazy_getattr

_EXPORTS = {
    "DataConfig": "lossgap.data.config", "Standardizer": "lossgap.data.preprocessing",
    "DatasetSplits": "lossgap.data.sequence", "SequenceData": "lossgap.data.sequence",
    "LoadedData": "lossgap.data.sources", "load_data": "lossgap.data.sources", "load_splits": "lossgap.data.sources",
    "read_source": "lossgap.data.sources", "source_kind": "lossgap.data.sources",
    "stratified_indices": "lossgap.data.split", "stratified_split": "lossgap.data.split",
    "SyntheticData": "lossgap.data.synthetic", "generate_synthetic": "lossgap.data.synthetic",
    "parse_synthetic": "lossgap.data.synthetic",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr("lossgap.data", _EXPORTS)
