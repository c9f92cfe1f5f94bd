"""Spiking Heidelberg Digits (SHD): 20 spoken digits as spikes of 700 channels, event-based
(EventProp) or time-discrete (surrogate gradients).

Data: `data.shd_splits` from the published files ``shd_train.h5`` and ``shd_test.h5`` (or their
``.gz`` originals) in ``--data-dir`` (nothing is downloaded: get them from
https://zenkelab.org/datasets/). ``--n-val`` samples of the training file are held out for
validation (a fixed shuffle, ``--split-seed``), ``--n-train`` of the rest train (default: all),
the test set is the test file (or ``--n-test`` samples of it). Preprocessing: spikes at or after
``--t-max`` are dropped, ``--pool K`` sums channels in groups of K (700 / K inputs),
``--time-step DT`` moves every spike to the centre of its DT bin, and equal (time, input) events
are merged unless ``--keep-duplicates``. Every sample is padded to one length, the
``--pad-quantile`` quantile of the training samples' event counts (default 1: the maximum over all
splits, nothing dropped; below 1 longer samples keep their earliest events); the run prints it and
stores it with the counts of truncated samples and dropped events as ``data`` in results.json.

Weights are in units taken from the data: ``--init-hidden MEAN STD`` draws the input weights
from ``N(MEAN, STD^2) v_th / sqrt(sum_c r_c^2 + sum_c r_c / (2 (tau_mem + tau_syn)))`` with
``r_c`` the mean rate of input ``c`` over the training samples: for Poisson-like inputs a
neuron's membrane drive then spreads by about ``STD v_th`` (across neurons and in time), whether
a sample has 40 spikes or 10000. The recurrent and readout weights use the same unit for
``hidden`` neurons firing at ``--rate-target``. The optimiser's steps are in these units
(``--lr`` is a fraction of a unit per step).

Methods (``--method`` of ``jaxsnn-eqx train shd``):

* ``eventprop``: a recurrent `event.RecurrentEventPropLIF` population of ``hidden`` LIF neurons
  that fire many times (refractory period ``--t-refrac``), then `event.EventPropLIF` readout
  neurons that fire once; the class is the readout neuron that fires first, trained with the
  cross entropy of ``softmax(-t / tau_loss)`` over the first-spike times (exact EventProp
  gradients through every hidden spike). The population has a fixed spike budget per sample,
  ``max_spikes = ceil(max_rate hidden t_max)``; a sample that makes it fire more stops the run
  with an error (raise ``--max-rate``). ``--rate-reg`` keeps it below that: the spikes of
  neurons firing above ``--rate-target`` in a batch are pushed later (towards ``t_max``, where
  they vanish), by a term linear in their times. Before training the population is simulated on
  32 training samples and its activity printed next to the budget (``probe`` in results.json;
  the run stops at once if a sample overflows it; ``--no-probe`` skips it).
* ``discrete``: a recurrent `discrete.LIF` layer (Euler steps of ``--dt``) and a `discrete.LI`
  readout whose maximum membrane potential over time gives the class scores (NLL of their
  softmax), surrogate gradients; the input is the spike count per ``--dt`` bin and input, made
  one batch at a time from the padded spikes (`Spikes.to_dense`).

Cost: an event step's cost grows with the events per sample (input spikes plus the hidden
budget, which the backward pass sweeps in full), not with the simulated time. Measured on a
shared 2-core CPU, float32, batch 32, 700 inputs, hidden 128, ~3000 input spikes (1 s) and
~1700 hidden spikes per sample: 2.4 s of CPU time per training step with the default budget
5120 (7.5 s wall at a load of 12), 6.6 s with the budget doubled, 4.5 s with ``tau_syn = 5 ms``
(``tau_mem = 2 tau_syn``, the default 20 / 10 ms, has a closed-form threshold crossing; other
ratios run a Newton solver). The discrete method costs ``t_max / dt`` steps of a dense layer
per sample instead.

Entry points: ``jaxsnn-eqx train shd --method eventprop|discrete --data-dir DIR``,
``python -m jaxsnn_eqx.tasks.shd --method eventprop|discrete --data-dir DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import discrete, event
from ..containers import Recurrent, Sequential
from ..data import shd as shd_data
from ..data.shd import CLASS_NAMES, N_CLASSES
from ..spikes import Spikes
from ..train import named_keys, surface_checks, write_results
from .args import announce, base_parser, positive_float
from .event_net import silent_output_check
from .recipe import finish, run_keys, run_splits, unit_factors
from .runs import Activity, FigureHooks, spike_list
from .shd_flags import (
    METHODS,
    add_data_arguments,
    add_discrete_arguments,
    add_eventprop_arguments,
    set_help,
)

__all__ = ["METHODS", "DEFAULTS", "parser_for", "parse", "load", "resolve", "encode",
           "build_model", "make_fns", "step_factors", "probe", "run", "main", "model_like",
           "figure_hooks", "describe"]

# The whole split by default: all of the training file but the validation samples, the whole
# test file. Not tuned on the real data (none on the machine that wrote this task): the epochs
# and step sizes are starting points. On SHD-like synthetic data (`data.synthetic_shd`, 1500
# spikes per sample, 320 training samples, hidden 64, 6 epochs) eventprop reached 40% test
# accuracy at lr 1e-2 against 19% at 5e-3 (chance 5%); discrete 73% in 8 epochs at 2e-3.
SPLITS = dict(n_train=None, n_val=800, n_test=None)
DEFAULTS: dict[str, dict] = {
    "eventprop": dict(epochs=30, batch_size=32, lr=1e-2),
    "discrete": dict(epochs=40, batch_size=64, lr=2e-3),
}
EVAL_BATCH = 256  # samples per evaluation batch (a dense discrete batch of 256 x 500 x 700)
PROBE_SAMPLES = 32  # training samples simulated before training (eventprop)
FIGURE_SAMPLES = 64  # test samples the figures use


def parser_for(method: str, **defaults) -> argparse.ArgumentParser:
    """The task's parser for ``method`` (one of `METHODS`): `base_parser` with the method's
    `DEFAULTS`, output folder ``runs/shd_<method>`` and the whole split, the data flags, then
    the method's network flags."""
    if method not in METHODS:
        raise ValueError(f"shd: method must be one of {METHODS}, got {method!r}.")
    description = f"{__doc__.splitlines()[0]} Method: {method}."
    parser = base_parser(description, **{"out": f"runs/shd_{method}", **SPLITS,
                                         **DEFAULTS[method], **defaults})
    set_help(parser,
              n_train="training samples (default: all of shd_train.h5 but the validation "
                      "samples)%(default).0s",
              n_val="validation samples held out of shd_train.h5 (accuracy every epoch)",
              n_test="test samples of shd_test.h5 (default: all)%(default).0s")
    add_data_arguments(parser, method)
    if method == "eventprop":
        add_eventprop_arguments(parser)
    else:
        add_discrete_arguments(parser)
    g = parser.add_argument_group("optimiser")
    g.add_argument("--weight-decay", type=float, default=0.0,
                   help="AdamW weight decay (0: Adam), applied before the per-weight step scale")
    g.add_argument("--clip-norm", type=positive_float, default=None,
                   help="clip the gradient's global norm to this before the optimiser (default: "
                        "no clipping)%(default).0s")
    parser.set_defaults(dataset="shd", loss="ce" if method == "eventprop" else "nll")
    return parser


