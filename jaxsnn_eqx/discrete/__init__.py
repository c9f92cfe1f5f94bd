"""Time-discrete (forward-Euler) spiking networks trained with surrogate gradients.

Layers are unbatched: ``ys = layer(xs)`` with ``xs: (time, in_size)``; batch with `jax.vmap`.

* layers (`lif`): `LIF` (spiking) and `LI` (leaky-integrator readout); recurrence via
  `jaxsnn_eqx.Recurrent`.
* dynamics (`functional`): `lif_step`/`li_step`, scanned by `lif_integrate`/`li_integrate`.
* surrogate spike functions: `SuperSpike`, `FastSigmoid`, `Triangle`, `ArcTan`.
* encoders to dense rasters: `encode_latency` (``mirror=False`` by default, unlike
  `jaxsnn_eqx.data.encode_latency`), `encode_poisson`; decoders: `max_over_time` and friends.
* losses: `nll_loss`, `accuracy`, `firing_rate_regularizer`.

>>> import jax, jaxsnn_eqx as snn
>>> from jaxsnn_eqx import discrete
>>> k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
>>> net = snn.Sequential([
...     snn.Recurrent(discrete.LIF(5, 120, params=discrete.LIFParams(), dt=5e-4, key=k1), key=k2),
...     discrete.LI(120, 3, dt=5e-4, key=k3),
... ])
"""

from .decode import last_step, max_over_time, mean_over_time, spike_count
from .encode import encode_latency, encode_poisson, n_steps
from .functional import (
    LIFParams,
    LIFState,
    LIParams,
    LIState,
    li_integrate,
    li_step,
    lif_integrate,
    lif_step,
    refractory_steps,
)
from .lif import LI, LIF
from .losses import accuracy, firing_rate_regularizer, nll_loss
from .surrogate import (
    ArcTan,
    FastSigmoid,
    SuperSpike,
    Triangle,
    arctan,
    fast_sigmoid,
    heaviside,
    superspike,
    triangle,
)

__all__ = [
    "LIF",
    "LI",
    "LIFParams",
    "LIParams",
    "LIFState",
    "LIState",
    "lif_step",
    "li_step",
    "lif_integrate",
    "li_integrate",
    "refractory_steps",
    "SuperSpike",
    "FastSigmoid",
    "Triangle",
    "ArcTan",
    "heaviside",
    "superspike",
    "fast_sigmoid",
    "triangle",
    "arctan",
    "encode_latency",
    "encode_poisson",
    "n_steps",
    "max_over_time",
    "mean_over_time",
    "last_step",
    "spike_count",
    "nll_loss",
    "accuracy",
    "firing_rate_regularizer",
]
