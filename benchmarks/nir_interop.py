"""NIR interop against the real libraries: each in its own venv, with its own NIR importer.

For each library (the released jaxsnn 0.3.0, spyx 1.0.0, snnTorch 1.0.0, norse 1.1.0):

* **ours -> theirs**: a small network of ours is exported with ``to_nir(net, convention=lib)``,
  written to an HDF5 file, read and run by the library's own ``from_nir`` /
  ``import_from_nir`` in its venv, and its output spikes are compared with ours: spike times
  (jaxsnn, event-based) or spikes step for step (spyx, snnTorch, norse: discrete time;
  snnTorch's and norse's membranes see an input in the same step, ours one step later, so each
  layer of ours is one step later: the comparison shifts by the number of layers). norse runs
  with convention ``"norse-1.1"`` (its released importer) and ``"norse"`` (its ``LIFCell``).
* the same networks exported without a convention (``to_nir(net)``, our default: seconds,
  unit-area spikes, NIR's ``(post, pre)``), to show what each library makes of that;
* **theirs -> ours** (where the library exports NIR: spyx, snnTorch): the library builds a
  network of its own, runs it and writes it with its ``to_nir``/``export_to_nir``; we read it
  with ``from_nir(..., convention=lib)`` and compare step for step.

The venvs are cached under ``--cache`` (default ``.cache/nir_interop/<lib>``, made with
``python -m venv`` and ``pip install`` on first use). The table is printed and written to
``benchmarks/results/nir_interop.md`` and ``.json``::

    python benchmarks/nir_interop.py [--libs jaxsnn,spyx,snntorch] [--cache DIR]

The runners in the library venvs never import jaxsnn_eqx.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PACKAGES = {
    "jaxsnn": ["jaxsnn==0.3.0", "nir==1.0.8"],
    "spyx": ["spyx==1.0.0", "nir==1.0.8"],
    "snntorch": ["snntorch==1.0.0", "nir==1.0.8", "nirtorch"],
    "norse": ["norse==1.1.0", "nir==1.0.8", "nirtorch"],
}
T_MAX = 2e-2  # s, event networks
DT = 1e-3  # s, discrete networks
STEPS = 120

# ----------------------------------------------------------------------------- runners
_RUN_JAXSNN = """
import jax, numpy as np, nir, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from jaxsnn.event.utils.from_nir import ConversionConfig, from_nir
from jaxsnn.event.types import Spike
g = nir.read(CASE + ".nir", type_check=False)  # (pre, post) matrices: not NIR-typed
d = np.load(CASE + ".in.npz")
lifs = [k for k, v in g.nodes.items() if isinstance(v, nir.CubaLIF)]
top = from_nir(g, ConversionConfig(t_max=float(d["t_max"]), n_steps={k: 512 for k in lifs}))
init_fn, apply_fn = top.done()
k = len(d["t"])
inp = Spike(time=jnp.asarray(d["t"])[None], idx=jnp.asarray(d["i"])[None],
            current=jnp.zeros((1, k)), layer_idx=jnp.zeros((1, k), int),
            internal=jnp.ones((1, k), bool))
s = apply_fn({"input": inp}, init_fn(jax.random.PRNGKey(0)))[lifs[-1]]
t, i, own = (np.asarray(x)[0] for x in (s.time, s.idx, s.internal))
ok = own & (i >= 0) & np.isfinite(t) & (t < float(d["t_max"]))
np.savez(CASE + ".out.npz", t=t[ok], i=i[ok])
"""

_RUN_SPYX = """
import jax, numpy as np, nir, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
import spyx.nir, spyx.nn as snn
from flax import nnx
d = np.load(CASE + ".in.npz")
x = jnp.asarray(d["x"])[:, None, :]  # (T, batch 1, n_in)
if MODE == "import":
    _, out = spyx.nir.from_nir(nir.read(CASE + ".nir"), x, dt=1.0)
    np.savez(CASE + ".out.npz", z=np.asarray(out)[:, 0])
