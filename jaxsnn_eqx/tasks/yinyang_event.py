"""Yin-Yang with event-based LIF neurons and exact gradients (analytical or EventProp).

The one event-based Yin-Yang task; ``--gradient`` picks how the exact gradient is computed:

* ``analytical``: a `Sequential` of two `event.LIF` layers (5-``hidden``-3), differentiated by
  the implicit function theorem through every spike time;
* ``eventprop`` (default): the same network trained by EventProp (exact adjoint gradients),
  either as one recurrent population (`event.RecurrentEventPropLIF`) whose fixed connectivity
  masks make it a 5-``hidden``-3 feed-forward network, as in the original jaxsnn task, or with
  ``--layered`` as a `Sequential` of two `event.EventPropLIF` layers (gradients pass between the
  layers through the input spike times).

Every neuron fires at most once; the class is the output neuron that fires first. The default
loss is the squared error of the output first-spike times to target times (correct class early,
the others later but still firing), plus weight bumping for silent neurons; ``--loss ce`` selects
the cross entropy of ``softmax(-t / tau)`` instead.

``--delays`` adds learnable per-connection synaptic delays on the input -> hidden connections
(initially ``U(0, --delay-init)``, default all zero), trained with the weights by the same exact
gradients and kept ``>= 0`` after every step.

Entry points: ``python -m jaxsnn_eqx.event.tasks.yinyang_analytical`` (``--gradient analytical``),
``python -m jaxsnn_eqx.event.tasks.yinyang_event_prop [--layered]``, and
``jaxsnn-eqx train yinyang --method analytical|eventprop|eventprop-layered``. Defaults (every
method): 300 epochs of batches of 16 at lr 1e-2, cosine-decayed to 0.5% of it
(``--final-lr-fraction``); the last epoch's model is tested and saved (``--select last``).
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import data, event
from ..containers import Sequential
from ..train import named_keys
from .args import announce, base_parser
from .event_net import add_ttfs_arguments, silent_output_check
from .recipe import finish, run_yinyang, unit_factors
from .runs import Activity, FigureHooks, spike_list

__all__ = [
    "METHOD_SETTINGS", "add_arguments", "build_model", "describe", "encode", "make_fns", "parse",
    "parser_for", "run", "main", "model_like", "figure_hooks",
]

# One recipe for every method: 300 epochs of batches of 16 at lr 1e-2 (cosine decay). The layered
# networks solve an epoch in about 0.1 s and the masked recurrent population, simulated stage by
# stage (`event.stages`), in about 0.2 s (it ran 70 epochs at 2e-2 and batch 64 while it needed
# its one event loop: 96.1% with seed 0). What bought accuracy
# per second (analytical, seeds 0 and 1, 2-core CPU): more and smaller steps (batch 16: 98.5 /
# 98.1%; batch 32: 97.7 / 97.3%; batch 64: 98.2 / 97.7%, all 300 epochs) more than more epochs
# (500 at batch 64: 97.6 / 97.0%) or a wider hidden layer (200: 97.7 / 98.7%, twice the time);
# input-time jitter, the cross entropy loss and other target times did worse. The previous
# layered defaults (150 epochs, batch 64) gave 96.3-97.0% over seeds 0-4.
# The schedule ends at 0.5% of the peak rate (`--final-lr-fraction`; with `train.make_optimizer`'s
# default 5% the validation accuracy of the last 30 epochs still moved by 0.26-0.33 points from
# one epoch to the next, 0.12 at 0.5%), and the last epoch's model is tested (`--select last`):
# with 1000 validation points the best-validation epoch is a noisy pick, now and then an early
# one (layered EventProp, seed 3, 5% schedule: epoch 92 of 300, 97.1% on 20,000 fresh points
# against 98.2% for the last epoch). With the 0.5% schedule, over seeds 0-4 of both layered
# methods, the last epoch scored 98.15% on 20,000 fresh points, the best-validation one 98.04%.
DEFAULTS = dict(out="runs/yinyang_eventprop", seed=0, epochs=300, batch_size=16, lr=1e-2,
                select="last")
N_OUT = 3
# The roles of `build_model`'s key (`train.named_keys`: split once): the input -> hidden weights,
# the hidden -> output weights, the initial delays.
MODEL_KEYS = ("hidden", "output", "delay")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add this task's flags (network, neuron, encoding, loss) to ``parser``."""
    g = parser.add_argument_group("event-based Yin-Yang")
    g.add_argument("--gradient", choices=("eventprop", "analytical"), default="eventprop",
                   help="exact gradients by EventProp (adjoint) or by autodiff through the "
                        "spike times (analytical; implies --layered)")
    g.add_argument("--layered", action="store_true",
                   help="a Sequential of EventPropLIF layers instead of one masked recurrent "
                        "population")
    add_ttfs_arguments(g, hidden=120, n_in=5, init_hidden=(3.75, 2.0), init_out=(15.0, 24.0),
                       t_late_help="input time of feature value 1 (s); value 0 at t=0")
    g.add_argument("--delays", action="store_true",
                   help="learnable synaptic delays on the input -> hidden connections (one per "
                        "connection), trained with the weights; in the recurrent population each "
                        "input spike then becomes one event per neuron (an epoch ~11x slower: "
                        "prefer a layered network)")
    g.add_argument("--delay-init", type=float, default=0.0,
                   help="with --delays: initial delays ~ U(0, DELAY_INIT) (s); 0: all zero")
    g.add_argument("--final-lr-fraction", type=_fraction, default=5e-3,
                   help="the cosine schedule decays the learning rate from --lr to this fraction "
                        "of it by the last step")
    g.add_argument("--jitter", type=float, default=0.0,
                   help="std (s) of Gaussian noise on the training input spike times, a fresh "
                        "draw every step (0: off)")
    return parser


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1], got {text}")
    return value


