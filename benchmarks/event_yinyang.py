"""Time one training epoch of the event-based Yin-Yang network against a same-size ANN.

One epoch = 5000 samples in batches of 64 (78 steps of forward + backward + Adam), compiled as
one ``lax.scan`` like `train.fit`; timed after compilation (best of ``--repeat``). The ANN is a
5-120-3 MLP (ReLU) on the same input spike times with the same optimiser and batches: a lower
bound for any network of this size. The analytical network is timed twice: as the library runs
it (single-spike layers solved all at once, ``method="auto"``) and forced through the event loop
(``method="kernel"``); both give the same spike times and gradients.

With ``--jaxsnn-python`` (a Python with ``jaxsnn==0.3.0`` installed, see
``benchmarks/jaxsnn_baseline.py``) the published jaxsnn's own Yin-Yang analytical epoch is timed
in the same run, and every row gets its speed-up over it (column ``jaxsnn/x``); its recurrent
EventProp example is timed too and compared with the masked recurrent population (last line).
Usage::

    python -m venv /tmp/jaxsnn-venv && /tmp/jaxsnn-venv/bin/pip install jaxsnn==0.3.0
    python benchmarks/event_yinyang.py [--repeat 3] [--ratio 2.0] \
        [--jaxsnn-python /tmp/jaxsnn-venv/bin/python]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import subprocess
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from jaxsnn_eqx import data, event
from jaxsnn_eqx.event import lif
from jaxsnn_eqx.tasks import yinyang_event as task
from jaxsnn_eqx.tasks.args import base_parser


def compiled_epoch(model, loss_fn, x, y, batch_size, optimizer):
    """``(run, args, compile seconds)``: one training epoch compiled as one ``lax.scan`` over
    the batches (as `train.fit` runs it); ``run(*args)`` trains one epoch from ``model``."""
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

    args = (dyn, opt_state, x, y)
    t0 = time.perf_counter()
    run = jax.jit(epoch).lower(*args).compile()
    return run, args, time.perf_counter() - t0


def epoch_timer(model, loss_fn, x, y, batch_size, optimizer, repeat):
    """(compile seconds, best epoch seconds)."""
    run, args, compile_s = compiled_epoch(model, loss_fn, x, y, batch_size, optimizer)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(run(*args))
        best = min(best, time.perf_counter() - t0)
    return compile_s, best


def with_method(model, method: str):
    """The same network with every `event.LIF` layer run by ``method`` (see `event.simulate`)."""
    def relayer(layer):
        if type(layer) is not event.LIF:
            return layer
        return event.LIF(layer.in_size, layer.out_size, params=layer.params, t_max=layer.t_max,
                         max_spikes=layer.max_spikes, weight=layer.weight,
                         single_spike=layer.single_spike, method=method)
    return type(model)([relayer(layer) for layer in model.layers])


@contextlib.contextmanager
def scan(associative: bool | None):
    """Within the block, the all-at-once single-spike path composes the per-input flows with
    the associative (``True``) or the sequential (``False``) scan instead of its backend's
    default (``None``: the default; see `event.lif.first_spike_times`)."""
    default = lif._associative_default
    if associative is not None:
        lif._associative_default = lambda: associative
    try:
        yield
    finally:
        lif._associative_default = default


def ann_reference(x, targs):
    """``(mlp, loss_fn, inputs)``: the 5-120-3 ReLU MLP, its cross entropy, and the input
    spike times of the points ``x`` scaled to ``[0, 1]`` (the SNN's encoding)."""
    mlp = eqx.nn.MLP(5, 3, 120, 1, activation=jax.nn.relu, key=jax.random.PRNGKey(0))
    times = data.latency_times(x, 0.0, targs.t_late, targs.bias_time) / targs.t_late

    def ann_loss(m, xb, yb):
        logits = jax.vmap(m)(xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    return mlp, ann_loss, times


def jaxsnn_row(python: str, repeat: int, example: str = "analytical"):
    """(name, compile s, epoch s) of one of jaxsnn's own examples' epoch, run by ``python``."""
    script = pathlib.Path(__file__).with_name("jaxsnn_baseline.py")
    proc = subprocess.run([python, str(script), "--repeat", str(repeat), "--example", example],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return (f"jaxsnn 0.3.0 {example} (failed, see above)", float("nan"), float("nan"))
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"jaxsnn notes ({example}): {r['notes']}")
    return (r["name"], r["compile_s"], r["epoch_s"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--ratio", type=float, default=2.0, help="tau_mem / tau_syn of the SNN")
    p.add_argument("--jaxsnn-python", default=None,
                   help="python of a venv with jaxsnn==0.3.0 (adds its epoch to the table)")
    p.add_argument("--json", default=None, help="also write the table to this JSON file")
    a = p.parse_args(argv)
    x, y = data.yinyang_splits(0)["train"]
    optimizer = optax.adam(1e-3)
    rows = []
    for name, flags, method in (
        ("event SNN 5-120-3, analytical", ["--gradient", "analytical"], "auto"),
        ("  same, other scan over inputs", ["--gradient", "analytical"], "other-scan"),
        ("  same, forced through the event loop", ["--gradient", "analytical"], "kernel"),
        ("event SNN 5-120-3, EventProp layered", ["--gradient", "eventprop", "--layered"], None),
        ("event SNN 5-120-3, EventProp recurrent", ["--gradient", "eventprop"], None),
    ):
        parser = task.add_arguments(base_parser("bench", **task.DEFAULTS))
        targs = task._resolve(parser.parse_args(["--ratio", str(a.ratio), *flags]))
        spikes = task.encode(x, targs)
        snn = task.build_model(jax.random.PRNGKey(0), targs)
        if method not in (None, "other-scan"):
            snn = with_method(snn, method)
        loss_fn, _ = task.make_fns(targs)
        with scan(not lif._associative_default() if method == "other-scan" else None):
            rows.append((name, *epoch_timer(snn, loss_fn, spikes, y, 64, optimizer, a.repeat)))
        print(f"measured {name.strip()}: {rows[-1][2]:.4f} s/epoch", flush=True)

    mlp, ann_loss, times = ann_reference(x, targs)
    rows.append(("ANN MLP 5-120-3 (reference)",
                 *epoch_timer(mlp, ann_loss, times, y, 64, optimizer, a.repeat)))
    if a.jaxsnn_python:
        rows.append(jaxsnn_row(a.jaxsnn_python, a.repeat))
        rows.append(jaxsnn_row(a.jaxsnn_python, a.repeat, "recurrent-eventprop"))

    ann = next(e for n, _, e in rows if n.startswith("ANN"))
    ref = next((e for n, _, e in rows if n.startswith("jaxsnn")), float("nan"))
    ref_rec = next((e for n, _, e in rows if n.startswith("jaxsnn") and "recurrent" in n),
                   float("nan"))
    ours_rec = next(e for n, _, e in rows if n.endswith("EventProp recurrent"))
    device = jax.devices()[0].device_kind
    print(f"device: {device}, x64: {jax.config.jax_enable_x64}, "
          f"tau_mem/tau_syn = {a.ratio}, 5000 samples, batch 64, best of {a.repeat}")
    print(f"{'model':42s} {'compile s':>10s} {'epoch s':>10s} {'x ANN':>8s} {'jaxsnn/x':>9s}")
    for name, c, e in rows:
        print(f"{name:42s} {c:10.2f} {e:10.3f} {e / ann:8.1f} {ref / e:9.1f}")
    if a.jaxsnn_python:
        print(f"recurrent EventProp (masked population) vs jaxsnn's recurrent EventProp "
              f"example: {ref_rec / ours_rec:.1f}x faster per epoch")
    if a.json:
        table = [dict(model=n.strip(), compile_s=c, epoch_s=e, x_ann=e / ann, jaxsnn_over=ref / e)
                 for n, c, e in rows]
        pathlib.Path(a.json).write_text(json.dumps(dict(device=device, jax=jax.__version__,
                                                        ratio=a.ratio, repeat=a.repeat,
                                                        rows=table), indent=1))


if __name__ == "__main__":
    main()
