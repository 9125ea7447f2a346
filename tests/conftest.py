"""Shared fixtures: the packaged splits (loaded once per session) and small data files.

Tests train on ``tiny_splits`` (the first 2,000 training rows; validation and test stay
full) with a few epochs, so the whole suite runs in well under two minutes on 2 cores.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.lab.data import Splits, dataset_dir, load_splits

TINY_TRAIN_ROWS = 2000

WriteAdult = Callable[[Path, list[str]], Path]


def _write_adult(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.fixture(scope="session")
def splits() -> Splits:
    return load_splits()


@pytest.fixture(scope="session")
def tiny_splits(splits: Splits) -> Splits:
    return splits.subset(TINY_TRAIN_ROWS)


@pytest.fixture(scope="session")
def adult_rows() -> list[str]:
    """Every data row of the packaged adult.data, as text lines (blank lines dropped)."""
    text = gzip.decompress((dataset_dir() / "adult.data.gz").read_bytes()).decode()
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def write_adult() -> WriteAdult:
    """``write_adult(path, lines)``: rows as adult.data writes them; gzipped for ``*.gz``."""
    return _write_adult


@pytest.fixture(scope="session")
def small_data_file(tmp_path_factory: pytest.TempPathFactory, adult_rows: list[str]) -> Path:
    """A user's own adult.data for cheap CLI runs: the first 3,000 packaged rows, plain."""
    return _write_adult(tmp_path_factory.mktemp("data") / "adult_small.data", adult_rows[:3000])


@pytest.fixture
def corrupt_dataset_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HARNESS_DATASET_DIR -> a copy of the packaged folder whose adult.data.gz has one
    byte changed (still valid gzip, so only the checksum can catch it)."""
    folder = tmp_path / "datasets"
    folder.mkdir()
    for source in dataset_dir().iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    raw = bytearray(gzip.decompress((folder / "adult.data.gz").read_bytes()))
    raw[0:2] = b"40" if raw[0:2] != b"40" else b"41"  # first row's age
    (folder / "adult.data.gz").write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setenv("HARNESS_DATASET_DIR", str(folder))
    return folder


@pytest.fixture
def empty_dataset_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HARNESS_DATASET_DIR -> an empty folder: the packaged file is missing."""
    folder = tmp_path / "no_datasets"
    folder.mkdir()
    monkeypatch.setenv("HARNESS_DATASET_DIR", str(folder))
    return folder