def _method_of(argv: list[str] | None, method: str | None) -> str:
    """``--method`` of ``argv`` if given (``python -m``), else ``method``, else eventprop."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--method", choices=METHODS, default=None)
    known, _ = pre.parse_known_args(argv)
    if known.method is not None and method is not None and known.method != method:
        parser_for(method).error(f"--method {known.method} contradicts the method {method}")
    return known.method or method or "eventprop"


def parse(argv: list[str] | None = None, *, method: str | None = None,
          **defaults) -> argparse.Namespace:
    """Parse ``argv`` for ``method`` (default: ``--method`` in ``argv``, else eventprop)."""
    method = _method_of(argv, method)
    parser = parser_for(method, **defaults)
    args = parser.parse_args(argv)
    if method == "discrete" and not (args.dt < args.tau_syn and args.dt < args.tau_mem):
        parser.error(f"--dt {args.dt} must be below --tau-syn {args.tau_syn} and --tau-mem "
                     f"{args.tau_mem} (forward Euler)")
    if args.time_step is not None and args.time_step >= args.t_max:
        parser.error(f"--time-step {args.time_step} must be below --t-max {args.t_max}")
    return args


# ----------------------------------------------------------------------------- data


def load(args: argparse.Namespace) -> shd_data.SHDSet:
    """The run's splits (`data.shd_splits` with the flags); split sizes the files cannot
    give (``--n-val`` / ``--n-train`` / ``--n-test`` above what they hold) are a
    `errors.UserError` (one line, exit status 2)."""
    from ..errors import UserError

    try:
        return shd_data.shd_splits(
            args.data_dir, n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
            split_seed=args.split_seed, t_max=args.t_max, time_step=args.time_step,
            pool=args.pool, keep_duplicates=args.keep_duplicates,
            pad_quantile=args.pad_quantile)
    except ValueError as err:  # the data layer names the flag and the files' sizes
        text = str(err)
        raise UserError(text if str(args.data_dir) in text else f"{text} (in {args.data_dir})"
                        ) from None


def _drive_unit(rates: np.ndarray, tau_sum: float) -> float:
    """``1 / sqrt(sum_c r_c^2 + sum_c r_c / (2 tau_sum))`` (s): for inputs of mean rates ``r_c``
    (Hz) and weights ``N(0, STD^2)`` times this (per volt), the membrane drive of a neuron
    spreads by about ``STD`` volt: its time average across neurons (the first term) plus its
    fluctuation in time for Poisson-like inputs (the second; ``tau_sum = tau_mem + tau_syn``)."""
    rates = np.asarray(rates, np.float64)
    norm = float(np.sqrt(np.sum(rates ** 2) + np.sum(rates) / (2.0 * tau_sum)))
    return 1.0 / norm if norm > 0 else 1.0


def input_unit(spikes: Spikes, n_in: int, t_max: float, tau_sum: float) -> float:
    """`_drive_unit` of the mean input rates of the (batched) ``spikes`` over ``t_max``: the
    input weight unit per volt of threshold."""
    idx = np.asarray(spikes.idx).ravel()
    n = max(1, spikes.idx.shape[0])
    rates = np.bincount(idx[idx >= 0], minlength=n_in)[:n_in] / (n * t_max)
    return _drive_unit(rates, tau_sum)


def resolve(args: argparse.Namespace, data: shd_data.SHDSet | None = None) -> argparse.Namespace:
    """The settings that follow from the flags (``n_in``, the hidden spike budget
    ``max_spikes``) and, given ``data``, from the data (``pad``, ``input_unit``)."""
    a = argparse.Namespace(**vars(args))
    a.n_in = shd_data.n_inputs(a.pool)
    if a.method == "eventprop":
        a.max_spikes = int(math.ceil(a.max_rate * a.hidden * a.t_max))
    if data is not None:
        a.pad = data.pad
        a.input_unit = input_unit(data.splits["train"][0], a.n_in, a.t_max,
                                  a.tau_mem + a.tau_syn)
    elif not hasattr(a, "input_unit"):
        a.input_unit = 1.0
    return a


def encode(x: Spikes, args: argparse.Namespace) -> Spikes:
    """The padded `Spikes` as they are: the event network reads them, the discrete one bins each
    batch (`Spikes.to_dense`) inside its loss."""
    del args
    return x


# ----------------------------------------------------------------------------- models


def _units(a: argparse.Namespace) -> tuple[float, float]:
    """(input weight unit, hidden/readout weight unit) in V s: `_drive_unit` of the measured
    input rates, and of ``hidden`` neurons firing at ``rate_target``."""
    hidden_rates = np.full(a.hidden, a.rate_target)
    return a.v_th * a.input_unit, a.v_th * _drive_unit(hidden_rates, a.tau_mem + a.tau_syn)


def _normal(key, shape, mean_std, unit):
    mean, std = mean_std
    return unit * (mean + std * jax.random.normal(key, shape, jnp.result_type(float)))


def build_model(key: jax.Array, args: argparse.Namespace) -> Sequential:
    """eventprop: `event.RecurrentEventPropLIF` ``n_in -> hidden`` (many spikes each) and
    `event.EventPropLIF` ``hidden -> 20`` (one spike each); discrete: `Recurrent` `discrete.LIF`
    and a `discrete.LI` readout. Weights in the units of the module docstring."""
    keys = named_keys(key, ("input", "recurrent", "readout"))
    k_in, k_rec, k_out = keys["input"], keys["recurrent"], keys["readout"]
    u_in, u_h = _units(args)
    n_in, h = args.n_in, args.hidden
    w_in = _normal(k_in, (n_in, h), args.init_hidden, u_in)
    w_rec = _normal(k_rec, (h, h), args.init_rec, u_h)
    w_out = _normal(k_out, (h, N_CLASSES), args.init_out, u_h)
    if args.method == "eventprop":
        p = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th,
                            t_refrac=args.t_refrac)
        hidden = event.RecurrentEventPropLIF(
            n_in, h, params=p, t_max=args.t_max, max_spikes=args.max_spikes, weight_in=w_in,
            weight_rec=w_rec, single_spike=False)
        p_out = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th)
        out = event.EventPropLIF(h, N_CLASSES, params=p_out, t_max=args.t_max,
                                 max_spikes=N_CLASSES, single_spike=True, weight=w_out)
        return Sequential([hidden, out])
    p = discrete.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th)
    hidden = discrete.LIF(n_in, h, params=p, dt=args.dt,
                          surrogate=discrete.SuperSpike(args.alpha), weight=w_in)
    if args.recurrent:
        hidden = Recurrent(hidden, weight_rec=w_rec)
    readout = discrete.LI(h, N_CLASSES, params=discrete.LIParams(tau_mem=args.tau_mem,
                                                                 tau_syn=args.tau_syn),
                          dt=args.dt, weight=w_out)
    return Sequential([hidden, readout])


def step_factors(model, args: argparse.Namespace):
    """Per-weight step scale: each weight's unit (`_units`), so ``--lr`` is a fraction of a
    unit per step in every projection."""
    u_in, u_h = _units(args)
    f = unit_factors(model)
    if args.method == "eventprop":
        return eqx.tree_at(lambda m: (m.layers[0].weight_in, m.layers[0].weight_rec,
                                      m.layers[1].weight), f, (u_in, u_h, u_h))
    hidden = (lambda m: m.layers[0].layer) if args.recurrent else (lambda m: m.layers[0])
    f = eqx.tree_at(lambda m: (hidden(m).weight, m.layers[1].weight), f, (u_in, u_h))
    if args.recurrent:
        f = eqx.tree_at(lambda m: m.layers[0].weight_rec, f, u_h)
    return f


# ----------------------------------------------------------------------------- losses


def _event_forward(model, x: Spikes):
    """(hidden spikes, readout first-spike times ``(batch, 20)``) of a batch."""
    hidden = jax.vmap(model.layers[0])(x)
    t = jax.vmap(lambda s: event.losses.first_spike_times(model.layers[1](s), N_CLASSES))(hidden)
    return hidden, t


def rate_push(hidden: Spikes, args: argparse.Namespace) -> jax.Array:
    """``rate_reg / hidden`` times the mean over the batch of ``sum_k e_j(k) (t_max - t_k) /
    t_max`` over the hidden spikes ``k`` (of neuron ``j(k)``), where ``e_j = relu(n_j - n*) /
    n*`` (a constant) is how far neuron ``j``'s mean spike count in the batch ``n_j`` exceeds
    ``n* = rate_target t_max``: each spike of a too active neuron is pushed later, towards
    ``t_max``, where it leaves the simulation (an exact EventProp gradient of a term linear in the
    spike times)."""
    h = args.hidden
    target = args.rate_target * args.t_max
    mean_counts = jnp.mean(hidden.counts(h), axis=0)
    excess = jax.lax.stop_gradient(jax.nn.relu(mean_counts - target) / target)
    valid = hidden.valid
    e = jnp.where(valid, excess[jnp.clip(hidden.idx, 0, h - 1)], 0.0)
    lateness = (args.t_max - jnp.where(valid, hidden.time, args.t_max)) / args.t_max
    return args.rate_reg * jnp.mean(jnp.sum(e * lateness, axis=-1)) / h


def _bump(model, hidden: Spikes, t: jax.Array, args: argparse.Namespace) -> jax.Array:
    """Weight bumping: ``-bump frac_silent sum_i w_ij / unit`` for each hidden neuron and each
    readout neuron silent in the batch (``frac_silent`` a constant)."""
    u_in, u_h = _units(args)
    silent_h = jax.lax.stop_gradient(jnp.mean(hidden.counts(args.hidden) == 0, axis=0))
    silent_o = jax.lax.stop_gradient(jnp.mean(~jnp.isfinite(t), axis=0))
    w_in, w_out = model.layers[0].weight_in, model.layers[1].weight
    return -args.bump * (jnp.sum(silent_h * w_in.sum(0)) / u_in
                         + jnp.sum(silent_o * w_out.sum(0)) / u_h)


def _discrete_scores(model, x: Spikes, args: argparse.Namespace):
    """(class scores ``(batch, 20)``, hidden spikes ``(batch, steps, hidden)``) of a batch."""
    xs = x.to_dense(args.n_in, args.t_max, args.dt)
    z = jax.vmap(model.layers[0])(xs)
    v = jax.vmap(model.layers[1])(z)
    return discrete.max_over_time(v), z


def make_fns(args: argparse.Namespace):
    """``(loss_fn, predict_fn)`` for `train.fit` (batched)."""
    if args.method == "discrete":
        def loss_fn(model, x, y):
            scores, z = _discrete_scores(model, x, args)
            loss = discrete.nll_loss(scores, y)
            if args.rate_reg:
                loss = loss + args.rate_reg * discrete.firing_rate_regularizer(
                    z, dt=args.dt, max_rate=args.max_rate)
            return loss

        def predict_fn(model, x):
            return jnp.argmax(_discrete_scores(model, x, args)[0], axis=-1)

        return loss_fn, predict_fn

    check_silent = silent_output_check("shd, method eventprop", args)

    def loss_fn(model, x, y):
        hidden, t = _event_forward(model, x)
        check_silent(t)
        loss = jnp.mean(jax.vmap(lambda t, y: event.losses.ttfs_cross_entropy(
            t, y, tau=args.tau_loss, t_silent=args.t_max, alpha=args.alpha,
            tau_reg=args.t_max))(t, y))
        if args.rate_reg:
            loss = loss + rate_push(hidden, args)
        if args.bump:
            loss = loss + _bump(model, hidden, t, args)
        return loss

    def predict_fn(model, x):
        return event.losses.predict(_event_forward(model, x)[1])

    return loss_fn, predict_fn


# ----------------------------------------------------------------------------- run


def _budget_error(err: Exception, args: argparse.Namespace, when: str) -> Exception | None:
    """A one-line error for a hidden population that overflowed its spike budget, else None."""
    if "max_spikes" not in str(err):
        return None
    from ..errors import UserError

    return UserError(
        f"{when}: the hidden population fired more than its budget of max_spikes="
        f"{args.max_spikes} spikes in one sample (--max-rate {args.max_rate:g} Hz x --hidden "
        f"{args.hidden} x --t-max {args.t_max:g} s); raise --max-rate, or lower the activity "
        "(--init-hidden STD, --init-rec, --rate-reg / --rate-target)")


def probe(model, x: Spikes, args: argparse.Namespace) -> dict:
    """Simulate the hidden population of ``model`` on the samples ``x`` (batched) and return its
    activity: ``samples``, ``mean_rate`` (Hz per neuron), ``max_spikes_per_sample``,
    ``silent_fraction`` (neurons silent on every sample), ``budget``. Raises the one-line budget
    error when a sample overflows the budget."""
    try:
        with surface_checks():
            counts = np.asarray(eqx.filter_jit(lambda m, s: jax.vmap(m.layers[0])(s).counts(
                args.hidden))(model, x))
    except Exception as err:  # noqa: BLE001 - an overflow becomes a one-line error
        new = _budget_error(err, args, "before training")
        if new is None:
            raise
        raise new from None
    per_sample = counts.sum(axis=1)
    return dict(samples=int(counts.shape[0]), mean_rate=float(counts.mean() / args.t_max),
                max_spikes_per_sample=int(per_sample.max(initial=0)),
                silent_fraction=float(np.mean(counts.sum(axis=0) == 0)), budget=args.max_spikes)


def _print_data(report: dict) -> None:
    parts = ", ".join(
        f"{name} {s['samples']} (mean {s['mean_events']:.0f}, max {s['max_events']} events"
        + (f"; {s['truncated_samples']} truncated, {s['dropped_events']} events dropped"
           if s["truncated_samples"] else "") + ")"
        for name, s in report["splits"].items())
    print(f"data: {report['n_in']} inputs; padded to {report['pad']} events per sample "
          f"({report['rule']}); {parts}", flush=True)


def run(args: argparse.Namespace) -> dict:
    """Load the data, train and evaluate; returns the results dict (also written to
    ``args.out``), with the data report as ``data`` (and the eventprop probe as ``probe``)."""
    t0 = time.perf_counter()
    data = load(args)
    a = resolve(args, data)
    _print_data(data.report)
    extra = {}
    if a.method == "eventprop" and a.probe:
        k_model = run_keys(a.seed)["model"]  # the model training starts from
        x_train = data.splits["train"][0]
        n = min(PROBE_SAMPLES, x_train.time.shape[0])
        extra["probe"] = probe(build_model(k_model, a), x_train[:n], a)
        p = extra["probe"]
        print(f"hidden activity before training ({p['samples']} training samples): "
              f"{p['mean_rate']:.1f} Hz per neuron, at most {p['max_spikes_per_sample']} "
              f"spikes per sample (budget {p['budget']}), {100 * p['silent_fraction']:.0f}% of "
              f"the neurons silent", flush=True)
    try:
        results = run_splits(a, data.splits, encode=encode, build_model=build_model,
                             make_fns=make_fns, step_factors=step_factors, t0=t0,
                             eval_batch_size=EVAL_BATCH)
    except Exception as err:  # noqa: BLE001 - an overflow becomes a one-line error
        new = _budget_error(err, a, "during training") if a.method == "eventprop" else None
        if new is None:
            raise
        raise new from None
    results["data"] = data.report
    results.update(extra)
    if a.out is not None:
        write_results(a.out, results)
    return results


def model_like(config: dict) -> Sequential:
    """A model of the structure a run saved with ``config`` trained, to load ``model.eqx``."""
    return build_model(jax.random.PRNGKey(0), resolve(argparse.Namespace(**config)))


def _figure_test_set(args: argparse.Namespace):
    """The first `FIGURE_SAMPLES` samples of the run's test split (read again from the run's
    data folder), as an array ``(n, pad, 2)`` of (time, input) pairs (the figures need ``len``
    of the raw test inputs; `_figure_inputs` turns them into `Spikes`)."""

    def load_test():
        test_path = shd_data.shd_file(args.data_dir, "test")
        n_train_file = shd_data._n_samples(shd_data.shd_file(args.data_dir, "train"))
        times, units, labels = shd_data.read_shd(test_path)
        rows = shd_data.split_rows(n_train_file, len(labels), n_train=args.n_train,
                                   n_val=args.n_val, n_test=args.n_test,
                                   split_seed=args.split_seed)["test"][:FIGURE_SAMPLES]
        events = [shd_data.preprocess(times[r], units[r], t_max=args.t_max,
                                      time_step=args.time_step, pool=args.pool,
                                      keep_duplicates=args.keep_duplicates) for r in rows]
        x = shd_data.pad_spikes(events, shd_data.pad_size([len(t) for t, _ in events]))[0]
        pairs = np.stack([np.asarray(x.time, np.float64), np.asarray(x.idx, np.float64)], -1)
        return pairs, jnp.asarray(labels[rows])

    return load_test


def _figure_inputs(pairs) -> Spikes:
    """`Spikes` of the (time, input) pairs of `_figure_test_set`."""
    pairs = np.asarray(pairs)
    return Spikes(jnp.asarray(pairs[..., 0], jnp.result_type(float)),
                  jnp.asarray(pairs[..., 1].astype(np.int32)))


def figure_hooks(config: dict) -> FigureHooks:
    """What `tasks.figures.run_figures` needs for a run saved with ``config`` (the first 64
    test samples; no decision map)."""
    args = resolve(argparse.Namespace(**config))
    extra = dict(test_set=_figure_test_set(args), class_names=CLASS_NAMES, decision_map=False)
    if args.method == "discrete":
        from . import yinyang_discrete  # same network layout: reuse its recording and traces

        hooks = yinyang_discrete.figure_hooks(config)
        return dataclasses.replace(
            hooks, encode=lambda x: _figure_inputs(x).to_dense(args.n_in, args.t_max, args.dt),
            **extra)

    def readout(model, x, key=None):
        return _event_forward(model, x)[1]

    def record(model, x, key=None):
        hidden = model.layers[0](x)
        return hidden, model.layers[1](hidden)

    def activity(rec, x):
        hidden, out = rec
        return Activity({"input": spike_list(x, 0, args.n_in),
                         "hidden": spike_list(hidden, 0, args.hidden),
                         "output": spike_list(out, 0, N_CLASSES)}, args.t_max, v_th=args.v_th)

    def weights(model):
        return {"input -> hidden": model.layers[0].weight_in,
                "hidden -> hidden": model.layers[0].weight_rec,
                "hidden -> output": model.layers[1].weight}

    return FigureHooks("event", _figure_inputs, readout, "output first-spike time (s)",
                       event.losses.predict, record, activity, weights, **extra)


def describe(args: argparse.Namespace) -> str:
    """One line: method and network."""
    n_in = shd_data.n_inputs(args.pool)
    if args.method == "discrete":
        net = (f"{'recurrent ' if args.recurrent else ''}discrete.LIF {n_in}-{args.hidden}, "
               f"discrete.LI readout of {N_CLASSES} (max over time), surrogate gradients")
    else:
        net = (f"RecurrentEventPropLIF {n_in}-{args.hidden} (refractory {args.t_refrac:g} s), "
               f"EventPropLIF readout of {N_CLASSES} (first spike), EventProp gradients, "
               f"first-spike-time cross entropy")
    return f"shd, method {args.method}: {net}"


def main(argv: list[str] | None = None, *, method: str | None = None, **defaults) -> dict:
    """Parse ``argv`` (task flags, see ``--help``), print what runs, train, print a summary."""
    args = parse(argv, method=method, **defaults)
    extra = dict(dt=args.dt) if args.method == "discrete" else dict(
        tau_mem=args.tau_mem, tau_syn=args.tau_syn, max_rate=args.max_rate)
    announce(args, describe(args), data_dir=args.data_dir, t_max=args.t_max,
             time_step=args.time_step, pool=args.pool, pad_quantile=args.pad_quantile,
             n_val=args.n_val, n_test=args.n_test, **extra)
    results = run(args)
    finish(args, results)
    return results


if __name__ == "__main__":
    from .entry import task_entry

    task_entry(main)
