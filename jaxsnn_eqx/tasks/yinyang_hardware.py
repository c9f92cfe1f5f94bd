"""Yin-Yang on an emulated BrainScaleS-2 chip, trained with the chip in the loop.

The published hardware setup by default: the inputs ``(x, y, 1-x, 1-y)`` and a bias spike, each
repeated ``--repeat`` (5) times (25 inputs, because one 6-bit synapse is too weak to drive a
neuron alone), 100 hidden and 3 output LIF neurons placed as one population on the chip
(`hardware.Mapping`: inputs -> hidden -> output, masked), ``tau_syn`` 6 us, ``tau_mem`` 12 us,
inputs in ``[0, t_late = 12 us]``, ``t_max`` 30 us, one spike per neuron, and the squared error
of the output first-spike times to target times. The forward pass of every training step and
every evaluation runs on the backend (`hardware.Emulator` with every imperfection a flag, the
exact `hardware.JaxSimulation`, or the chip); gradients are EventProp of the software model
linearised where ``--adjoint-at`` says (default: at the observed spikes; see docs/bss2.md for
the options under trial-to-trial jitter; `event.HardwareRecurrentLIF`). After each step the
weights are clipped to the range the synapses can represent.

Entry points: ``python -m jaxsnn_eqx.event.tasks.hardware.yinyang_mock`` (=
``jaxsnn-eqx train yinyang --method hardware --backend emulator``) and, on a system with the
BSS-2 stack, ``python -m jaxsnn_eqx.event.tasks.hardware.yinyang`` (= ``--backend bss2``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import data, event, hardware
from ..errors import UserError
from ..spikes import Spikes
from .args import announce, base_parser, positive_float, positive_int
from .recipe import finish, run_yinyang, unit_factors
from .runs import Activity, FigureHooks, spike_list

__all__ = ["add_arguments", "build_model", "encode", "make_backend", "make_fns", "run", "main",
           "model_like", "figure_hooks"]

DEFAULTS = dict(out="runs/yinyang_hardware", seed=0, epochs=100, batch_size=64, lr=5e-3)
N_OUT = 3
BACKENDS = ("emulator", "ideal", "bss2")
ADJOINT_AT_DEFAULT = "observed"


def _off_or_positive(text: str) -> float | None:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0: off), got {text}")
    return value or None


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add this task's flags (backend and its imperfections, network, encoding, loss)."""
    e = hardware.Emulator()  # the defaults of the flags: a calibrated chip
    g = parser.add_argument_group("backend (the chip, or its emulation)")
    g.add_argument("--backend", choices=BACKENDS, default="emulator",
                   help="emulator: hardware.Emulator with the flags below; ideal: the exact "
                        "simulation (hardware.JaxSimulation); bss2: the chip (BSS2Executor)")
    g.add_argument("--weight-scale", type=positive_float, default=e.weight_scale,
                   help="hardware weight units per volt of current jump w / tau_syn")
    g.add_argument("--weight-bits", type=int, default=e.weight_bits,
                   help="synapse weight magnitude bits (0: no quantisation)")
    g.add_argument("--time-resolution", type=_off_or_positive, default=e.time_resolution,
                   help="read-out time stamp (s; 0: exact)")
    g.add_argument("--jitter", type=float, default=e.jitter,
                   help="trial-to-trial spike-time jitter, std (s)")
    g.add_argument("--jitter-bias", type=float, default=e.jitter_bias,
                   help="mean of the jitter (s)")
    for name in ("v_th", "tau_mem", "tau_syn", "gain"):
        g.add_argument(f"--variation-{name.replace('_', '-')}", type=float,
                       default=getattr(e, f"variation_{name}"),
                       help=f"fixed-pattern variation of {name} (relative std)")
    g.add_argument("--chip-seed", type=int, default=e.chip_seed, help="which emulated chip")
    g.add_argument("--spike-loss", type=float, default=e.spike_loss,
                   help="probability that a recorded spike is lost")
    g.add_argument("--cap-spikes", type=int, default=0,
                   help="recorded spikes per neuron at most (0: no cap)")
    g.add_argument("--slope-floor", type=float, default=0.1,
                   help="backward pass: floor of du/dt at observed spikes, in (v_th - v_leak) "
                        "/ tau_mem (0: none)")
    g.add_argument("--adjoint-at", choices=event.hardware_lif.ADJOINT_AT,
                   default=ADJOINT_AT_DEFAULT,
                   help="backward pass: linearise the software model at the observed spike "
                        "times, or at its own spike times for the observed spikes of the layer "
                        "before (resimulated; see docs/bss2.md)")
    g.add_argument("--no-clip", dest="clip", action="store_false",
                   help="do not clip the weights to the synapses' range after each step (default: "
                        "clip)%(default).0s")
    g.add_argument("--time-offset", type=float, default=None,
                   help="bss2: correction added to the chip's read-out times (s; e.g. -4e-7 "
                        "for a delay of 50 clock cycles); default: the one --calibration "
                        "measured (without a calibration, bss2 needs it)")
    g.add_argument("--calibration", type=str, default=None, metavar="DIR",
                   help="software model with the per-neuron parameters measured by "
                        "`python -m jaxsnn_eqx.hardware.calib` (DIR/calibration.json) instead "
                        "of the nominal ones; it must belong to this chip (--chip-seed)")
    g.add_argument("--allow-foreign-calibration", action="store_true",
                   help="use --calibration even if it was measured on another chip")

    n = parser.add_argument_group("network, encoding and loss")
    n.add_argument("--hidden", type=positive_int, default=100, help="hidden LIF neurons")
    n.add_argument("--repeat", type=positive_int, default=5,
                   help="copies of each of the 5 input spikes (x, y, 1-x, 1-y, bias)")
    n.add_argument("--tau-syn", type=positive_float, default=6e-6, help="synaptic tau (s)")
    n.add_argument("--tau-mem", type=positive_float, default=12e-6, help="membrane tau (s)")
    n.add_argument("--t-late", type=positive_float, default=None,
                   help="input time of feature value 1 (s) (default: 2 tau_syn)%(default).0s")
    n.add_argument("--bias-time", type=float, default=0.0, help="bias spike time (s)")
    n.add_argument("--t-max", type=positive_float, default=30e-6, help="simulated time (s)")
    n.add_argument("--init-hidden", type=float, nargs=2, default=(3.75, 2.0),
                   metavar=("MEAN", "STD"),
                   help="hidden weights ~ N(MEAN, STD^2) w1 / inputs (w1: threshold-reaching "
                        "weight)")
    n.add_argument("--init-out", type=float, nargs=2, default=(12.5, 20.0),
                   metavar=("MEAN", "STD"), help="output weights ~ N(MEAN, STD^2) w1 / hidden")
    n.add_argument("--t-correct", type=positive_float, default=None,
                   help="target time of the correct output (s) (default: 0.9 tau_syn)%(default).0s")
    n.add_argument("--t-wrong", type=positive_float, default=None,
                   help="target time of the wrong outputs (s) (default: 1.1 tau_syn)%(default).0s")
    n.add_argument("--bump", type=float, default=1e-3,
                   help="weight bumping for neurons silent in a batch (0: off)")
    return parser


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    a = argparse.Namespace(**vars(args))
    if a.t_late is None:
        a.t_late = 2 * a.tau_syn
    if a.t_correct is None:
        a.t_correct = 0.9 * a.tau_syn
    if a.t_wrong is None:
        a.t_wrong = 1.1 * a.tau_syn
    return a


