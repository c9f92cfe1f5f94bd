"""Batching of the event loop: JAX's while-loop rule (``vmap``) vs sample by sample (``map``).

`event.loop.LOOP_BATCHING` decides how a `jax.vmap`-ed event loop runs (see its docstring).
This script times one value-and-gradient call (forward + backward, CPU seconds, best of
``--repeat``, after compiling) of event populations over a batch under both modes, checks that
both give the same loss bit for bit, and shows which mode ``"auto"`` picks:

* recurrent `RecurrentEventPropLIF` populations on SHD-shaped inputs (`shd_scale.py`'s
  synthetic spikes: 700 inputs, 1 s, several spikes per neuron, EventProp), long loops;
* the Yin-Yang task's masked recurrent population forced through the event loop
  (``method="kernel"``; 5 inputs + 123 spikes: a short loop);
* feed-forward `event.LIF` layers through the event loop, one loop per neuron ("lanes"):
  Yin-Yang-sized single-spike layers (autodiff) and an SHD-sized several-spike layer.

Usage: ``python benchmarks/event_batching.py [--repeat 2] [--quick] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shd_scale  # noqa: E402

from jaxsnn_eqx import data, event  # noqa: E402
from jaxsnn_eqx.event import loop  # noqa: E402
from jaxsnn_eqx.spikes import Spikes  # noqa: E402
from jaxsnn_eqx.tasks import yinyang_event  # noqa: E402

SHD = types.SimpleNamespace(tau_mem=2e-2, tau_syn=5e-3, v_th=1.0, init_in=(0.0, 0.5),
                            init_rec=(0.0, 0.3), init_out=(0.5, 1.0))


def _total_time(out: Spikes) -> jax.Array:
    return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time, 0.0))


def measure(model, x, repeat: int) -> dict:
    """CPU seconds of one value-and-gradient call of ``sum(spike times)`` over the batch ``x``,
    per mode, and the loss of each."""
    row = {}
    for mode in ("vmap", "map"):
        loop.LOOP_BATCHING = mode
        f = eqx.filter_jit(eqx.filter_value_and_grad(
            lambda m, x: _total_time(jax.vmap(m)(x))))
        jax.block_until_ready(f(model, x))
        best = float("inf")
        for _ in range(repeat):
            c0 = time.process_time()
            value, _ = jax.block_until_ready(f(model, x))
            best = min(best, time.process_time() - c0)
        row[mode] = best
        row[f"loss_{mode}"] = float(value)
    loop.LOOP_BATCHING = "auto"
    return row


def cases(quick: bool):
    """``(name, model, batched input, loop events n_steps, neurons per loop)``."""
    p = event.LIFParams(tau_mem=SHD.tau_mem, tau_syn=SHD.tau_syn, t_refrac=2e-3)
    shd = [(128, 4000, 5120, 32), (128, 1000, 1280, 16), (64, 1000, 640, 16), (32, 500, 200, 16)]
    if quick:
        shd = [(16, 200, 64, 4)]
    for hidden, n_in_spikes, budget, batch in shd:
        x, _ = shd_scale.synthetic_shd(0, batch, n_in_spikes, 1.0)
        w_in, w_rec, _ = shd_scale.weights(jax.random.PRNGKey(0), x, SHD, hidden, 1.0)
        m = event.RecurrentEventPropLIF(700, hidden, params=p, t_max=1.0, max_spikes=budget,
                                        weight_in=w_in, weight_rec=w_rec, single_spike=False)
        yield (f"SHD-like recurrent H {hidden}, {n_in_spikes} inputs, budget {budget}, "
               f"batch {batch}", m, x, n_in_spikes + budget, hidden)

    a = yinyang_event._resolve(yinyang_event.parse([], method="eventprop"))
    pts, _ = data.yinyang_splits(0, n_train=64, n_val=8, n_test=8)["train"]
    x = yinyang_event.encode(pts[: 16 if quick else 64], a)
    m0 = yinyang_event.build_model(jax.random.PRNGKey(0), a)
    m = event.RecurrentEventPropLIF(
        5, m0.size, params=m0.params, t_max=m0.t_max, max_spikes=m0.max_spikes,
        weight_in=m0.weight_in, weight_rec=m0.weight_rec, mask=m0.mask, mask_in=m0.mask_in,
        single_spike=True, method="kernel")
    yield (f"Yin-Yang masked population (kernel), batch {x.time.shape[0]}", m, x,
           5 + m0.max_spikes, m0.size)

    lp = event.LIFParams(tau_mem=a.tau_mem, tau_syn=a.tau_syn)
    layer = event.LIF(5, a.hidden, params=lp, t_max=a.t_max, max_spikes=a.hidden,
                      single_spike=True, method="kernel", key=jax.random.PRNGKey(0))
    yield (f"Yin-Yang LIF 5-{a.hidden} single-spike lanes (kernel), batch {x.time.shape[0]}",
           layer, x, 5 + 1, 1)

    if not quick:
        x, _ = shd_scale.synthetic_shd(0, 8, 4000, 1.0)
        w_in = shd_scale.weights(jax.random.PRNGKey(0), x, SHD, 128, 1.0)[0]
        ff = event.EventPropLIF(700, 128, params=p, t_max=1.0, max_spikes=5120,
                                max_spikes_per_neuron=100, single_spike=False, weight=w_in)
        yield "SHD-like feed-forward 700-128 lanes, 100 spikes each, batch 8", ff, x, 4100, 1


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}); CPU seconds of "
          f"one value-and-gradient call, best of {a.repeat}; MAP_MIN_STEPS = "
          f"{loop.MAP_MIN_STEPS}", flush=True)
    print(f"{'case':72s} {'events':>6} {'vmap s':>8} {'map s':>8} {'vmap/map':>8} {'auto':>5} "
          f"{'same':>5}", flush=True)
    rows = []
    for name, model, x, n_steps, n in cases(a.quick):
        row = dict(case=name, n_steps=n_steps, neurons=n, **measure(model, x, a.repeat))
        row["auto"] = loop.loop_batching(n_steps, n)
        row["same"] = row["loss_vmap"] == row["loss_map"]
        rows.append(row)
        print(f"{name:72s} {n_steps:6d} {row['vmap']:8.3f} {row['map']:8.3f} "
              f"{row['vmap'] / row['map']:8.2f} {row['auto']:>5} {str(row['same']):>5}",
              flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
