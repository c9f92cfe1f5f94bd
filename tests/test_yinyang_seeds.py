"""benchmarks/yinyang_seeds.py runs tasks over seeds, scores them on fresh points and prints the
table (tiny runs through ``--task-args``; the defaults' table is in the README)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_seed_table_with_fresh_points(tmp_path):
    out_json = tmp_path / "seeds.json"
    env = dict(os.environ, JAX_ENABLE_X64="0")
    proc = subprocess.run(
        [sys.executable, "benchmarks/yinyang_seeds.py", "--methods", "discrete", "--seeds", "0",
         "1", "--no-ann", "--fresh", "600", "--out", str(tmp_path / "runs"), "--json",
         str(out_json), "--markdown", "--task-args",
         "--epochs 2 --n-train 256 --n-val 64 --n-test 100 --batch-size 32"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    saved = json.loads(out_json.read_text())
    row = saved["rows"]["discrete"]
    assert saved["seeds"] == [0, 1] and saved["fresh"] == 600
    assert len(row["accuracies"]) == len(row["fresh"]) == len(row["seconds"]) == 2
    for s, acc in zip((0, 1), row["accuracies"], strict=True):
        results = json.loads((tmp_path / "runs" / f"discrete_s{s}" / "results.json").read_text())
        assert results["test_accuracy"] == acc and results["config"]["epochs"] == 2
    # fresh accuracies: counts out of 600 points
    assert all(abs(f * 600 - round(f * 600)) < 1e-9 and 0.2 < f <= 1.0 for f in row["fresh"])
    line = next(ln for ln in out.splitlines() if ln.startswith("| discrete"))
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    assert len(cells) == 6  # task, 2 seeds, mean +- std (min), fresh points, seconds
    assert cells[1:3] == [f"{100 * a:.1f}" for a in row["accuracies"]]
    assert cells[4].startswith(f"{50 * (row['fresh'][0] + row['fresh'][1]):.2f} +- ")
