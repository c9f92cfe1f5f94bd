"""`Emulator`: a BrainScaleS-2 chip emulated by a perturbed, exact software network.

The emulated chip runs the same event-based simulation as `JaxSimulation`, but of a network
with the chip's imperfections, each a field (all static) with a default that resembles a
calibrated chip:

* **weights**: signed ``weight_bits``-bit synapses (magnitude 0..63 for 6 bits, the sign by
  the excitatory or inhibitory row), ``round(clip(weight_scale w / tau_syn, -63, 63))`` (see
  `hardware.weights`);
* **fixed-pattern variation** per neuron circuit of the threshold (``v_th - v_leak``),
  ``tau_mem``, ``tau_syn`` and the synaptic gain (relative standard deviations; log-normal
  factors), drawn once per emulated chip from ``chip_seed``: the same neuron circuit of the same
  chip always has the same deviations, whatever the population size;
* **read-out**: trial-to-trial spike-time jitter (Gaussian, std ``jitter``, mean
  ``jitter_bias``; a fresh draw per call from the key), the time stamps' resolution
  (``time_resolution``, 8 ns: the FPGA clock of 125 MHz; times round to the nearest stamp, so
  equal times occur), the loss of recorded spikes (probability ``spike_loss`` each) and a cap
  on the recorded spikes per neuron (``max_spikes_per_neuron``). Read-out effects act on the
  recorded spike list, not on the spikes delivered inside the chip.

`Emulator.ideal()` turns every imperfection off and then runs exactly `JaxSimulation`'s
computation (the same spikes, bit for bit). Everything is pure JAX: jit, vmap and grad work.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..event.backend import Backend, Population, simulate_population
from ..event.lif import LIFNeuron, LIFParams
from ..spikes import Spikes
from . import weights as hw_weights
from .circuits import chain_first_spikes

__all__ = ["Emulator", "CIRCUITS"]

CIRCUITS = 512  # neuron circuits per chip; fixed-pattern draws cover at least these


class Emulator(Backend):
    """An emulated BrainScaleS-2 chip (see the module docstring). ``Emulator()`` is a realistic
    calibrated chip, ``Emulator.ideal()`` the exact simulation.

    Attributes:
        weight_scale: hardware weight units per volt of current jump ``w / tau_syn`` (the
            calibration's scale, with the model's threshold at 1 V above leak; 56 is this
            library's emulated chip: the published jaxsnn used 43, 49 and 58 for its chips'
            calibrations, see ``docs/bss2.md``).
        weight_bits: synapse weight magnitude bits (6 on BSS-2); ``None``: no quantisation.
        time_resolution: read-out time stamp (s; 8e-9); ``None`` or 0: exact times.
        jitter: trial-to-trial spike-time jitter, standard deviation (s).
        jitter_bias: its mean (s), e.g. an uncorrected read-out offset.
        read_out_delay: the chip's constant read-out delay (s), added to every recorded time
            (hidden: the calibration measures it; published setups correct about 20-50 clock
            cycles); default 0.
        time_offset: correction added to every recorded time (s), as `BSS2Executor`'s
            (`Calibration.emulator` sets the measured one); default 0.
        variation_v_th, variation_tau_mem, variation_tau_syn, variation_gain: relative
            standard deviation of each neuron circuit's threshold above leak, time constants and
            synaptic gain (fixed per chip).
        chip_seed: which emulated chip (seeds the fixed-pattern variation).
        spike_loss: probability that a recorded spike is lost.
        max_spikes_per_neuron: recorded spikes per neuron at most (later ones are dropped);
            ``None``: no cap.
    """

    weight_scale: float = eqx.field(static=True, default=56.0)
    weight_bits: int | None = eqx.field(static=True, default=hw_weights.WEIGHT_BITS)
    time_resolution: float | None = eqx.field(static=True, default=8e-9)
    jitter: float = eqx.field(static=True, default=2e-8)
    jitter_bias: float = eqx.field(static=True, default=0.0)
    read_out_delay: float = eqx.field(static=True, default=0.0)
    time_offset: float = eqx.field(static=True, default=0.0)
    variation_v_th: float = eqx.field(static=True, default=0.02)
    variation_tau_mem: float = eqx.field(static=True, default=0.03)
    variation_tau_syn: float = eqx.field(static=True, default=0.03)
    variation_gain: float = eqx.field(static=True, default=0.05)
    chip_seed: int = eqx.field(static=True, default=0)
    spike_loss: float = eqx.field(static=True, default=0.0)
    max_spikes_per_neuron: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        def bad(name, what):
            raise ValueError(f"Emulator: {name} must be {what}, got {getattr(self, name)!r}.")

        if not self.weight_scale > 0:
            bad("weight_scale", "positive")
        if self.weight_bits is not None:
            hw_weights.weight_max(self.weight_bits)  # raises for a bad bit count
        if self.time_resolution is not None and not self.time_resolution >= 0:
            bad("time_resolution", "non-negative (s) or None")
        for name in ("jitter", "variation_v_th", "variation_tau_mem", "variation_tau_syn",
                     "variation_gain"):
            if not getattr(self, name) >= 0:
                bad(name, "non-negative")
        if not 0 <= self.spike_loss < 1:
            bad("spike_loss", "in [0, 1)")
        if self.max_spikes_per_neuron is not None and self.max_spikes_per_neuron < 1:
            bad("max_spikes_per_neuron", ">= 1 or None")

    @classmethod
    def ideal(cls, **changes) -> Emulator:
        """Every imperfection off (then it equals `JaxSimulation`); ``changes`` turns single
        ones back on, e.g. ``Emulator.ideal(weight_bits=6)``."""
        off = dict(weight_bits=None, time_resolution=None, jitter=0.0, jitter_bias=0.0,
                   read_out_delay=0.0, time_offset=0.0,
                   variation_v_th=0.0, variation_tau_mem=0.0, variation_tau_syn=0.0,
                   variation_gain=0.0, spike_loss=0.0, max_spikes_per_neuron=None)
        return cls(**{**off, **changes})

    @classmethod
    def from_calibration(cls, path) -> Emulator:
        """The emulated chip a calibration (``DIR`` or ``DIR/calibration.json`` of
        ``python -m jaxsnn_eqx.hardware.calib --emulator``) was measured on."""
        # reads the record's ``chip`` field itself: `calibration` imports this module
        path = Path(path)
        raw = json.loads((path / "calibration.json" if path.is_dir() else path).read_text())
        chip = raw["chip"]
        if chip.get("kind") != "emulator":
            raise ValueError(f"Emulator.from_calibration: {path} was measured on "
                             f"{chip.get('kind')!r}, not on an emulated chip.")
        return cls(**{k: v for k, v in chip.items() if k != "kind"})

    def replace(self, **changes) -> Emulator:
        """A copy with some fields changed (e.g. ``emu.replace(jitter=1e-7)``)."""
        return dataclasses.replace(self, **changes)

    @property
    def needs_key(self) -> bool:
        return self.jitter > 0 or self.jitter_bias != 0 or self.spike_loss > 0

    # ------------------------------------------------------------------ the chip's network
    def circuit_factors(self, n: int, dtype=None) -> dict[str, Float[Array, " n"]]:
        """Fixed-pattern factors of the first ``n`` neuron circuits of this chip: ``v_th``
        (threshold above leak), ``tau_mem``, ``tau_syn``, ``gain`` (each ``(n,)``, around 1)."""
        dtype = jnp.result_type(float) if dtype is None else dtype
        z = jax.random.normal(jax.random.PRNGKey(self.chip_seed), (4, max(n, CIRCUITS)), dtype)
        sig = jnp.asarray([self.variation_v_th, self.variation_tau_mem, self.variation_tau_syn,
                           self.variation_gain], dtype)[:, None]
        f = jnp.exp(sig * z[:, :n])
        return dict(zip(("v_th", "tau_mem", "tau_syn", "gain"), f, strict=True))

    def chip_population(self, population: Population) -> Population:
        """The population as this chip realises it: quantised weights, per-circuit variation."""
        neuron = population.neuron
        if not isinstance(neuron, LIFNeuron):
            raise TypeError(f"Emulator: emulates LIF neurons (event.LIFNeuron), got "
                            f"{type(neuron).__name__}.")
        p = neuron.params
        w_in, w_rec = population.weight_in, population.weight_rec
        n, dtype = population.size, w_in.dtype
        if self.weight_bits is not None:
            q = lambda w: hw_weights.quantize(w, scale=self.weight_scale, tau_syn=p.tau_syn,
                                              bits=self.weight_bits)
            w_in = q(w_in)
            w_rec = None if w_rec is None else q(w_rec)
        varied = (self.variation_v_th, self.variation_tau_mem, self.variation_tau_syn,
                  self.variation_gain)
        if any(varied):
            f = self.circuit_factors(n, dtype)
            vec = lambda x: jnp.broadcast_to(jnp.asarray(x, dtype), (n,))
            params = LIFParams(
                tau_mem=vec(p.tau_mem) * f["tau_mem"], tau_syn=vec(p.tau_syn) * f["tau_syn"],
                v_th=vec(p.v_leak) + (vec(p.v_th) - vec(p.v_leak)) * f["v_th"],
                v_reset=p.v_reset, v_leak=p.v_leak, t_refrac=p.t_refrac)
            # a synapse's current jump is w / tau_syn with the *nominal* tau_syn, times the
            # circuit's gain, whatever the circuit's own tau_syn: w' / tau_syn' = gain w / tau_syn
            gain = f["gain"] * f["tau_syn"]
            w_in = w_in * gain
            w_rec = None if w_rec is None else w_rec * gain
            neuron = LIFNeuron(params, single_spike=neuron.single_spike)
        return Population(neuron, w_in, w_rec, population.t_max, population.max_spikes,
                          population.blocks)

    # ------------------------------------------------------------------ read-out
    def read_out(self, spikes: Spikes, key: PRNGKeyArray | None) -> Spikes:
        """The recorded spike list of one sample: jitter, time stamps, loss, cap, re-sorted."""
        t, idx = spikes.time, spikes.idx
        shift = self.read_out_delay or self.time_offset
        if not (self.needs_key or self.time_resolution or self.max_spikes_per_neuron or shift):
            return spikes
        fired = jnp.isfinite(t)
        if self.read_out_delay:  # the chip's delay: before the time stamp is taken
            t = jnp.where(fired, t + self.read_out_delay, t)
        if self.needs_key:
            if key is None:
                raise ValueError("Emulator: this emulator adds trial-to-trial noise "
                                 f"(jitter={self.jitter}, spike_loss={self.spike_loss}); "
                                 "pass a key.")
            k_jit, k_loss = jax.random.split(key)
            if self.jitter > 0 or self.jitter_bias != 0:
                noise = self.jitter_bias + self.jitter * jax.random.normal(k_jit, t.shape, t.dtype)
                t = jnp.where(fired, jnp.maximum(t + noise, 0.0), t)
            if self.spike_loss > 0:
                fired = fired & (jax.random.uniform(k_loss, t.shape) >= self.spike_loss)
        if self.time_resolution:
            t = jnp.round(t / self.time_resolution) * self.time_resolution
        if self.time_offset:  # the user's correction, after the read-out (as BSS2Executor)
            t = jnp.where(fired, jnp.maximum(t + self.time_offset, 0.0), t)
        t = jnp.where(fired, t, jnp.inf)
        idx = jnp.where(fired, idx, -1)
        order = jnp.argsort(t, stable=True)  # equal stamps keep the chip's order
        t, idx = t[order], idx[order]
        if self.max_spikes_per_neuron is not None:
            same = (idx[:, None] == idx[None, :]) & (idx[:, None] >= 0)
            earlier = jnp.tril(same, k=-1).sum(1)  # recorded spikes of this neuron before
            keep = earlier < self.max_spikes_per_neuron
            t, idx = jnp.where(keep, t, jnp.inf), jnp.where(keep, idx, -1)
            order = jnp.argsort(t, stable=True)
            t, idx = t[order], idx[order]
        return Spikes(t, idx)

    def simulate(self, population: Population, spikes: Spikes) -> Spikes:
        """The chip's spikes before the read-out: the exact simulation of `chip_population`.
        A chain of blocks of single-spike neurons whose circuits' time constants vary is solved
        by `hardware.circuits.chain_first_spikes` (one threshold crossing per neuron instead of
        one per input interval; the same spikes to rounding)."""
        chip = self.chip_population(population)
        varied_tau = self.variation_tau_mem > 0 or self.variation_tau_syn > 0
        if not (varied_tau and chip.blocks is not None and chip.neuron.single_spike):
            return simulate_population(chip, spikes)
        weights = tuple(chip.block_weight(b) for b in range(len(chip.blocks)))
        return chain_first_spikes(chip.neuron.params, weights, chip.block_edges(), spikes,
                                  chip.t_max, chip.max_spikes)

    def run(self, population: Population, spikes: Spikes,
            key: PRNGKeyArray | None = None) -> Spikes:
        return self.read_out(self.simulate(population, spikes), key)
