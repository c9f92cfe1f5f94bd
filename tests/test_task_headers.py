"""What a task prints before it trains names real flags only: every ``--flag`` in the header is
one the task's parser takes (the event task printed ``tau-mem=0.01``, a flag it does not have;
``--ratio`` sets it), and values that are no flags are marked as derived."""

from __future__ import annotations

import re

import pytest

from jaxsnn_eqx import cli
from jaxsnn_eqx.tasks import registry


class _Stop(Exception):
    pass


def _flags_of(dataset: str, method: str, capsys) -> set[str]:
    with pytest.raises(SystemExit):
        cli.main(["train", dataset, "--method", method, "--help"])
    return set(re.findall(r"(--[a-z0-9][a-z0-9-]*)", capsys.readouterr().out))


TASKS = [(d, m) for d in registry.datasets() for m in registry.methods(d)]


@pytest.mark.parametrize("dataset, method", TASKS, ids=[f"{d}-{m}" for d, m in TASKS])
def test_task_header_names_real_flags_only(dataset, method, capsys, monkeypatch):
    task = registry.methods(dataset)[method]
    module = registry.load(task)
    flags = _flags_of(dataset, method, capsys)

    def stop(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(module, "run", stop)
    with pytest.raises(_Stop):
        module.main(["--no-plot"], **task.kwargs)
    header = capsys.readouterr().out.strip().splitlines()
    assert len(header) >= 2
    settings = " ".join(header[1:])
    named = re.findall(r"(--[a-z0-9][a-z0-9-]*)", settings)
    assert named and set(named) <= flags, set(named) - flags
    # no flag-like name=value settings: every setting is spelled as the flag it is
    assert not re.search(r"(?<![\w-])[a-z][a-z0-9]*(-[a-z0-9]+)+=", settings), settings


def test_summary_accounts_for_the_whole_time(tmp_path, capsys):
    """The summary said "total time 74.7 s" next to "train time 43.3 s, compile 6.4 s": it now
    splits the total into its stages (data, compile, train, validation, test, checkpoints and
    the rest), and results.json keeps them."""
    import json

    out = tmp_path / "run"
    assert cli.main(["train", "yinyang", "--method", "discrete", "--epochs", "2", "--n-train",
                     "64", "--n-val", "32", "--n-test", "32", "--batch-size", "32", "--hidden",
                     "8", "--no-plot", "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    line = next(ln for ln in text.splitlines() if ln.startswith("total time"))
    total = float(re.match(r"total time ([\d.]+) s = ", line).group(1))
    parts = dict((name.strip(), float(v)) for v, name in
                 ((m.group(2), m.group(1)) for m in re.finditer(r"([a-z ]+) ([\d.]+)",
                                                                 line.split(" = ", 1)[1])))
    assert {"data and setup", "compile", "train", "validation", "test", "checkpoints",
            "other"} <= set(parts)
    assert abs(sum(parts.values()) - total) <= 0.05 * len(parts) + 1e-9
    res = json.loads((out / "results.json").read_text())
    assert set(res["timing_seconds"]) >= {"setup", "compile", "train", "validation", "test",
                                  "checkpoints"}
    assert sum(res["timing_seconds"].values()) <= res["total_seconds"] + 1e-6
