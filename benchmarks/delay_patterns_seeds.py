"""The delay-patterns task (`jaxsnn_eqx.tasks.delay_patterns`) over seeds and step sizes.

Runs ``python -m jaxsnn_eqx.tasks.delay_patterns --seed S --lr LR --no-baseline`` for each
pair (a run whose ``results.json`` exists in ``--runs`` is read, not run again) and writes the
test accuracies with delays to ``benchmarks/results/delay_patterns_seeds.json``; `sync_docs`
shows them in docs/results.md. Written to record the task's seed fragility (an open defect).

    python benchmarks/delay_patterns_seeds.py [--seeds 0 1 2 3] [--lrs 5e-2 2e-2 1e-2]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "delay_patterns_seeds.json"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    p.add_argument("--lrs", type=str, nargs="+", default=["5e-2", "2e-2", "1e-2"])
    p.add_argument("--runs", type=Path, default=Path("runs/delay_patterns_seeds"))
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args(argv)
    table = {}
    for lr in a.lrs:
        for seed in a.seeds:
            run = a.runs / f"lr{lr}_seed{seed}"
            if not (run / "results.json").exists():
                subprocess.run([sys.executable, "-m", "jaxsnn_eqx.tasks.delay_patterns",
                                "--seed", str(seed), "--lr", lr, "--no-baseline",
                                "--no-progress", "--out", str(run)], check=True)
            acc = json.loads((run / "results.json").read_text())["test_accuracy"]
            table.setdefault(lr, {})[str(seed)] = acc
            print(f"lr {lr} seed {seed}: test accuracy {100 * acc:.1f}%", flush=True)
    a.out.write_text(json.dumps({"command": "python benchmarks/delay_patterns_seeds.py",
                                 "test_accuracy": table}, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
