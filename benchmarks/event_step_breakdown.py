"""Where one training step of the event-based Yin-Yang network spends its time.

Times, for one batch of 64 (5-120-3, analytical gradients, the task's defaults), each part of
the step after compilation: the hidden layer's forward pass, the output layer's forward pass
on the hidden spikes, the whole loss, loss + gradient, and the full step with Adam; the same
step of the 5-120-3 ANN is the reference. Each part runs with both scans over the input
spikes (`event.lif.first_spike_times(associative=...)`): sequential (`jax.lax.scan`, the CPU
default) and associative (`jax.lax.associative_scan`, the default on accelerators). Usage::

    python benchmarks/event_step_breakdown.py [--repeat 5]

Each part runs over the 78 batches of one epoch inside one compiled `jax.lax.scan` (no
per-call dispatch, as in training); printed is the best of ``--repeat`` runs in microseconds
per batch.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from event_yinyang import ann_reference, scan  # benchmarks/ is on sys.path when run as a script

from jaxsnn_eqx import data
from jaxsnn_eqx.event import lif
from jaxsnn_eqx.tasks import yinyang_event as task
from jaxsnn_eqx.tasks.args import base_parser


def per_batch_us(fn, model, xs, ys, repeat: int) -> float:
    """Best-of-``repeat`` time (µs) per batch of ``fn(model, xb, yb)`` run over all batches in
    one compiled `jax.lax.scan` (as in a training epoch: no per-call dispatch)."""
    dyn, static = eqx.partition(model, eqx.is_array)

    def run(dyn, xs, ys):
        def body(acc, b):
            xb, yb = b
            out = fn(eqx.combine(dyn, static), xb, yb)
            leaves = [jnp.sum(jnp.where(jnp.isfinite(v), v, 0.0))
                      for v in jax.tree.leaves(eqx.filter(out, eqx.is_inexact_array))]
            return acc + sum(leaves), None
        return jax.lax.scan(body, jnp.zeros(()), (xs, ys))[0]

    run = jax.jit(run).lower(dyn, xs, ys).compile()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(run(dyn, xs, ys))
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / ys.shape[0]


def train_step(loss_fn, optimizer, model):
    """One step of ``optimizer`` on ``loss_fn`` (returns the new model and the loss)."""
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    def step(m, xb, yb):
        loss, g = eqx.filter_value_and_grad(loss_fn)(m, xb, yb)
        upd, _ = optimizer.update(g, opt_state, eqx.filter(m, eqx.is_inexact_array))
        return eqx.filter(eqx.apply_updates(m, upd), eqx.is_array), loss

    return step


def parts(model, loss_fn, optimizer):
    """name -> function of (model, xb, yb)."""
    return {
        "hidden layer forward": lambda m, xb, yb: jax.vmap(m.layers[0])(xb),
        "both layers forward": lambda m, xb, yb: jax.vmap(m)(xb),
        "loss (forward)": loss_fn,
        "loss + gradient": eqx.filter_value_and_grad(loss_fn),
        "training step (+ Adam)": train_step(loss_fn, optimizer, model),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args(argv)
    parser = task.add_arguments(base_parser("bench", **task.DEFAULTS))
    targs = task._resolve(parser.parse_args(["--gradient", "analytical"]))
    x, y = data.yinyang_splits(0)["train"]
    nb = y.shape[0] // 64
    batches = lambda v: v[: nb * 64].reshape(nb, 64, *v.shape[1:])  # noqa: E731
    xs, ys = jax.tree.map(batches, task.encode(x, targs)), batches(y)
    model = task.build_model(jax.random.PRNGKey(0), targs)
    loss_fn, _ = task.make_fns(targs)
    optimizer = optax.adam(1e-3)

    table = {}
    for assoc in (False, True):
        with scan(assoc):
            for name, fn in parts(model, loss_fn, optimizer).items():
                table.setdefault(name, {})[assoc] = per_batch_us(fn, model, xs, ys, a.repeat)

    mlp, ann_loss, times = ann_reference(x, targs)
    ann = per_batch_us(train_step(ann_loss, optimizer, mlp), mlp, batches(times), ys, a.repeat)
    default = lif._associative_default()
    print(f"device: {jax.devices()[0].device_kind}; batch 64, 5-120-3, {nb} batches in one "
          f"scan, best of {a.repeat}; µs per batch")
    print(f"{'part':28s} {'sequential':>11s} {'associative':>12s} {'default':>8s}")
    for name, row in table.items():
        print(f"{name:28s} {row[False]:11.0f} {row[True]:12.0f} "
              f"{'assoc' if default else 'seq':>8s}")
    print(f"{'ANN training step (+ Adam)':28s} {ann:11.0f}")
    step = table["training step (+ Adam)"][default]
    print(f"default SNN step / ANN step: {step / ann:.1f}x")


if __name__ == "__main__":
    main()
