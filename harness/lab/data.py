"""The UCI Adult data set: packaged files, checksum, lab-faithful preprocessing and splits.

The lab (LAB.md) reads only ``adult.data``, splits it twice with a stratified 80/20
``train_test_split(random_state=0)``, scales the 6 continuous columns and one-hot encodes the
other 8, both fitted on train. Variant ``lab`` reproduces that exactly (108 features, the
category merges never matched because raw values keep a leading space); variant ``grouped``
applies the merges the lab intended, on stripped values.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from harness.choices import VARIANTS
from harness.engine.splits import Splits
from harness.errors import HarnessError

COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "wage",
)
CONTINUOUS = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
CATEGORICAL = tuple(c for c in COLUMNS[:-1] if c not in CONTINUOUS)
LABELS = (" <=50K", " >50K")  # as in the raw file: a leading space after each comma

# sha256 of the *uncompressed* files, as published in shared/data/adult/README.md.
SHA256 = {
    "adult.data": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
}

# The merges the lab meant to apply (its replace() calls missed the leading space).
GROUPING = {
    "education": {
        **dict.fromkeys(
            ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th"],
            "dropout",
        ),
        "HS-grad": "HighGrad",
        **dict.fromkeys(["Some-college", "Assoc-acdm", "Assoc-voc"], "CommunityCollege"),
        "Prof-school": "Masters",
    },
    "marital-status": {
        "Never-married": "NotMarried",
        "Married-spouse-absent": "NotMarried",
        "Married-civ-spouse": "Married",
        "Married-AF-spouse": "Married",
        "Divorced": "Separated",
        "Separated": "Separated",
        "Widowed": "Widowed",
    },
}

SPLIT_SEED = 0  # random_state of both train_test_split calls, as in the lab
TEST_FRACTION = 0.2
# Training rows of the packaged data's split (both variants): the most a space file's
# [data] train_rows and batch_size can ask for (tests check it against the split).
PACKAGED_TRAIN_ROWS = 20_838


def dataset_dir() -> Path:
    """Folder of the packaged files; ``HARNESS_DATASET_DIR`` points elsewhere (a mirror, tests)."""
    override = os.environ.get("HARNESS_DATASET_DIR")
    return Path(override) if override else Path(__file__).resolve().parent / "datasets"


def _read_bytes(path: Path) -> bytes:
    """A data file's bytes: a regular file (a device such as /dev/zero would never end, a
    folder has none), read in full; each other case is its own line."""
    if not path.exists():
        raise HarnessError(f"data file not found: {path}")
    if path.is_dir():
        raise HarnessError(f"{path}: must be a data file (adult.data format), but it is a folder")
    if not path.is_file():
        raise HarnessError(
            f"{path}: must be a regular data file (adult.data format), but it is a "
            f"{_file_kind(path)}"
        )
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise HarnessError(f"{path}: cannot be read ({err.strerror or err})") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise HarnessError(f"{path}: not a readable gzip file ({err})") from err
    return raw


def _file_kind(path: Path) -> str:
    import stat

    mode = path.stat().st_mode
    kinds = {
        stat.S_ISCHR: "character device",
        stat.S_ISBLK: "block device",
        stat.S_ISFIFO: "named pipe",
        stat.S_ISSOCK: "socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "special file")


def packaged_adult_bytes() -> bytes:
    """The packaged ``adult.data``, checked against its published sha256."""
    path = dataset_dir() / "adult.data.gz"
    raw = _read_bytes(path)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256["adult.data"]:
        raise HarnessError(
            f"{path}: sha256 of the uncompressed file must be {SHA256['adult.data']}, "
            f"but got {digest} (corrupt or modified copy)"
        )
    return raw


def parse_adult(raw: bytes, source: str) -> pd.DataFrame:
    """Parse adult.data-formatted bytes; validate 15 columns and the two known labels."""
    text = raw.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("|")]
    if not lines:
        raise HarnessError(f"{source}: no data rows")
    for number, line in enumerate(lines, start=1):
        n_fields = line.count(",") + 1
        if n_fields != len(COLUMNS):
            raise HarnessError(
                f"{source}: every row must have {len(COLUMNS)} comma-separated columns, "
                f"but data row {number} has {n_fields}"
            )
    # keep_default_na=False: every field stays the string it is ("", "NA" too), so an empty or
    # odd value is reported as found instead of becoming a NaN that breaks sorting or encoding.
    frame = pd.read_csv(
        io.StringIO("\n".join(lines)),
        header=None,
        names=list(COLUMNS),
        dtype=str,
        keep_default_na=False,
    )
    # adult.test writes labels as " >50K."; accept that spelling, reject anything else.
    frame["wage"] = frame["wage"].str.rstrip(".")
    unknown = sorted(set(frame["wage"]) - set(LABELS))
    if unknown:
        raise HarnessError(
            f"{source}: labels must be one of {list(LABELS)}, but found {unknown[:5]}"
        )
    for column in CONTINUOUS:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.isna().any():
            bad = frame[column][numbers.isna()].iloc[0]
            raise HarnessError(f"{source}: column {column!r} must be numeric, but found {bad!r}")
        frame[column] = numbers.astype(np.float64)
    return frame


def _apply_grouping(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in CATEGORICAL:
        frame[column] = frame[column].str.strip()
    for column, mapping in GROUPING.items():
        frame[column] = frame[column].replace(mapping)
    return frame


def preprocess(frame: pd.DataFrame, variant: str = "lab", source: str = "adult.data") -> Splits:
    """Split and encode exactly as the lab does (see module docstring)."""
    if variant not in VARIANTS:
        raise HarnessError(f"variant must be one of {list(VARIANTS)}, but got {variant!r}")
    if variant == "grouped":
        frame = _apply_grouping(frame)
    labels = (frame["wage"] == " >50K").to_numpy(dtype=np.float32)
    features = frame.drop(columns="wage")
    x_trval, x_test, y_trval, y_test = train_test_split(
        features,
        labels,
        test_size=TEST_FRACTION,
        random_state=SPLIT_SEED,
        shuffle=True,
        stratify=labels,
    )
    x_train, x_valid, y_train, y_valid = train_test_split(
        x_trval,
        y_trval,
        test_size=TEST_FRACTION,
        random_state=SPLIT_SEED,
        shuffle=True,
        stratify=y_trval,
    )
    scaler = StandardScaler().fit(x_train[list(CONTINUOUS)])
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encoder.fit(x_train[list(CATEGORICAL)])

    def encode(part: pd.DataFrame) -> np.ndarray:
        scaled = scaler.transform(part[list(CONTINUOUS)])
        onehot = encoder.transform(part[list(CATEGORICAL)])
        return np.hstack([scaled, onehot]).astype(np.float32)

    names = list(CONTINUOUS) + [str(n) for n in encoder.get_feature_names_out(CATEGORICAL)]
    return Splits(
        encode(x_train),
        y_train.reshape(-1, 1),
        encode(x_valid),
        y_valid.reshape(-1, 1),
        encode(x_test),
        y_test.reshape(-1, 1),
        names,
        variant,
        source,
    )


@cache
def _load_cached(path: str | None, variant: str, packaged_dir: str) -> Splits:
    # packaged_dir is part of the cache key so HARNESS_DATASET_DIR changes are honoured.
    if path is None:
        frame = parse_adult(packaged_adult_bytes(), "packaged adult.data")
        return preprocess(frame, variant, "packaged adult.data")
    frame = parse_adult(_read_bytes(Path(path)), path)
    return preprocess(frame, variant, path)


def load_splits(
    path: str | Path | None = None, variant: str = "lab", train_rows: int | None = None
) -> Splits:
    """Train/valid/test splits of the packaged data (checksum verified) or of a user's file;
    with ``train_rows``, only the first that many training rows (a space's ``[data]``
    subset, a benchmark's ``--rows``), validation and test whole.

    Cached per process: a worker that trains trial after trial preprocesses once.
    """
    if variant not in VARIANTS:
        raise HarnessError(f"variant must be one of {list(VARIANTS)}, but got {variant!r}")
    user_path = None if path is None else str(Path(path).resolve())
    splits = _load_cached(user_path, variant, str(dataset_dir()))
    return splits if train_rows is None else splits.subset(train_rows)
