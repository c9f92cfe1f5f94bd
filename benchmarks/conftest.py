"""pytest-benchmark setup for ``python -m pytest benchmarks --benchmark-only -n 0``.

Every benchmark belongs to a group with one baseline (``extra_info["baseline"] = True``); after
pytest-benchmark's own table, the summary prints each benchmark's best time as a ratio to its
group's baseline measured in the same run.
"""

from __future__ import annotations

import jax
import pytest

jax.config.update("jax_enable_x64", False)  # benchmarks are float32 whatever the environment


def ratio_table(benchmarks) -> list[str]:
    """Lines of ``group / name / best ms / x baseline`` for the finished benchmarks."""
    groups: dict[str, list] = {}
    for bench in benchmarks:
        if bench.stats:
            groups.setdefault(bench.group or "", []).append(bench)
    lines = []
    for group, benches in groups.items():
        base = next((b for b in benches if b.extra_info.get("baseline")), None)
        base_name = base.name if base is not None else "none in this run"
        lines.append(f"{group}: ratios to {base_name}")
        for b in sorted(benches, key=lambda b: b.stats.min):
            ratio = f"{b.stats.min / base.stats.min:8.2f}x" if base is not None else "       -"
            lines.append(f"  {b.name:48s} {1e3 * b.stats.min:10.2f} ms {ratio}")
    return lines


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    terminalreporter.write_sep("-", "ratios (best time / group baseline, same run)")
    for line in ratio_table(session.benchmarks):
        terminalreporter.write_line(line)
