"""Time one training epoch of the event-based Yin-Yang network against a same-size ANN.

One epoch = 5000 samples in batches of 64 (78 steps of forward + backward + Adam), compiled as
one ``lax.scan`` like `train.fit`; timed after compilation (best of ``--repeat``). The ANN is a
5-120-3 MLP (ReLU) on the same input spike times with the same optimiser and batches: a lower
bound for any network of this size. Usage::

    python benchmarks/event_yinyang.py [--repeat 3] [--ratio 2.0]
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from jaxsnn_eqx import data
from jaxsnn_eqx.tasks import yinyang_event as task
from jaxsnn_eqx.tasks.common import base_parser


def epoch_timer(model, loss_fn, x, y, batch_size, optimizer, repeat):
    """(compile seconds, best epoch seconds)."""
    dyn, static = eqx.partition(model, eqx.is_array)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    nb = y.shape[0] // batch_size

    def epoch(dyn, opt_state, x, y):
        idx = jnp.arange(nb * batch_size).reshape(nb, batch_size)

        def body(carry, b):
            dyn, opt_state = carry
            m = eqx.combine(dyn, static)
            xb = jax.tree.map(lambda a: a[b], x)
            loss, g = eqx.filter_value_and_grad(loss_fn)(m, xb, y[b])
            upd, opt_state = optimizer.update(g, opt_state, eqx.filter(m, eqx.is_inexact_array))
            m = eqx.apply_updates(m, upd)
            return (eqx.partition(m, eqx.is_array)[0], opt_state), loss

        return jax.lax.scan(body, (dyn, opt_state), idx)

    t0 = time.perf_counter()
    run = jax.jit(epoch).lower(dyn, opt_state, x, y).compile()
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(run(dyn, opt_state, x, y))
        best = min(best, time.perf_counter() - t0)
    return compile_s, best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--ratio", type=float, default=2.0, help="tau_mem / tau_syn of the SNN")
    a = p.parse_args(argv)
    x, y = data.yinyang_splits(0)["train"]
    optimizer = optax.adam(1e-3)
    rows = []
    for name, flags in (
        ("event SNN 5-120-3, analytical (IFT)", ["--gradient", "analytical"]),
        ("event SNN 5-120-3, EventProp layered", ["--gradient", "eventprop", "--layered"]),
        ("event SNN 5-120-3, EventProp recurrent", ["--gradient", "eventprop"]),
    ):
        parser = task.add_arguments(base_parser("bench", **task.DEFAULTS))
        targs = task._resolve(parser.parse_args(["--ratio", str(a.ratio), *flags]))
        spikes = task.encode(x, targs)
        snn = task.build_model(jax.random.PRNGKey(0), targs)
        loss_fn, _ = task.make_fns(targs)
        rows.append((name, *epoch_timer(snn, loss_fn, spikes, y, 64, optimizer, a.repeat)))

    mlp = eqx.nn.MLP(5, 3, 120, 1, activation=jax.nn.relu, key=jax.random.PRNGKey(0))
    times = data.latency_times(x, 0.0, targs.t_late, targs.bias_time) / targs.t_late

    def ann_loss(m, xb, yb):
        logits = jax.vmap(m)(xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    rows.append(("ANN MLP 5-120-3 (reference)",
                 *epoch_timer(mlp, ann_loss, times, y, 64, optimizer, a.repeat)))
    try:
        import jaxsnn  # noqa: F401

        rows.append(("jaxsnn (installed; comparison not wired up)", float("nan"), float("nan")))
    except ImportError:
        rows.append(("jaxsnn (not installed)", float("nan"), float("nan")))

    ann = next(e for n, _, e in rows if n.startswith("ANN"))
    print(f"device: {jax.devices()[0].device_kind}, x64: {jax.config.jax_enable_x64}, "
          f"tau_mem/tau_syn = {a.ratio}")
    print(f"{'model':42s} {'compile s':>10s} {'epoch s':>10s} {'x ANN':>8s}")
    for name, c, e in rows:
        print(f"{name:42s} {c:10.2f} {e:10.3f} {e / ann:8.1f}")


if __name__ == "__main__":
    main()
