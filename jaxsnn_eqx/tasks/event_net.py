"""The first-spike-time event network of the event tasks: its flags (`add_ttfs_arguments`), the
two-layer network (`event_network`), its outputs (`event_outputs`) and its loss
(`time_loss`)."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp

from ..errors import SilentOutputWarning
from ..spikes import Spikes
from ..train import named_keys
from .args import positive_float, positive_int

__all__ = ["add_ttfs_arguments", "event_network", "event_outputs", "time_loss",
           "silent_output_check"]


def add_ttfs_arguments(group, *, hidden: int, n_in: int, init_hidden: tuple[float, float],
                       init_out: tuple[float, float], t_late_help: str) -> None:
    """The flags of a first-spike-time event network (`event_network`, `time_loss`): neuron,
    latency code, weight init, loss and weight bumping, shared by the event tasks; ``hidden``,
    ``init_hidden``, ``init_out`` are the task's defaults, ``n_in`` its input count (for the
    help), ``t_late_help`` the meaning of ``--t-late`` in its encoding."""
    g = group
    g.add_argument("--hidden", type=positive_int, default=hidden, help="hidden LIF neurons")
    g.add_argument("--tau-syn", type=positive_float, default=5e-3, help="synaptic tau (s)")
    g.add_argument("--ratio", type=positive_float, default=2.0, help="tau_mem / tau_syn")
    g.add_argument("--v-th", type=positive_float, default=1.0, help="threshold (V), v_leak = 0")
    g.add_argument("--t-late", type=positive_float, default=None,
                   help=f"{t_late_help} (default: 2 tau_syn)%(default).0s")
    g.add_argument("--bias-time", type=float, default=None,
                   help="bias input spike time (s) (default: 0.9 tau_syn)%(default).0s")
    g.add_argument("--t-max", type=positive_float, default=None,
                   help="simulated duration (s) (default: 4 t_late)%(default).0s")
    g.add_argument("--init-hidden", type=float, nargs=2, default=init_hidden,
                   metavar=("MEAN", "STD"),
                   help=f"hidden weights ~ N(MEAN, STD^2) w1 / {n_in} (w1: threshold-reaching "
                        "weight)")
    g.add_argument("--init-out", type=float, nargs=2, default=init_out, metavar=("MEAN", "STD"),
                   help="output weights ~ N(MEAN, STD^2) w1 / hidden")
    g.add_argument("--loss", choices=("mse", "ce"), default="mse",
                   help="mse: squared error of the output first-spike times to target times "
                        "(--t-correct for the label, --t-wrong for the others; keeps every "
                        "output firing); ce: cross entropy of softmax(-t / tau_loss)")
    g.add_argument("--t-correct", type=positive_float, default=None,
                   help="target time of the correct output (s) (default: 1.5 tau_syn)%(default).0s")
    g.add_argument("--t-wrong", type=positive_float, default=None,
                   help="target time of the wrong outputs (s) (default: 2.5 tau_syn)%(default).0s")
    g.add_argument("--tau-loss", type=positive_float, default=None,
                   help="softmax temperature of the TTFS cross entropy (s) (default: tau_syn)"
                        "%(default).0s")
    g.add_argument("--alpha", type=float, default=3e-3,
                   help="weight of the early-correct-spike term alpha (exp(t/tau_mem) - 1)")
    g.add_argument("--bump", type=float, default=1e-3,
                   help="weight bumping: strength of the push that raises the input weights of "
                        "neurons silent in a batch (0: off)")


def event_network(key: jax.Array, args: argparse.Namespace, n_in: int, n_out: int):
    """A `Sequential` of two single-spike event layers ``n_in``-``args.hidden``-``n_out``:
    `event.LIF` (``args.gradient == "analytical"``: autodiff through the spike times) or
    `event.EventPropLIF`; weights ``~ N(MEAN, STD^2) w1 / fan-in`` with ``(MEAN, STD)`` =
    ``args.init_hidden`` and ``args.init_out`` (``w1``: the threshold-reaching weight)."""
    from .. import event
    from ..containers import Sequential

    keys = named_keys(key, ("hidden", "output"))
    k1, k2 = keys["hidden"], keys["output"]
    p = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th)
    common = dict(params=p, t_max=args.t_max, single_spike=True)
    layer = event.LIF if args.gradient == "analytical" else event.EventPropLIF
    hidden = layer(n_in, args.hidden, max_spikes=args.hidden, key=k1,
                   init_mean=args.init_hidden[0], init_std=args.init_hidden[1], **common)
    out = layer(args.hidden, n_out, max_spikes=n_out, key=k2, init_mean=args.init_out[0],
                init_std=args.init_out[1], **common)
    return Sequential([hidden, out])


def event_outputs(model, spikes: Spikes, n_out: int) -> tuple[Spikes, jax.Array]:
    """(hidden spikes, output first-spike times ``(n_out,)``) of one sample of an
    `event_network`."""
    from ..event.losses import first_spike_times

    hidden = model.layers[0](spikes)
    return hidden, first_spike_times(model.layers[1](hidden), n_out)


def time_loss(args: argparse.Namespace, t: jax.Array, y: jax.Array, n_out: int) -> jax.Array:
    """Mean over the batch of the output first-spike-time loss ``args.loss``: ``"mse"``, the
    squared error (in ``tau_syn``) to ``args.t_correct`` for the label and ``args.t_wrong`` for
    the others, or ``"ce"``, the cross entropy of ``softmax(-t / args.tau_loss)`` plus ``alpha
    (exp(t_label / tau_mem) - 1)``; silent outputs count as firing at ``args.t_max``."""
    from ..event import losses as L

    if args.loss == "mse":
        target = jnp.where(jax.nn.one_hot(y, n_out) > 0, args.t_correct, args.t_wrong)
        per = jax.vmap(lambda t, g: L.mse_times(t, g, t_silent=args.t_max,
                                                scale=args.tau_syn))(t, target)
    else:
        per = jax.vmap(lambda t, y: L.ttfs_cross_entropy(
            t, y, tau=args.tau_loss, t_silent=args.t_max, alpha=args.alpha,
            tau_reg=args.tau_mem))(t, y)
    return jnp.mean(per)


def silent_output_check(task: str, args: argparse.Namespace) -> Callable[[jax.Array], None]:
    """``check(t)`` for a loss function: when no output neuron fired for any sample of the
    batch (``t``: first-spike times ``(batch, n_out)``, ``inf`` = silent), warn once per run
    (`errors.SilentOutputWarning`, naming ``task`` and the run's time settings). The test is
    one reduction and a branch per step; the warning leaves the compiled step through a host
    callback taken only when the batch is silent."""
    times = ", ".join(f"--{k.replace('_', '-')} {getattr(args, k):g}"
                      for k in ("tau_syn", "t_late", "t_max") if getattr(args, k, None))
    message = (f"{task}: no output neuron fired for any sample of a training batch ({times}; "
               f"in seconds): a first-spike-time loss gets no gradient from silent outputs. "
               f"Check the time units (a value meant in ms is 1000x too long in s) and the "
               f"weight initialisation.")
    warned: list[bool] = []

    def warn(_):
        if not warned:
            warned.append(True)
            warnings.warn(message, SilentOutputWarning, stacklevel=2)

    def check(t: jax.Array) -> None:
        silent = jnp.all(~jnp.isfinite(jax.lax.stop_gradient(t)))
        jax.lax.cond(silent, lambda: jax.debug.callback(warn, silent), lambda: None)

    return check
