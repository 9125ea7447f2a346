"""A real two-node Ray cluster on this machine (``scripts/two_node_check.py``): trials run on
both nodes, and their results equal an in-process run's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "two_node_check.py"


@pytest.mark.slow
def test_two_node_cluster_matches_an_in_process_run(tmp_path):
    spec = importlib.util.spec_from_file_location("two_node_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.check(tmp_path)
    assert len(result["nodes"]) == 2, result["nodes"]  # a worker on each node
    assert None not in result["nodes"]  # every trial says where it ran
    assert result["trials"] == result["local_trials"] > 0
    assert result["mismatches"] == []
