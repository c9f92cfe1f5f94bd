"""The pytest-benchmark suite in benchmarks/ collects, runs and prints its ratio table."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_benchmark_suite_runs_and_prints_ratios(tmp_path):
    # The child pytest must not think it is an xdist worker: when this test itself runs under
    # xdist, PYTEST_XDIST_WORKER is inherited and pytest-benchmark then refuses to time.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env["JAX_ENABLE_X64"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "--benchmark-only", "-n", "0", "-q",
         "-p", "no:cacheprovider", "-k", "ann_epoch or 512",
         f"--benchmark-storage=file://{tmp_path}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "3 passed" in out, out[-3000:]
    table = out[out.index("ratios (best time / group baseline, same run)"):]
    assert "yinyang-epoch: ratios to test_ann_epoch" in table
    assert "discrete-lif-512: ratios to test_discrete_lif[matmul-bound-512]" in table
    ann_line = next(line for line in table.splitlines() if "test_ann_epoch " in line)
    assert ann_line.rstrip().endswith("1.00x")
    layer_line = next(line for line in table.splitlines() if "[layer-512]" in line)
    ratio = float(layer_line.rstrip().removesuffix("x").split()[-1])
    assert 0 < ratio < 1e3
