"""Data layer: sources -> SequenceData splits (stratified validation, train-fitted standardisation)."""

from lossgap.data.config import DataConfig
from lossgap.data.preprocessing import Standardizer
from lossgap.data.sequence import DatasetSplits, SequenceData
from lossgap.data.sources import LoadedData, load_data, load_splits, read_source, source_kind
from lossgap.data.split import stratified_indices, stratified_split
from lossgap.data.synthetic import SyntheticData, generate_synthetic, parse_synthetic

__all__ = ["DataConfig", "DatasetSplits", "LoadedData", "SequenceData", "Standardizer", "SyntheticData",
           "generate_synthetic", "load_data", "load_splits", "parse_synthetic", "read_source", "source_kind",
           "stratified_indices", "stratified_split"]
