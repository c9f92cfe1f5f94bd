"""What the input checks cost per training epoch of the flagship (EventProp, layered 5-120-3).

Times one epoch of training steps (78 batches of 64 in one compiled `jax.lax.scan`, Adam, the
task's loss) three ways: with the always-on checks (the default), with them removed (the
kernel's `check_spikes` replaced by the identity), and with the debug-only checks switched on as
well (`jaxsnn_eqx.checks.debug`). Usage::

    python benchmarks/validation_cost.py [--repeat 7] [--rounds 3]

The variants alternate ``--rounds`` times (so drifting machine load hits them alike); printed is
each variant's best epoch time and its ratio to the unchecked one.
"""

from __future__ import annotations

import argparse
import contextlib

import jax
import optax
from event_step_breakdown import per_batch_us, train_step  # benchmarks/ is on sys.path

from jaxsnn_eqx import checks, data
from jaxsnn_eqx.event import kernel
from jaxsnn_eqx.tasks import yinyang_event as task


@contextlib.contextmanager
def unchecked():
    """The kernel without its input checks."""
    original = kernel.check_spikes
    kernel.check_spikes = lambda spikes, n_in, where, name="spikes": spikes
    try:
        yield
    finally:
        kernel.check_spikes = original


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    targs = task._resolve(task.parse([], method="eventprop-layered"))
    x, y = data.yinyang_splits(0)["train"]
    nb = y.shape[0] // 64
    batches = lambda v: v[: nb * 64].reshape(nb, 64, *v.shape[1:])  # noqa: E731
    xs, ys = jax.tree.map(batches, task.encode(x, targs)), batches(y)
    model = task.build_model(jax.random.PRNGKey(0), targs)
    loss_fn, _ = task.make_fns(targs)
    step = train_step(loss_fn, optax.adam(1e-3), model)
    variants = {"no checks": unchecked, "always-on checks (default)": contextlib.nullcontext,
                "always-on + debug checks": checks.debug}
    best = {name: float("inf") for name in variants}
    for _ in range(a.rounds):
        for name, ctx in variants.items():
            with ctx():  # the checks are read when the step is traced (inside per_batch_us)
                us = per_batch_us(step, model, xs, ys, a.repeat)
            best[name] = min(best[name], us * nb / 1e3)
    base = best["no checks"]
    print(f"device: {jax.devices()[0].device_kind}; flagship epoch ({nb} steps of 64), best of "
          f"{a.rounds} x {a.repeat}")
    print(f"{'variant':30s} {'ms/epoch':>9s} {'vs none':>8s}")
    for name, ms in best.items():
        print(f"{name:30s} {ms:9.1f} {ms / base:7.3f}x")


if __name__ == "__main__":
    main()
