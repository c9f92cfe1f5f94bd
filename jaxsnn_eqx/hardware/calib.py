"""Calibration: the per-neuron model parameters of a (real or emulated) BrainScaleS-2 chip.

A calibrated chip still differs from neuron circuit to neuron circuit by a few percent. For the
gradients of hardware-in-the-loop training the software model should be the chip's neurons,
not the nominal ones: this module *measures* them, the way a calibration on a chip does, from
the spikes a backend returns (never from an emulator's hidden fields), and saves them.

Measurement (`measure`). Every neuron circuit receives ``n_inputs`` simultaneous input spikes
at ``t = 0`` whose hardware weights add up to ``U`` units (integers, so the weights are exactly
representable; spread over the inputs, so ``U`` moves in steps of one unit), for several levels
``U`` from just below the charge that reaches threshold (late spikes, near the membrane's peak:
they fix the shape) to five times it (early spikes), each repeated ``trials`` times (jitter
averages out). From rest, a single jump of charge ``w`` gives ``u(t) = w k(t)``, ``k(t) =
(e^{-t/tm} - e^{-t/ts}) / (tm - ts)``, so each level's first spike time ``t_U`` satisfies
``w_U k(t_U) = theta``. The three unknowns per
circuit (``tau_mem > tau_syn`` and the threshold in model units, which absorbs the circuit's
synaptic gain) are fitted to all levels at once: a grid over ``(tau_mem, tau_syn)`` around the
targets, refined twice, minimising the spread of ``log(w_m k(t_m))``; ``theta`` is then their
mean. (``k`` is symmetric in ``tm`` and ``ts``: the search keeps ``tm`` near its target, above
``ts``.)

Read-out offset (`measure_time_offset`). Every recorded time carries the chip's constant
read-out delay. Before the fit, the calibration measures it: all ``n_inputs`` inputs at full
weight (63) at ``t = 0`` make every circuit fire within a few tens of ns; the observed latency
minus the nominal model's latency (the same input, simulated exactly) is the delay, averaged
over circuits and trials; ``time_offset`` is its negative. The parameters are then measured with
the offset corrected, so the fit does not fold the delay into tau and threshold.

The record (`Calibration`, ``calibration.json``) is in `jaxsnn_eqx.hardware.calibration`; it
names its chip (``chip_seed`` of an emulated chip, ``--wafer`` of a real one) and the chip
configuration's file name carries the same identity (``calibration_{wafer}_leak...``, the
published name).

Command line: ``python -m jaxsnn_eqx.hardware.calib --wafer W69F0 --threshold 150 --tau-syn
6e-6 --tau-mem 12e-6 --refractory-time 30e-6 --synapse-dac-bias 1000 --calib-dir DIR`` (a real
chip), or ``... --emulator --chip-seed 3 --calib-dir DIR`` (an emulated one); ``--help`` lists
every flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..event.backend import Backend, JaxSimulation, Population
from ..event.lif import LIFNeuron, LIFParams, lif_weight_scale
from ..spikes import Spikes
from .calibration import FILE, Calibration
from .emulator import Emulator
from .executor import BSS2Executor, release_hardware
from .weights import weight_max

__all__ = ["Calibration", "measure", "measure_time_offset", "calibrate_emulator",
           "calibrate_chip", "chip_config_name", "main", "FILE"]


# ----------------------------------------------------------------------------- measurement
def _psp_kernel(t, tm, ts):
    """``k(t) = (e^{-t/tm} - e^{-t/ts}) / (tm - ts)``: the membrane (per unit charge) after one
    jump at ``t = 0``."""
    return (np.exp(-t / tm) - np.exp(-t / ts)) / (tm - ts)


def _implied_theta(t, times, charges, tm, ts):
    """``sum_j q_j k(t - t_j)`` over the inputs before ``t``: the threshold that a spike at
    ``t`` implies. ``t`` ``(..., P, n)``; ``times``, ``charges`` ``(P, J)``; ``tm``, ``ts``
    broadcast against ``(..., P, n)``."""
    lag = t[..., None, :] - times[..., :, None]  # (..., P, J, n)
    felt = lag > 0
    k = _psp_kernel(np.where(felt, lag, 1.0), tm[..., None, :], ts[..., None, :])
    return np.sum(np.where(felt, charges[..., :, None] * k, 0.0), axis=-2)


def _fit(t_first: np.ndarray, times: np.ndarray, charges: np.ndarray, tau_mem: float,
         tau_syn: float, span: float = 0.3, grid: int = 21, rounds: int = 7):
    """Per circuit ``(tm, ts, theta, misfit)`` from first spike times ``(P, n)`` (NaN: no
    spike) of the protocols ``times``/``charges`` ``(P, J)`` (see the module docstring)."""
    n = t_first.shape[1]
    ok = np.isfinite(t_first)
    t = np.where(ok, t_first, 1.0)
    lo_m, hi_m = np.full(n, tau_mem * (1 - span)), np.full(n, tau_mem * (1 + span))
    lo_s, hi_s = np.full(n, tau_syn * (1 - span)), np.full(n, tau_syn * (1 + span))
    g = np.linspace(0.0, 1.0, grid)
    cols = np.arange(n)
    for _ in range(rounds):
        tm = (lo_m + g[:, None] * (hi_m - lo_m))[:, None, None, :]  # (G, 1, 1, n)
        ts = (lo_s + g[:, None] * (hi_s - lo_s))[None, :, None, :]  # (1, G, 1, n)
        tm, ts = np.broadcast_arrays(tm, ts)
        with np.errstate(invalid="ignore", divide="ignore"):
            logc = np.log(_implied_theta(t, times, charges, tm, ts))  # (G, G, P, n)
        logc = np.where(ok, logc, np.nan)
        with np.errstate(invalid="ignore"):
            spread = np.nanvar(logc, axis=2)
        spread = np.where(np.isfinite(spread) & (tm[:, :, 0] > ts[:, :, 0]), spread, np.inf)
        i, j = np.unravel_index(np.argmin(spread.reshape(grid * grid, n), axis=0), (grid, grid))
        tm_b, ts_b = tm[i, j, 0, cols], ts[i, j, 0, cols]
        step_m, step_s = (hi_m - lo_m) / (grid - 1), (hi_s - lo_s) / (grid - 1)
        lo_m, hi_m = tm_b - 2 * step_m, tm_b + 2 * step_m
        lo_s, hi_s = ts_b - 2 * step_s, ts_b + 2 * step_s
    with np.errstate(invalid="ignore", divide="ignore"):
        logc_b = np.where(ok, np.log(_implied_theta(t, times, charges, tm_b, ts_b)), np.nan)
        theta = np.exp(np.nanmean(logc_b, axis=0))
        misfit = np.sqrt(np.nanmean((logc_b - np.log(theta)) ** 2, axis=0))
    enough = ok.sum(0) >= 3
    nan = np.full(n, np.nan)
    return (np.where(enough, tm_b, nan), np.where(enough, ts_b, nan),
            np.where(enough, theta, nan), np.where(enough, misfit, nan))


def protocols(w1: float, weight_scale: float, tau_syn: float, *, levels=(0.85, 5.0),
              n_levels: int = 24, condition: float = 0.6, probe: float = 1.5,
              delays=(2e-6, 5e-6, 10e-6, 20e-6, 35e-6)):
    """The stimuli of `measure` as ``(times, units)`` ``(P, 2)`` (two groups of inputs; units:
    summed hardware weight units of each group): single pulses at ``t = 0`` of ``levels``
    (in units of the threshold-reaching charge ``w1``, geometric), and pairs of a sub-threshold
    conditioning pulse (``condition`` w1) at 0 and a probe (``probe`` w1) after each delay,
    whose spike times trace the decay of the first response (membrane vs synaptic time
    constant)."""
    to_units = lambda q: np.round(q * w1 * weight_scale / tau_syn)
    single = np.unique(to_units(np.geomspace(*levels, n_levels)))
    times = [(0.0, 0.0)] * len(single) + [(0.0, d) for d in delays]
    units = [(u // 2, u - u // 2) for u in single]  # whole units in each group
    units += [(to_units(condition), to_units(probe))] * len(delays)
    return np.asarray(times), np.asarray(units)


def measure(
    backend: Backend, *, n_neurons: int, tau_mem: float, tau_syn: float, weight_scale: float,
    n_inputs: int = 20, trials: int = 8, t_max: float | None = None,
    key: jax.Array | None = None, **protocol_kwargs,
) -> dict[str, np.ndarray]:
    """Measure ``tau_mem``, ``tau_syn`` and the threshold (model units, v_leak = 0) of the first
    ``n_neurons`` circuits of a chip from its spikes (see the module docstring and
    `protocols`, whose arguments ``protocol_kwargs`` takes).

    Returns ``tau_mem``, ``tau_syn``, ``v_th``, ``fit_error`` (each ``(n_neurons,)``, NaN where
    fewer than 3 stimuli made the circuit fire) and the mean first spike times ``t_first``
    ``(P, n_neurons)`` of the stimuli.
    """
    t_max = 10 * tau_mem if t_max is None else t_max
    key = jax.random.PRNGKey(0) if key is None else key
    nominal = LIFNeuron(LIFParams(tau_mem=tau_mem, tau_syn=tau_syn, v_th=1.0), single_spike=True)
    times, units = protocols(lif_weight_scale(nominal.params), weight_scale, tau_syn,
                             **protocol_kwargs)
    half = n_inputs // 2
    if units.max() > half * weight_max():
        raise ValueError(f"calib.measure: {units.max():.0f} weight units do not fit on "
                         f"{half} inputs of at most {weight_max()}; raise n_inputs.")
    t_first = []
    for (t0, t1), (u0, u1), k in zip(times, units, jax.random.split(key, len(times)),
                                     strict=True):
        per = np.concatenate([_spread(u0, half), _spread(u1, n_inputs - half)])
        w = jnp.asarray(per * tau_syn / weight_scale)[:, None]  # whole hardware units each
        pop = Population(nominal, jnp.broadcast_to(w, (n_inputs, n_neurons)), None, t_max,
                         n_neurons)
        t_in = np.concatenate([np.full(half, t0), np.full(n_inputs - half, t1)])
        order = np.argsort(t_in, kind="stable")
        spikes = Spikes(jnp.broadcast_to(jnp.asarray(t_in[order]), (trials, n_inputs)),
                        jnp.broadcast_to(jnp.asarray(order, jnp.int32), (trials, n_inputs)))
        out = backend(pop, spikes, key=k if backend.needs_key else None)
        t = np.asarray(out.first_times(n_neurons))  # (trials, n)
        fired = np.isfinite(t)
        with warnings.catch_warnings():  # circuits that never fired: NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.where(fired, t, np.nan), axis=0)
        t_first.append(np.where(fired.sum(0) > trials // 2, mean, np.nan))
    t_first = np.stack(t_first)
    charges = units * tau_syn / weight_scale
    tm, ts, theta, misfit = _fit(t_first, times, charges, tau_mem, tau_syn)
    return dict(tau_mem=tm, tau_syn=ts, v_th=theta, fit_error=misfit, t_first=t_first)


def _spread(total: float, n: int) -> np.ndarray:
    """``total`` whole units over ``n`` inputs, as evenly as possible."""
    total = int(total)
    return np.full(n, total // n) + (np.arange(n) < total % n)


def measure_time_offset(
    backend: Backend, *, n_neurons: int, tau_mem: float, tau_syn: float, weight_scale: float,
    n_inputs: int = 120, trials: int = 8, key: jax.Array | None = None,
) -> float:
    """The read-out offset (s) to add to ``backend``'s recorded times (see the module
    docstring): minus the mean delay of the first spikes of ``n_neurons`` circuits driven by
    ``n_inputs`` full-weight inputs at ``t = 0``, against the exact nominal model. ``backend``
    must not correct its read-out itself (e.g. ``BSS2Executor(time_offset=0.0)``)."""
    key = jax.random.PRNGKey(1) if key is None else key
    nominal = LIFNeuron(LIFParams(tau_mem=tau_mem, tau_syn=tau_syn, v_th=1.0), single_spike=True)
    w = weight_max() * tau_syn / weight_scale  # one full-weight synapse, in model units
    pop = Population(nominal, jnp.full((n_inputs, n_neurons), w), None, 10 * tau_syn, n_neurons)
    spikes = Spikes(jnp.zeros((trials, n_inputs)),
                    jnp.broadcast_to(jnp.arange(n_inputs, dtype=jnp.int32), (trials, n_inputs)))
    observed = np.asarray(backend(pop, spikes, key=key if backend.needs_key else None)
                          .first_times(n_neurons), float)
    ideal = np.asarray(JaxSimulation()(pop, spikes).first_times(n_neurons), float)
    lag = (observed - ideal)[np.isfinite(observed)]
    if lag.size < max(1, observed.size // 2):
        raise ValueError("calib.measure_time_offset: most circuits did not fire on a "
                         "full-weight input; is the chip calibrated and connected?")
    lo, hi = np.percentile(lag, [25, 75])  # the middle half: robust to the circuits' spread
    return -float(np.mean(lag[(lag >= lo) & (lag <= hi)]))


def calibrate_emulator(emulator: Emulator, target: dict, *, n_neurons: int = 512,
                       **measure_kwargs) -> Calibration:
    """Measure an emulated chip (its read-out offset, then its neurons with the offset
    corrected, see `measure`) and return its `Calibration`."""
    raw = emulator.replace(time_offset=0.0)
    common = dict(n_neurons=n_neurons, tau_mem=target["tau_mem"], tau_syn=target["tau_syn"],
                  weight_scale=emulator.weight_scale)
    offset = measure_time_offset(raw, **common)
    m = measure(raw.replace(time_offset=offset), **common, **measure_kwargs)
    chip = {"kind": "emulator", **{f.name: getattr(raw, f.name)
                                   for f in dataclasses.fields(raw)}}
    return Calibration(tau_mem=m["tau_mem"], tau_syn=m["tau_syn"], v_th=m["v_th"],
                       fit_error=m["fit_error"], weight_scale=emulator.weight_scale,
                       target=dict(target), chip=chip, time_offset=offset)


# ----------------------------------------------------------------------------- command line
# The published calibration script (jaxsnn 3f113d6d, 2025-06-11,
# src/pyjaxsnn/jaxsnn/event/hardware/calib/neuron_calib.py) has the flags --wafer, --leak 80,
# --reset 80, --threshold 150, --tau-syn 6e-6, --tau-mem 6e-6, --refractory-time 2e-6,
# --i-synin-gm 500, --synapse-dac-bias 1000, --calib-dir calib_files/, --calib-name,
# --recreate-calib-files. The same names are accepted here; the defaults of --tau-mem (12 us)
# and --refractory-time (30 us, about one spike per neuron) are those of the published
# hardware Yin-Yang setup this library trains, and are said so in the help.
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m jaxsnn_eqx.hardware.calib",
        description="Calibrate a BrainScaleS-2 chip (with calix) or measure an emulated one "
                    "(--emulator), and write DIR/calibration.json (the chip's identity, its "
                    "measured read-out offset and per-neuron parameters).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--wafer", "--setup", dest="wafer", type=str, default=None,
                   metavar="<wafer and fpga>",
                   help="which chip, e.g. W69F0 (the published flag); required for a real "
                        "chip, recorded in calibration.json and in the file name")
    p.add_argument("--leak", type=int, default=80, help="leak potential target (CADC)")
    p.add_argument("--reset", type=int, default=80, help="reset potential target (CADC)")
    p.add_argument("--threshold", type=int, default=150, help="threshold target (CADC)")
    p.add_argument("--tau-syn", type=float, default=6e-6, help="synaptic time constant (s)")
    p.add_argument("--tau-mem", type=float, default=12e-6,
                   help="membrane time constant (s; the published script's default is 6e-6)")
    p.add_argument("--refractory-time", type=float, default=30e-6,
                   help="refractory time (s; calix accepts 40e-9 to 32e-6; the published "
                        "script's default is 2e-6)")
    p.add_argument("--i-synin-gm", type=int, default=500,
                   help="synaptic input OTA bias target (CapMem units; calix: 30 to 800)")
    p.add_argument("--synapse-dac-bias", type=int, default=1000,
                   help="synapse DAC bias (CapMem units; calix: 30 to 1022)")
    p.add_argument("--weight-scale", type=float, default=56.0,
                   help="hardware weight units per volt of current jump (this library's "
                        "emulated chip: 56; the published jaxsnn used 43, 49 and 58)")
    p.add_argument("--calib-dir", type=Path, default=Path("calib"),
                   help="folder for calibration.json and the chip configuration")
    p.add_argument("--calib-name", type=str, default=None,
                   help="file name of the chip configuration (default: "
                        "calibration_{wafer}_leak..._sdbias....pbin, the published name)")
    p.add_argument("--neurons", type=int, default=512, help="neuron circuits to measure")
    p.add_argument("--time-offset", type=float, default=None,
                   help="read-out correction (s) to use instead of measuring it (default: "
                        "measured)")
    p.add_argument("--recreate-calib-files", "--recreate", dest="recreate",
                   action="store_true",
                   help="calibrate again even if the chip configuration file exists")
    e = p.add_argument_group("emulated chip (--emulator)")
    e.add_argument("--emulator", action="store_true",
                   help="measure an emulated chip instead of calibrating a real one")
    e.add_argument("--chip-seed", type=int, default=0,
                   help="which emulated chip (seeds its fixed-pattern variation)")
    e.add_argument("--variation", type=float, default=None,
                   help="set all four fixed-pattern variations (relative std) at once")
    e.add_argument("--jitter", type=float, default=Emulator().jitter,
                   help="trial-to-trial spike-time jitter of the emulated chip, std (s)")
    e.add_argument("--read-out-delay", type=float, default=0.0,
                   help="the emulated chip's hidden read-out delay (s), which the calibration "
                        "measures")
    return p


def _import_calix():
    """The calibration part of the BSS-2 stack, or a clear error."""
    try:
        import calix.spiking
        import calix.spiking.neuron
        from calix.common.base import StatefulConnection
        from dlens_vx_v3 import halco, hxcomm, sta
    except ImportError as err:
        raise ImportError(
            f"calibrating a BrainScaleS-2 chip needs the BSS-2 software stack (calix, "
            f"dlens_vx_v3; missing: {err.name}), which is not on PyPI. To measure "
            "an emulated chip instead: python -m jaxsnn_eqx.hardware.calib --emulator.") from None
    return calix, StatefulConnection, halco, hxcomm, sta


def chip_config_name(target: dict, wafer: str) -> str:
    """The published file name of a chip configuration for ``target`` on chip ``wafer``
    (jaxsnn 3f113d6d, ``event/hardware/calib/neuron_calib.py``)."""
    return (f"calibration_{wafer}_leak{target['leak']:.0f}_th{target['threshold']:.0f}_"
            f"reset{target['reset']:.0f}_taus-{target['tau_syn'] * 1e6:.0f}us_"
            f"taum-{target['tau_mem'] * 1e6:.0f}us_"
            f"trefrac-{target['refractory_time'] * 1e6:.1f}us_"
            f"isyningm-{target['i_synin_gm']:.0f}_sdbias-{target['synapse_dac_bias']:.0f}.pbin")


def neuron_target(calix, halco, target: dict):
    """calix's ``NeuronCalibTarget`` for ``target`` (calix e5730819: per-neuron arrays filled
    with ``.fill``, times in seconds, ``i_synin_gm`` under ``cuba_synin``, as calix's own
    ``scripts/calix_generate_default_calibration.py``)."""
    neuron = calix.spiking.neuron.NeuronCalibTarget()
    neuron.leak.fill(target["leak"])
    neuron.reset.fill(target["reset"])
    neuron.threshold.fill(target["threshold"])
    neuron.tau_mem.fill(target["tau_mem"])
    for an in halco.iter_all(halco.AtomicNeuronOnDLS):
        neuron.tau_syn[an].fill(target["tau_syn"])
    neuron.refractory_time.fill(target["refractory_time"])
    neuron.membrane_capacitance.fill(63)
    neuron.cuba_synin.i_synin_gm = target["i_synin_gm"]
    neuron.synapse_dac_bias = target["synapse_dac_bias"]
    return neuron


def calibrate_chip(target: dict, calib_dir: str | Path, *, wafer: str, weight_scale: float,
                   calib_name: str | None = None, time_offset: float | None = None,
                   n_neurons: int = 512, recreate: bool = False,
                   **measure_kwargs) -> Calibration:
    """Calibrate the BSS-2 chip ``wafer`` through ``calix`` to ``target`` (a neuron calibration
    target in a spiking calibration, dumped as a portable-binary chip configuration
    ``calib_dir/calib_name``, default `chip_config_name`; an existing file is reused unless
    ``recreate``). As hxtorch's ``execution_instance.py`` does, the executor's connection is
    released before calix opens its own; the executor connects again on its next run. Then
    the read-out offset is measured (unless ``time_offset`` is given) and the calibrated chip's
    neurons through `BSS2Executor` (see `measure`)."""
    calix, StatefulConnection, halco, hxcomm, sta = _import_calix()
    if not wafer:
        raise ValueError("calibrate_chip: name the chip (--wafer, e.g. W69F0): the calibration "
                         "and its file name carry it.")
    path = Path(calib_dir) / (calib_name or chip_config_name(target, wafer))
    path.parent.mkdir(parents=True, exist_ok=True)
    if recreate or not path.exists():
        release_hardware()
        spiking = calix.spiking.SpikingCalibTarget()
        spiking.neuron_target = neuron_target(calix, halco, target)
        with hxcomm.ManagedConnection() as connection:
            result = spiking.calibrate(StatefulConnection(connection))
            builder = sta.PlaybackProgramBuilderDumper()
            result.apply(builder)
            path.write_bytes(sta.to_portablebinary(builder.done()))
    common = dict(n_neurons=n_neurons, tau_mem=target["tau_mem"], tau_syn=target["tau_syn"],
                  weight_scale=weight_scale)
    if time_offset is None:
        raw = BSS2Executor(calibration=str(path), weight_scale=weight_scale, time_offset=0.0)
        time_offset = measure_time_offset(raw, **common)
    chip = BSS2Executor(calibration=str(path), weight_scale=weight_scale,
                        time_offset=time_offset)
    m = measure(chip, **common, **measure_kwargs)
    return Calibration(tau_mem=m["tau_mem"], tau_syn=m["tau_syn"], v_th=m["v_th"],
                       fit_error=m["fit_error"], weight_scale=weight_scale, target=dict(target),
                       chip={"kind": "bss2", "setup": wafer}, chip_config=str(path),
                       time_offset=float(time_offset))


def main(argv: list[str] | None = None) -> Calibration | None:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    target = dict(leak=args.leak, reset=args.reset, threshold=args.threshold,
                  tau_syn=args.tau_syn, tau_mem=args.tau_mem,
                  refractory_time=args.refractory_time, i_synin_gm=args.i_synin_gm,
                  synapse_dac_bias=args.synapse_dac_bias)
    if not args.emulator:
        try:
            cal = calibrate_chip(target, args.calib_dir, wafer=args.wafer,
                                 weight_scale=args.weight_scale, calib_name=args.calib_name,
                                 time_offset=args.time_offset, n_neurons=args.neurons,
                                 recreate=args.recreate)
        except (ImportError, ValueError) as err:
            raise SystemExit(f"jaxsnn_eqx.hardware.calib: {err}") from None
        path = cal.save(args.calib_dir)
        print(f"calibrated {cal.identity} to {cal.chip_config}; read-out offset "
              f"{cal.time_offset * 1e9:.0f} ns; measured {cal.size} neuron circuits "
              f"(median fit error {np.nanmedian(cal.fit_error):.2e})\nwrote {path}")
        return cal
    changes = dict(chip_seed=args.chip_seed, weight_scale=args.weight_scale, jitter=args.jitter,
                   read_out_delay=args.read_out_delay)
    if args.variation is not None:
        changes.update({f"variation_{k}": args.variation
                        for k in ("v_th", "tau_mem", "tau_syn", "gain")})
    cal = calibrate_emulator(Emulator(**changes), target, n_neurons=args.neurons)
    path = cal.save(args.calib_dir)
    print(f"measured {int(np.isfinite(cal.fit_error).sum())}/{cal.size} neuron circuits of the "
          f"{cal.identity}; read-out offset {cal.time_offset * 1e9:.0f} ns; median fit error "
          f"{np.nanmedian(cal.fit_error):.2e}; tau_mem {np.nanmean(cal.tau_mem) * 1e6:.2f} +- "
          f"{np.nanstd(cal.tau_mem) * 1e6:.2f} us, tau_syn {np.nanmean(cal.tau_syn) * 1e6:.2f} +- "
          f"{np.nanstd(cal.tau_syn) * 1e6:.2f} us, v_th {np.nanmean(cal.v_th):.3f} +- "
          f"{np.nanstd(cal.v_th):.3f}\nwrote {path}")
    return cal


if __name__ == "__main__":
    main()
