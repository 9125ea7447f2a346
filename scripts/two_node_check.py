"""A real two-node Ray cluster on this machine: `harness study` and `harness compare` with
``--address``, checked against the same commands run in-process.

Two Ray nodes (a head and a worker node, one CPU each: two raylets, as two machines would
have) are started with ``ray.cluster_utils.Cluster``; the commands join them with
``--address``, so one worker lands on each node. Each trial records the Ray node it trained
on (user attribute ``ray_node``). Nothing travels from the driver's filesystem: the search
space goes with each job as text, and each worker loads the data set from its own install
of the package (the packaged, checksummed copy). The script asserts that trials ran on both
nodes and that every trial's parameters and value equal an in-process run's (the study uses
the random sampler, whose proposals do not depend on timing; the comparison keeps one trial
per study in flight).

    python scripts/two_node_check.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna

SPACE = """
[params.hidden_size]
type = "int"
low = 8
high = 32
[params.lr]
type = "float"
low = 1e-3
high = 1e-2
log = true
[params]
batch_size = 256
dropout = 0.1
[fixed]
max_epochs = 3
patience = 3
[data]
train_rows = 1500
"""


def harness(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "harness", *args], check=True, stdout=subprocess.DEVNULL)


def trials_of(url: str) -> dict[tuple[str, int], tuple[dict, float | None, str | None]]:
    storage = optuna.storages.RDBStorage(url)
    found = {}
    for summary in storage.get_all_studies():
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        for trial in study.trials:
            key = (summary.study_name.split("/", 1)[-1], trial.number)
            found[key] = (trial.params, trial.value, trial.user_attrs.get("ray_node"))
    return found


def check(folder: Path) -> dict[str, object]:
    """Run both commands on the cluster and in-process; the nodes used and any mismatch."""
    from ray.cluster_utils import Cluster

    space = folder / "space.toml"
    space.write_text(SPACE)
    common = ["--space", str(space), "--trials", "6"]
    study = ["study", "--name", "s", "--sampler", "random", *common]
    compare = [
        "compare",
        "--name",
        "c",
        "--repeats",
        "1",
        "--retrain-seeds",
        "1",
        "--bench-seeds",
        "0",
        "--reference-seeds",
        "0",
        *common,
    ]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        on_cluster = ["--address", cluster.address, "--cpu-workers", "2"]
        harness(*study, "--storage", f"sqlite:///{folder / 'cluster.db'}", *on_cluster)
        harness(
            *compare,
            "--storage",
            f"sqlite:///{folder / 'cluster.db'}",
            "--runs-dir",
            str(folder / "runs-cluster"),
            *on_cluster,
        )
    finally:
        cluster.shutdown()
    harness(*study, "--storage", f"sqlite:///{folder / 'local.db'}", "--executor", "local")
    harness(
        *compare,
        "--storage",
        f"sqlite:///{folder / 'local.db'}",
        "--runs-dir",
        str(folder / "runs-local"),
        "--executor",
        "local",
    )
    remote, local = (
        trials_of(f"sqlite:///{folder / 'cluster.db'}"),
        trials_of(f"sqlite:///{folder / 'local.db'}"),
    )
    mismatches = [
        key
        for key in local
        if key not in remote
        or remote[key][0] != local[key][0]
        or abs((remote[key][1] or 0) - (local[key][1] or 0)) > 1e-6
    ]
    nodes = collections.Counter(node for _, _, node in remote.values())
    return {
        "nodes": dict(nodes),
        "trials": len(remote),
        "local_trials": len(local),
        "mismatches": mismatches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", default=None, help="keep the stores in this folder")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        result = check(Path(args.keep))
    else:
        with tempfile.TemporaryDirectory() as folder:
            result = check(Path(folder))
    print(f"trials on the cluster: {result['trials']}, by Ray node: {result['nodes']}")
    print(f"in-process trials: {result['local_trials']}; differing: {result['mismatches']}")
    ok = (
        len(result["nodes"]) == 2
        and not result["mismatches"]
        and result["trials"] == result["local_trials"]
    )
    print("two-node check: " + ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
