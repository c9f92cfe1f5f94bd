"""SHD-sized benchmark without data files: one training step, event (EventProp) vs time-discrete.

The inputs are synthetic with the shapes and statistics of the Spiking Heidelberg Digits: 700
channels, ``--t-max`` (1 s) per sample, ``--spikes`` input spikes per sample (every sample exactly
that many, so the sweeps are clean; SHD words have several thousand), drawn as a few "formant
tracks" per word: bursts whose channel drifts with time, over a word of 0.4-0.8 ``t_max`` (the
tracks depend on the class, 20 classes). They are the library's `Spikes` (time-sorted, batched).

Timed: ONE training step (forward + backward + Adam, batch ``--batch``, compiled once with
``jax.jit`` over the model's arrays, compile time excluded, best of ``--repeat``; wall and
process CPU seconds) of

* event: `event.RecurrentEventPropLIF` 700 -> H (all-to-all recurrent, many spikes per neuron,
  refractory ``--t-refrac``) then `event.EventPropLIF` H -> 20 (one spike each), first-spike-time
  cross entropy (`event.losses.ttfs_cross_entropy`), EventProp gradients. The hidden spike budget
  ``max_spikes`` is ``ceil(--budget-factor x`` the most hidden spikes of a sample of the batch``)``,
  measured by a forward pass with a generous budget before the step is compiled (the kernel
  raises on overflow), or ``ceil(--max-rate H t_max)``. The forward pass alone is timed too;
* discrete: `Recurrent` `discrete.LIF` 700 -> H and `discrete.LI` H -> 20, Euler step ``--dt``
  (``t_max / dt`` steps), the same inputs binned inside the step (`Spikes.to_dense`), max over
  time of the readout, NLL of its softmax, SuperSpike surrogate gradients,

with the same weights (input weights ``N(MEAN, STD^2)`` in units of ``v_th / sqrt(sum_c r_c^2 +
sum_c r_c / (2 (tau_mem + tau_syn)))`` from the batch's channel rates ``r_c``, the spread of the
mean membrane drive; recurrent and readout weights in the same unit for H neurons at 10 Hz).
``--event-batching map`` runs the hidden population's forward loop sample by sample and its
EventProp backward pass vmapped (`mapped_population`, the prototype of what the library's
``jax.vmap`` now does itself for long loops on a CPU: `event.loop.LOOP_BATCHING`).

Memory: the compiled step's ``memory_analysis()`` (XLA's buffer assignment: temp + argument +
output bytes; an estimate of one step's peak as XLA plans it, on any backend, CPU too; ``nan``
where a backend does not report it).

Sweeps: H over ``--hidden``; the input spike count over ``--spikes-sweep`` at the first H; the
simulated time over ``--t-sweep`` at the first H with the SAME inputs: ``--spikes`` spikes in the
first ``min(--t-sweep)`` seconds, then silence until ``t_max`` (so the event network sees the
same events and only the discrete one gets more steps). At the end: growth exponents (log-log
least-squares slopes of time and memory) for each sweep.

Usage::

    python benchmarks/shd_scale.py [--hidden 128 256 512] [--spikes 4000] [--batch 32] \\
        [--spikes-sweep 1000 2000 4000] [--t-sweep 0.25 0.5 1.0] [--repeat 2] [--json FILE]
    python benchmarks/shd_scale.py --quick        # tiny sizes, seconds (the smoke test)

The default run takes about 5 minutes on a 2-core CPU (measured under load; see --help for the
flags).
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import time

import jax

jax.config.update("jax_enable_x64", False)  # float32 whatever the environment

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from jaxsnn_eqx import discrete, event  # noqa: E402
from jaxsnn_eqx.containers import Recurrent, Sequential  # noqa: E402
from jaxsnn_eqx.spikes import Spikes  # noqa: E402

N_IN, N_OUT = 700, 20
SWEEP_LABEL = dict(hidden="H", spikes="spikes", t="t")
QUICK = dict(hidden=[16, 32], spikes=200, t_max=0.2, batch=4, repeat=1, spikes_sweep=[],
             t_sweep=[], max_rate=50.0)


# ----------------------------------------------------------------------------- inputs
def synthetic_shd(seed: int, batch: int, n_spikes: int, t_max: float, n_in: int = N_IN,
                  n_tracks: int = 6):
    """``(Spikes (batch, n_spikes), labels (batch,))``: SHD-like words of exactly ``n_spikes``
    spikes each. A word lasts 0.4-0.8 ``t_max`` from an onset in 0.02-0.15 ``t_max``; its spikes
    belong to ``n_tracks`` formant-like tracks (a channel centre drifting linearly in time, a
    Gaussian spread of 8 channels, Gamma-distributed weights), whose centres and slopes depend on
    the class and are jittered per sample."""
    rng = np.random.default_rng(seed)
    cls_rng = np.random.default_rng(12345)  # class templates: the same in every call
    centre0 = cls_rng.uniform(0.1, 0.9, (N_OUT, n_tracks)) * n_in
    slope0 = cls_rng.normal(0.0, 0.3, (N_OUT, n_tracks)) * n_in  # channels per word length
    labels = rng.integers(0, N_OUT, batch)
    times = np.empty((batch, n_spikes), np.float32)
    idx = np.empty((batch, n_spikes), np.int32)
    for b, y in enumerate(labels):
        onset = rng.uniform(0.02, 0.15) * t_max
        length = rng.uniform(0.4, 0.8) * t_max
        share = rng.gamma(2.0, 1.0, n_tracks)
        track = rng.choice(n_tracks, n_spikes, p=share / share.sum())
        u = rng.beta(1.5, 1.5, n_spikes)  # position within the word (denser in the middle)
        t = onset + length * u
        centre = centre0[y] + rng.normal(0, 10, n_tracks)
        slope = slope0[y] * rng.uniform(0.8, 1.2, n_tracks)
        ch = centre[track] + slope[track] * (u - 0.5) + rng.normal(0, 8, n_spikes)
        ch = np.clip(np.rint(ch), 0, n_in - 1).astype(np.int32)
        t = np.minimum(t, np.nextafter(np.float32(t_max), 0)).astype(np.float32)
        order = np.argsort(t, kind="stable")
        times[b], idx[b] = t[order], ch[order]
    return Spikes(jnp.asarray(times), jnp.asarray(idx)), jnp.asarray(labels, jnp.int32)


def drive_unit(rates: np.ndarray, tau_sum: float) -> float:
    """``1 / sqrt(sum_c r_c^2 + sum_c r_c / (2 tau_sum))`` (s): weights ``N(0, STD^2)`` times
    this (per volt) spread the mean membrane drive (and its Poisson fluctuation) by ``STD`` V."""
    rates = np.asarray(rates, np.float64)
    norm = float(np.sqrt(np.sum(rates ** 2) + np.sum(rates) / (2.0 * tau_sum)))
    return 1.0 / norm if norm > 0 else 1.0


# ----------------------------------------------------------------------------- networks
def weights(key, x: Spikes, a, hidden: int, t_max: float):
    """``(w_in, w_rec, w_out)`` shared by both networks (units: module docstring)."""
    tau_sum = a.tau_mem + a.tau_syn
    idx = np.asarray(x.idx).ravel()
    rates = np.bincount(idx[idx >= 0], minlength=N_IN)[:N_IN] / (x.idx.shape[0] * t_max)
    u_in = a.v_th * drive_unit(rates, tau_sum)
    u_h = a.v_th * drive_unit(np.full(hidden, 10.0), tau_sum)
    k_in, k_rec, k_out = jax.random.split(key, 3)

    def normal(k, shape, mean_std, unit):
        return unit * (mean_std[0] + mean_std[1] * jax.random.normal(k, shape, jnp.float32))

    return (normal(k_in, (N_IN, hidden), a.init_in, u_in),
            normal(k_rec, (hidden, hidden), a.init_rec, u_h),
            normal(k_out, (hidden, N_OUT), a.init_out, u_h))


def event_model(w, a, hidden: int, t_max: float, max_spikes: int) -> Sequential:
    w_in, w_rec, w_out = w
    p = event.LIFParams(tau_mem=a.tau_mem, tau_syn=a.tau_syn, v_th=a.v_th, t_refrac=a.t_refrac)
    rec = event.RecurrentEventPropLIF(N_IN, hidden, params=p, t_max=t_max, max_spikes=max_spikes,
                                      weight_in=w_in, weight_rec=w_rec, single_spike=False)
    p_out = event.LIFParams(tau_mem=a.tau_mem, tau_syn=a.tau_syn, v_th=a.v_th)
    out = event.EventPropLIF(hidden, N_OUT, params=p_out, t_max=t_max, max_spikes=N_OUT,
                             single_spike=True, weight=w_out)
    return Sequential([rec, out])


def mapped_population(layer: event.RecurrentEventPropLIF, x: Spikes) -> Spikes:
    """``layer`` over the batch ``x`` with the forward loop run sample by sample
    (`jax.lax.map`) and the EventProp backward pass vmapped over the batch (`event.
    eventprop_backward`, the layer's own backward pass). The same spikes and weight gradients
    as ``jax.vmap(layer)(x)``; a prototype for ``--event-batching map`` (weights only: the
    neuron parameters are plain numbers here, not trained)."""
    dyn, static = eqx.partition(layer, eqx.is_array)

    @jax.custom_vjp
    def run(dyn, x):
        return jax.lax.map(eqx.combine(dyn, static), x)

    def fwd(dyn, x):
        out = run(dyn, x)
        return out, (dyn, x, out)

    def bwd(res, ct):
        dyn, x, out = res
        m = eqx.combine(dyn, static)
        w_in, w_rec = m.effective_weights
        g = jax.vmap(lambda xi, oi, ci: event.eventprop_backward(
            m.params, w_in, w_rec, xi, oi, ci, m.t_max, single_spike=m.single_spike))(
            x, out, ct.time)
        zeros = jax.tree.map(jnp.zeros_like, dyn)
        g_dyn = eqx.tree_at(lambda d: (d.weight_in, d.weight_rec), zeros,
                            (g.weight.sum(0), g.weight_rec.sum(0)))
        return g_dyn, None

    run.defvjp(fwd, bwd)
    return run(dyn, x)


def batched(layer, x: Spikes, batching: str) -> Spikes:
    """The hidden population over a batch: ``jax.vmap`` (the library as is) or
    `mapped_population`."""
    return jax.vmap(layer)(x) if batching == "vmap" else mapped_population(layer, x)


def event_loss(t_max: float, tau_loss: float, batching: str = "vmap"):
    def loss_fn(model, x, y):
        hidden = batched(model.layers[0], x, batching)
        t = jax.vmap(lambda s: event.losses.first_spike_times(model.layers[1](s), N_OUT))(hidden)
        ce = jax.vmap(lambda t, y: event.losses.ttfs_cross_entropy(
            t, y, tau=tau_loss, t_silent=t_max))(t, y)
        aux = dict(hidden_per_neuron=jnp.mean(hidden.count) / model.layers[0].size,
                   out_fired=jnp.mean(jnp.isfinite(t)))
        return jnp.mean(ce), aux

    return loss_fn


def event_forward(w, a, hidden: int, t_max: float, x: Spikes, budget: int):
    """``(hidden spikes of each sample, cpu seconds)`` of one run of the hidden population's
    forward pass over the batch (``--event-batching``) with ``budget`` spikes, after compiling
    it."""
    rec = event_model(w, a, hidden, t_max, budget).layers[0]
    dyn, static = eqx.partition(rec, eqx.is_array)
    fwd = jax.jit(lambda d, s: batched(eqx.combine(d, static), s, a.event_batching).count)
    fwd = fwd.lower(dyn, x).compile()
    try:
        c0 = time.process_time()
        counts = jax.block_until_ready(fwd(dyn, x))
        return np.asarray(counts), time.process_time() - c0
    except Exception as err:  # noqa: BLE001 - say what to change
        if "max_spikes" in str(err):
            raise SystemExit(f"the hidden population ({hidden}) fired more than {budget} spikes "
                             "in a sample: lower --init-in/--init-rec, or raise --probe-rate / "
                             "--max-rate") from None
        raise


def discrete_model(w, a, hidden: int) -> Sequential:
    w_in, w_rec, w_out = w
    p = discrete.LIFParams(tau_mem=a.tau_mem, tau_syn=a.tau_syn, v_th=a.v_th,
                           t_refrac=a.t_refrac)
    lif = discrete.LIF(N_IN, hidden, params=p, dt=a.dt, surrogate=discrete.SuperSpike(a.alpha),
                       weight=w_in)
    readout = discrete.LI(hidden, N_OUT, params=discrete.LIParams(a.tau_mem, a.tau_syn),
                          dt=a.dt, weight=w_out)
    return Sequential([Recurrent(lif, weight_rec=w_rec), readout])


def discrete_loss(t_max: float, dt: float):
    def loss_fn(model, x, y):
        xs = x.to_dense(N_IN, t_max, dt)
        z = jax.vmap(model.layers[0])(xs)
        v = jax.vmap(model.layers[1])(z)
        aux = dict(hidden_per_neuron=jnp.mean(jnp.sum(z, axis=(1, 2))) / z.shape[-1],
                   out_fired=jnp.asarray(jnp.nan, jnp.float32))
        return discrete.nll_loss(discrete.max_over_time(v), y), aux

    return loss_fn


# ----------------------------------------------------------------------------- one step
def compiled_step(model, loss_fn, x, y, optimizer):
    """``(run, args, compile seconds)``: one training step (value and gradient, Adam update)
    compiled with ``jax.jit`` over the model's arrays; ``run(*args)`` runs it."""
    dyn, static = eqx.partition(model, eqx.is_array)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    def step(dyn, opt_state, x, y):
        m = eqx.combine(dyn, static)
        (loss, aux), g = eqx.filter_value_and_grad(loss_fn, has_aux=True)(m, x, y)
        upd, opt_state = optimizer.update(g, opt_state, eqx.filter(m, eqx.is_inexact_array))
        m = eqx.apply_updates(m, upd)
        return eqx.partition(m, eqx.is_array)[0], opt_state, loss, aux

    args = (dyn, opt_state, x, y)
    t0 = time.perf_counter()
    run = jax.jit(step).lower(*args).compile()
    return run, args, time.perf_counter() - t0


def memory_bytes(run) -> dict:
    """XLA's memory plan of a compiled step (bytes): temp, argument, output and their sum."""
    try:
        m = run.memory_analysis()
        out = dict(temp=int(m.temp_size_in_bytes), argument=int(m.argument_size_in_bytes),
                   output=int(m.output_size_in_bytes))
    except Exception:  # noqa: BLE001 - a backend without it
        return dict(temp=-1, argument=-1, output=-1, total=float("nan"))
    out["total"] = out["temp"] + out["argument"] + out["output"]
    return out


def time_step(run, args, repeat: int):
    """``(best wall seconds, best process CPU seconds, loss, aux)`` of ``repeat`` steps (the
    first call included: the step is compiled already). On a shared machine the CPU time is the
    steadier number (the event step runs on one core; XLA may use more for the discrete one)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        _, _, loss, aux = jax.block_until_ready(run(*args))
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, float(loss), {k: float(v) for k, v in aux.items()}


def bench(kind: str, a, hidden: int, n_spikes: int, t_max: float, t_in: float,
          sweep: str) -> dict:
    """One row: ``kind`` ("event" or "discrete") at ``hidden`` neurons, ``n_spikes`` input
    spikes per sample within the first ``t_in`` seconds, simulated for ``t_max`` seconds."""
    x, y = synthetic_shd(a.seed, a.batch, n_spikes, t_in)
    w = weights(jax.random.PRNGKey(a.seed), x, a, hidden, t_in)
    optimizer = optax.adam(1e-3)
    row = dict(sweep=sweep, net=kind, hidden=hidden, spikes=n_spikes, t_max=t_max, t_in=t_in,
               batch=a.batch)
    if kind == "event":
        if a.max_rate is None:  # measure the activity, budget = factor x the busiest sample
            probe = max(64, int(math.ceil(a.probe_rate * hidden * t_max)))
            counts = event_forward(w, a, hidden, t_max, x, probe)[0]
            budget = max(N_OUT, int(math.ceil(a.budget_factor * counts.max())))
        else:  # a fixed rate budget (as the SHD task sets it)
            budget = int(math.ceil(a.max_rate * hidden * t_max))
        counts, row["fwd_cpu_s"] = event_forward(w, a, hidden, t_max, x, budget)
        model = event_model(w, a, hidden, t_max, budget)
        loss_fn = event_loss(t_max, a.tau_loss, a.event_batching)
        # forward loop iterations (vmapped: the batch runs until its longest sample is done)
        # and the EventProp sweeps' length (input spikes + budget spikes + budget ends)
        row.update(budget=budget, steps=n_spikes + int(counts.max()),
                   bwd_events=n_spikes + 2 * budget, max_hidden=int(counts.max()))
    else:
        model, loss_fn = discrete_model(w, a, hidden), discrete_loss(t_max, a.dt)
        steps = int(math.ceil(t_max / a.dt - 1e-9))
        row.update(budget=None, steps=steps, bwd_events=steps, fwd_cpu_s=math.nan)
    run, args, row["compile_s"] = compiled_step(model, loss_fn, x, y, optimizer)
    row["mem"] = memory_bytes(run)
    row["step_s"], row["step_cpu_s"], row["loss"], aux = time_step(run, args, a.repeat)
    row.update(aux)
    return row


# ----------------------------------------------------------------------------- report
def slope(xs, ys) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (nan with fewer than 2 points)."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = (xs > 0) & (ys > 0) & np.isfinite(ys)
    if np.count_nonzero(ok) < 2 or np.ptp(np.log(xs[ok])) == 0:
        return float("nan")
    return float(np.polyfit(np.log(xs[ok]), np.log(ys[ok]), 1)[0])


HEADER = (f"{'sweep':9s} {'net':8s} {'H':>4s} {'spikes':>6s} {'t_in':>5s} {'t_max':>5s} "
          f"{'steps':>5s} {'budget':>6s} {'hid/n':>5s} {'compile':>7s} {'step_s':>8s} "
          f"{'cpu_s':>8s} {'fwd_cpu':>7s} {'mem_MB':>8s} {'temp_MB':>8s}")


def fmt(r: dict) -> str:
    budget = "-" if r["budget"] is None else str(r["budget"])
    fwd = "-" if not math.isfinite(r["fwd_cpu_s"]) else f"{r['fwd_cpu_s']:.3f}"
    return (f"{r['sweep']:9s} {r['net']:8s} {r['hidden']:4d} {r['spikes']:6d} "
            f"{r['t_in']:5.2f} {r['t_max']:5.2f} {r['steps']:5d} {budget:>6s} "
            f"{r['hidden_per_neuron']:5.2f} {r['compile_s']:7.1f} {r['step_s']:8.3f} "
            f"{r['step_cpu_s']:8.3f} {fwd:>7s} {r['mem']['total'] / 2**20:8.1f} "
            f"{r['mem']['temp'] / 2**20:8.1f}")


LEGEND = """columns: the inputs lie in [0, t_in) s, t_max = simulated s; steps = event: forward
loop iterations (input spikes + most hidden spikes of a sample: the vmapped loop runs until the
batch's longest sample is done), discrete: Euler steps; budget = hidden max_spikes (EventProp's
sweeps run over spikes + 2 budget events); hid/n = hidden spikes per neuron per sample;
compile = seconds to compile the step; step_s = best wall seconds of one training step; cpu_s =
process CPU seconds of it (steadier on a shared machine); fwd_cpu = CPU seconds of the hidden
population's forward pass alone (one run, same budget); mem_MB = temp + argument + output MiB
of XLA's memory_analysis of the compiled step; temp_MB = its temp part."""


def exponents(rows) -> list[dict]:
    """Log-log slopes of step time and memory for each (sweep, net)."""
    var = dict(hidden="hidden", spikes="spikes", t="t_max")
    out = []
    for sweep, key in var.items():
        for net in ("event", "discrete"):
            sel = [r for r in rows if r["net"] == net and sweep in r["in_sweeps"]]
            if len(sel) < 2:
                continue
            xs = [r[key] for r in sel]
            out.append(dict(sweep=sweep, net=net, points=len(sel),
                            time=slope(xs, [r["step_s"] for r in sel]),
                            cpu=slope(xs, [r["step_cpu_s"] for r in sel]),
                            memory=slope(xs, [r["mem"]["total"] for r in sel]),
                            temp=slope(xs, [r["mem"]["temp"] for r in sel])))
    return out


def plan(a) -> list[tuple[int, int, float, float, set]]:
    """The distinct configurations ``(hidden, spikes, t_max, t_in, sweeps)`` to run. The t
    sweep's inputs all lie in the first ``min(--t-sweep)`` seconds (the same words, then
    silence), so only the simulated time changes."""
    configs: dict[tuple, set] = {}
    for h in a.hidden:
        configs.setdefault((h, a.spikes, a.t_max, a.t_max), set()).add("hidden")
    h0 = a.hidden[0]
    for s in a.spikes_sweep or []:
        configs.setdefault((h0, s, a.t_max, a.t_max), set()).add("spikes")
    for t in a.t_sweep or []:
        configs.setdefault((h0, a.spikes, t, min(a.t_sweep)), set()).add("t")
    return [(*k, v) for k, v in configs.items()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512])
    p.add_argument("--spikes", type=int, default=4000, help="input spikes per sample")
    p.add_argument("--spikes-sweep", type=int, nargs="*", default=[1000, 2000, 4000],
                   help="input spike counts timed at the first --hidden")
    p.add_argument("--t-sweep", type=float, nargs="*", default=[0.25, 0.5, 1.0],
                   help="t_max values (s) timed at the first --hidden, --spikes fixed")
    p.add_argument("--t-max", type=float, default=1.0, help="simulated time (s)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeat", type=int, default=2, help="timed steps (best is reported)")
    p.add_argument("--nets", nargs="+", choices=["event", "discrete"],
                   default=["event", "discrete"])
    p.add_argument("--dt", type=float, default=1e-3, help="discrete Euler step (s)")
    p.add_argument("--tau-mem", type=float, default=2e-2)
    p.add_argument("--tau-syn", type=float, default=5e-3)
    p.add_argument("--v-th", type=float, default=1.0)
    p.add_argument("--t-refrac", type=float, default=2e-3, help="hidden refractory period (s)")
    p.add_argument("--alpha", type=float, default=100.0, help="SuperSpike sharpness (1/V)")
    p.add_argument("--tau-loss", type=float, default=2e-2, help="TTFS softmax temperature (s)")
    p.add_argument("--init-in", type=float, nargs=2, default=(0.0, 0.5), metavar=("MEAN", "STD"))
    p.add_argument("--init-rec", type=float, nargs=2, default=(0.0, 0.3),
                   metavar=("MEAN", "STD"))
    p.add_argument("--init-out", type=float, nargs=2, default=(0.5, 1.0),
                   metavar=("MEAN", "STD"))
    p.add_argument("--budget-factor", type=float, default=1.5,
                   help="hidden max_spikes = ceil(factor x most hidden spikes of a sample)")
    p.add_argument("--max-rate", type=float, default=None,
                   help="instead: hidden max_spikes = ceil(MAX_RATE hidden t_max) (Hz), no "
                        "measuring pass (steps then shows the bound)")
    p.add_argument("--event-batching", choices=["vmap", "map"], default="vmap",
                   help="hidden population over the batch: jax.vmap (the library as is; its "
                        "loop batching follows event.loop.LOOP_BATCHING), or forward per "
                        "sample (lax.map) with the EventProp backward vmapped (the earlier "
                        "prototype: same spikes and gradients)")
    p.add_argument("--probe-rate", type=float, default=50.0,
                   help="budget (Hz per neuron) of the forward pass that measures the activity")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes (H 16 32, 200 spikes, t_max 0.2 s, batch 4, 1 repeat, "
                        "no sweeps, --max-rate 50): a smoke test of the script")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    a = p.parse_args(argv)
    if a.quick:  # the quick sizes, unless given on the command line
        p.set_defaults(**QUICK)
        a = p.parse_args(argv)

    device = jax.devices()[0].device_kind
    print(f"device: {device} ({jax.default_backend()}), float32, batch {a.batch}, "
          f"{N_IN} inputs, {N_OUT} classes, tau_mem {a.tau_mem:g} s, tau_syn {a.tau_syn:g} s, "
          f"dt {a.dt:g} s, best of {a.repeat}, event batching {a.event_batching}; memory: XLA "
          "memory_analysis (temp+arg+out)", flush=True)
    print(HEADER, flush=True)
    rows = []
    for hidden, n_spikes, t_max, t_in, sweeps in plan(a):
        for net in a.nets:
            label = "+".join(SWEEP_LABEL[k] for k in ("hidden", "spikes", "t") if k in sweeps)
            r = bench(net, a, hidden, n_spikes, t_max, t_in, label)
            r["in_sweeps"] = sorted(sweeps)
            rows.append(r)
            print(fmt(r), flush=True)
    print()
    print(LEGEND)
    print(HEADER)
    for r in sorted(rows, key=lambda r: (r["net"], r["hidden"], r["spikes"], r["t_in"],
                                         r["t_max"])):
        print(fmt(r))
    exps = exponents(rows)
    print("\ngrowth exponents (log-log slope over the sweep; time: wall, cpu: process CPU):")
    print(f"{'vs':7s} {'net':9s} {'points':>6s} {'time':>7s} {'cpu':>7s} {'memory':>7s} "
          f"{'temp':>7s}")
    for e in exps:
        print(f"{e['sweep']:7s} {e['net']:9s} {e['points']:6d} {e['time']:7.2f} {e['cpu']:7.2f} "
              f"{e['memory']:7.2f} {e['temp']:7.2f}")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(
            dict(device=device, jax=jax.__version__, args=vars(a), rows=rows, exponents=exps),
            indent=1, default=str))


if __name__ == "__main__":
    main()
