"""Memory and time of one gradient step: EventProp vs autodiff of the analytical forward vs
time-discrete BPTT, on the same Yin-Yang batch (5-hidden-3 network).

Peak temporary memory is XLA's own accounting of the compiled gradient function
(``jax.jit(f).lower(...).compile().memory_analysis().temp_size_in_bytes``), which works on CPU.
Two sweeps:

* spikes per neuron (event-based methods): the neurons may fire up to ``k`` times
  (``max_spikes_per_neuron = k``, input weights growing with ``k``, refractory period
  ``t_max / k``), so the number of events grows with ``k``;
* simulated duration (all methods): ``t_max`` grows, i.e. the number of Euler steps
  ``t_max / dt`` of the discrete network; the event-based networks are unchanged but for
  ``t_max`` (their buffers are sized by spikes, not time).

Run: ``python benchmarks/eventprop_memory.py [--batch 64] [--hidden 120] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxsnn_eqx as snn
from jaxsnn_eqx import data, discrete, event

TAU_SYN, TAU_MEM, DT = 5e-3, 1e-2, 5e-5


def _measure(f, *args, repeats: int):
    """(temp bytes, median seconds) of the jitted ``f(*args)``."""
    compiled = jax.jit(f).lower(*args).compile()
    mem = compiled.memory_analysis()
    temp = getattr(mem, "temp_size_in_bytes", float("nan")) if mem is not None else float("nan")
    jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t0)
    return temp, float(np.median(times))


def event_net(cls, key, hidden, k, t_max):
    """5-hidden-3 network whose neurons fire at most ``k`` times: single-spike for ``k = 1``,
    else a refractory period of ``t_max / k`` (so at most ``k`` spikes fit before ``t_max``)."""
    single = k == 1
    p = event.LIFParams(tau_mem=TAU_MEM, tau_syn=TAU_SYN, t_refrac=0.0 if single else t_max / k)
    k1, k2 = jax.random.split(key)
    common = dict(params=p, t_max=t_max, single_spike=single, max_spikes_per_neuron=k)
    l1 = cls(5, hidden, max_spikes=hidden * k, key=k1, init_mean=2.0 * k, init_std=1.0, **common)
    l2 = cls(hidden, 3, max_spikes=3 * k, key=k2, init_mean=4.0, init_std=4.0, **common)
    return snn.Sequential([l1, l2])


def event_grad_fn(net, spikes, labels):
    dyn, static = eqx.partition(net, eqx.is_inexact_array)

    def loss(dyn):
        m = eqx.combine(dyn, static)
        t = jax.vmap(lambda s: event.losses.first_spike_times(m(s), 3))(spikes)
        return jnp.mean(jax.vmap(lambda t, y: event.losses.ttfs_cross_entropy(
            t, y, tau=TAU_SYN, t_silent=net.layers[0].t_max))(t, labels))

    return jax.grad(loss), dyn


def discrete_grad_fn(key, hidden, x, labels, t_max):
    k1, k2 = jax.random.split(key)
    p = discrete.LIFParams(tau_mem=TAU_MEM, tau_syn=TAU_SYN)
    net = snn.Sequential([
        discrete.LIF(5, hidden, params=p, dt=DT, surrogate=discrete.SuperSpike(100.0), key=k1,
                     init_mean=1.5, init_std=2.0),
        discrete.LI(hidden, 3, params=p, dt=DT, key=k2),
    ])
    xs = discrete.encode_latency(x, t_early=0.0, t_late=2 * TAU_SYN, t_max=t_max, dt=DT,
                                 mirror=True, bias_time=0.9 * TAU_SYN)
    dyn, static = eqx.partition(net, eqx.is_inexact_array)

    def loss(dyn):
        m = eqx.combine(dyn, static)
        scores = jax.vmap(lambda xs: discrete.max_over_time(m(xs)))(xs)
        return discrete.nll_loss(scores, labels)

    return jax.grad(loss), dyn, xs.shape[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--spikes", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 250, 500, 1000])
    args = ap.parse_args(argv)
    key = jax.random.PRNGKey(0)
    x, y = data.yinyang(key, args.batch)
    spikes = data.encode_latency(x, t_early=0.0, t_late=2 * TAU_SYN, bias_time=0.9 * TAU_SYN)
    mib = lambda b: b / 2**20
    print(f"device: {jax.devices()[0].device_kind}, batch {args.batch}, 5-{args.hidden}-3, "
          f"dtype {jnp.result_type(float)}")

    print("\n[1] spikes per neuron (t_max = 40 ms)")
    print(f"{'max spikes/neuron':>18} {'mean spikes/neuron':>19} {'EventProp MiB':>14} "
          f"{'autodiff MiB':>13} {'EventProp ms':>13} {'autodiff ms':>12}")
    for k in args.spikes:
        row = []
        for cls in (event.EventPropLIF, event.LIF):
            net = event_net(cls, key, args.hidden, k, 4e-2)
            g, dyn = event_grad_fn(net, spikes, y)
            row.append(_measure(g, dyn, repeats=args.repeats))
        h = jax.vmap(net.layers[0])(spikes)
        mean_k = float(h.count.mean()) / args.hidden
        (m_ep, t_ep), (m_ad, t_ad) = row
        print(f"{k:>18d} {mean_k:>19.2f} {mib(m_ep):>14.2f} {mib(m_ad):>13.2f} "
              f"{1e3 * t_ep:>13.1f} {1e3 * t_ad:>12.1f}")

    print(f"\n[2] simulated duration (discrete dt = {DT * 1e6:.0f} us; event nets: 1 spike/neuron)")
    print(f"{'steps':>6} {'t_max ms':>9} {'EventProp MiB':>14} {'autodiff MiB':>13} "
          f"{'BPTT MiB':>9} {'BPTT/EP':>8} {'EventProp ms':>13} {'autodiff ms':>12} "
          f"{'BPTT ms':>8}")
    for steps in args.steps:
        t_max = steps * DT
        res = []
        for cls in (event.EventPropLIF, event.LIF):
            net = event_net(cls, key, args.hidden, 1, t_max)
            g, dyn = event_grad_fn(net, spikes, y)
            res.append(_measure(g, dyn, repeats=args.repeats))
        g, dyn, n = discrete_grad_fn(key, args.hidden, x, y, t_max)
        res.append(_measure(g, dyn, repeats=args.repeats))
        (m_ep, t_ep), (m_ad, t_ad), (m_bp, t_bp) = res
        print(f"{n:>6d} {1e3 * t_max:>9.1f} {mib(m_ep):>14.2f} {mib(m_ad):>13.2f} "
              f"{mib(m_bp):>9.2f} {m_bp / m_ep:>8.1f} {1e3 * t_ep:>13.1f} {1e3 * t_ad:>12.1f} "
              f"{1e3 * t_bp:>8.1f}")


if __name__ == "__main__":
    main()
