"""Smoke test of ``benchmarks/nir_interop.py``'s pure-python parts (no venv, no network): its
networks export with their convention and read back to the same spikes, the runners compile,
`compare` and `format_table` give the documented rows."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")
jnir = pytest.importorskip("jaxsnn_eqx.nir")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "nir_interop.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("nir_interop", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runners_compile(script):
    assert set(script.RUNNERS) == set(script.PACKAGES)
    for lib, code in script.RUNNERS.items():
        compile(f"CASE = 'x'\nMODE = 'import'\n{code}", lib, "exec")


def test_exports_read_back(script, tmp_path):
    nets = script.networks()
    assert {spec[0] for spec in nets.values()} == {"jaxsnn", "spyx", "snntorch", "norse"}
    for case, (_, convention, net, kind, _) in nets.items():
        path = script.export(case, net, convention, kind, tmp_path)
        g = nir.read(str(path) + ".nir", type_check=convention != "jaxsnn")
        assert g.metadata["convention"] == convention
        kw = (dict(t_max=script.T_MAX, max_spikes=256) if kind == "event"
              else dict(kind="discrete"))
        back = jnir.from_nir(g, convention=convention, **kw)
        data = script.inputs(kind)
        a, b = script.ours(net, kind, data), script.ours(back, kind, data)
        row = script.compare(kind, a, b)
        assert row["agree"], (case, row)


def test_compare_and_table(script):
    a = {"z": np.array([[0, 1], [1, 0], [0, 0]])}
    b = {"z": np.array([[1, 0], [0, 0], [9, 9]])}  # a one step later
    row = script.compare("discrete", a, b, latency=1)
    assert row["entries_differ"] == 0 and row["agree"]
    ev = script.compare("event", {"t": np.array([1.0, 2.0]), "i": np.array([0, 1])},
                        {"t": np.array([1.0, 2.0 + 1e-15]), "i": np.array([0, 1])})
    assert ev["agree"] and ev["max_dt_s"] == pytest.approx(1e-15, rel=1e-3)
    rows = [
        dict(library="spyx", version="1.0.0", direction="ours -> theirs", case="c",
             convention="spyx", latency=1, entries=4, **row),
        dict(library="jaxsnn", version="0.3.0", direction="ours -> theirs", case="e",
             convention="jaxsnn", **ev),
        dict(library="snntorch", direction="theirs -> ours", case="o", convention="snntorch",
             error="RuntimeError: boom"),
    ]
    table = script.format_table(rows).splitlines()
    assert len(table) == 5 and table[0].startswith("| library |")
    assert "(ours 1 steps later)" in table[2] and "0 of 4 entries" in table[2]
    assert f"{ev['max_dt_s']:.1e} s" in table[3] and table[3].endswith("| yes |")
    assert "RuntimeError: boom" in table[4] and table[4].endswith("| no |")


def test_docs_table_is_the_results_file():
    root = SCRIPT.parents[1]
    table = (root / "benchmarks" / "results" / "nir_interop.md").read_text().strip()
    assert table.startswith("| library |")
    assert table in (root / "docs" / "nir.md").read_text()