else:  # export a network of spyx's own
    rngs = nnx.Rngs(0)
    w1, w2 = d["w1"], d["w2"]  # (in, out)
    l1 = nnx.Linear(w1.shape[0], w1.shape[1], use_bias=False, rngs=rngs)
    l2 = nnx.Linear(w2.shape[0], w2.shape[1], use_bias=False, rngs=rngs)
    l1.kernel[...], l2.kernel[...] = jnp.asarray(w1), jnp.asarray(w2)
    model = snn.Sequential(l1, snn.CuBaLIF((w1.shape[1],), alpha=0.8, beta=0.9, rngs=rngs),
                           l2, snn.CuBaLIF((w2.shape[1],), alpha=0.7, beta=0.85, rngs=rngs))
    out, _ = snn.run(model, x)
    g = spyx.nir.to_nir(model, {"input": np.array([w1.shape[0]])},
                        {"output": np.array([w2.shape[1]])}, dt=1.0)
    nir.write(CASE + ".nir", g)
    np.savez(CASE + ".out.npz", z=np.asarray(out)[:, 0])
"""

_RUN_SNNTORCH = """
import numpy as np, nir, torch
import snntorch as snn
from snntorch import utils
d = np.load(CASE + ".in.npz")
x = torch.as_tensor(d["x"], dtype=torch.float32)[:, None, :]  # its spikes are float32
def run(net):  # nirtorch's module returns (output, state), a Sequential ending in an
    utils.reset(net)  # output=True neuron (spk, syn, mem): the first item either way
    outs = [net(xt) for xt in x]
    return np.array([(o[0] if isinstance(o, tuple) else o).detach().numpy()[0] for o in outs])
if MODE == "import":
    from snntorch.import_nir import import_from_nir
    net = import_from_nir(nir.read(CASE + ".nir")).float()
    np.savez(CASE + ".out.npz", z=run(net))
else:  # export a network of snnTorch's own: Synaptic, subtractive reset applied at once
    from snntorch.export_nir import export_to_nir
    w1, w2 = (torch.as_tensor(d[k], dtype=torch.float32).T for k in ("w1", "w2"))  # (out, in)
    fc1 = torch.nn.Linear(*w1.shape[::-1], bias=False)
    fc2 = torch.nn.Linear(*w2.shape[::-1], bias=False)
    fc1.weight.data, fc2.weight.data = w1.clone(), w2.clone()
    kw = dict(reset_mechanism="subtract", reset_delay=False, init_hidden=True)
    full = lambda n, v: torch.full((n,), v)  # per neuron: scalars export with shape ()
    net = torch.nn.Sequential(
        fc1, snn.Synaptic(alpha=full(8, 0.8), beta=full(8, 0.9), threshold=full(8, 1.0), **kw),
        fc2, snn.Synaptic(alpha=full(4, 0.7), beta=full(4, 0.85), threshold=full(4, 1.0),
                         output=True, **kw))
    net = net.float()
    z = run(net)
    nir.write(CASE + ".nir", export_to_nir(net, x[0], ignore_dims=[0]))
    np.savez(CASE + ".out.npz", z=z)
"""

_RUN_NORSE = """
import numpy as np, nir, torch
import norse.torch as nt
d = np.load(CASE + ".in.npz")
x = torch.as_tensor(d["x"], dtype=torch.float32)[:, None, :]
net = nt.from_nir(nir.read(CASE + ".nir"), dt=float(d["dt"]))
state, z = None, []
for xt in x:  # nirtorch's executor: (output, state)
    out, state = net(xt, state)
    z.append(out.detach().numpy()[0])
np.savez(CASE + ".out.npz", z=np.array(z))
"""

RUNNERS = {"jaxsnn": _RUN_JAXSNN, "spyx": _RUN_SPYX, "snntorch": _RUN_SNNTORCH,
           "norse": _RUN_NORSE}
EXTRA = {"norse": ("norse",)}  # conventions also run, besides the case's and the default


def venv_python(lib: str, cache: Path) -> Path:
    """The library's venv python, made (``python -m venv`` + pip) on first use."""
    env = cache / lib
    python = env / "bin" / "python"
    marker = env / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES[lib]], check=True)
        marker.write_text(" ".join(PACKAGES[lib]))
    return python


