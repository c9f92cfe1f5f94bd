"""Bias and variance of the in-the-loop gradient under read-out jitter, per layer.

The chip of each row is `hardware.Emulator.ideal(jitter=f tau_syn)`: the spikes inside the chip
are exact, only the recorded times are jittered. The loss (squared error of the output
first-spike times) is then, in expectation over the jitter, the ideal chip's loss plus a
constant, so the gradient of the expected loss is the *ideal chip's gradient*: the reference.
For a network trained ``--epochs`` epochs in software, on a fixed batch of ``--batch`` training
points, ``--draws`` jitter draws give gradients ``g_d``; per layer (input -> hidden, hidden ->
output) the script reports, relative to the norm of the reference ``g_0``:

* ``bias``: ``|mean_d g_d - g_0|`` (includes the noise of the mean, ``std / sqrt(draws)``);
* ``std``: ``sqrt(mean_d |g_d - mean g|^2)``;
* ``cos``: cosine between ``mean_d g_d`` and ``g_0``;

for each ``adjoint_at`` of `event.HardwareRecurrentLIF`. It also describes the observed spikes
where the adjoint is taken (``adjoint_at="observed"``): the software membrane's slope there
(fraction of spikes at the ``slope_floor``, and below zero), how far the observed time is from
the software model's crossing for the observed inputs (``|t_obs - t_sw|`` in ns), and the
(hidden, output) pairs whose order the jitter flipped.

Usage: ``python benchmarks/hardware_gradients.py [--epochs 20] [--draws 32] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import equinox as eqx
import jax
import numpy as np
from hardware_robustness import task_args, train_once  # benchmarks/ is on sys.path

from jaxsnn_eqx import data, hardware
from jaxsnn_eqx.event import hardware_lif
from jaxsnn_eqx.event.lif import membrane
from jaxsnn_eqx.tasks import yinyang_hardware as task

JITTER = (0.01, 0.025, 0.05, 0.10)  # fractions of tau_syn
MODES = hardware_lif.ADJOINT_AT


def layers(g, hidden: int) -> dict[str, np.ndarray]:
    """The trained blocks of a gradient (or weights): input -> hidden, hidden -> output."""
    return {"hidden": np.asarray(g.weight_in[..., :, :hidden]),
            "output": np.asarray(g.weight_rec[..., :hidden, hidden:])}


def gradient_fn(args):
    loss_fn, _ = task.make_fns(args)

    @eqx.filter_jit
    def grads(model, x, y, keys):
        return jax.vmap(lambda k: eqx.filter_grad(loss_fn)(model, x, y, k))(keys)

    return grads


def stats(draws: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """``draws (D, ...)`` against ``ref``: relative bias, std, cosine of the mean."""
    mean = draws.mean(0)
    norm = np.linalg.norm(ref)
    std = np.sqrt(np.mean(np.sum((draws - mean) ** 2, axis=tuple(range(1, draws.ndim)))))
    cos = float(np.sum(mean * ref) / (np.linalg.norm(mean) * norm))
    return dict(bias=float(np.linalg.norm(mean - ref) / norm), std=float(std / norm), cos=cos,
                noise_of_mean=float(std / norm / np.sqrt(draws.shape[0])))


def spike_table(out, hidden: int, n_out: int):
    """Per sample: first times of the hidden ``(B, H)`` and output ``(B, 3)`` neurons."""
    t = out.first_times(hidden + n_out)
    return np.asarray(t[:, :hidden]), np.asarray(t[:, hidden:])


def diagnose(model, args, x, keys, ideal_out) -> dict[str, float]:
    """Where the observed adjoint is taken: software slope, distance to the software crossing,
    order flips of (hidden, output) pairs (output block; the jitter draws of ``keys``)."""
    h, ts, tm = args.hidden, args.tau_syn, args.tau_mem
    theta = 1.0
    w = np.asarray(model.weight_rec[:h, h:])  # (H, 3)
    th_true, to_true = spike_table(ideal_out, h, task.N_OUT)
    slopes, dist, flips, pairs = [], [], 0, 0
    run = eqx.filter_jit(lambda m, k: jax.vmap(lambda s, kk: m(s, key=kk))(
        x, jax.random.split(k, x.time.shape[0])))
    for k in keys:
        th, to = spike_table(run(model, k), h, task.N_OUT)
        lag = to[:, None, :] - th[:, :, None]  # (B, H, 3): observed output - observed hidden
        felt = np.isfinite(lag) & (lag > 0)
        q = np.where(felt, w[None] / ts, 0.0)
        lag0 = np.where(felt, lag, 0.0)
        i_star = np.sum(q * np.exp(-lag0 / ts), axis=1)
        u_star = np.sum(np.where(felt, np.asarray(membrane(lag0, 0.0, q, tm, ts)), 0.0), axis=1)
        fired = np.isfinite(to)
        slope = (i_star - theta) / tm  # the closed form's du/dt (assumes u = theta at t_obs)
        slopes.append(slope[fired] * tm / theta)
        dist.append(np.abs(u_star[fired] - theta))
        lag_true = to_true[:, None, :] - th_true[:, :, None]
        both = np.isfinite(lag) & np.isfinite(lag_true) & (w[None] != 0)
        flips += int(np.sum(both & ((lag > 0) != (lag_true > 0))))
        pairs += int(np.sum(both & (np.abs(lag_true) < 1e-6)))
    s, d = np.concatenate(slopes), np.concatenate(dist)
    return dict(slope_floor_hits=float(np.mean(s < args.slope_floor)),
                negative_slope=float(np.mean(s < 0)),
                median_slope=float(np.median(s)),
                membrane_off_threshold_median=float(np.median(d)),
                order_flips_per_close_pair=flips / max(pairs, 1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20, help="software training before measuring")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--draws", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--levels", nargs="+", type=float, default=JITTER,
                    help="jitter levels (fractions of tau_syn)")
    ap.add_argument("--json", type=pathlib.Path, default=None)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    args = task_args(["--epochs", str(a.epochs), "--seed", str(a.seed), "--no-progress",
                      "--backend", "ideal"])
    model, _ = train_once(args) if a.epochs else (task.build_model(
        jax.random.PRNGKey(a.seed), args), None)
    x, y = data.yinyang(jax.random.PRNGKey(a.seed + 77), size=a.batch)
    xs = task.encode(x, args)
    grads = gradient_fn(args)
    keys = jax.random.split(jax.random.PRNGKey(1234), a.draws)

    def on(emu, mode):
        m = jax.tree_util.tree_map(lambda v: v, eqx.tree_at(lambda m: m.backend, model, emu))
        object.__setattr__(m, "adjoint_at", mode)  # a static field: a copy, then set
        return m

    ideal = on(hardware.Emulator.ideal(), "observed")
    ref = layers(jax.tree.map(lambda g: g[0], grads(ideal, xs, y, keys[:1])), args.hidden)
    ideal_out = jax.vmap(lambda s: ideal(s))(xs)
    rows = []
    print(f"trained {a.epochs} epochs in software; batch {a.batch}, {a.draws} draws; "
          f"|g_0| hidden {np.linalg.norm(ref['hidden']):.3g}, output "
          f"{np.linalg.norm(ref['output']):.3g}", flush=True)
    print(f"{'jitter':>7s} {'adjoint_at':>12s} | {'layer':6s} {'bias':>6s} {'std':>6s} "
          f"{'cos':>6s} {'(noise)':>7s}", flush=True)
    for f in a.levels:
        emu = hardware.Emulator.ideal(jitter=f * args.tau_syn)
        for mode in MODES:
            g = grads(on(emu, mode), xs, y, keys)
            per = layers(g, args.hidden)
            row = dict(jitter=f, adjoint_at=mode)
            for name in ("hidden", "output"):
                st = stats(per[name], ref[name])
                row[name] = st
                print(f"{100 * f:6.1f}% {mode:>12s} | {name:6s} {st['bias']:6.3f} "
                      f"{st['std']:6.3f} {st['cos']:6.3f} {st['noise_of_mean']:7.3f}",
                      flush=True)
            rows.append(row)
        diag = diagnose(on(emu, "observed"), args, xs, keys[:8], ideal_out)
        rows.append(dict(jitter=f, diagnostics=diag))
        print(f"{100 * f:6.1f}% observed spikes (output block): " + ", ".join(
            f"{k} {v:.3g}" for k, v in diag.items()), flush=True)
    total = time.perf_counter() - t0
    print(f"total {total:.0f} s")
    if a.json:
        a.json.write_text(json.dumps(dict(epochs=a.epochs, batch=a.batch, draws=a.draws,
                                          seed=a.seed, seconds=total, rows=rows), indent=1))


if __name__ == "__main__":
    main()
