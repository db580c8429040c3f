"""Long-format CSV data sets: one row per time step, ``id, t, label, feature...`` and an optional ``split`` column.

Rows with the same id form one sequence, ordered by ``t``; the rows of one id need not be contiguous. The split
column (train / val / test) fixes the splits. The csv module only splits the text into cells; every column is
then converted with numpy in one call, so 100k rows read in a fraction of a second.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from lossgap.data.files import existing_file
from lossgap.data.labels import class_names_of, encode_labels, is_number, missing_label_positions
from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError

#: Columns every file needs, in the order they are written.
REQUIRED_COLUMNS = ("id", "t", "label")
#: Values of the optional split column, in the order splits are returned.
SPLIT_NAMES = ("train", "val", "test")
_FORMAT_HINT = "the first row must be a header like id,t,label,feature1,... (optional column split)"


def read_csv_data(path: str | Path) -> dict[str, SequenceData]:
    """The splits stored in the long-format CSV ``path``: "train", plus "val" / "test" when a split column has them.

    Features are float32 (N, T, F) in the file's column order, zero-padded to the longest sequence, with samples
    in order of their id's first row. Class names are the sorted label strings (numerically when all are numbers),
    shared by all splits. Ids are the file's ids: int64 when all are integers, else strings.
    """
    path = existing_file(path)
    name = path.name
    header, rows, line_numbers = _read_rows(path)
    columns = _column_positions(header, name)
    feature_positions = [index for index, column in enumerate(header)
                         if _key(column) not in (*REQUIRED_COLUMNS, "split")]
    if not feature_positions:
        raise DataError(f"{name}: has no feature column (only {', '.join(header)}); add at least one numeric column "
                        "after id,t,label")
    table = np.char.strip(np.asarray(rows, dtype=str))

    ids_text = table[:, columns["id"]]
    _check_not_empty(ids_text, "id", name, line_numbers)
    time_steps = _numbers(table[:, columns["t"]], "t", name, line_numbers)
    not_finite = np.flatnonzero(~np.isfinite(time_steps))
    if not_finite.size:
        raise DataError(f"{name}: line {line_numbers[not_finite[0]]}, column t has "
                        f"{str(table[not_finite[0], columns['t']])!r}, not a finite number; give every row a numeric t")
    features = np.empty((len(rows), len(feature_positions)), dtype=np.float32)
    for out_index, position in enumerate(feature_positions):
        column_name = header[position].strip()
        values = _numbers(table[:, position], column_name, name, line_numbers)
        _check_float32(values, table[:, position], column_name, name, line_numbers)
        features[:, out_index] = values
    labels_text = table[:, columns["label"]]
    _check_not_empty(labels_text, "label", name, line_numbers)
    missing = missing_label_positions(labels_text)
    if missing.size:
        unlabelled = len(np.unique(ids_text[missing]))
        raise DataError(f"{name}: line {line_numbers[missing[0]]} has label {str(labels_text[missing[0]])!r}, a "
                        f"missing label, not a class ({unlabelled} id(s) have such labels); give every row its label "
                        "or drop the rows of unlabelled ids")

    # Samples in order of first appearance; rows sorted by (sample, t) so each sample's steps are contiguous.
    _, first_row, sample_of_row = np.unique(ids_text, return_index=True, return_inverse=True)
    rank = np.empty(len(first_row), dtype=np.int64)
    rank[np.argsort(first_row, kind="stable")] = np.arange(len(first_row))
    sample_of_row = rank[sample_of_row.reshape(-1)]
    first_row = np.sort(first_row)
    order = np.lexsort((time_steps, sample_of_row))
    sorted_samples = sample_of_row[order]
    starts = np.flatnonzero(np.r_[True, sorted_samples[1:] != sorted_samples[:-1]])
    lengths = np.diff(np.r_[starts, len(order)]).astype(np.int64)

    sorted_steps = time_steps[order]
    repeated = np.flatnonzero((sorted_samples[1:] == sorted_samples[:-1]) & (sorted_steps[1:] == sorted_steps[:-1]))
    if repeated.size:
        row = order[repeated[0] + 1]
        raise DataError(f"{name}: id {ids_text[row]} has t={table[row, columns['t']]} twice (line "
                        f"{line_numbers[row]}); give each time step of a sequence its own t")
    sample_labels = _constant_per_sample(labels_text, "label", order, starts, ids_text, name, line_numbers)
    if "split" in columns:
        split_text = np.char.lower(table[:, columns["split"]])
        bad = np.flatnonzero(~np.isin(split_text, SPLIT_NAMES))
        if bad.size:
            row = bad[0]
            raise DataError(f"{name}: line {line_numbers[row]} has split {str(table[row, columns['split']])!r}; "
                            "use train, val or test")
        sample_splits = _constant_per_sample(split_text, "split", order, starts, ids_text, name, line_numbers)
    else:
        sample_splits = np.full(len(starts), "train")

    position_in_sample = np.arange(len(order)) - np.repeat(starts, lengths)
    padded = np.zeros((len(starts), int(lengths.max()), len(feature_positions)), dtype=np.float32)
    padded[sorted_samples, position_in_sample] = features[order]
    sample_ids = _typed_ids(ids_text[first_row])
    class_names = class_names_of(sample_labels)

    present = [split for split in SPLIT_NAMES if (sample_splits == split).any()]
    if "train" not in present:
        raise DataError(f"{name}: no rows have split 'train' (found {', '.join(present)}); "
                        "mark the training samples with split=train")
    out: dict[str, SequenceData] = {}
    for split in present:
        chosen = np.flatnonzero(sample_splits == split)
        out[split] = SequenceData(
            features=padded[chosen][:, : int(lengths[chosen].max())],
            lengths=lengths[chosen],
            labels=encode_labels(sample_labels[chosen], class_names, f"{name} ({split} split)"),
            ids=sample_ids[chosen],
            class_names=class_names,
            name=name,
            split=split,
        )
    return out


def write_csv_data(splits: dict[str, SequenceData], path: str | Path) -> Path:
    """Write ``splits`` in the long format :func:`read_csv_data` reads; returns the path.

    One row per valid time step (padding is not written), t counting from 0, labels as class names, features as
    ``feature_0..`` with 9 significant digits so float32 values read back exactly. A split column is written when
    there is more than one split.
    """
    from lossgap.io import atomic_open

    unknown = [split for split in splits if split not in SPLIT_NAMES]
    if unknown:
        raise DataError(f"cannot write split(s) {unknown} to CSV; name the splits train, val or test")
    if not splits:
        raise DataError("no splits to write; give at least a train split")
    num_features = {part.num_features for part in splits.values()}
    if len(num_features) != 1:
        raise DataError(f"splits have different feature counts {sorted(num_features)}; give every split the same "
                        "features")
    with_split = len(splits) > 1
    header = [*REQUIRED_COLUMNS, *(["split"] if with_split else []),
              *(f"feature_{index}" for index in range(num_features.pop()))]
    path = Path(path)
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for split, part in splits.items():
            prefix_split = [split] if with_split else []
            for sample in range(part.num_samples):
                sample_id = str(part.ids[sample])
                label = part.class_names[int(part.labels[sample])]
                for step in range(int(part.lengths[sample])):
                    values = ["%.9g" % value for value in part.features[sample, step].tolist()]
                    writer.writerow([sample_id, step, label, *prefix_split, *values])
    return path


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], np.ndarray]:
    """Header, data rows (blank lines skipped) and each row's line number in the file (header is line 1)."""
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            while header is not None and not any(cell.strip() for cell in header):
                header = next(reader, None)
            if header is None:
                raise DataError(f"{name}: the file is empty; {_FORMAT_HINT}")
            _check_delimiter(header, name)
            rows: list[list[str]] = []
            line_numbers: list[int] = []
            for row in reader:
                # Blank lines (also ones holding only spaces) are skipped; a checked row costs one comparison.
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise DataError(f"{name}: line {reader.line_num} has {len(row)} values but the header has "
                                    f"{len(header)} columns; give every row one value per column")
                rows.append(row)
                line_numbers.append(reader.line_num)
    except UnicodeDecodeError:
        raise DataError(f"{name}: is not UTF-8 text (is it a CSV file?); save it as UTF-8 CSV") from None
    except csv.Error as error:
        raise DataError(f"{name}: is not valid CSV ({error}); check quoting around line "
                        f"{reader.line_num}") from None
    if not rows:
        raise DataError(f"{name}: has a header but no data rows; add one row per time step")
    return header, rows, np.asarray(line_numbers, dtype=np.int64)