def weight_units(model, args: argparse.Namespace):
    """Per-weight step scale: ``tau_syn`` for every weight, so the optimiser's steps are in
    units of the current jump ``w / tau_syn`` (V) of one input spike, in every layer."""
    units = unit_factors(model)
    if args.layered:
        units = eqx.tree_at(lambda m: (m.layers[0].weight, m.layers[1].weight), units,
                            (args.tau_syn, args.tau_syn))
    else:
        units = eqx.tree_at(lambda m: (m.weight_in, m.weight_rec), units,
                            (args.tau_syn, args.tau_syn))
    if getattr(args, "delays", False):  # delay steps in units of tau_syn (s) as well
        units = eqx.tree_at(lambda m: _input_layer(m, args).delay, units, args.tau_syn)
    return units


def _input_layer(model, args):
    """The layer that holds the input -> hidden weights (and delays)."""
    return model.layers[0] if args.layered else model


def project_delays(args: argparse.Namespace):
    """``post_update`` with ``--delays``: the delays back into ``[0, inf)`` after every step (a
    negative delay would act as 0, with zero gradient)."""

    def project(model):
        get = lambda m: _input_layer(m, args).delay
        return eqx.tree_at(get, model, jnp.maximum(get(model), 0.0))

    return project


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in the defaults that depend on tau_syn."""
    a = argparse.Namespace(**vars(args))
    if a.gradient == "analytical":
        a.layered = True
    a.delays = getattr(a, "delays", False)  # runs saved before the flag existed
    a.delay_init = getattr(a, "delay_init", 0.0)
    a.jitter = getattr(a, "jitter", 0.0)
    a.final_lr_fraction = getattr(a, "final_lr_fraction", 0.05)  # make_optimizer's default
    a.tau_mem = a.ratio * a.tau_syn
    if a.t_late is None:
        a.t_late = 2 * a.tau_syn
    if a.bias_time is None:
        a.bias_time = 0.9 * a.tau_syn
    if a.t_max is None:
        a.t_max = 4 * a.t_late
    if a.tau_loss is None:
        a.tau_loss = a.tau_syn
    if a.t_correct is None:
        a.t_correct = 1.5 * a.tau_syn
    if a.t_wrong is None:
        a.t_wrong = 2.5 * a.tau_syn
    return a


def encode(x: jax.Array, args: argparse.Namespace):
    """Yin-Yang points ``(n, 2)`` -> batched `Spikes` ``(n, 5)``."""
    return data.encode_latency(x, t_early=0.0, t_late=args.t_late, bias_time=args.bias_time)


def build_model(key: jax.Array, args: argparse.Namespace):
    """``RecurrentEventPropLIF`` (masked to 5-hidden-3) or, with ``--layered``, two layers
    (`event.LIF` for analytical gradients, `event.EventPropLIF` for EventProp)."""
    keys = named_keys(key, MODEL_KEYS)
    k1, k2 = keys["hidden"], keys["output"]
    p = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th)
    n_in, h = 5, args.hidden
    delay = None
    if args.delays:  # per connection, input -> hidden (own key: the weights stay as without)
        n_to = h if args.layered else h + N_OUT
        delay = jax.random.uniform(keys["delay"], (n_in, n_to), maxval=args.delay_init)
    if args.layered:
        common = dict(params=p, t_max=args.t_max, single_spike=True)
        layer = event.LIF if args.gradient == "analytical" else event.EventPropLIF
        hidden = layer(n_in, h, max_spikes=h, key=k1, init_mean=args.init_hidden[0],
                       init_std=args.init_hidden[1], delay=delay, **common)
        out = layer(h, N_OUT, max_spikes=N_OUT, key=k2, init_mean=args.init_out[0],
                    init_std=args.init_out[1], **common)
        return Sequential([hidden, out])
    size = h + N_OUT
    w1 = event.lif_weight_scale(p)
    z_in = jax.random.normal(k1, (n_in, size))
    z_out = jax.random.normal(k2, (h, N_OUT))
    weight_in = w1 * (args.init_hidden[0] + args.init_hidden[1] * z_in) / n_in
    weight_rec = jnp.zeros((size, size)).at[:h, h:].set(
        w1 * (args.init_out[0] + args.init_out[1] * z_out) / h
    )
    mask_in = jnp.zeros((n_in, size), bool).at[:, :h].set(True)
    mask = jnp.zeros((size, size), bool).at[:h, h:].set(True)
    return event.RecurrentEventPropLIF(
        n_in, size, params=p, t_max=args.t_max, max_spikes=size, weight_in=weight_in,
        weight_rec=weight_rec, mask=mask, mask_in=mask_in, single_spike=True, delay=delay,
    )


def _layers_out(model, spikes, args):
    """(hidden spikes, output first-spike times) of one sample."""
    if args.layered:
        hidden = model.layers[0](spikes)
        return hidden, event.losses.first_spike_times(model.layers[1](hidden), N_OUT)
    out = model(spikes)
    return out, event.losses.first_spike_times(out, args.hidden + N_OUT)[args.hidden :]


def _bump(model, hidden, t_out, args):
    """Weight bumping (Goeltz et al. 2021): silent neurons get no gradient from spike-time
    losses, so for each neuron silent in the batch a term ``-bump frac_silent sum_i w_ij / w1``
    raises its input weights (``frac_silent`` is a constant)."""
    w1 = event.lif_weight_scale(
        event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th))
    h = args.hidden
    silent_h = jax.lax.stop_gradient(
        jnp.mean(hidden.counts(h if args.layered else h + N_OUT)[:, :h] == 0, axis=0))
    silent_o = jax.lax.stop_gradient(jnp.mean(~jnp.isfinite(t_out), axis=0))
    if args.layered:
        w_h, w_o = model.layers[0].weight, model.layers[1].weight
    else:
        w_h, w_o = model.weight_in[:, :h], model.weight_rec[:h, h:]
    return -args.bump * (jnp.sum(silent_h * w_h.sum(0)) + jnp.sum(silent_o * w_o.sum(0))) / w1


def _jitter(x, std: float, key: jax.Array):
    """Training input spikes with Gaussian noise of ``std`` (s) on their times (kept >= 0)."""
    noise = std * jax.random.normal(key, x.time.shape, x.time.dtype)
    return type(x)(jnp.maximum(x.time + noise, 0.0), x.idx).sort()


def make_fns(args: argparse.Namespace):
    """``(loss_fn, predict_fn)`` for `train.fit` (batched)."""

    check_silent = silent_output_check(f"yinyang, method {getattr(args, 'method', '?')}", args)

    def loss_fn(model, x, y, key=None):
        if args.jitter and key is not None:
            x = _jitter(x, args.jitter, key)
        hidden, t = jax.vmap(_layers_out, in_axes=(None, 0, None))(model, x, args)
        check_silent(t)
        if args.loss == "mse":
            target = jnp.where(jax.nn.one_hot(y, N_OUT) > 0, args.t_correct, args.t_wrong)
            losses = jax.vmap(
                lambda t, target: event.losses.mse_times(
                    t, target, t_silent=args.t_max, scale=args.tau_syn)
            )(t, target)
        else:
            losses = jax.vmap(
                lambda t, y: event.losses.ttfs_cross_entropy(
                    t, y, tau=args.tau_loss, t_silent=args.t_max, alpha=args.alpha,
                    tau_reg=args.tau_mem,
                )
            )(t, y)
        loss = jnp.mean(losses)
        if args.bump:
            loss = loss + _bump(model, hidden, t, args)
        return loss

    def predict_fn(model, x, key=None):
        _, t = jax.vmap(_layers_out, in_axes=(None, 0, None))(model, x, args)
        return event.losses.predict(t)

    return loss_fn, predict_fn


def model_like(config: dict):
    """A model of the structure a run saved with ``config`` (its ``results.json["config"]``)
    trained: `build_model` of the saved settings, to load ``model.eqx`` into."""
    return build_model(jax.random.PRNGKey(0), _resolve(argparse.Namespace(**config)))


def figure_hooks(config: dict) -> FigureHooks:
    """What `tasks.figures.run_figures` needs from this task for a run saved with ``config``."""
    args = _resolve(argparse.Namespace(**config))
    h = args.hidden

    def readout(model, x, key=None):
        return jax.vmap(_layers_out, in_axes=(None, 0, None))(model, x, args)[1]

    def record(model, x, key=None):
        if args.layered:
            hidden = model.layers[0](x)
            return hidden, model.layers[1](hidden)
        out = model(x)  # one population: neurons 0..h-1 hidden, h..h+2 output
        return out, out

    def activity(rec, x):
        hidden, out = rec
        return Activity({"input": spike_list(x, 0, 5), "hidden": spike_list(hidden, 0, h),
                         "output": spike_list(out, 0 if args.layered else h, N_OUT)},
                        args.t_max, v_th=args.v_th)

    def weights(model):
        if args.layered:
            w_h, w_o = model.layers[0].weight, model.layers[1].weight
        else:  # the unmasked blocks of the population's weights
            w_in, w_rec = model.effective_weights
            w_h, w_o = w_in[:, :h], w_rec[:h, h:]
        return {"input -> hidden": w_h, "hidden -> output": w_o}

    return FigureHooks("event", lambda x: encode(x, args), readout,
                       "output first-spike time (s)", event.losses.predict, record, activity,
                       weights)


def run(args: argparse.Namespace) -> dict:
    """Train and evaluate; returns the results dict (also written to ``args.out``)."""
    t0 = time.perf_counter()
    a = _resolve(args)
    extra = dict(post_update=project_delays(a)) if a.delays else {}
    if a.jitter > 0:
        extra["with_key"] = True
    return run_yinyang(a, encode=encode, build_model=build_model,
                       make_fns=make_fns, step_factors=weight_units, t0=t0, **extra)


# The settings each named method fixes (`jaxsnn-eqx train yinyang --method M`, and the
# ``python -m`` entry points); a flag that contradicts them is an error.
METHOD_SETTINGS = {
    "analytical": dict(gradient="analytical", layered=True),
    "eventprop": dict(gradient="eventprop", layered=False),
    "eventprop-layered": dict(gradient="eventprop", layered=True),
}
METHOD_OUT = {
    "analytical": "runs/yinyang_analytical",
    "eventprop": "runs/yinyang_eventprop",
    "eventprop-layered": "runs/yinyang_eventprop_layered",
}


def _explicit(argv: list[str] | None) -> argparse.Namespace:
    """``--gradient``/``--layered`` as given in ``argv`` (``None``: not given)."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--gradient", default=None)
    pre.add_argument("--layered", action="store_true", default=None)
    return pre.parse_known_args(argv)[0]


