"""Yin-Yang with an event-based LIF network, time-to-first-spike coding and exact gradients.

Network: latency-coded inputs ``(x, y, 1 - x, 1 - y, bias)`` -> ``--hidden`` LIF neurons ->
3 LIF output neurons, every neuron firing at most once (``single_spike``). The class is the
output neuron that fires first; training minimises the cross entropy of ``softmax(-t / tau)``
over the output first-spike times (plus a small term rewarding an early correct spike), with
gradients by the implicit function theorem through every spike time (`event.LIF`).

Run with ``python -m jaxsnn_eqx.event.tasks.yinyang_analytical`` or
``jaxsnn-eqx train yinyang --method analytical``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .. import data, event
from ..containers import Sequential
from ..train import fit, make_optimizer
from .common import base_parser, config_of, finish, positive_float, positive_int

__all__ = ["add_arguments", "build_model", "encode", "make_fns", "run", "main"]

DEFAULTS = dict(out="runs/yinyang_analytical", seed=0, epochs=20, batch_size=64, lr=5e-3)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add this task's flags (network, neuron, encoding, loss) to ``parser``."""
    g = parser.add_argument_group("analytical (event-based) Yin-Yang")
    g.add_argument("--hidden", type=positive_int, default=120, help="hidden LIF neurons")
    g.add_argument("--tau-syn", type=positive_float, default=5e-3, help="synaptic tau (s)")
    g.add_argument("--ratio", type=positive_float, default=2.0,
                   help="tau_mem / tau_syn (2 uses the closed-form crossing, others Newton)")
    g.add_argument("--tau-mem", type=positive_float, default=None,
                   help="membrane tau (s); overrides --ratio")
    g.add_argument("--v-th", type=positive_float, default=1.0, help="threshold (V), v_leak = 0")
    g.add_argument("--t-late", type=positive_float, default=None,
                   help="input time of feature value 1 (s; default 2 tau_syn); value 0 at t=0")
    g.add_argument("--bias-time", type=float, default=None,
                   help="bias input spike time (s; default 0.9 tau_syn)")
    g.add_argument("--t-max", type=positive_float, default=None,
                   help="simulated duration (s; default 4 t_late)")
    g.add_argument("--init-hidden", type=float, nargs=2, default=(3.75, 2.0),
                   metavar=("MEAN", "STD"), help="hidden weight init (see event.LIF)")
    g.add_argument("--init-out", type=float, nargs=2, default=(15.0, 24.0),
                   metavar=("MEAN", "STD"), help="output weight init (see event.LIF)")
    g.add_argument("--tau-loss", type=positive_float, default=None,
                   help="softmax temperature of the TTFS cross entropy (s; default tau_syn)")
    g.add_argument("--alpha", type=float, default=3e-3,
                   help="weight of the early-correct-spike term alpha (exp(t/tau_reg) - 1)")
    return parser


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in the defaults that depend on tau_syn."""
    a = argparse.Namespace(**vars(args))
    if a.tau_mem is None:
        a.tau_mem = a.ratio * a.tau_syn
    a.ratio = a.tau_mem / a.tau_syn
    if a.t_late is None:
        a.t_late = 2 * a.tau_syn
    if a.bias_time is None:
        a.bias_time = 0.9 * a.tau_syn
    if a.t_max is None:
        a.t_max = 4 * a.t_late
    if a.tau_loss is None:
        a.tau_loss = a.tau_syn
    return a


def encode(x: jax.Array, args: argparse.Namespace):
    """Yin-Yang points ``(n, 2)`` -> batched `Spikes` ``(n, 5)``."""
    return data.encode_latency(x, t_early=0.0, t_late=args.t_late, bias_time=args.bias_time)


def build_model(key: jax.Array, args: argparse.Namespace) -> Sequential:
    """5 -> hidden -> 3 single-spike LIF layers."""
    k1, k2 = jax.random.split(key)
    p = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th)
    common = dict(params=p, t_max=args.t_max, single_spike=True)
    hidden = event.LIF(5, args.hidden, max_spikes=args.hidden, key=k1,
                       init_mean=args.init_hidden[0], init_std=args.init_hidden[1], **common)
    out = event.LIF(args.hidden, 3, max_spikes=3, key=k2,
                    init_mean=args.init_out[0], init_std=args.init_out[1], **common)
    return Sequential([hidden, out])


def make_fns(args: argparse.Namespace):
    """``(loss_fn, predict_fn)`` for `train.fit` (batched)."""

    def first_times(model, spikes):
        return event.losses.first_spike_times(model(spikes), 3)

    def loss_fn(model, x, y):
        t = jax.vmap(first_times, in_axes=(None, 0))(model, x)
        losses = jax.vmap(
            lambda t, y: event.losses.ttfs_cross_entropy(
                t, y, tau=args.tau_loss, t_silent=args.t_max, alpha=args.alpha,
                tau_reg=args.tau_mem,
            )
        )(t, y)
        return jnp.mean(losses)

    def predict_fn(model, x):
        return event.losses.predict(jax.vmap(first_times, in_axes=(None, 0))(model, x))

    return loss_fn, predict_fn


def scaled_optimizer(optimizer, model: Sequential) -> optax.GradientTransformation:
    """Scale each layer's updates by its ``tau_syn`` (s), i.e. take the optimiser's steps in
    units of the current jump ``w / tau_syn`` (V) of one input spike, for every layer."""
    factors = [float(jnp.mean(jnp.asarray(layer.params.tau_syn))) for layer in model.layers]

    def update(updates, state, params=None):
        del params
        layers = tuple(
            eqx.tree_at(lambda m: m.weight, u, u.weight * f)
            for u, f in zip(updates.layers, factors, strict=True)
        )
        return eqx.tree_at(lambda m: m.layers, updates, layers), state

    scale = optax.GradientTransformation(lambda params: optax.EmptyState(), update)
    return optax.chain(optimizer, scale)


def run(args: argparse.Namespace) -> dict:
    """Train and evaluate; returns the results dict (also written to ``args.out``)."""
    t0 = time.perf_counter()
    args = _resolve(args)
    splits = data.yinyang_splits(args.seed)
    sets = {name: (encode(x, args), y) for name, (x, y) in splits.items()}
    k_model, k_shuffle = jax.random.split(jax.random.PRNGKey(args.seed))
    model = build_model(k_model, args)
    loss_fn, predict_fn = make_fns(args)
    steps_per_epoch = sets["train"][1].shape[0] // args.batch_size
    optimizer = scaled_optimizer(make_optimizer(args.lr, args.epochs, steps_per_epoch), model)
    model, results = fit(
        model, loss_fn, predict_fn, sets["train"], sets["val"], sets["test"],
        optimizer=optimizer, epochs=args.epochs, batch_size=args.batch_size, key=k_shuffle,
        out=args.out, config=config_of(args), resume=args.resume, progress=args.progress,
    )
    results["total_seconds"] = time.perf_counter() - t0
    if args.out is not None:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = add_arguments(base_parser(__doc__.splitlines()[0], **DEFAULTS))
    args = parser.parse_args(argv)
    return finish(args, run(args))


if __name__ == "__main__":
    main()