#: Other delimiters a header may use, by the name the error gives them.
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _check_delimiter(header: list[str], name: str) -> None:
    """Return None unless the header lacks the required columns as comma-separated but holds them when split at
    another delimiter; then raise DataError saying lossgap reads comma-separated CSV (a semicolon file would
    otherwise fail on its rows' value counts, or on the header, without saying why)."""
    keys = {_key(column) for column in header}
    if all(column in keys for column in REQUIRED_COLUMNS):
        return
    line = ",".join(header)
    for delimiter, called in _OTHER_DELIMITERS.items():
        cells = {_key(cell) for cell in line.split(delimiter)}
        if all(column in cells for column in REQUIRED_COLUMNS):
            raise DataError(f"{name}: the header {line!r} is {called}-separated, but lossgap reads comma-separated "
                            "CSV with '.' as the decimal point; save the file with ',' between values (e.g. pandas "
                            "df.to_csv(path, index=False))")


def _key(column: str) -> str:
    return column.strip().lower()


def _column_positions(header: list[str], name: str) -> dict[str, int]:
    """Index of id, t, label (and split when present) in the header; DataError naming any that are missing."""
    keys = [_key(column) for column in header]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise DataError(f"{name}: the header repeats column(s) {', '.join(duplicated)}; give every column its own name")
    missing = [column for column in REQUIRED_COLUMNS if column not in keys]
    if missing:
        # A header naming none of the required columns but holding a number is a data row, not a header.
        numbers = [cell.strip() for cell in header if is_number(cell)]
        if len(missing) == len(REQUIRED_COLUMNS) and numbers:
            raise DataError(f"{name}: has no header row (the first row holds data such as {numbers[0]!r}); "
                            f"{_FORMAT_HINT}")
        raise DataError(f"{name}: the header lacks column(s) {', '.join(missing)} (found {', '.join(header)}); "
                        f"{_FORMAT_HINT}")
    return {key: keys.index(key) for key in (*REQUIRED_COLUMNS, "split") if key in keys}