def method_of(argv: list[str] | None, method: str | None = None) -> str:
    """The method ``argv`` asks for: ``method`` if given, else from ``--gradient``/``--layered``."""
    if method is not None:
        return method
    given = _explicit(argv)
    if given.gradient == "analytical":
        return "analytical"
    return "eventprop-layered" if given.layered else "eventprop"


def parser_for(argv: list[str] | None = None, *, method: str | None = None,
               **defaults) -> argparse.ArgumentParser:
    """The task's parser for ``method`` (see `METHOD_SETTINGS`; ``None``: from ``argv``): the
    defaults are `DEFAULTS`, the method's output folder, then ``defaults``; ``--help`` shows the
    values that will be used."""
    if method is not None and method not in METHOD_SETTINGS:
        raise ValueError(f"yinyang_event: method must be one of {sorted(METHOD_SETTINGS)}, got "
                         f"{method!r}.")
    resolved = method_of(argv, method)
    fixed = METHOD_SETTINGS[resolved]
    description = (f"{__doc__.splitlines()[0]} Method: {resolved} "
                   f"(--gradient {fixed['gradient']}{' --layered' if fixed['layered'] else ''}).")
    parser = add_arguments(base_parser(
        description, **{**DEFAULTS, "out": METHOD_OUT[resolved], **defaults}))
    parser.set_defaults(**fixed)
    return parser


