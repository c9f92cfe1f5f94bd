"""benchmarks/shd_scale.py --quick runs and prints its table and growth exponents."""

import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The smoke test checks the table, not the speed: compile with XLA's cheap CPU settings
# (the event step's compile is most of the run).
XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_shd_scale_quick_prints_table(tmp_path):
    out_json = tmp_path / "shd_scale.json"
    env = dict(os.environ, XLA_FLAGS=f"{os.environ.get('XLA_FLAGS', '')} {XLA_FLAGS}".strip())
    proc = subprocess.run(
        [sys.executable, "benchmarks/shd_scale.py", "--quick", "--json", str(out_json)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]

    header = next(line for line in out.splitlines() if line.startswith("sweep"))
    cols = header.split()
    table = out[out.rindex(header) + len(header):out.index("growth exponents")]
    rows = [dict(zip(cols, line.split(), strict=True)) for line in table.strip().splitlines()]
    assert {(r["net"], r["H"]) for r in rows} == {
        (net, h) for net in ("event", "discrete") for h in ("16", "32")}, table
    for r in rows:
        values = [float(r[c]) for c in cols if c not in ("sweep", "net", "budget", "fwd_cpu")]
        assert all(math.isfinite(v) for v in values), r
        assert float(r["step_s"]) > 0 and float(r["cpu_s"]) >= 0, r
        assert float(r["mem_MB"]) > 0 and float(r["temp_MB"]) > 0, r

    exps = out[out.index("growth exponents"):].splitlines()
    for net in ("event", "discrete"):
        line = next(e for e in exps if e.split()[:2] == ["hidden", net])
        assert all(math.isfinite(float(v)) for v in line.split()[3:]), line

    saved = json.loads(out_json.read_text())
    assert len(saved["rows"]) == 4
    for r in saved["rows"]:
        assert r["step_s"] > 0 and r["mem"]["total"] > 0 and r["mem"]["temp"] >= 0
        if r["net"] == "event":
            assert r["budget"] >= 1 and r["hidden_per_neuron"] >= 0