def make_backend(args: argparse.Namespace) -> event.Backend:
    """The backend the flags describe."""
    if args.backend == "ideal":
        return hardware.JaxSimulation()
    if args.backend == "bss2":
        if args.calibration is not None:
            offset = {} if args.time_offset is None else {"time_offset": args.time_offset}
            return hardware.BSS2Executor.from_calibration(args.calibration, **offset)
        return hardware.BSS2Executor(weight_scale=args.weight_scale, time_offset=args.time_offset)
    return hardware.Emulator(
        weight_scale=args.weight_scale, weight_bits=args.weight_bits or None,
        time_resolution=args.time_resolution, jitter=args.jitter, jitter_bias=args.jitter_bias,
        variation_v_th=args.variation_v_th, variation_tau_mem=args.variation_tau_mem,
        variation_tau_syn=args.variation_tau_syn, variation_gain=args.variation_gain,
        chip_seed=args.chip_seed, spike_loss=args.spike_loss,
        max_spikes_per_neuron=args.cap_spikes or None,
    )


def load_calibration(args: argparse.Namespace) -> hardware.Calibration:
    """The ``--calibration`` of a run, refused (one line naming both chips) if it was measured
    on another emulated chip than ``--chip-seed`` (unless ``--allow-foreign-calibration``)."""
    cal = hardware.Calibration.load(args.calibration)
    if args.backend == "emulator":
        cal.check_chip({"kind": "emulator", "chip_seed": args.chip_seed},
                       allow_foreign=getattr(args, "allow_foreign_calibration", False))
    return cal