def _numbers(column: np.ndarray, column_name: str, name: str, line_numbers: np.ndarray) -> np.ndarray:
    """``column`` as float64; on a value that is not a number, DataError naming its line and column."""
    try:
        return column.astype(np.float64)
    except ValueError:
        pass
    # Only on failure: find the first bad cell (a Python loop is fine on the error path).
    for row, text in enumerate(column.tolist()):
        if not is_number(text):
            shown = repr(text) if text else "an empty value"
            raise DataError(f"{name}: line {line_numbers[row]}, column {column_name} has {shown}, not a number; "
                            f"give a numeric {column_name} in every row")
    raise DataError(f"{name}: column {column_name} could not be read as numbers; give numeric values")


def _check_float32(values: np.ndarray, text: np.ndarray, column_name: str, name: str,
                   line_numbers: np.ndarray) -> None:
    """Return None when every value of a feature column is finite within float32's range (lossgap trains in
    float32); else raise DataError naming the first bad value's line and column."""
    bad = np.flatnonzero(~(np.abs(values) <= np.finfo(np.float32).max))  # NaN fails the comparison too
    if not bad.size:
        return
    row = bad[0]
    where = f"{name}: line {line_numbers[row]}, column {column_name} has {str(text[row])!r}"
    if np.isfinite(values[row]):
        raise DataError(f"{where}, beyond float32's range (+-{float(np.finfo(np.float32).max):.3g}), which lossgap "
                        f"trains in; rescale that column (e.g. divide it by a power of 10)")
    raise DataError(f"{where}, not a finite number ({bad.size} such value(s) in that column); impute or drop "
                    "them (each row is a time step and needs a value in every feature column)")


def _check_not_empty(column: np.ndarray, column_name: str, name: str, line_numbers: np.ndarray) -> None:
    empty = np.flatnonzero(column == "")
    if empty.size:
        raise DataError(f"{name}: line {line_numbers[empty[0]]} has an empty {column_name}; "
                        f"give every row its {column_name}")


def _constant_per_sample(values: np.ndarray, column_name: str, order: np.ndarray, starts: np.ndarray,
                         ids_text: np.ndarray, name: str, line_numbers: np.ndarray) -> np.ndarray:
    """Each sample's single value of ``column_name``; DataError when it changes within one id."""
    ordered = values[order]
    per_sample = ordered[starts]
    lengths = np.diff(np.r_[starts, len(order)])
    changed = np.flatnonzero(ordered != np.repeat(per_sample, lengths))
    if changed.size:
        row = order[changed[0]]
        first_value = str(per_sample[np.searchsorted(starts, changed[0], side="right") - 1])
        raise DataError(f"{name}: id {ids_text[row]} has {column_name} {str(values[row])!r} on line "
                        f"{line_numbers[row]} but {first_value!r} on another row; "
                        f"give all rows of one id the same {column_name}")
    return per_sample


def _typed_ids(ids_text: np.ndarray) -> np.ndarray:
    """Ids as int64 when every one is an integer (written without a decimal point), else as strings."""
    try:
        return ids_text.astype(np.int64)
    except (ValueError, OverflowError):
        return ids_text.astype(str)
