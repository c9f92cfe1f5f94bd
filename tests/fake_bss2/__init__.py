"""A stand-in for the BrainScaleS-2 software stack whose chip is a `hardware.Emulator`.

It mirrors the subset of the stack that `hardware.BSS2Executor` uses, with the real module
paths, class and function names and signatures (the published jaxsnn's ``event/hardware``
code, hxtorch and grenade):

* ``hxtorch``: ``init_hardware``, ``release_hardware``; ``hxtorch.spiking.neuron_placement.
  NeuronPlacement``, ``hxtorch.spiking.morphology.SingleCompartmentNeuron``,
  ``hxtorch.spiking.utils.calib_helper`` (``chip_from_file``, ``nightly_calib_path``);
* ``pygrenade_vx``: ``network`` (``NetworkBuilder``, ``ExternalSourcePopulation``,
  ``Population``, ``Receptor``, ``Projection``, ``InputGenerator``, ``build_network_graph``,
  ``requires_routing``, ``update_network_graph``, ``routing.PortfolioRouter``), ``common``
  (``ExecutionInstanceID``), ``execution`` (``ExecutionInstanceHooks``), ``signal_flow``;
* ``_hxtorch_core`` (``extract_n_spikes``, ...), ``_hxtorch_spiking`` (``run``: the chip);
* ``dlens_vx_v3`` (``hal.Timer.Value.fpga_clock_cycles_per_us = 125``, ``halco``, ``lola``,
  ``hxcomm.ManagedConnection``, ``sta``); ``calix`` (``spiking.SpikingCalibTarget``,
  ``spiking.neuron.NeuronCalibTarget``, ``common.base.StatefulConnection``) and
  ``quantities`` (``us``), for `hardware.calib` (the calibration records its targets).

As on the real stack, input times arrive in milliseconds and are rounded to FPGA clock cycles
(8 ns), read-out times leave in clock cycles plus a constant offset (``offset_cycles``), and
``extract_n_spikes`` returns per population ``(idx, time)`` arrays ``[batch, n]``, padded with
-1 / inf, keeping at most ``n`` spikes (in neuron order, as the real one does); unlike the real
one, it also shuffles the slots, so no caller can rely on their order.

The chip (`CONFIG`): ``chip`` (an `Emulator`: weight scale, fixed-pattern variation, read-out
jitter), ``neuron`` (the calibrated neuron model, an `event.LIFNeuron`), ``offset_cycles``. It
rebuilds the model weights from the integer weights it received (``w_hw tau_syn / scale``)
and runs the emulator on every batch entry for the runtime it was given. `LOG` records what the
stack was asked to do. `install(monkeypatch)` puts the packages into ``sys.modules`` under
their real names and resets `CONFIG` and `LOG`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import sys
from typing import Any

from jaxsnn_eqx import event, hardware

__all__ = ["CONFIG", "LOG", "Config", "Log", "install", "MODULES"]

MODULES = ("hxtorch", "pygrenade_vx", "_hxtorch_core", "_hxtorch_spiking", "dlens_vx_v3",
           "calix")


def _default_neuron() -> event.LIFNeuron:
    params = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6, v_th=1.0)
    return event.LIFNeuron(params, single_spike=True)


@dataclasses.dataclass
class Config:
    """The emulated chip and its calibration.

    Attributes:
        chip: the emulated chip (its ``weight_scale`` is the calibration's).
        neuron: the calibrated neuron model (parameters scalar or one per neuron circuit).
        offset_cycles: constant read-out offset added to every recorded time stamp (cycles).
        seed: seeds the shuffling of read-out slots and the chip's trial-to-trial noise.
        spikes_per_neuron: recording buffer of the emulated chip, per neuron circuit.
        horizon: simulate this long (s) whatever the runtime (spikes after the runtime are
            not recorded); ``None``: the runtime. Lets tests reuse a compiled chip.
    """

    chip: hardware.Emulator = dataclasses.field(
        default_factory=lambda: hardware.Emulator(jitter=0.0))
    neuron: event.LIFNeuron = dataclasses.field(default_factory=_default_neuron)
    offset_cycles: int = 50
    seed: int = 0
    spikes_per_neuron: int = 4
    horizon: float | None = None


@dataclasses.dataclass
class Log:
    """What the stack was asked to do.

    Attributes:
        init, release: calls of ``init_hardware`` / ``release_hardware``.
        routed: calls of the router (``PortfolioRouter()(network)``).
        calibrations: paths given to ``chip_from_file``.
        inputs: per ``InputGenerator.add``: the times as given ``[batch][neuron][spike]`` (ms).
        runs: per ``_hxtorch_spiking.run``: a dict with ``network``, ``chip`` (its
            configuration), ``batch``, ``runtime`` (cycles), ``input_cycles``
            ``[batch][neuron][spike]``, ``weight_in`` / ``weight_rec`` (the signed integer
            weights on the chip, ``[pre, post circuit]``) and ``recorded`` (per batch entry
            ``{(population, neuron, compartment): [cycles]}``).
        extracted: per ``extract_n_spikes``: ``{descriptor: (idx, time)}`` as returned.
        calibrated: the neuron targets of every ``calix`` calibration.
        connected: whether a connection is open (``init_hardware`` without a later
            ``release_hardware``); ``run`` needs one, as the real one does.
    """

    init: int = 0
    release: int = 0
    routed: int = 0
    calibrations: list = dataclasses.field(default_factory=list)
    inputs: list = dataclasses.field(default_factory=list)
    runs: list = dataclasses.field(default_factory=list)
    extracted: list = dataclasses.field(default_factory=list)
    calibrated: list = dataclasses.field(default_factory=list)
    connected: bool = False


CONFIG = Config()
LOG = Log()


def _submodules() -> dict[str, Any]:
    """The stand-in modules, by their real names (e.g. ``"pygrenade_vx.network"``)."""
    out = {}
    for top in MODULES:
        mod = importlib.import_module(f"{__name__}.{top}")
        out[top] = mod
        for info in pkgutil.walk_packages(getattr(mod, "__path__", []), f"{mod.__name__}."):
            out[info.name[len(__name__) + 1:]] = importlib.import_module(info.name)
    return out


def install(monkeypatch, **config) -> tuple[Config, Log]:
    """Put the stand-in stack into ``sys.modules`` (undone by ``monkeypatch``), with a fresh
    `LOG` and `CONFIG` (fields changed by ``config``); returns ``(CONFIG, LOG)``."""
    for name, mod in _submodules().items():
        monkeypatch.setitem(sys.modules, name, mod)
    for obj, new in ((CONFIG, Config(**config)), (LOG, Log())):  # in place: modules hold them
        for f in dataclasses.fields(obj):
            setattr(obj, f.name, getattr(new, f.name))
    return CONFIG, LOG
