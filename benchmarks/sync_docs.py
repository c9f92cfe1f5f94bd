"""Write the measured numbers of the docs from the files in ``benchmarks/results/``.

The README and the docs pages hold no hand-copied measurement. Each number or table sits
between two HTML comments that name a generator below::

    <!-- results: yinyang_seeds -->
    ...this text is generated from benchmarks/results/yinyang_seeds_cpu.json...
    <!-- /results -->

A generator reads one or more results files and returns the Markdown between the markers: a
table (then the block stands on lines of its own) or a short inline phrase ("about 58 s").

    python benchmarks/sync_docs.py           # rewrite every block from the results files
    python benchmarks/sync_docs.py --check   # list the blocks that differ; exit status 1 if any

``tests/test_docs_numbers.py`` runs the check, so a docs number that differs from its results
file fails the test suite. After a benchmark writes a new results file, run this script.
Standard library only (no JAX), so that the check is fast.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BLOCK = re.compile(r"<!-- results: ([\w-]+) -->(.*?)<!-- /results -->", re.S)


def pages() -> list[Path]:
    """Every Markdown file that may hold blocks: the README and the docs pages."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _load(name: str):
    return json.loads((RESULTS / name).read_text())


def _source(*names: str) -> str:
    files = ", ".join(f"`benchmarks/results/{n}`" for n in names)
    return f"Source: {files} (written into this page by `python benchmarks/sync_docs.py`)."


def _x(v: float) -> str:
    """A ratio: three significant digits below 100, whole numbers above."""
    return f"{v:.0f}x" if v >= 100 else f"{v:.3g}x"


def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- Yin-Yang seeds
SEEDS_FILE, SEEDS_HW_FILE = "yinyang_seeds_cpu.json", "yinyang_seeds_hardware_cpu.json"
TASKS = {  # method -> (label, file); the order of the table
    "eventprop-layered": ("EventProp, layered (the flagship; 5-120-3 `event.EventPropLIF`)",
                          SEEDS_FILE),
    "analytical": ("analytical (5-120-3 `event.LIF`, autodiff through the spike times)",
                   SEEDS_FILE),
    "eventprop": ("EventProp, masked recurrent population (`--method eventprop`)", SEEDS_FILE),
    "discrete": ("discrete (recurrent LIF 120 + LI 3, surrogate gradients)", SEEDS_FILE),
    "ann": ("same-size ANN (ReLU MLP 5-120-3, the flagship's schedule)", SEEDS_FILE),
    "hardware": ("emulated BSS-2 in the loop (25-100-3 `event.HardwareRecurrentLIF`, "
                 "`hardware.Emulator()`)", SEEDS_HW_FILE),
}


def _summary(values: list[float], digits: int) -> str:
    """``mean ± std (min)`` in percent, sample standard deviation (as yinyang_seeds.py)."""
    pct = [100 * v for v in values]
    std = statistics.stdev(pct) if len(pct) > 1 else 0.0
    return f"{statistics.mean(pct):.2f} ± {std:.2f} (min {min(pct):.{digits}f})"


def _seed_row(method: str) -> dict:
    return _load(TASKS[method][1])["rows"][method]


def yinyang_seeds() -> str:
    seeds = _load(SEEDS_FILE)["seeds"]
    fresh = _load(SEEDS_FILE)["fresh"]
    assert _load(SEEDS_HW_FILE)["seeds"] == seeds, "the two seed files use other seeds"
    rows = []
    for method, (label, _) in TASKS.items():
        r = _seed_row(method)
        secs = "" if not r.get("seconds") else (
            f"{min(r['seconds']):.0f}-{max(r['seconds']):.0f}")
        rows.append([label, *(f"{100 * a:.1f}" for a in r["accuracies"]),
                     _summary(r["accuracies"], 1), _summary(r["fresh"], 2) if r.get("fresh")
                     else "", secs])
    header = ["task", *(f"seed {s}" for s in seeds), "mean ± std (min)",
              f"{fresh:,} fresh points", "total s"]
    return _table(header, rows) + "\n\n" + _source(SEEDS_FILE, SEEDS_HW_FILE)


