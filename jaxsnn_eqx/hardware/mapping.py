"""How a network sits on one BrainScaleS-2 chip: populations, projections, synapse rows.

Placement model. A chip has ``NEURONS = 512`` neuron circuits; each neuron circuit sits in a
column of synapses that sees ``ROWS = 256`` synapse rows. A synapse row carries the spikes of one
presynaptic *source* to every column; its synapses store unsigned 6-bit weights (0..63) and the
row decides the sign (excitatory or inhibitory). A source whose weights are signed therefore
takes two rows: source ``s`` gets rows ``(2 s, 2 s + 1)`` = (excitatory, inhibitory), the two
rows of one synapse driver. The sources are every external input (``0..in_size-1``, in order),
then every neuron that projects to at least one neuron, in neuron order.

The network runs as ONE on-chip population of ``size`` neurons (neuron ``n`` is neuron circuit
``n``) with fixed connectivity masks; named populations are consecutive blocks of it
(`PopulationSpec`), and a `Projection` is the block of synapses from one source group (the
inputs or a population) onto one population. The published Yin-Yang network, 25 inputs -> 100
hidden -> 3 outputs, is the population ``hidden = 0..99``, ``output = 100..102``, with the
projections ``input -> hidden`` and ``hidden -> output``: 103 <= 512 neurons and
``2 (25 + 100) = 250 <= 256`` rows, so it fits.

`Mapping` builds this description from sizes (`Mapping.layered`) or from a model
(`Mapping.from_model`), refuses networks that do not fit (`Mapping.check`), and converts between
the model's weights, the one-population weights, the per-projection blocks, and the hardware's
excitatory/inhibitory integer weights; `Mapping.split` cuts the population's output spikes into
the populations' spikes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from ..event.backend import block_edges, feedforward_blocks
from ..spikes import Spikes
from . import weights as hw_weights

__all__ = ["NEURONS", "ROWS", "INPUT", "PopulationSpec", "Projection", "Mapping",
           "HardwareWeights"]

NEURONS = 512  # neuron circuits of one BSS-2 chip
ROWS = 256  # synapse rows a neuron column sees
INPUT = "input"  # the name of the external inputs as a source of projections

# `Mapping.to_hardware`: projection name -> (excitatory, inhibitory) magnitudes, (n_pre, n_post)
HardwareWeights = dict[str, tuple[Int[Array, "n_pre n_post"], Int[Array, "n_pre n_post"]]]


@dataclasses.dataclass(frozen=True)
class PopulationSpec:
    """A named block of consecutive neurons of the on-chip population.

    Attributes:
        name: unique name (not ``"input"``).
        size: number of neurons.
        first: index of its first neuron in the on-chip population (= its first neuron circuit).
    """

    name: str
    size: int
    first: int = 0

    @property
    def stop(self) -> int:
        """One past its last neuron."""
        return self.first + self.size

    def __repr__(self) -> str:
        return f"{self.name}[{self.size}: circuits {self.first}..{self.stop - 1}]"


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Projection:
    """The synapses from the sources ``pre`` onto the neurons of ``post``.

    Attributes:
        pre: ``"input"`` (the external inputs) or the name of the presynaptic population.
        post: the name of the postsynaptic population.
        mask: fixed connectivity ``(n_pre, n_post)`` (read-only numpy bool), or ``None``: all to
            all (an all-true mask is stored as ``None``).
    """

    pre: str
    post: str
    mask: Bool[np.ndarray, "n_pre n_post"] | None = None

    def __post_init__(self):
        if self.mask is not None:
            m = np.array(self.mask) != 0
            if m.ndim != 2:
                raise ValueError(f"Projection {self.name}: mask must be 2-d, got {m.shape}.")
            if m.all():
                m = None
            else:
                m.setflags(write=False)
            object.__setattr__(self, "mask", m)

    @property
    def name(self) -> str:
        """``"pre->post"``, the key of this projection in `Mapping.to_hardware`."""
        return f"{self.pre}->{self.post}"

    def _key(self):
        m = self.mask
        return self.pre, self.post, None if m is None else (m.shape, np.packbits(m).tobytes())

    def __eq__(self, other) -> bool:
        return isinstance(other, Projection) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        masked = "" if self.mask is None else f", {int(self.mask.sum())}/{self.mask.size} synapses"
        return f"Projection({self.pre!r} -> {self.post!r}{masked})"


def _concrete_mask(mask, what: str) -> np.ndarray | None:
    if mask is None:
        return None
    try:
        return np.asarray(mask) != 0
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as e:
        raise ValueError(f"Mapping.from_model: {what} must be concrete (not traced).") from e


def _is_population(model) -> bool:
    return all(hasattr(model, a) for a in ("weight_in", "weight_rec", "mask", "mask_in"))


def _chain_weights(model) -> tuple[Array, ...]:
    """The ``weight`` of every layer of a `Sequential`, checked to be a chain."""
    ws = []
    for k, layer in enumerate(model.layers):
        w = getattr(layer, "weight", None)
        if w is None or jnp.ndim(w) != 2:
            raise TypeError(f"Mapping: layer {k} of the Sequential ({type(layer).__name__}) has "
                            "no 2-d `weight` (in_size, out_size).")
        if ws and ws[-1].shape[1] != w.shape[0]:
            raise ValueError(f"Mapping: layer {k} of the Sequential has in_size {w.shape[0]}, "
                             f"but layer {k - 1} has out_size {ws[-1].shape[1]}.")
        ws.append(w)
    return tuple(ws)


@dataclasses.dataclass(frozen=True, repr=False)
class Mapping:
    """A network placed on one BrainScaleS-2 chip (see the module docstring).

    Attributes:
        in_size: number of external inputs.
        populations: consecutive blocks of the on-chip population, from neuron 0.
        projections: the synapse blocks; at most one per ``(pre, post)`` pair.

    Hashable and immutable; construction validates the structure and calls `check`.
    """

    in_size: int
    populations: tuple[PopulationSpec, ...]
    projections: tuple[Projection, ...]

    def __post_init__(self):
        object.__setattr__(self, "in_size", int(self.in_size))
        object.__setattr__(self, "populations", tuple(self.populations))
        object.__setattr__(self, "projections", tuple(self.projections))
        self._validate()
        self.check()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def layered(
        cls, in_size: int, sizes: Sequence[int], names: Sequence[str] | None = None,
        masks: Sequence[Bool[ArrayLike, "n_pre n_post"] | None] | None = None,
    ) -> Mapping:
        """A feed-forward chain ``inputs -> sizes[0] -> sizes[1] -> ...`` placed consecutively
        from neuron circuit 0.

        Default names: ``"hidden", "hidden_1", ...`` and ``"output"`` for the last layer.
        ``masks``: optional fixed connectivity of each projection (``None``: all to all).
        """
        sizes = tuple(int(s) for s in sizes)
        if not sizes:
            raise ValueError("Mapping.layered: need at least one layer size.")
        if names is None:
            names = ["hidden" if k == 0 else f"hidden_{k}" for k in range(len(sizes) - 1)]
            names.append("output")
        names = tuple(names)
        if len(names) != len(sizes):
            raise ValueError(f"Mapping.layered: {len(names)} names for {len(sizes)} layers.")
        masks = (None,) * len(sizes) if masks is None else tuple(masks)
        if len(masks) != len(sizes):
            raise ValueError(f"Mapping.layered: {len(masks)} masks for {len(sizes)} layers.")
        firsts = np.cumsum((0, *sizes))[:-1]
        pops = tuple(PopulationSpec(n, s, int(f))
                     for n, s, f in zip(names, sizes, firsts, strict=True))
        pres = (INPUT, *names[:-1])
        projs = tuple(Projection(a, b, m) for a, b, m in zip(pres, names, masks, strict=True))
        return cls(in_size, pops, projs)

    @classmethod
    def from_model(cls, model) -> Mapping:
        """The mapping of a model.

        * a `Sequential` of event layers with ``weight (in_size, out_size)``: a layered mapping;
        * a masked population (``weight_in``, ``weight_rec``, ``mask``, ``mask_in``, e.g.
          `event.RecurrentEventPropLIF`): a layered mapping if its masks make a feed-forward
          chain (`event.backend.feedforward_blocks`; partial masks inside the blocks are kept),
          else one population ``"population"`` with an input and a recurrent projection.
        """
        if _is_population(model):
            in_size, size = jnp.shape(model.weight_in)
            mask_in = _concrete_mask(model.mask_in, "mask_in")
            mask = _concrete_mask(model.mask, "mask")
            blocks = feedforward_blocks(mask_in, mask)
            if blocks is not None:
                e = block_edges(blocks)
                ms = [None if mask_in is None else mask_in[:, e[0]:e[1]]]
                ms += [mask[e[k - 1]:e[k], e[k]:e[k + 1]] for k in range(1, len(blocks))]
                return cls.layered(in_size, blocks, masks=ms)
            pop = PopulationSpec("population", size, 0)
            projs = [Projection(INPUT, pop.name, mask_in)]
            if mask is None or mask.any():
                projs.append(Projection(pop.name, pop.name, mask))
            return cls(in_size, (pop,), tuple(projs))
        if hasattr(model, "layers"):
            ws = _chain_weights(model)
            return cls.layered(ws[0].shape[0], [w.shape[1] for w in ws])
        raise TypeError(f"Mapping.from_model: cannot map a {type(model).__name__}; expected a "
                        "Sequential of event layers or a masked population (weight_in, "
                        "weight_rec, mask, mask_in).")

    # ------------------------------------------------------------------ structure
    def _validate(self) -> None:
        if self.in_size < 1:
            raise ValueError(f"Mapping: in_size must be positive, got {self.in_size}.")
        if not self.populations:
            raise ValueError("Mapping: need at least one population.")
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names) or INPUT in names:
            raise ValueError(f"Mapping: population names must be unique and not {INPUT!r}, got "
                             f"{names}.")
        first = 0
        for p in self.populations:
            if p.size < 1 or p.first != first:
                raise ValueError(f"Mapping: populations must be non-empty and placed "
                                 f"consecutively from neuron 0; {p.name!r} has size {p.size} "
                                 f"at {p.first}, expected first = {first}.")
            first = p.stop
        pairs = set()
        for q in self.projections:
            if q.pre not in (INPUT, *names) or q.post not in names:
                raise ValueError(f"Mapping: projection {q.name} names an unknown population "
                                 f"(populations: {names}).")
            if (q.pre, q.post) in pairs:
                raise ValueError(f"Mapping: two projections {q.name}.")
            pairs.add((q.pre, q.post))
            shape = (self._count(q.pre), self._count(q.post))
            if q.mask is not None and q.mask.shape != shape:
                raise ValueError(f"Mapping: projection {q.name} mask shape {q.mask.shape} != "
                                 f"{shape}.")

    def check(self) -> None:
        """Raise `ValueError` (with the numbers) if the mapping does not fit on one chip."""
        problems = []
        if self.size > NEURONS:
            problems.append(f"needs {self.size} neuron circuits, a chip has {NEURONS}")
        n_src = len(self.source_neurons)
        if self.row_count > ROWS:
            problems.append(f"needs {self.row_count} synapse rows (2 per signed source: "
                            f"{self.in_size} inputs + {n_src} projecting neurons), a neuron "
                            f"column has {ROWS}")
        if problems:
            raise ValueError("Mapping does not fit on one BrainScaleS-2 chip: "
                             + "; ".join(problems) + ".")

    @property
    def size(self) -> int:
        """Neurons of the on-chip population (= neuron circuits used)."""
        return self.populations[-1].stop

    @property
    def names(self) -> tuple[str, ...]:
        """The population names, in placement order."""
        return tuple(p.name for p in self.populations)

    def population(self, name: str) -> PopulationSpec:
        """The population called ``name``."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"Mapping: no population {name!r} (populations: {list(self.names)}).")

    def span(self, name: str) -> slice:
        """Indices of ``name`` among the inputs (``"input"``) or the on-chip neurons."""
        if name == INPUT:
            return slice(0, self.in_size)
        p = self.population(name)
        return slice(p.first, p.stop)

    def _count(self, name: str) -> int:
        s = self.span(name)
        return s.stop - s.start

    def masks(self) -> tuple[Bool[np.ndarray, "in_size size"], Bool[np.ndarray, "size size"]]:
        """Connectivity ``(mask_in, mask)`` of the on-chip population, ``[pre, post]``."""
        mask_in = np.zeros((self.in_size, self.size), bool)
        mask = np.zeros((self.size, self.size), bool)
        for q in self.projections:
            block = True if q.mask is None else q.mask
            target = mask_in if q.pre == INPUT else mask
            target[self.span(q.pre), self.span(q.post)] = block
        return mask_in, mask

    @property
    def source_neurons(self) -> Int[np.ndarray, " n"]:
        """The neurons that project to some neuron (each takes two synapse rows)."""
        return np.flatnonzero(self.masks()[1].any(axis=1))

    @property
    def row_count(self) -> int:
        """Synapse rows used: 2 per source (every input and every projecting neuron)."""
        return 2 * (self.in_size + len(self.source_neurons))

    def rows(self) -> dict[str, Int[np.ndarray, "n 2"]]:
        """The synapse rows ``(excitatory, inhibitory)`` of every source.

        Keys: ``"input"`` (shape ``(in_size, 2)``) and every population with a projecting
        neuron (shape ``(size, 2)``; ``-1`` for its neurons that project nowhere).
        """
        src = self.source_neurons
        source = np.full(self.size, -1)
        source[src] = self.in_size + np.arange(len(src))
        pair = lambda s: np.where(s[:, None] >= 0, 2 * s[:, None] + np.array([0, 1]), -1)
        out = {INPUT: pair(np.arange(self.in_size))}
        for p in self.populations:
            s = source[p.first:p.stop]
            if np.any(s >= 0):
                out[p.name] = pair(s)
        return out

    # ------------------------------------------------------------------ weights
    def population_weights(
        self, model
    ) -> tuple[Float[Array, "in_size size"], Float[Array, "size size"]]:
        """One-population weights ``(weight_in, weight_rec)`` of ``model``.

        A `Sequential`: layer ``k``'s weight is placed at projection ``k`` (zeros elsewhere). A
        population object: its weights with this mapping's masks applied (its effective weights
        when the mapping was made from it).
        """
        if _is_population(model):
            w_in, w_rec = jnp.asarray(model.weight_in), jnp.asarray(model.weight_rec)
            if w_in.shape != (self.in_size, self.size) or w_rec.shape != (self.size, self.size):
                raise ValueError(f"Mapping.population_weights: model weights {w_in.shape}, "
                                 f"{w_rec.shape} do not match {self.in_size} inputs and "
                                 f"{self.size} neurons.")
            mask_in, mask = self.masks()
            return jnp.where(mask_in, w_in, 0.0), jnp.where(mask, w_rec, 0.0)
        if not hasattr(model, "layers"):
            raise TypeError(f"Mapping.population_weights: cannot map a {type(model).__name__}.")
        ws = _chain_weights(model)
        if len(ws) != len(self.projections):
            raise ValueError(f"Mapping.population_weights: {len(ws)} layers for "
                             f"{len(self.projections)} projections.")
        for q, w in zip(self.projections, ws, strict=True):
            shape = (self._count(q.pre), self._count(q.post))
            if w.shape != shape:
                raise ValueError(f"Mapping.population_weights: layer weight {w.shape} does not "
                                 f"match projection {q.name} {shape}.")
        return self._place(ws, jnp.result_type(*ws))

    def _place(self, blocks, dtype) -> tuple[Array, Array]:
        """One-population ``(weight_in, weight_rec)`` with each projection's block (masked) at
        its place, zeros elsewhere."""
        w_in = jnp.zeros((self.in_size, self.size), dtype)
        w_rec = jnp.zeros((self.size, self.size), dtype)
        for q, w in zip(self.projections, blocks, strict=True):
            if q.mask is not None:
                w = jnp.where(q.mask, w, 0.0)
            if q.pre == INPUT:
                w_in = w_in.at[:, self.span(q.post)].set(w)
            else:
                w_rec = w_rec.at[self.span(q.pre), self.span(q.post)].set(w)
        return w_in, w_rec

    def layer_weights(
        self,
        weight_in: Float[ArrayLike, "in_size size"],
        weight_rec: Float[ArrayLike, "size size"],
    ) -> tuple[Float[Array, "n_pre n_post"], ...]:
        """The weight block ``[pre, post]`` of every projection (masked), in projection order;
        for a layered mapping the layer weights (the inverse of `population_weights`)."""
        weight_in, weight_rec = jnp.asarray(weight_in), jnp.asarray(weight_rec)
        if weight_in.shape != (self.in_size, self.size) or weight_rec.shape != (self.size,
                                                                                 self.size):
            raise ValueError(f"Mapping: weights {weight_in.shape}, {weight_rec.shape} != "
                             f"{(self.in_size, self.size)}, {(self.size, self.size)}.")
        out = []
        for q in self.projections:
            w = weight_in if q.pre == INPUT else weight_rec
            w = w[self.span(q.pre), self.span(q.post)]
            out.append(w if q.mask is None else jnp.where(q.mask, w, 0.0))
        return tuple(out)

    def with_weights(self, model, weight_in: Float[ArrayLike, "in_size size"],
                     weight_rec: Float[ArrayLike, "size size"]):
        """``model`` with its weights replaced by the one-population ``weight_in, weight_rec``
        (a `Sequential` gets `layer_weights`; a population object the masked matrices)."""
        blocks = self.layer_weights(weight_in, weight_rec)
        if _is_population(model):
            mask_in, mask = self.masks()
            new = (jnp.where(mask_in, weight_in, 0.0), jnp.where(mask, weight_rec, 0.0))
            return eqx.tree_at(lambda m: (m.weight_in, m.weight_rec), model, new)
        ws = _chain_weights(model)
        if len(ws) != len(blocks):
            raise ValueError(f"Mapping.with_weights: {len(ws)} layers for {len(blocks)} "
                             "projections.")
        return eqx.tree_at(lambda m: tuple(layer.weight for layer in m.layers), model, blocks)

    def _tau(self, tau_syn, post: str) -> Array:
        """``tau_syn`` (scalar or one per neuron, ``(size,)``) for the neurons of ``post``."""
        tau = jnp.asarray(tau_syn)
        if tau.ndim == 0:
            return tau
        if tau.shape != (self.size,):
            raise ValueError(f"Mapping: tau_syn must be a scalar or of shape ({self.size},), got "
                             f"{tau.shape}.")
        return tau[self.span(post)]

    def to_hardware(
        self,
        weight_in: Float[ArrayLike, "in_size size"],
        weight_rec: Float[ArrayLike, "size size"],
        *,
        scale: float, tau_syn: Float[ArrayLike, "*b"], bits: int = hw_weights.WEIGHT_BITS,
    ) -> HardwareWeights:
        """Hardware weights of every projection: ``{name: (exc, inh)}``, int32 magnitudes
        ``(n_pre, n_post)`` in ``0..2**bits-1`` on the sources' excitatory and inhibitory rows
        (`weights.to_hardware` and `weights.split_signs`; zero off the masks).

        ``scale``: hardware units per volt; ``tau_syn`` (s): a scalar or ``(size,)``.
        """
        blocks = self.layer_weights(weight_in, weight_rec)
        out = {}
        for q, w in zip(self.projections, blocks, strict=True):
            w_hw = hw_weights.to_hardware(w, scale=scale, tau_syn=self._tau(tau_syn, q.post),
                                          bits=bits)
            out[q.name] = hw_weights.split_signs(w_hw)
        return out

    def from_hardware(
        self, hardware: HardwareWeights, *, scale: float, tau_syn: Float[ArrayLike, "*b"],
        dtype=None,
    ) -> tuple[Float[Array, "in_size size"], Float[Array, "size size"]]:
        """One-population weights ``(weight_in, weight_rec)`` (V s) realised by the hardware
        weights ``{name: (exc, inh)}`` of `to_hardware`."""
        names = [q.name for q in self.projections]
        if set(hardware) != set(names):
            raise ValueError(f"Mapping.from_hardware: got projections {sorted(hardware)}, "
                             f"expected {sorted(names)}.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        blocks = []
        for q in self.projections:
            exc, inh = (jnp.asarray(a, jnp.int32) for a in hardware[q.name])  # uint8-safe
            shape = (self._count(q.pre), self._count(q.post))
            if exc.shape != shape or inh.shape != shape:
                raise ValueError(f"Mapping.from_hardware: {q.name} weights {exc.shape}, "
                                 f"{inh.shape} != {shape}.")
            blocks.append(hw_weights.from_hardware(exc - inh, scale=scale,
                                                   tau_syn=self._tau(tau_syn, q.post),
                                                   dtype=dtype))
        return self._place(blocks, dtype)

    def synapse_matrix(self, hardware: HardwareWeights) -> Int[Array, "row_count size"]:
        """The synapse array as on the chip: ``[row, neuron circuit]`` weights (``0..63``), row
        layout of `rows` (each source's excitatory row, then its inhibitory row)."""
        rows = self.rows()
        out = jnp.zeros((self.row_count, self.size), jnp.int32)
        for q in self.projections:
            exc, inh = (jnp.asarray(a, jnp.int32) for a in hardware[q.name])
            r = rows.get(q.pre)
            if r is None:
                continue  # a projection without synapses
            ok = np.flatnonzero(r[:, 0] >= 0)
            cols = np.arange(self.span(q.post).start, self.span(q.post).stop)
            out = out.at[np.ix_(r[ok, 0], cols)].set(exc[ok])
            out = out.at[np.ix_(r[ok, 1], cols)].set(inh[ok])
        return out

    # ------------------------------------------------------------------ spikes
    def split(self, spikes: Spikes) -> dict[str, Spikes]:
        """The output `Spikes` of every population (indices local to it), from the on-chip
        population's spikes.

        Each keeps the slot count (shape ``(*batch, n)``), sorted, unused slots ``inf``/``-1``;
        jit-able.
        """
        out = {}
        for p in self.populations:
            inside = spikes.valid & (spikes.idx >= p.first) & (spikes.idx < p.stop)
            time = jnp.where(inside, spikes.time, jnp.inf)
            idx = jnp.where(inside, spikes.idx - p.first, -1)
            out[p.name] = Spikes(time, idx).sort()
        return out

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """A table of the populations (name, size, neuron circuits) and projections (pre x post
        sources, synapse rows), and the chip resources used."""
        lines = [f"Mapping of {self.in_size} inputs onto one BrainScaleS-2 chip: "
                 f"{self.size}/{NEURONS} neuron circuits, {self.row_count}/{ROWS} synapse rows"]
        w = max(len(n) for n in (*self.names, "population"))
        lines.append(f"  {'population':<{w}}  {'size':>5}  neuron circuits")
        for p in self.populations:
            lines.append(f"  {p.name:<{w}}  {p.size:>5}  {p.first}..{p.stop - 1}")
        rows = self.rows()
        names = [f"{q.pre} -> {q.post}" for q in self.projections]
        w = max(len(n) for n in (*names, "projection"))
        lines.append(f"  {'projection':<{w}}  {'pre x post':>11}  synapses  synapse rows")
        for q, name in zip(self.projections, names, strict=True):
            n_pre, n_post = self._count(q.pre), self._count(q.post)
            n_syn = n_pre * n_post if q.mask is None else int(q.mask.sum())
            r = rows.get(q.pre, np.full((1, 2), -1))
            r = r[r[:, 0] >= 0]
            span = f"{r.min()}..{r.max()}" if r.size else "-"
            lines.append(f"  {name:<{w}}  {f'{n_pre} x {n_post}':>11}  {n_syn:>8}  {span}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        pops = ", ".join(repr(p) for p in self.populations)
        projs = ", ".join(q.name + ("" if q.mask is None else " (masked)")
                          for q in self.projections)
        return (f"Mapping(in_size={self.in_size}, populations=({pops}), "
                f"projections=({projs}), rows={self.row_count})")