def error_line(text: str) -> str:
    """The last ``...Error: message`` line of a traceback (else its last line), shortened."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    errors = [x for x in lines if re.match(r"^[\w.]*(Error|Exception)\b", x)]
    return (errors or lines or ["?"])[-1][:140].replace("|", "/")


def run_in(lib: str, python: Path, case: Path, mode: str) -> None:
    code = f"CASE = {str(case)!r}\nMODE = {mode!r}\n" + textwrap.dedent(RUNNERS[lib])
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} ({mode}) failed:\n{out.stderr[-3000:]}")


# ----------------------------------------------------------------------------- our side
def networks() -> dict[str, tuple]:
    """``{case: (library, convention, net, kind, latency in steps)}``: our small networks."""
    import jax

    import jaxsnn_eqx as snn
    from jaxsnn_eqx import discrete, event

    k = jax.random.split(jax.random.PRNGKey(0), 6)
    pe = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=-0.2, v_leak=0.0)
    ev = snn.Sequential([
        event.LIF(3, 6, params=pe, t_max=T_MAX, max_spikes=256, key=k[0], init_mean=0.6),
        event.LIF(6, 4, params=pe, t_max=T_MAX, max_spikes=256, key=k[1], init_mean=0.6),
    ])
    rec = snn.Sequential([ev.layers[0], snn.Recurrent(ev.layers[1], key=k[4], scale=0.02)])
    nets = {"jaxsnn_event_3-6-4": ("jaxsnn", "jaxsnn", ev, "event", 0),
            "jaxsnn_event_3-6-4_recurrent": ("jaxsnn", "jaxsnn", rec, "event", 0)}
    for lib, reset, key in (("spyx", "subtract", k[2]), ("snntorch", "value", k[3]),
                            ("norse", "value", k[5])):
        p = discrete.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0,
                               v_leak=0.0, reset=reset)
        ka, kb = jax.random.split(key)
        net = snn.Sequential([
            discrete.LIF(3, 8, params=p, dt=DT, key=ka, init_mean=0.4),
            discrete.LIF(8, 4, params=p, dt=DT, key=kb, init_mean=0.4),
        ])
        convention = "norse-1.1" if lib == "norse" else lib
        nets[f"{lib}_discrete_3-8-4"] = (lib, convention, net, "discrete",
                                         0 if lib == "spyx" else 2)
    return nets


def inputs(kind: str, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "event":
        t = np.sort(rng.uniform(0.0, 8e-3, 15))
        return {"t": t, "i": rng.integers(0, 3, 15), "t_max": np.array(T_MAX)}
    return {"x": (rng.uniform(size=(STEPS, 3)) < 0.3).astype(np.float64), "dt": np.array(DT)}


def ours(net, kind: str, data: dict) -> dict[str, np.ndarray]:
    import jax.numpy as jnp

    import jaxsnn_eqx as snn

    if kind == "event":
        s = net(snn.Spikes.from_arrays(jnp.asarray(data["t"]), jnp.asarray(data["i"])))
        t, i = np.asarray(s.time), np.asarray(s.idx)
        ok = np.isfinite(t)
        return {"t": t[ok], "i": i[ok]}
    return {"z": np.asarray(net(jnp.asarray(data["x"])))}


def export(case: str, net, convention: str, kind: str, work: Path) -> Path:
    """Our export of ``net`` in ``convention``, written to ``work/case.nir``."""
    import nir

    from jaxsnn_eqx.nir import to_nir

    path = work / case
    nir.write(str(path) + ".nir", to_nir(net, convention))
    return path


def compare(kind: str, a: dict, b: dict, latency: int = 0) -> dict:
    """A row's numbers: spike counts and the largest time difference (event), or the number
    of (step, neuron) entries that differ, ``b`` shifted ``latency`` steps earlier
    (discrete)."""
    if kind == "event":
        same = len(a["t"]) == len(b["t"]) and np.array_equal(a["i"], b["i"])
        dt_max = float(np.max(np.abs(a["t"] - b["t"]))) if same and len(a["t"]) else None
        return {"spikes_ours": len(a["t"]), "spikes_theirs": len(b["t"]), "same_order": same,
                "max_dt_s": dt_max, "agree": bool(same and dt_max is not None
                                                  and dt_max < 1e-9)}
    za, zb = np.asarray(a["z"]), np.asarray(b["z"])
    za, zb = za[latency:], zb[:len(zb) - latency]
    diff = int(np.sum(za != zb))
    return {"spikes_ours": int(za.sum()), "spikes_theirs": int(zb.sum()),
            "entries_differ": diff, "agree": diff == 0 and za.sum() > 0}


def format_table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    head = ("| library | direction | network | convention | comparison | ours | theirs "
            "| difference | agree |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['library']} {r.get('version', '')} | {r['direction']} | "
                         f"{r['case']} | "
                         f"{r['convention']} | - | - | - | {r['error']} | no |")
            continue
        if "max_dt_s" in r:
            what = "spike times"
            diff = "count/order differ" if r["max_dt_s"] is None else f"{r['max_dt_s']:.1e} s"
        else:
            what = "spikes step for step" + (f" (ours {r['latency']} steps later)"
                                             if r.get("latency") else "")
            diff = f"{r['entries_differ']} of {r['entries']} entries"
        lines.append(f"| {r['library']} {r.get('version', '')} | {r['direction']} | {r['case']} "
                     f"| {r['convention']} | {what} | {r['spikes_ours']} | "
                     f"{r['spikes_theirs']} | {diff} | {'yes' if r['agree'] else 'no'} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def ours_to_theirs(case, spec, python, work, convention) -> dict:
    lib, _, net, kind, latency = spec
    data = inputs(kind)
    path = export(case, net, convention, kind, work)
    np.savez(str(path) + ".in.npz", **data)
    run_in(lib, python, path, "import")
    theirs = dict(np.load(str(path) + ".out.npz"))
    row = compare(kind, ours(net, kind, data), theirs, latency)
    if kind == "discrete":
        row.update(latency=latency, entries=int((STEPS - latency) * net.layers[-1].out_size))
    return row


def theirs_to_ours(lib, python, work) -> dict:
    """The library's own network, exported by it, read by us."""
    import nir

    from jaxsnn_eqx.nir import from_nir

    rng = np.random.default_rng(2)
    data = inputs("discrete") | {"w1": rng.uniform(0.0, 0.15, (3, 8)),
                                 "w2": rng.uniform(0.0, 0.1, (8, 4))}
    path = work / f"{lib}_own_3-8-4"
    np.savez(str(path) + ".in.npz", **data)
    run_in(lib, python, path, "export")
    theirs = dict(np.load(str(path) + ".out.npz"))
    graph = nir.read(str(path) + ".nir")
    if lib == "spyx":  # time in steps (its dt = 1): any step, e.g. 1 ms
        net = from_nir(graph, kind="discrete", convention="spyx", time_unit=DT, dt=DT)
        latency = 0
    else:  # snnTorch: its hard-coded dt = 1e-4 s
        net = from_nir(graph, kind="discrete", convention="snntorch")
        latency = 2
    row = compare("discrete", ours(net, "discrete", data), theirs, latency)
    row.update(latency=latency, entries=int((STEPS - latency) * 4))
    return row


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--libs", default="jaxsnn,spyx,snntorch,norse")
    p.add_argument("--cache", type=Path, default=ROOT / ".cache" / "nir_interop")
    p.add_argument("--out", type=Path, default=RESULTS / "nir_interop")
    a = p.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    libs = [x for x in a.libs.split(",") if x]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for lib in libs:
            python = venv_python(lib, a.cache)
            version = subprocess.run(
                [str(python), "-c", f"from importlib.metadata import version; "
                 f"print(version({lib!r}))"], capture_output=True, text=True).stdout.strip()
            todo = [(c, s) for c, s in networks().items() if s[0] == lib]
            runs = [(c, s, v) for c, s in todo for v in (s[1], *EXTRA.get(lib, ()), None)]
            for case, spec, convention in runs:
                base = dict(library=lib, version=version, direction="ours -> theirs",
                            case=case, convention=convention or "none (ours, default)")
                try:
                    rows.append(base | ours_to_theirs(case, spec, python, work, convention))
                except RuntimeError as e:
                    rows.append(base | {"error": error_line(str(e))})
            if lib in ("spyx", "snntorch"):
                base = dict(library=lib, version=version, direction="theirs -> ours",
                            case=f"{lib}'s own 3-8-4", convention=lib)
                try:
                    rows.append(base | theirs_to_ours(lib, python, work))
                except RuntimeError as e:
                    rows.append(base | {"error": error_line(str(e))})
    table = format_table(rows)
    print(table)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".md").write_text(table + "\n")
    a.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
    return rows


if __name__ == "__main__":
    main()
