"""Parameter sweeps split between the default run and the slow one.

`slow_beyond` keeps the named cases of a sweep in the default run (``python -m pytest``, what a
newcomer runs first) and marks the others ``slow``; CI runs both (``-m slow`` as well), so every
case still runs on every change. Used where each case of a sweep checks the same property on
another layer type or setting and costs seconds of compilation: the default run keeps the cases
that cover the most code (named at each use).
"""

import pytest


def slow_beyond(cases, keep, ids=None):
    """``cases`` as `pytest.param`s, those not in ``keep`` marked ``slow`` (``ids``: optional
    names of the cases, matched against ``keep`` instead of the values)."""
    ids = list(cases) if ids is None else list(ids)
    missing = set(keep) - set(ids)
    if missing:
        raise ValueError(f"slow_beyond: {sorted(missing)} not among the cases {ids}")
    return [pytest.param(case, id=str(name),
                         marks=() if name in keep else pytest.mark.slow)
            for case, name in zip(cases, ids, strict=True)]
