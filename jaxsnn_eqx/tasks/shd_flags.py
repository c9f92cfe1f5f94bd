"""The flags of the SHD task (`tasks.shd`), by group: data, weight initialisation, the EventProp
network and the discrete network."""

from __future__ import annotations

import argparse
from pathlib import Path

from .args import positive_float, positive_int

__all__ = ["METHODS", "optional_float", "quantile", "set_help", "add_data_arguments",
           "add_init_arguments", "add_eventprop_arguments", "add_discrete_arguments"]

METHODS = ("eventprop", "discrete")


def optional_float(text: str) -> float | None:
    return None if text.lower() == "none" else positive_float(text)


def quantile(text: str) -> float:
    q = float(text)
    if not 0 < q <= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {text}")
    return q


def set_help(parser: argparse.ArgumentParser, **helps: str) -> None:
    for action in parser._actions:
        if action.dest in helps:
            action.help = helps[action.dest]


def add_data_arguments(parser: argparse.ArgumentParser, method: str) -> None:
    g = parser.add_argument_group("SHD data")
    g.add_argument("--data-dir", type=Path, default=Path("data/shd"),
                   help="folder holding shd_train.h5 and shd_test.h5 (or their .gz originals, "
                        "from https://zenkelab.org/datasets/)")
    g.add_argument("--t-max", type=positive_float, default=1.0,
                   help="simulated duration (s); input spikes at or after it are dropped")
    g.add_argument("--time-step", type=optional_float, default=None,
                   help="move every input spike to the centre of its bin of this width (s) "
                        "(default: exact times)%(default).0s")
    g.add_argument("--pool", type=positive_int, default=1,
                   help="sum channels in groups of this many (ceil(700 / POOL) inputs)")
    g.add_argument("--keep-duplicates", action="store_true",
                   help="keep events with equal (time, input) (after --time-step / --pool) as "
                        "separate events instead of merging them into one")
    g.add_argument("--pad-quantile", type=quantile, default=1.0,
                   help="events per sample: this quantile of the training samples' counts "
                        "(1: the maximum over all splits, nothing dropped; below 1 longer "
                        "samples keep their earliest events)")
    g.add_argument("--split-seed", type=int, default=0,
                   help="seed of the validation hold-out and of the --n-test subset")
    g.add_argument("--method", choices=METHODS, default=method,
                   help="training method (python -m jaxsnn_eqx.tasks.shd; the console script "
                        "takes it before the dataset's flags)")


def add_init_arguments(g, *, out_mean: float) -> None:
    """The weight-initialisation flags (units: see the module docstring)."""
    g.add_argument("--init-hidden", type=float, nargs=2, default=(0.0, 0.6),
                   metavar=("MEAN", "STD"),
                   help="input weights ~ N(MEAN, STD^2) in the unit of the measured input rates "
                        "(see the description)")
    g.add_argument("--init-rec", type=float, nargs=2, default=(0.0, 0.3), metavar=("MEAN", "STD"),
                   help="recurrent weights ~ N(MEAN, STD^2) in the unit of hidden neurons firing "
                        "at --rate-target")
    g.add_argument("--init-out", type=float, nargs=2, default=(out_mean, 1.0),
                   metavar=("MEAN", "STD"),
                   help="readout weights ~ N(MEAN, STD^2) in the unit of hidden neurons firing at "
                        "--rate-target")


def add_eventprop_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("eventprop network")
    g.add_argument("--hidden", type=positive_int, default=128, help="hidden LIF neurons")
    g.add_argument("--tau-mem", type=positive_float, default=2e-2, help="membrane tau (s)")
    g.add_argument("--tau-syn", type=positive_float, default=1e-2,
                   help="synaptic tau (s); tau_mem = 2 tau_syn has a closed-form threshold "
                        "crossing (other ratios: a Newton solver, ~2x slower)")
    g.add_argument("--t-refrac", type=float, default=2e-3,
                   help="refractory period of the hidden neurons (s)")
    g.add_argument("--v-th", type=positive_float, default=1.0, help="threshold (V), v_leak = 0")
    g.add_argument("--max-rate", type=positive_float, default=40.0,
                   help="spike budget of the hidden population: max_spikes = ceil(MAX_RATE "
                        "hidden t_max) per sample; more spikes stop the run (cost grows with it)")
    g.add_argument("--rate-target", type=positive_float, default=10.0,
                   help="hidden rate (Hz) of the hidden/readout weight unit; --rate-reg pushes "
                        "neurons firing above it")
    g.add_argument("--rate-reg", type=float, default=1.0,
                   help="strength of the push (later spike times) on neurons firing above "
                        "--rate-target (0: off)")
    add_init_arguments(g, out_mean=0.2)
    g.add_argument("--tau-loss", type=positive_float, default=2e-2,
                   help="softmax temperature of the first-spike-time cross entropy (s)")
    g.add_argument("--alpha", type=float, default=0.0,
                   help="weight of the early-correct-spike term alpha (exp(t_label / t_max) - 1)")
    g.add_argument("--bump", type=float, default=1e-3,
                   help="weight bumping: push up the input weights of hidden and readout "
                        "neurons silent in a batch (0: off)")
    g.add_argument("--probe", action=argparse.BooleanOptionalAction, default=True,
                   help="before training, simulate the hidden population on 32 training samples "
                        "and print its activity next to the budget (stops at once on an "
                        "overflow; costs one more compilation)")


def add_discrete_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("discrete network")
    g.add_argument("--hidden", type=positive_int, default=128, help="hidden LIF neurons")
    g.add_argument("--no-recurrent", dest="recurrent", action="store_false",
                   help="feed-forward hidden layer (default: recurrent)%(default).0s")
    g.add_argument("--dt", type=positive_float, default=2e-3,
                   help="Euler step and input bin (s); must be below both taus")
    g.add_argument("--tau-mem", type=positive_float, default=2e-2, help="membrane tau (s)")
    g.add_argument("--tau-syn", type=positive_float, default=5e-3, help="synaptic tau (s)")
    g.add_argument("--v-th", type=positive_float, default=1.0, help="threshold (V)")
    g.add_argument("--alpha", type=positive_float, default=100.0,
                   help="SuperSpike surrogate sharpness (1/V)")
    g.add_argument("--rate-target", type=positive_float, default=10.0,
                   help="hidden rate (Hz) of the recurrent/readout weight unit")
    add_init_arguments(g, out_mean=0.0)
    g.add_argument("--rate-reg", type=float, default=0.0,
                   help="strength of the firing-rate penalty above --max-rate (per Hz^2)")
    g.add_argument("--max-rate", type=positive_float, default=100.0,
                   help="rate penalised above (Hz)")