def flagship_seed0() -> str:
    return f"{100 * _seed_row('eventprop-layered')['accuracies'][0]:.1f}%"


def flagship_mean() -> str:
    accs = [100 * a for a in _seed_row("eventprop-layered")["accuracies"]]
    return f"{statistics.mean(accs):.2f} ± {statistics.stdev(accs):.2f}%"


def flagship_time() -> str:
    return f"about {statistics.mean(_seed_row('eventprop-layered')['seconds']):.0f} s"


def hardware_seed0() -> str:
    return f"{100 * _seed_row('hardware')['accuracies'][0]:.1f}%"


def hardware_mean() -> str:
    accs = [100 * a for a in _seed_row("hardware")["accuracies"]]
    return f"{statistics.mean(accs):.2f} ± {statistics.stdev(accs):.2f}%"


def threads_1() -> str:
    d = _load("yinyang_seeds_cpu_1thread.json")
    r = d["rows"]["eventprop-layered"]
    parts = [f"seed {s}: {100 * a:.1f}% ({100 * f:.2f}% on the fresh points)"
             for s, a, f in zip(d["seeds"], r["accuracies"], r["fresh"], strict=True)]
    return "; ".join(parts)


# ----------------------------------------------------------------------------- speed
SPEED_CPU, SPEED_GPU = "event_yinyang_cpu.json", "event_yinyang_h100.json"


def yinyang_speed() -> str:
    cpu, gpu = _load(SPEED_CPU), _load(SPEED_GPU)
    by_model = {r["model"]: r for r in gpu["rows"]}
    rows = []
    for r in cpu["rows"]:
        g = by_model.get(r["model"])
        cells = [r["model"], f"{r['compile_s']:.1f}", f"{r['epoch_s']:.3g}",
                 _x(r["x_ann"]), _x(r["jaxsnn_over"])]
        cells += ([f"{g['epoch_s']:.3g}", _x(g["x_ann"]), _x(g["jaxsnn_over"])]
                  if g else ["", "", ""])
        rows.append(cells)
    header = ["model", "CPU: compile s", "CPU: epoch s", "CPU: x ANN",
              "CPU: jaxsnn 0.3.0 analytical / this", "GPU: epoch s", "GPU: x ANN",
              "GPU: jaxsnn 0.3.0 analytical / this"]
    note = (f"CPU: {cpu['device']}, jax {cpu['jax']}, best of {cpu['repeat']}; GPU: "
            f"{gpu['device']}, jax {gpu['jax']}, best of {gpu['repeat']}.")
    return _table(header, rows) + "\n\n" + note + " " + _source(SPEED_CPU, SPEED_GPU)


def recurrent_vs_jaxsnn() -> str:
    rows = {r["model"]: r for r in _load(SPEED_CPU)["rows"]}
    ours = rows["event SNN 5-120-3, EventProp recurrent"]["epoch_s"]
    theirs = rows["jaxsnn 0.3.0 yinyang_recurrent_event_prop"]["epoch_s"]
    return f"{theirs / ours:.1f}x"


def step_breakdown_h100() -> str:
    """The step breakdown table at the end of ``event_yinyang_h100.txt``."""
    name = "event_yinyang_h100.txt"
    lines = (RESULTS / name).read_text().splitlines()
    start = next(i for i, s in enumerate(lines) if s.startswith("part "))
    title = lines[start - 1]
    rows = []
    for s in lines[start + 1:]:
        if not s.strip() or s.startswith("default"):
            break
        label, *values = re.split(r"\s{2,}", s.strip())
        rows.append([label, *values, *[""] * (3 - len(values))])
    tail = next(s for s in lines[start:] if s.startswith("default"))
    table = _table(["part (µs per batch)", "sequential", "associative", "default"], rows)
    return f"{table}\n\n{title}; {tail}. {_source(name)}"


