"""The Adult data: shapes, lab-faithful preprocessing, splits, user files and their errors."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from harness.errors import HarnessError
from harness.lab.data import CATEGORICAL, COLUMNS, CONTINUOUS, SHA256, dataset_dir, load_splits

N_CONTINUOUS = len(CONTINUOUS)


def test_lab_variant_shapes_and_positive_rate(splits):
    assert splits.x_train.shape == (20838, 108)
    assert splits.x_valid.shape == (5210, 108)
    assert splits.x_test.shape == (6513, 108)
    for y, n in ((splits.y_train, 20838), (splits.y_valid, 5210), (splits.y_test, 6513)):
        assert y.shape == (n, 1)
        assert y.dtype == np.float32
        assert set(np.unique(y)) == {0.0, 1.0}
    assert splits.x_train.dtype == np.float32
    summary = splits.summary()
    assert summary["features"] == 108
    assert summary["positive_rate"] == pytest.approx(0.2408, abs=0.001)
    # [scaled continuous | one-hot], as the lab's ColumnTransformer-free hstack
    assert splits.feature_names[:N_CONTINUOUS] == list(CONTINUOUS)
    assert len(splits.feature_names) == 108


def test_lab_variant_matches_the_lab_recipe_built_independently(splits):
    """LAB.md step by step with pandas + scikit-learn: the harness must give the same arrays."""
    frame = pd.read_csv(dataset_dir() / "adult.data.gz", header=None, names=list(COLUMNS))
    labels = (frame["wage"] == " >50K").to_numpy(dtype=np.float32)
    features = frame.drop(columns="wage")
    x_trval, x_test, y_trval, y_test = train_test_split(
        features, labels, test_size=0.2, random_state=0, shuffle=True, stratify=labels
    )
    x_train, x_valid, y_train, y_valid = train_test_split(
        x_trval, y_trval, test_size=0.2, random_state=0, shuffle=True, stratify=y_trval
    )
    scaler = StandardScaler().fit(x_train[list(CONTINUOUS)])
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encoder.fit(x_train[list(CATEGORICAL)])

    def encode(part):
        return np.hstack(
            [scaler.transform(part[list(CONTINUOUS)]), encoder.transform(part[list(CATEGORICAL)])]
        ).astype(np.float32)

    for mine, expected in (
        (splits.x_train, encode(x_train)),
        (splits.x_valid, encode(x_valid)),
        (splits.x_test, encode(x_test)),
    ):
        np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(splits.y_train.ravel(), y_train)
    np.testing.assert_array_equal(splits.y_valid.ravel(), y_valid)
    np.testing.assert_array_equal(splits.y_test.ravel(), y_test)


def test_scaler_is_fitted_on_train_only(splits):
    train = splits.x_train[:, :N_CONTINUOUS].astype(np.float64)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-4)
    # Fitted on train, applied to the others: their means are near 0 but not exactly 0.
    for other in (splits.x_valid, splits.x_test):
        means = other[:, :N_CONTINUOUS].astype(np.float64).mean(axis=0)
        assert np.all(np.abs(means) < 0.1)
        assert np.abs(means).max() > 1e-3


def test_one_hot_columns_are_zero_or_one_with_one_hot_per_column(splits):
    onehot = splits.x_train[:, N_CONTINUOUS:]
    assert set(np.unique(onehot)) == {0.0, 1.0}
    # every training row has exactly one category per categorical column
    assert np.all(onehot.sum(axis=1) == len(CATEGORICAL))


def test_splits_are_disjoint_and_cover_the_data(splits):
    raw = pd.read_csv(dataset_dir() / "adult.data.gz", header=None)
    n_rows, n_unique = len(raw), len(raw.drop_duplicates())  # Adult has a few duplicate rows

    def rows(x, y):
        return {row.tobytes() for row in np.hstack([x, y])}

    train = rows(splits.x_train, splits.y_train)
    valid = rows(splits.x_valid, splits.y_valid)
    test = rows(splits.x_test, splits.y_test)
    assert len(splits.x_train) + len(splits.x_valid) + len(splits.x_test) == n_rows
    assert len(train | valid | test) == n_unique
    # A row can be in two splits only if it occurs twice in the file.
    assert len(train & valid) + len(train & test) + len(valid & test) <= n_rows - n_unique


def test_splits_are_stratified(splits):
    overall = splits.summary()["positive_rate"]
    for y in (splits.y_train, splits.y_valid, splits.y_test):
        # a random (unstratified) split of 5,210 rows would typically be off by ~0.006
        assert float(y.mean()) == pytest.approx(overall, abs=5e-4)


def test_grouped_variant_merges_and_strips_categories(splits):
    grouped = load_splits(variant="grouped")
    assert grouped.variant == "grouped"
    assert grouped.n_features < splits.n_features
    assert grouped.x_train.shape[0] == 20838
    np.testing.assert_array_equal(grouped.y_train, splits.y_train)  # same rows, same split

    def categories(names, column):
        prefix = f"{column}_"
        return {n[len(prefix) :] for n in names if n.startswith(prefix)}

    # the lab variant keeps the raw leading space (why the lab's replace() never matched)
    assert " Bachelors" in categories(splits.feature_names, "education")
    assert " HS-grad" in categories(splits.feature_names, "education")
    assert not any(
        n.startswith(" ") for c in CATEGORICAL for n in categories(grouped.feature_names, c)
    )
    assert categories(grouped.feature_names, "education") == {
        "Bachelors",
        "CommunityCollege",
        "Doctorate",
        "HighGrad",
        "Masters",
        "dropout",
    }
    assert categories(grouped.feature_names, "marital-status") == {
        "Married",
        "NotMarried",
        "Separated",
        "Widowed",
    }
    assert "Private" in categories(grouped.feature_names, "workclass")  # stripped, not merged


def test_unknown_variant_is_rejected():
    with pytest.raises(HarnessError, match="variant must be one of"):
        load_splits(variant="merged")


@pytest.mark.parametrize("name", ["own.data", "own.data.gz"])
def test_user_file_plain_and_gzip(tmp_path, adult_rows, write_adult, name):
    path = write_adult(tmp_path / name, adult_rows[:2000])
    own = load_splits(path)
    # 2,000 rows: test ceil(0.2 * 2000) = 400, valid ceil(0.2 * 1600) = 320, train 1,280
    assert own.x_train.shape[0] == 1280
    assert own.x_valid.shape[0] == 320
    assert own.x_test.shape[0] == 400
    assert own.x_train.shape[1] == own.n_features == len(own.feature_names)
    assert own.source == str(path.resolve())
    assert 0.15 < own.summary()["positive_rate"] < 0.35


def test_user_file_plain_and_gzip_give_the_same_splits(tmp_path, adult_rows, write_adult):
    plain = load_splits(write_adult(tmp_path / "a.data", adult_rows[:2000]))
    packed = load_splits(write_adult(tmp_path / "a.data.gz", adult_rows[:2000]))
    np.testing.assert_array_equal(plain.x_train, packed.x_train)
    np.testing.assert_array_equal(plain.y_test, packed.y_test)


def _drop_last_column(line: str) -> str:
    return line.rsplit(",", 1)[0]


def _set_label(label: str):
    return lambda line: line.rsplit(",", 1)[0] + "," + label


def _set_field(index: int, value: str):
    def change(line: str) -> str:
        fields = line.split(",")
        fields[index] = value
        return ",".join(fields)

    return change


BAD_FILES = [
    # (id, change to rows, rows changed, pieces the message must contain)
    ("14 columns", _drop_last_column, "all", ["every row must have 15", "row 1 has 14"]),
    ("16 columns", lambda line: line + ", extra", [7], ["every row must have 15", "row 8 has 16"]),
    ("unknown label", _set_label(" maybe"), [3], ["labels must be one of", "' maybe'"]),
    ("label without space", _set_label(">50K"), [0], ["labels must be one of", "'>50K'"]),
    ("empty label", _set_label(""), [0], ["labels must be one of", "found ['']"]),
    ("non-numeric age", _set_field(0, " old"), [5], ["column 'age' must be numeric", "' old'"]),
    ("empty capital-gain", _set_field(10, " "), [2], ["column 'capital-gain' must be numeric"]),
]


@pytest.mark.parametrize(
    ("change", "rows", "pieces"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_user_file_errors(tmp_path, adult_rows, write_adult, change, rows, pieces):
    lines = list(adult_rows[:200])
    for i in range(len(lines)) if rows == "all" else rows:
        lines[i] = change(lines[i])
    path = write_adult(tmp_path / "bad.data", lines)
    with pytest.raises(HarnessError) as caught:
        load_splits(path)
    message = str(caught.value)
    assert str(path.resolve()) in message
    for piece in pieces:
        assert piece in message


def test_user_file_with_an_empty_label_and_an_unknown_one(tmp_path, adult_rows, write_adult):
    """Regression: an empty label became NaN, and sorting NaN with strings raised TypeError."""
    lines = list(adult_rows[:200])
    lines[0] = lines[0].rsplit(",", 1)[0] + ","
    lines[1] = lines[1].rsplit(",", 1)[0] + ", maybe"
    path = write_adult(tmp_path / "bad.data", lines)
    with pytest.raises(HarnessError, match=r"labels must be one of .*found \['', ' maybe'\]"):
        load_splits(path)


def test_user_file_named_gz_that_is_not_gzip(tmp_path, adult_rows):
    path = tmp_path / "plain.data.gz"
    path.write_text("\n".join(adult_rows[:100]))
    with pytest.raises(HarnessError, match="not a readable gzip file"):
        load_splits(path)


def test_user_file_missing(tmp_path):
    with pytest.raises(HarnessError, match="data file not found"):
        load_splits(tmp_path / "nowhere.data")


def test_user_file_that_cannot_be_read_says_why(tmp_path, monkeypatch):
    """Issue 18: an unreadable file was a PermissionError traceback (root reads anything, so
    the refusal is simulated)."""
    path = tmp_path / "locked.data"
    path.write_text("x\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(HarnessError, match=r"locked.data: cannot be read \(Permission denied\)"):
        load_splits(path)


def test_user_file_without_rows(tmp_path):
    path = tmp_path / "empty.data"
    path.write_text("\n\n")
    with pytest.raises(HarnessError, match="no data rows"):
        load_splits(path)


def test_packaged_file_with_wrong_checksum(corrupt_dataset_dir):
    with pytest.raises(HarnessError) as caught:
        load_splits()
    message = str(caught.value)
    assert "sha256" in message
    assert SHA256["adult.data"] in message
    assert str(corrupt_dataset_dir / "adult.data.gz") in message


def test_packaged_file_missing(empty_dataset_dir):
    with pytest.raises(HarnessError, match="data file not found") as caught:
        load_splits()
    assert str(empty_dataset_dir / "adult.data.gz") in str(caught.value)


def test_packaged_checksum_is_the_published_one():
    raw = gzip.decompress((dataset_dir() / "adult.data.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SHA256["adult.data"]
    raw_test = gzip.decompress((dataset_dir() / "adult.test.gz").read_bytes())
    assert hashlib.sha256(raw_test).hexdigest() == SHA256["adult.test"]
    assert (dataset_dir() / "adult.names").is_file()
