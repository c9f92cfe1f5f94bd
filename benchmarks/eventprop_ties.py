"""Memory and time of EventProp's tie search: all pairs (the previous rule) vs binary search.

EventProp's backward pass puts the end of a refractory period just before a later spike of the
same neuron at exactly that time. Until this change `eventprop._merged_events` found those ties
by comparing every pair of output-spike slots, a ``(max_spikes, max_spikes)`` array per sample;
it now uses `eventprop._next_spike_at` (a binary search, ``O(max_spikes)`` memory). This script
compiles one SHD-sized training step (`shd_scale.py`'s synthetic inputs: batch 32, 700 inputs,
4000 input spikes per 1 s sample, a recurrent `RecurrentEventPropLIF` hidden layer with a budget
of 40 Hz per neuron, as the SHD task sets it, and a single-spike output layer) with each rule,
and prints XLA's memory plan (``memory_analysis``), the CPU time of one step and its loss (the
same for both). ``all_pairs`` below is the previous rule, kept only as this baseline.

Usage: ``python benchmarks/eventprop_ties.py [H ...]`` (default 128 512; H 512 needs about
14 GiB with the all-pairs rule).
"""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shd_scale as b  # noqa: E402

from jaxsnn_eqx.event import eventprop as ep  # noqa: E402

SETTINGS = types.SimpleNamespace(
    seed=0, batch=32, tau_mem=2e-2, tau_syn=5e-3, v_th=1.0, t_refrac=2e-3, init_in=(0.0, 0.5),
    init_rec=(0.0, 0.3), init_out=(0.5, 1.0), tau_loss=2e-2, event_batching="vmap")
MAX_RATE = 40.0  # Hz per hidden neuron: the budget rule of the SHD task
N_SPIKES, T_MAX = 4000, 1.0


def all_pairs(out_spikes, out_ok, t_end):
    """The previous rule: every (end slot, spike slot) pair compared, ``(m, m)`` booleans."""
    m = out_spikes.size
    later = jnp.arange(m)[None, :] > jnp.arange(m)[:, None]  # [end slot, spike slot]
    same = ((t_end[:, None] == out_spikes.time[None, :]) & later & out_ok[None, :]
            & (out_spikes.idx[:, None] == out_spikes.idx[None, :]))
    found = jnp.any(same, axis=1)
    return found, jnp.where(found, jnp.argmax(same, axis=1), 0)


def main(hiddens: list[int]) -> None:
    a = SETTINGS
    x, y = b.synthetic_shd(a.seed, a.batch, N_SPIKES, T_MAX)
    search = ep._next_spike_at
    print(f"batch {a.batch}, {N_SPIKES} input spikes per sample, t_max {T_MAX} s, hidden budget "
          f"{MAX_RATE:g} Hz x H x t_max; XLA memory_analysis of the compiled step; CPU s of one "
          "step", flush=True)
    print(f"{'H':>5} {'budget':>7} {'rule':>10} {'temp MiB':>9} {'total MiB':>10} "
          f"{'step CPU s':>11} {'loss':>10}", flush=True)
    try:
        for hidden in hiddens:
            w = b.weights(jax.random.PRNGKey(a.seed), x, a, hidden, T_MAX)
            budget = int(math.ceil(MAX_RATE * hidden * T_MAX))
            model = b.event_model(w, a, hidden, T_MAX, budget)
            for name, rule in (("all pairs", all_pairs), ("search", search)):
                ep._next_spike_at = rule
                run, args, _ = b.compiled_step(model, b.event_loss(T_MAX, a.tau_loss), x, y,
                                               optax.adam(1e-3))
                mem = b.memory_bytes(run)
                _, cpu, loss, _ = b.time_step(run, args, 1)
                print(f"{hidden:5d} {budget:7d} {name:>10} {mem['temp'] / 2**20:9.0f} "
                      f"{mem['total'] / 2**20:10.0f} {cpu:11.2f} {loss:10.6f}", flush=True)
    finally:
        ep._next_spike_at = search


if __name__ == "__main__":
    main([int(h) for h in sys.argv[1:]] or [128, 512])