def shd_scale() -> str:
    name = "shd_scale_cpu.json"
    d = _load(name)
    rows = [r for r in d["rows"] if "hidden" in r["in_sweeps"]]
    out = []
    for h in sorted({r["hidden"] for r in rows}):
        ev = next(r for r in rows if r["hidden"] == h and r["net"] == "event")
        di = next(r for r in rows if r["hidden"] == h and r["net"] == "discrete")
        out.append([str(h), f"{ev['step_cpu_s']:.2f}", f"{ev['mem']['total'] / 2**20:.0f} MiB",
                    f"{di['step_cpu_s']:.2f}", f"{di['mem']['total'] / 2**20:.0f} MiB"])
    a = d["args"]
    table = _table(["H", "event: CPU s / step", "event: memory", "discrete: CPU s / step",
                    "discrete: memory"], out)
    note = (f"{d['device']}, jax {d['jax']}, batch {a['batch']}, {a['spikes']} input spikes "
            f"per sample, t_max {a['t_max']} s, best of {a['repeat']}.")
    return f"{table}\n\n{note} {_source(name)}"


def _slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return (sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
            / sum((a - mx) ** 2 for a in lx))


def shd_exponents() -> str:
    name = "shd_scale_cpu.json"
    rows = _load(name)["rows"]
    var = dict(hidden="hidden", spikes="spikes", t="t_max")
    out = []
    for sweep, key in var.items():
        for net in ("event", "discrete"):
            sel = [r for r in rows if r["net"] == net and sweep in r["in_sweeps"]]
            xs = [r[key] for r in sel]
            cells = [_slope(xs, [r["step_cpu_s"] for r in sel]),
                     _slope(xs, [r["mem"]["total"] for r in sel])]
            lo, hi = min(xs), max(xs)
            out.append([f"{sweep} ({lo:g}-{hi:g})", net, *(f"{c:.2f}" for c in cells)])
    table = _table(["grows with", "network", "CPU time exponent", "memory exponent"], out)
    return f"{table}\n\n{_source(name)}"


def eventprop_ties() -> str:
    name = "eventprop_ties_cpu.txt"
    lines = (RESULTS / name).read_text().splitlines()
    rows = [s.split() for s in lines[2:] if s.strip()]
    out = [[r[0], r[1], " ".join(r[2:-4]), r[-4], r[-3], r[-2]] for r in rows]
    table = _table(["H", "budget", "rule", "temp MiB", "total MiB", "CPU s / step"], out)
    return f"{table}\n\n{lines[0]}. {_source(name)}"