def parse(argv: list[str] | None = None, *, method: str | None = None,
          **defaults) -> argparse.Namespace:
    """Parse ``argv`` for ``method``; flags that contradict the method are refused (exit 2)."""
    parser = parser_for(argv, method=method, **defaults)
    args = parser.parse_args(argv)
    if method is not None:
        given, fixed = _explicit(argv), METHOD_SETTINGS[method]
        other = {"analytical": "analytical", "eventprop": "eventprop-layered"}
        if given.gradient is not None and given.gradient != fixed["gradient"]:
            parser.error(f"--gradient {given.gradient} contradicts the method {method!r} "
                         f"(gradient {fixed['gradient']}); use --method "
                         f"{other[given.gradient]} instead.")
        if given.layered and not fixed["layered"]:
            parser.error(f"--layered contradicts the method {method!r} (one masked recurrent "
                         "population); use --method eventprop-layered instead.")
    args.method = method_of(argv, method)
    return args


def describe(args: argparse.Namespace) -> str:
    """One line: method, network and gradient of a parsed (resolved) run."""
    a = _resolve(args)
    if a.layered:
        layer = "event.LIF" if a.gradient == "analytical" else "event.EventPropLIF"
        net = f"Sequential of two {layer} layers 5-{a.hidden}-{N_OUT}"
    else:
        net = f"RecurrentEventPropLIF masked to 5-{a.hidden}-{N_OUT}"
    delays = ", learnable input delays" if a.delays else ""
    return f"yinyang, method {a.method}: {net}{delays}, {a.gradient} gradients, loss {a.loss}"


def main(argv: list[str] | None = None, *, method: str | None = None, **defaults) -> dict:
    """Parse ``argv`` (task flags; see `parse`), print what runs, train, print a summary."""
    args = parse(argv, method=method, **defaults)
    a = _resolve(args)
    announce(args, describe(args), dict(tau_mem=f"{a.tau_mem:g} s (--ratio x --tau-syn)"),
             tau_syn=a.tau_syn, ratio=a.ratio, t_max=a.t_max, bump=a.bump)
    results = finish(args, run(args))
    return results


if __name__ == "__main__":
    from .entry import task_entry

    task_entry(main)