def calibration_in_use(args: argparse.Namespace) -> str:
    """For the run's header: which calibration the software model (and bss2) uses."""
    if args.calibration is None:
        return "none (nominal neuron parameters)"
    cal = load_calibration(args)
    return (f"{args.calibration} ({cal.identity}, read-out offset "
            f"{cal.time_offset * 1e9:.0f} ns)")


def encode(x: jax.Array, args: argparse.Namespace) -> Spikes:
    """Yin-Yang points ``(n, 2)`` -> batched `Spikes` ``(n, 5 repeat)``: input ``i`` of copy
    ``r`` is neuron ``5 r + i``; copies fire together."""
    t = data.latency_times(x, t_early=0.0, t_late=args.t_late, bias_time=args.bias_time)
    t = jnp.tile(t, (1, args.repeat))
    idx = jnp.broadcast_to(jnp.arange(t.shape[-1], dtype=jnp.int32), t.shape)
    return Spikes(t, idx).sort()


def mapping(args: argparse.Namespace) -> hardware.Mapping:
    """Inputs -> hidden -> output, placed as one population on the chip."""
    return hardware.Mapping.layered(5 * args.repeat, (args.hidden, N_OUT))


def build_model(key: jax.Array, args: argparse.Namespace, backend=None):
    """An `event.HardwareRecurrentLIF` with the masks of `mapping` and ``backend`` (default:
    `make_backend`)."""
    m = mapping(args)
    mask_in, mask = m.masks()
    p = target = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=1.0)
    if args.calibration is not None:
        # the software model: the chip's measured neurons (not trained); a chip (or its
        # emulation) is still asked for the nominal targets, the exact simulation simulates
        # the measured twin
        cal = load_calibration(args)
        p = cal.params(m.size)
        target = p if args.backend == "ideal" else target
    n_in, h = m.in_size, args.hidden
    w1 = event.lif_weight_scale(event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn))
    k1, k2 = jax.random.split(key)
    weight_in = w1 * (args.init_hidden[0] + args.init_hidden[1]
                      * jax.random.normal(k1, (n_in, m.size))) / n_in
    weight_rec = jnp.zeros((m.size, m.size)).at[:h, h:].set(
        w1 * (args.init_out[0] + args.init_out[1] * jax.random.normal(k2, (h, N_OUT))) / h)
    return event.HardwareRecurrentLIF(
        n_in, m.size, params=p, t_max=args.t_max, max_spikes=m.size, weight_in=weight_in,
        weight_rec=weight_rec, mask=mask, mask_in=mask_in, single_spike=True,
        backend=make_backend(args) if backend is None else backend,
        slope_floor=args.slope_floor or None, target_params=target,
        adjoint_at=getattr(args, "adjoint_at", ADJOINT_AT_DEFAULT),
    )


