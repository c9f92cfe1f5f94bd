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

File format (`Calibration.save`): ``DIR/calibration.json``, a JSON object with ``tau_mem``,
``tau_syn``, ``v_th`` (lists, one per neuron circuit; seconds, seconds, volts above leak),
``fit_error`` (rms relative misfit per circuit), ``weight_scale``, ``target`` (the calibration
targets: ``threshold``, ``leak``, ``reset`` in CADC units, ``tau_syn``, ``tau_mem``,
``refractory_time`` in seconds, ``i_synin_gm``, ``synapse_dac_bias``), ``chip`` (which chip:
``{"kind": "emulator", ...the Emulator's fields}`` or ``{"kind": "bss2"}``) and
``chip_config`` (the portable-binary chip configuration written by ``calix``, for
`BSS2Executor`; ``null`` for an emulated chip).

Command line: ``python -m jaxsnn_eqx.hardware.calib --threshold 150 --tau-syn 6e-6 --tau-mem
12e-6 --refractory-time 30e-6 --synapse-dac-bias 1000 --calib-dir DIR [--emulator]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..event.backend import Backend, Population
from ..event.lif import LIFNeuron, LIFParams, lif_weight_scale
from ..spikes import Spikes
from .emulator import Emulator
from .weights import weight_max

__all__ = ["Calibration", "measure", "calibrate_emulator", "calibrate_chip", "chip_config_name",
           "main", "FILE"]

FILE = "calibration.json"


@dataclasses.dataclass
class Calibration:
    """Measured per-neuron-circuit parameters (see the module docstring for the file format).

    Attributes:
        tau_mem, tau_syn: ``(n,)`` seconds.
        v_th: ``(n,)`` threshold above leak (V) in the model's units: the software model with
            these parameters and the nominal weights fires when the circuit fires.
        fit_error: ``(n,)`` rms relative misfit of the measurement (NaN: circuit not measured).
        weight_scale: hardware weight units per volt of current jump.
        target: the calibration targets.
        chip: which chip (``{"kind": "emulator", ...}`` or ``{"kind": "bss2"}``).
        chip_config: path of the chip configuration for `BSS2Executor` (or ``None``).
    """

    tau_mem: np.ndarray
    tau_syn: np.ndarray
    v_th: np.ndarray
    fit_error: np.ndarray
    weight_scale: float
    target: dict
    chip: dict
    chip_config: str | None = None

    @property
    def size(self) -> int:
        return int(np.shape(self.tau_mem)[0])

    def params(self, n: int | None = None, *, v_leak: float = 0.0, v_reset: float = 0.0,
               t_refrac: float = 0.0, dtype=None) -> LIFParams:
        """`LIFParams` of the first ``n`` circuits (default all): per-neuron ``(n,)`` arrays."""
        n = self.size if n is None else int(n)
        if n > self.size:
            raise ValueError(f"Calibration: {n} neurons requested, {self.size} measured.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        arr = lambda x: jnp.asarray(np.asarray(x)[:n], dtype)
        return LIFParams(tau_mem=arr(self.tau_mem), tau_syn=arr(self.tau_syn),
                         v_th=v_leak + arr(self.v_th), v_reset=v_reset, v_leak=v_leak,
                         t_refrac=t_refrac)

    def emulator(self) -> Emulator:
        """The emulated chip this calibration was measured on."""
        if self.chip.get("kind") != "emulator":
            raise ValueError(f"Calibration: measured on {self.chip.get('kind')!r}, not on an "
                             "emulated chip.")
        fields = {k: v for k, v in self.chip.items() if k != "kind"}
        return Emulator(**fields)

    def save(self, calib_dir: str | Path) -> Path:
        """Write ``calib_dir/calibration.json``; returns its path."""
        path = Path(calib_dir)
        path.mkdir(parents=True, exist_ok=True)
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for k in ("tau_mem", "tau_syn", "v_th", "fit_error"):
            out[k] = [None if not np.isfinite(v) else float(v) for v in np.asarray(out[k])]
        tmp = path / (FILE + ".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        tmp.replace(path / FILE)
        return path / FILE

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read a calibration (``DIR`` or ``DIR/calibration.json``)."""
        path = Path(path)
        if path.is_dir():
            path = path / FILE
        if not path.exists():
            raise FileNotFoundError(f"Calibration: no {FILE} at {path}; write one with "
                                    "`python -m jaxsnn_eqx.hardware.calib --calib-dir DIR`.")
        raw = json.loads(path.read_text())
        for k in ("tau_mem", "tau_syn", "v_th", "fit_error"):
            raw[k] = np.asarray([np.nan if v is None else v for v in raw[k]], float)
        return cls(**raw)


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


def calibrate_emulator(emulator: Emulator, target: dict, *, n_neurons: int = 512,
                       **measure_kwargs) -> Calibration:
    """Measure an emulated chip (see `measure`) and return its `Calibration`."""
    m = measure(emulator, n_neurons=n_neurons, tau_mem=target["tau_mem"],
                tau_syn=target["tau_syn"], weight_scale=emulator.weight_scale, **measure_kwargs)
    chip = {"kind": "emulator", **{f.name: getattr(emulator, f.name)
                                   for f in dataclasses.fields(emulator)}}
    return Calibration(tau_mem=m["tau_mem"], tau_syn=m["tau_syn"], v_th=m["v_th"],
                       fit_error=m["fit_error"], weight_scale=emulator.weight_scale,
                       target=dict(target), chip=chip)


# ----------------------------------------------------------------------------- command line
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m jaxsnn_eqx.hardware.calib",
        description="Calibrate a BrainScaleS-2 chip (with calix) or measure an emulated one "
                    "(--emulator), and write DIR/calibration.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--leak", type=int, default=80, help="leak potential target (CADC)")
    p.add_argument("--reset", type=int, default=80, help="reset potential target (CADC)")
    p.add_argument("--threshold", type=int, default=150, help="threshold target (CADC)")
    p.add_argument("--tau-syn", type=float, default=6e-6, help="synaptic time constant (s)")
    p.add_argument("--tau-mem", type=float, default=12e-6, help="membrane time constant (s)")
    p.add_argument("--refractory-time", type=float, default=30e-6, help="refractory time (s)")
    p.add_argument("--i-synin-gm", type=int, default=500)
    p.add_argument("--synapse-dac-bias", type=int, default=1000)
    p.add_argument("--weight-scale", type=float, default=56.0,
                   help="hardware weight units per volt of current jump")
    p.add_argument("--calib-dir", type=Path, default=Path("calib"),
                   help="folder for calibration.json (and the chip configuration)")
    p.add_argument("--neurons", type=int, default=512, help="neuron circuits to measure")
    p.add_argument("--time-offset", type=float, default=0.0,
                   help="chip: correction added to the read-out times (s), as BSS2Executor's")
    p.add_argument("--recreate", action="store_true",
                   help="calibrate again even if the chip configuration file exists")
    e = p.add_argument_group("emulated chip (--emulator)")
    e.add_argument("--emulator", action="store_true",
                   help="measure an emulated chip instead of calibrating a real one")
    e.add_argument("--chip-seed", type=int, default=0)
    e.add_argument("--variation", type=float, default=None,
                   help="set all four fixed-pattern variations (relative std) at once")
    e.add_argument("--jitter", type=float, default=Emulator().jitter)
    return p


def _import_calix():
    """The calibration part of the BSS-2 stack, or a clear error."""
    try:
        import calix.spiking
        import calix.spiking.neuron
        import quantities
        from calix.common.base import StatefulConnection
        from dlens_vx_v3 import hxcomm, sta
    except ImportError as err:
        raise ImportError(
            f"calibrating a BrainScaleS-2 chip needs the BSS-2 software stack (calix, "
            f"dlens_vx_v3, quantities; missing: {err.name}), which is not on PyPI. To measure "
            "an emulated chip instead: python -m jaxsnn_eqx.hardware.calib --emulator.") from None
    return calix, quantities, StatefulConnection, hxcomm, sta


def chip_config_name(target: dict) -> str:
    """The published file name of a chip configuration for ``target``."""
    return (f"calibration_leak{target['leak']:.0f}_th{target['threshold']:.0f}_"
            f"reset{target['reset']:.0f}_taus-{target['tau_syn'] * 1e6:.0f}us_"
            f"taum-{target['tau_mem'] * 1e6:.0f}us_"
            f"trefrac-{target['refractory_time'] * 1e6:.1f}us_"
            f"isyningm-{target['i_synin_gm']:.0f}_sdbias-{target['synapse_dac_bias']:.0f}.pbin")


def calibrate_chip(target: dict, calib_dir: str | Path, *, weight_scale: float,
                   time_offset: float = 0.0, n_neurons: int = 512, recreate: bool = False,
                   **measure_kwargs) -> Calibration:
    """Calibrate a BSS-2 chip through ``calix`` to ``target`` (the published flow: a neuron
    calibration target in a spiking calibration, dumped as a portable-binary chip
    configuration into ``calib_dir``; an existing file is reused unless ``recreate``), then
    measure the calibrated chip's neurons through `BSS2Executor` (see `measure`;
    ``time_offset`` corrects the read-out delay, as in `BSS2Executor`)."""
    calix, pq, StatefulConnection, hxcomm, sta = _import_calix()
    path = Path(calib_dir) / chip_config_name(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    if recreate or not path.exists():
        with hxcomm.ManagedConnection() as connection:
            neuron = calix.spiking.neuron.NeuronCalibTarget()
            neuron.tau_mem = target["tau_mem"] * 1e6 * pq.us
            neuron.tau_syn = target["tau_syn"] * 1e6 * pq.us
            neuron.refractory_time = target["refractory_time"] * 1e6 * pq.us
            neuron.i_synin_gm = target["i_synin_gm"]
            neuron.synapse_dac_bias = target["synapse_dac_bias"]
            neuron.leak, neuron.reset = target["leak"], target["reset"]  # equal, as in software
            neuron.threshold = target["threshold"]
            neuron.membrane_capacitance = 63
            spiking = calix.spiking.SpikingCalibTarget()
            spiking.neuron_target = neuron
            result = spiking.calibrate(StatefulConnection(connection))
            builder = sta.PlaybackProgramBuilderDumper()
            result.apply(builder)
            path.write_bytes(sta.to_portablebinary(builder.done()))
    from .executor import BSS2Executor

    chip = BSS2Executor(calibration=str(path), weight_scale=weight_scale,
                        time_offset=time_offset)
    m = measure(chip, n_neurons=n_neurons, tau_mem=target["tau_mem"], tau_syn=target["tau_syn"],
                weight_scale=weight_scale, **measure_kwargs)
    return Calibration(tau_mem=m["tau_mem"], tau_syn=m["tau_syn"], v_th=m["v_th"],
                       fit_error=m["fit_error"], weight_scale=weight_scale, target=dict(target),
                       chip={"kind": "bss2"}, chip_config=str(path))


def main(argv: list[str] | None = None) -> Calibration | None:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    target = dict(leak=args.leak, reset=args.reset, threshold=args.threshold,
                  tau_syn=args.tau_syn, tau_mem=args.tau_mem,
                  refractory_time=args.refractory_time, i_synin_gm=args.i_synin_gm,
                  synapse_dac_bias=args.synapse_dac_bias)
    if not args.emulator:
        try:
            cal = calibrate_chip(target, args.calib_dir, weight_scale=args.weight_scale,
                                 time_offset=args.time_offset, n_neurons=args.neurons,
                                 recreate=args.recreate)
        except ImportError as err:
            raise SystemExit(f"jaxsnn_eqx.hardware.calib: {err}") from None
        path = cal.save(args.calib_dir)
        print(f"calibrated the chip to {cal.chip_config}; measured {cal.size} neuron circuits "
              f"(median fit error {np.nanmedian(cal.fit_error):.2e})\nwrote {path}")
        return cal
    changes = dict(chip_seed=args.chip_seed, weight_scale=args.weight_scale, jitter=args.jitter)
    if args.variation is not None:
        changes.update({f"variation_{k}": args.variation
                        for k in ("v_th", "tau_mem", "tau_syn", "gain")})
    cal = calibrate_emulator(Emulator(**changes), target, n_neurons=args.neurons)
    path = cal.save(args.calib_dir)
    good = np.isfinite(cal.fit_error)
    print(f"measured {int(good.sum())}/{cal.size} neuron circuits of the emulated chip "
          f"(chip_seed {args.chip_seed}); median fit error "
          f"{np.nanmedian(cal.fit_error):.2e}; tau_mem {np.nanmean(cal.tau_mem) * 1e6:.2f} +- "
          f"{np.nanstd(cal.tau_mem) * 1e6:.2f} us, tau_syn {np.nanmean(cal.tau_syn) * 1e6:.2f} +- "
          f"{np.nanstd(cal.tau_syn) * 1e6:.2f} us, v_th {np.nanmean(cal.v_th):.3f} +- "
          f"{np.nanstd(cal.v_th):.3f}\nwrote {path}")
    return cal


if __name__ == "__main__":
    main()
