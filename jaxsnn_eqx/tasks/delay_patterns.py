"""Temporal patterns that only learned synaptic delays can tell apart (coincidence detection).

Each sample is one spike on each of ``--channels`` input channels: channel ``i`` fires at
``s + i * interval_c + jitter``, where ``s`` is a random onset, ``jitter ~ N(0, --jitter^2)``
and the class ``c`` in ``0..K-1`` sets the interval, ``interval_c = (c + 1) * --gap``. So every
class shows the same channels in the same order; only the spacing differs. Each channel reaches
the network through ``--copies`` input lines (the same spike on each line).

The network is one layer of ``K`` single-spike LIF neurons (`event.LIF`), read out by the first
spike (cross entropy of ``softmax(-t / tau_syn)``). With per-connection delays (trained from
``U(0, --delay-init)``) output ``c`` can re-align the spikes of class ``c`` into a coincidence.
Without delays a neuron only sees the sum of the channels' responses, which for a gap of many
``tau_mem`` hardly overlap: the earliest output is the same for every class up to the small
overlap of the responses, which the jitter hides. The same network is trained the same way
without delays (`--no-baseline` skips it) and both test accuracies are reported:
``results.json`` has ``test_accuracy`` (with delays) and ``test_accuracy_weights_only``; the
weights-only run is saved in ``OUT/weights_only``.

Run: ``python -m jaxsnn_eqx.tasks.delay_patterns [--out DIR --seed N --epochs N ...]``.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import event
from ..spikes import Spikes
from ..train import named_keys, write_results
from .args import announce, base_parser, positive_float, positive_int
from .event_net import silent_output_check
from .recipe import finish, run_splits

__all__ = ["make_splits", "encode", "build_model", "make_fns", "parse", "run", "main"]

DEFAULTS = dict(out="runs/delay_patterns", seed=0, epochs=30, batch_size=32, lr=5e-2,
                n_train=1024, n_val=256, n_test=512)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    g = parser.add_argument_group("delay patterns")
    g.add_argument("--classes", type=positive_int, default=4, help="number of patterns K")
    g.add_argument("--channels", type=positive_int, default=2,
                   help="input channels, one spike each per sample")
    g.add_argument("--copies", type=positive_int, default=4,
                   help="input lines per channel (each with its own delays)")
    g.add_argument("--gap", type=positive_float, default=8e-3,
                   help="interval step between classes (s): class c spaces the channels by "
                        "(c + 1) gap")
    g.add_argument("--jitter", type=float, default=3e-4, help="spike-time jitter, std (s)")
    g.add_argument("--onset", type=float, default=1e-2,
                   help="random onset of the pattern, uniform in [0, ONSET] (s)")
    g.add_argument("--tau-syn", type=positive_float, default=2e-3, help="synaptic tau (s)")
    g.add_argument("--tau-mem", type=positive_float, default=4e-3, help="membrane tau (s)")
    g.add_argument("--delay-init", type=float, default=None,
                   help="initial delays ~ U(0, DELAY_INIT) (s) (default: (K + 1) gap)"
                        "%(default).0s")
    g.add_argument("--init", type=float, nargs=2, default=(2.5, 0.5), metavar=("MEAN", "STD"),
                   help="weight of a line ~ N(MEAN, STD^2) w1 / copies (w1: the weight of one "
                        "input that just reaches threshold; the default: two near-coincident "
                        "arrivals fire)")
    g.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the same network without delays (weights only)")
    return parser


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    a = argparse.Namespace(**vars(args))
    if a.delay_init is None:
        a.delay_init = (a.classes + 1) * a.gap
    span = (a.channels - 1) * a.classes * a.gap  # longest pattern
    a.t_max = a.onset + span + a.delay_init + 4 * a.gap + 10 * a.tau_mem
    return a


def make_splits(args: argparse.Namespace) -> dict:
    """``{"train"|"val"|"test": (times (n, channels), labels (n,))}`` from ``args.seed``."""
    rng = np.random.default_rng(args.seed)
    out = {}
    for name, n in (("train", args.n_train), ("val", args.n_val), ("test", args.n_test)):
        y = rng.integers(0, args.classes, n)
        onset = rng.uniform(0.0, args.onset, (n, 1))
        pos = np.arange(args.channels)[None, :] * (y[:, None] + 1) * args.gap
        t = onset + pos + rng.normal(0.0, args.jitter, (n, args.channels))
        out[name] = (jnp.asarray(np.maximum(t, 0.0)), jnp.asarray(y, jnp.int32))
    return out


def encode(x: jax.Array, args: argparse.Namespace) -> Spikes:
    """Channel times ``(n, channels)`` -> batched `Spikes` over ``channels * copies`` lines
    (line ``i * copies + r`` carries channel ``i``)."""
    t = jnp.repeat(x, args.copies, axis=1)
    idx = jnp.broadcast_to(jnp.arange(t.shape[1], dtype=jnp.int32), t.shape)
    return Spikes.from_arrays(t, idx)


def build_model(key: jax.Array, args: argparse.Namespace) -> event.LIF:
    """One layer ``channels * copies -> classes`` of single-spike LIF neurons; with
    ``args.delays`` per-connection delays ``~ U(0, delay_init)``."""
    keys = named_keys(key, ("weight", "delay"))
    k_w, k_d = keys["weight"], keys["delay"]
    n_in = args.channels * args.copies
    p = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn)
    delay = (jax.random.uniform(k_d, (n_in, args.classes), maxval=args.delay_init)
             if args.delays else None)
    return event.LIF(n_in, args.classes, params=p, t_max=args.t_max, max_spikes=args.classes,
                     single_spike=True, key=k_w, init_mean=args.init[0] * args.channels,
                     init_std=args.init[1] * args.channels, delay=delay)


def make_fns(args: argparse.Namespace):
    """``(loss_fn, predict_fn)``: cross entropy of the first-spike times, first spike wins."""

    def first(model, x):
        return jax.vmap(lambda s: event.losses.first_spike_times(model(s), args.classes))(x)

    check_silent = silent_output_check("delay patterns", args)

    def loss_fn(model, x, y):
        t = first(model, x)
        check_silent(t)
        return jnp.mean(jax.vmap(lambda t, y: event.losses.ttfs_cross_entropy(
            t, y, tau=args.tau_syn, t_silent=args.t_max))(t, y))

    def predict_fn(model, x):
        return event.losses.predict(first(model, x))

    return loss_fn, predict_fn


def step_factors(model, args: argparse.Namespace):
    """Adam steps in units of ``tau_syn`` for the weights and of ``gap`` for the delays."""
    f = jax.tree.map(lambda _: 1.0, eqx.filter(model, eqx.is_inexact_array))
    f = eqx.tree_at(lambda m: m.weight, f, args.tau_syn)
    if model.delay is not None:
        f = eqx.tree_at(lambda m: m.delay, f, args.gap)
    return f


def project(model):
    """After each step: delays back into ``[0, inf)`` (a negative delay acts as 0 anyway)."""
    if model.delay is None:
        return model
    return eqx.tree_at(lambda m: m.delay, model, jnp.maximum(model.delay, 0.0))


def parse(argv: list[str] | None = None, **defaults) -> argparse.Namespace:
    parser = add_arguments(base_parser(__doc__.splitlines()[0], **{**DEFAULTS, **defaults}))
    parser.set_defaults(plot=False)  # no figures of their own (`jaxsnn-eqx plot` knows Yin-Yang)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    """Train with delays (``args.out``) and, with ``--baseline``, without them
    (``args.out / "weights_only"``); returns the results with both test accuracies."""
    t0 = time.perf_counter()
    a = _resolve(args)
    splits = make_splits(a)
    t_data = time.perf_counter() - t0
    common = dict(encode=encode, build_model=build_model, make_fns=make_fns,
                  step_factors=step_factors)
    base = None
    if a.baseline:
        b = argparse.Namespace(**{**vars(a), "delays": False})
        if a.out is not None:
            b.out = a.out / "weights_only"
        base = run_splits(b, splits, t0=time.perf_counter(), **common)
    d = argparse.Namespace(**{**vars(a), "delays": True})
    results = run_splits(d, splits, t0=time.perf_counter(), post_update=project, **common)
    results["timing_seconds"]["setup"] += t_data
    if base is not None:
        results["test_accuracy_weights_only"] = base["test_accuracy"]
        results["weights_only_seconds"] = base["total_seconds"]
        results["timing_seconds"]["baseline"] = base["total_seconds"]
    results["total_seconds"] = time.perf_counter() - t0
    if a.out is not None:
        write_results(a.out, results)
    return results


def main(argv: list[str] | None = None, **defaults) -> dict:
    """Parse ``argv``, train with and without delays, print both test accuracies."""
    args = parse(argv, **defaults)
    a = _resolve(args)
    announce(args, f"delay patterns: {a.classes} classes, {a.channels} channels x {a.copies} "
             f"lines -> {a.classes} single-spike LIF, per-connection delays",
             dict(t_max=f"{a.t_max:g} s (from the pattern span, --delay-init and --tau-mem)"),
             gap=a.gap, jitter=a.jitter, tau_syn=a.tau_syn, tau_mem=a.tau_mem,
             delay_init=a.delay_init)
    results = finish(args, run(args))
    wo = results.get("test_accuracy_weights_only")
    print(f"test accuracy with delays {results['test_accuracy']:.4f}"
          + ("" if wo is None else f", weights only {wo:.4f}"))
    return results


if __name__ == "__main__":
    from .entry import task_entry

    task_entry(main)