def make_fns(args: argparse.Namespace):
    """``(loss_fn, predict_fn)`` for `train.fit` with ``with_key=True``."""
    w1 = event.lif_weight_scale(event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn))
    m = mapping(args)
    hid, out_span = m.span("hidden"), m.span("output")

    def _output_times(model, x, keys):
        """(population spikes, output first-spike times ``(batch, 3)``) of a batch."""
        out = jax.vmap(lambda s, k: model(s, key=k))(x, keys)
        return out, m.split(out)["output"].first_times(N_OUT)

    def loss_fn(model, x, y, key):
        keys = jax.random.split(key, y.shape[0])
        out, t = _output_times(model, x, keys)
        target = jnp.where(jax.nn.one_hot(y, N_OUT) > 0, args.t_correct, args.t_wrong)
        loss = jnp.mean(jax.vmap(lambda t, tg: event.losses.mse_times(
            t, tg, t_silent=args.t_max, scale=args.tau_syn))(t, target))
        if args.bump:  # weight bumping (Goeltz et al. 2021), as in tasks.yinyang_event
            silent = jax.lax.stop_gradient(jnp.mean(out.counts(model.size) == 0, axis=0))
            w_in, w_rec = model.effective_weights
            drive = jnp.concatenate([w_in[:, hid].sum(0), w_rec[hid, out_span].sum(0)])
            loss = loss - args.bump * jnp.sum(silent * drive) / w1
        return loss

    def predict_fn(model, x, key):
        keys = jax.random.split(key, x.time.shape[0])
        _, t = _output_times(model, x, keys)
        return event.losses.predict(t)

    return loss_fn, predict_fn


def clip_to_synapses(args: argparse.Namespace):
    """``post_update``: weights clipped to what ``weight_bits``-bit synapses represent."""
    if not args.clip or not args.weight_bits:
        return None
    w_max = hardware.weights.weight_max(args.weight_bits) * args.tau_syn / args.weight_scale

    def clip(model):
        return eqx.tree_at(lambda m: (m.weight_in, m.weight_rec), model,
                           (jnp.clip(model.weight_in, -w_max, w_max),
                            jnp.clip(model.weight_rec, -w_max, w_max)))

    return clip


def weight_units(model, args: argparse.Namespace):
    """Adam's steps in units of the current jump ``w / tau_syn`` (V) of one input spike; the
    neuron parameters (arrays when calibrated) stay fixed."""
    units = jax.tree.map(lambda _: 0.0, unit_factors(model))
    return eqx.tree_at(lambda m: (m.weight_in, m.weight_rec), units,
                       (args.tau_syn, args.tau_syn))


def model_like(config: dict):
    """A model of the structure a run saved with ``config`` (its ``results.json["config"]``)
    trained, on the run's backend: `build_model` of the saved settings, to load ``model.eqx``
    into. The emulator and the exact simulation are rebuilt from the flags alone; a run with
    ``--calibration DIR`` needs that folder again."""
    args = _resolve(argparse.Namespace(**config))
    if args.calibration is not None and not Path(args.calibration).exists():
        raise FileNotFoundError(f"the run was trained with --calibration {args.calibration}, "
                                f"which is not there (the model's neuron parameters come "
                                f"from it)")
    return build_model(jax.random.PRNGKey(0), args)


