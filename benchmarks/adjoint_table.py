"""The table of in-the-loop trainings per ``adjoint_at`` in ``docs/bss2.md``, from the results
files ``benchmarks/results/hardware_robustness_adjoint_<mode>_<imperfection>.json`` written by
``python benchmarks/hardware_robustness.py --only ... --adjoint-at <mode> --out DIR`` (the
``hardware_robustness.json`` of ``DIR``, renamed).

Usage: ``python benchmarks/adjoint_table.py`` prints the markdown table.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

RESULTS = pathlib.Path(__file__).parent / "results"
MODES = ("observed", "resimulated", "software", "decorrelated")


def fmt(values) -> str:
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f}" if len(v) == 1 else f"{v.mean():.1f} ± {v.std():.1f}"


def rows():
    """``{(imperfection, label): {"deployed": [...], mode: ([...], best val, last val)}}``."""
    table: dict = {}
    for path in sorted(RESULTS.glob("hardware_robustness_adjoint_*.json")):
        d = json.loads(path.read_text())
        mode = d["config"]["adjoint_at"]
        in_loop = [t for t in d["trainings"] if t["backend"] != "JaxSimulation()"]
        for r, t in zip(d["rows"], in_loop, strict=True):
            row = table.setdefault((r["imperfection"], r["label"]), {})
            row.setdefault("deployed", {})[mode] = fmt(r["software"])
            curve = 100 * np.asarray(t["val_curve"])
            row[mode] = (r["in_loop"], curve.max(), curve[-1])
    return table


def markdown() -> str:
    """Deployed: the software training of each run (its rounding differs with the task's
    default ``adjoint_at``, so its deployed accuracy on a strongly varied chip can too); values
    that differ are listed in the order of the columns."""
    lines = ["| imperfection | level | software-trained, deployed | "
             + " | ".join(f"in the loop, `{m}` (val. best / last)" for m in MODES) + " |",
             "|---|---|---:|" + "---:|" * len(MODES)]
    for (name, label), row in rows().items():
        cells = []
        for m in MODES:
            if m in row:
                acc, best, last = row[m]
                cells.append(f"{fmt(acc)} ({best:.1f} / {last:.1f})")
            else:
                cells.append("not run")
        deployed = " / ".join(dict.fromkeys(row["deployed"][m] for m in MODES
                                            if m in row["deployed"]))
        lines.append(f"| {name} | {label} | {deployed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