def event_batching() -> str:
    name = "event_batching_cpu.json"
    out = []
    for r in _load(name):
        ratio = r["vmap"] / r["map"]
        speed = (f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower")
        out.append([r["case"], str(r["n_steps"]), f"{r['vmap']:.3f} s",
                    f"{r['map']:.3f} s ({speed})", r["auto"], "yes" if r["same"] else "no"])
    table = _table(["case", "loop events", "JAX's rule (vmap)", "sample by sample (map)",
                    "auto", "same loss"], out)
    return f"{table}\n\n{_source(name)}"


def hardware_step() -> str:
    name = "hardware_step_cpu.json"
    d = _load(name)
    out = [[r["model"], f"{r['compile_seconds']:.1f}", f"{r['epoch_seconds']:.2f}",
            f"{r['ratio']:.1f}x"] for r in d["rows"]]
    table = _table(["model (25-100-3)", "compile s", "epoch s", "x the first row"], out)
    return f"{table}\n\n{d['backend']}. {_source(name)}"


def hardware_robustness() -> str:
    """The table of ``hardware_robustness.md`` and the lines after it."""
    name = "hardware_robustness.md"
    lines = (RESULTS / name).read_text().splitlines()
    table = [s for s in lines if s.startswith("|")]
    after = [s for s in lines[lines.index(table[-1]) + 1:] if s.strip()]
    return "\n".join(table) + "\n\n" + " ".join(after) + " " + _source(
        name, "hardware_robustness.json")


def validation_cost() -> str:
    name = "validation_cost_cpu.txt"
    lines = (RESULTS / name).read_text().splitlines()
    rows = [[" ".join(r.split()[:-2]), r.split()[-2], r.split()[-1]] for r in lines[2:5]]
    table = _table(["variant", "ms per epoch", "vs no checks"], rows)
    return f"{table}\n\n{lines[0]}; {lines[5]}. {_source(name)}"


def delay_patterns_seeds() -> str:
    """Test accuracy of the delay-patterns task with delays, per step size and seed."""
    acc = _load("delay_patterns_seeds.json")["test_accuracy"]
    parts = []
    for lr, by_seed in acc.items():
        seeds = sorted(by_seed, key=int)
        parts.append(f"lr {lr}, seeds {seeds[0]}-{seeds[-1]}: "
                     + " / ".join(f"{100 * by_seed[k]:.1f}" for k in seeds) + "%")
    return "; ".join(parts) + ". " + _source("delay_patterns_seeds.json")


GENERATORS = {f.__name__: f for f in (
    yinyang_seeds, flagship_seed0, flagship_mean, flagship_time, hardware_seed0, hardware_mean,
    threads_1, yinyang_speed, recurrent_vs_jaxsnn, step_breakdown_h100, shd_scale,
    shd_exponents, eventprop_ties, event_batching, hardware_step, hardware_robustness,
    validation_cost, delay_patterns_seeds)}


# Files the docs site shows that are results files (mkdocs serves only docs/): copies.
COPIES = {"docs/figures/hardware_robustness.png": "benchmarks/results/hardware_robustness.png"}


def render(name: str) -> str:
    """The text that belongs between the markers of block ``name``."""
    text = GENERATORS[name]()
    return f"\n{text}\n" if "\n" in text else text


FENCE = re.compile(r"(^```.*?^```)", re.S | re.M)


def _prose(text: str) -> list[str]:
    """``text`` split at fenced code blocks: even items are prose, odd items code (kept as is,
    so that a page may show the markers in an example)."""
    return FENCE.split(text)


def sync(text: str) -> str:
    parts = _prose(text)
    parts[::2] = [BLOCK.sub(lambda m: f"<!-- results: {m[1]} -->{render(m[1])}<!-- /results -->",
                            p) for p in parts[::2]]
    return "".join(parts)


def blocks(text: str) -> list[tuple[str, str]]:
    """(name, body) of every block in ``text`` outside code fences."""
    return [(m[1], m[2]) for p in _prose(text)[::2] for m in BLOCK.finditer(p)]


def markers(text: str) -> tuple[int, int]:
    """How many opening and closing markers ``text`` has outside code fences."""
    prose = "".join(_prose(text)[::2])
    return prose.count("<!-- results:"), prose.count("<!-- /results -->")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only report blocks that differ")
    a = p.parse_args(argv)
    stale = []
    for page in pages():
        text = page.read_text()
        for name, _ in blocks(text):
            if name not in GENERATORS:
                raise SystemExit(f"{page.relative_to(ROOT)}: unknown results block {name!r}")
        new = sync(text)
        if new != text:
            stale.append(page.relative_to(ROOT))
            if not a.check:
                page.write_text(new)
    for copy, source in COPIES.items():
        if (ROOT / copy).read_bytes() != (ROOT / source).read_bytes():
            stale.append(Path(copy))
            if not a.check:
                (ROOT / copy).write_bytes((ROOT / source).read_bytes())
    verb = "differ from the results files" if a.check else "rewritten"
    for page in stale:
        print(f"{page}: {verb}")
    return 1 if (a.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