def figure_hooks(config: dict) -> FigureHooks:
    """What `plot.run_figures` needs from this task for a run saved with ``config``: forward
    passes run on the run's backend (the emulator draws its noise from the figures' key)."""
    args = _resolve(argparse.Namespace(**config))
    m = mapping(args)
    hid, out_span = m.span("hidden"), m.span("output")

    def readout(model, x, key):
        keys = jax.random.split(key, x.time.shape[0])
        out = jax.vmap(lambda s, k: model(s, key=k))(x, keys)
        return m.split(out)["output"].first_times(N_OUT)

    def record(model, x, key):
        return model(x, key=key)

    def activity(out, x):
        return Activity({"input": spike_list(x, 0, m.in_size),
                         "hidden": spike_list(out, hid.start, args.hidden),
                         "output": spike_list(out, out_span.start, N_OUT)}, args.t_max, v_th=1.0)

    bits = args.weight_bits or hardware.weights.WEIGHT_BITS

    def weights(model):  # in the chip's signed integer synapse weights
        w_in, w_rec = model.effective_weights
        chip = lambda w: hardware.weights.to_hardware(  # noqa: E731
            w, scale=args.weight_scale, tau_syn=args.tau_syn, bits=bits)
        return {"input -> hidden": chip(w_in[:, hid]),
                "hidden -> output": chip(w_rec[hid, out_span])}

    no_forward = None
    if args.backend == "bss2" and hardware.executor.missing_stack():
        no_forward = ("the run's backend is the BrainScaleS-2 chip, whose software stack is "
                      "missing here")
    noise = (None if args.backend == "ideal" else
             f"{args.backend} backend: one draw of its trial-to-trial noise (figure key 0), "
             "not the draws of training or of the test accuracy")
    return FigureHooks("event", lambda x: encode(x, args), readout,
                       f"output first-spike time (s), {args.backend} backend",
                       event.losses.predict, record, activity, weights, no_forward,
                       weight_unit=f"chip synapse weight (signed, {bits}-bit magnitude; "
                                   f"scale {args.weight_scale:g})",
                       weight_integer=True, noise=noise)


def run(args: argparse.Namespace) -> dict:
    """Train and evaluate on the backend; returns the results (also written to ``args.out``)."""
    t0 = time.perf_counter()
    args = _resolve(args)
    if args.backend == "bss2" and getattr(args, "devices", 1) != 1:
        raise SystemExit(
            "yinyang_hardware: --backend bss2 runs every batch on the one chip (a host "
            "callback), which cannot be split over devices: use --devices 1 (the emulator and "
            "ideal backends can be split).")
    if args.backend == "bss2" and hardware.executor.missing_stack():
        raise SystemExit(
            "yinyang_hardware: --backend bss2 needs the BrainScaleS-2 software stack (missing: "
            f"{', '.join(hardware.executor.missing_stack())}; not on PyPI, it comes with access "
            "to a BSS-2 system). Train on the emulated chip instead: --backend emulator.")
    return run_yinyang(args, encode=encode, build_model=build_model, make_fns=make_fns,
                       step_factors=weight_units, t0=t0, with_key=True,
                       post_update=clip_to_synapses(args))


def parser_for(**defaults) -> argparse.ArgumentParser:
    """The task's parser (`DEFAULTS`, then ``defaults``)."""
    return add_arguments(base_parser(__doc__.split("\n\n")[0], **{**DEFAULTS, **defaults}))


def main(argv: list[str] | None = None, **defaults) -> dict:
    """Parse ``argv``, train, print a summary."""
    args = parser_for(**defaults).parse_args(argv)
    try:
        in_use = calibration_in_use(args)
    except hardware.ForeignCalibrationError as err:
        raise UserError(f"{err} Flag: --allow-foreign-calibration.") from None
    except (ValueError, FileNotFoundError) as err:  # a missing or unreadable calibration
        raise UserError(str(err)) from None
    announce(args, f"yinyang, method hardware: HardwareRecurrentLIF {5 * args.repeat}-"
                   f"{args.hidden}-{N_OUT} on the {args.backend} backend, EventProp of the "
                   f"software model (adjoint at the {args.adjoint_at} spikes); calibration: "
                   f"{in_use}",
             jitter=args.jitter, weight_bits=args.weight_bits)
    results = finish(args, run(args))
    return results


if __name__ == "__main__":
    from .entry import task_entry

    task_entry(main)
