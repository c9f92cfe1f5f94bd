"""Every public module stays whole under Equinox's and JAX's tree tools.

For each public `eqx.Module` of the library (`MODULES`; `test_every_public_module_is_covered`
keeps the list complete): `eqx.tree_at` (a weight replaced), `eqx.filter_jit(module)(x)`,
`eqx.tree_serialise_leaves` / `tree_deserialise_leaves` (in memory and through a file),
`jax.tree.map(lambda x: x, m)` and `eqx.partition` / `eqx.combine` give a module of the same
type with the same behaviour (its output on a fixed input). No dataclass field shadows a
property, and a subclass of an abstract module that forgets an abstract member is refused.

This file uses ``from __future__ import annotations`` on purpose: the subclasses below are then
declared with string annotations, the situation in which Equinox once failed to recognise
``eqx.AbstractVar`` (and turned abstract members into ordinary fields).
"""

from __future__ import annotations

import dataclasses
import inspect
import io
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn
from jaxsnn_eqx import discrete, event, hardware
from jaxsnn_eqx.event.backend import simulate_population

KEY = jax.random.PRNGKey(0)
T_MAX = 2e-2
P = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0,
                    t_refrac=1e-3)
S_IN = snn.Spikes(jnp.array([1e-3, 2e-3, 2e-3, 5e-3, 9e-3, jnp.inf]),
                  jnp.array([0, 1, 2, 3, 0, -1], jnp.int32))
XS = jnp.asarray(np.random.default_rng(0).uniform(size=(40, 4)) < 0.3, jnp.float64)  # raster
X_SURR = jnp.linspace(-0.05, 0.05, 11)


def _keys(n):
    return jax.random.split(KEY, n)


def _population(backend_key=None):
    k1, k2 = _keys(2)
    w1 = event.lif_weight_scale(P)
    return event.Population(event.LIFNeuron(P), 1.5 * w1 * jax.random.uniform(k1, (4, 5)),
                            0.3 * w1 * jax.random.normal(k2, (5, 5)), T_MAX, 64)


class ModuleCase(NamedTuple):
    make: Callable[[], eqx.Module]
    behave: Callable[[eqx.Module], Any]  # output on a fixed input, jitted
    weight: Callable[[eqx.Module], Any] | None  # a leaf that eqx.tree_at edits (None: none)


def _call(*args, **kwargs):
    """Behaviour of a callable module: ``eqx.filter_jit(module)(*args, **kwargs)``."""
    return lambda m: eqx.filter_jit(m)(*args, **kwargs)


def _apply(fn):
    """Behaviour of a non-callable module: a jitted function of it."""
    return lambda m: eqx.filter_jit(fn)(m)


def _surrogate(m):
    return m(X_SURR), jax.grad(lambda x: jnp.sum(m(x) * x))(X_SURR)


def _event_lif(**kw):
    kw.setdefault("max_spikes", 64)
    return lambda: event.LIF(4, 5, params=P, t_max=T_MAX, key=KEY, **kw)


def _lif_neuron_behaviour(n):
    st = event.LIFState(v=jnp.array([0.2, 0.5, 0.9]), i=jnp.array([1.5, 3.0, 0.5]),
                        r=jnp.array([0.0, 1e-3, 0.0]))
    st2 = n.integrate(st, jnp.full((3,), 2e-3))
    st3 = n.transition(st2, event.Transition(weight=jnp.array([0.01, 0.0, -0.01]),
                                             fired=jnp.array([False, True, False])))
    return n.next_threshold_crossing(st, jnp.full((3,), T_MAX)), st2, st3


P_IF = event.IFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, t_refrac=1e-3)
P_ALIF = event.AdaptiveLIFParams(tau_mem=1e-2, tau_syn=5e-3, tau_adapt=5e-2, b=0.2,
                                 t_refrac=1e-3)
ALIF_STATE = event.AdaptiveLIFState(v=jnp.array([0.2, 0.5, 0.9]), i=jnp.array([1.5, 3.0, 0.5]),
                                    a=jnp.array([0.0, 0.3, 0.1]), r=jnp.array([0.0, 1e-3, 0.0]))


def _neuron_behaviour(n, st=None):
    """A neuron's three methods on a fixed state (LIF-shaped unless ``st`` is given)."""
    if st is None:
        st = event.LIFState(v=jnp.array([0.2, 0.5, 0.9]), i=jnp.array([1.5, 3.0, 0.5]),
                            r=jnp.array([0.0, 1e-3, 0.0]))
    st2 = n.integrate(st, jnp.full((3,), 2e-3))
    st3 = n.transition(st2, event.Transition(weight=jnp.array([0.01, 0.0, -0.01]),
                                             fired=jnp.array([False, True, False])))
    return n.next_threshold_crossing(st, jnp.full((3,), T_MAX)), st2, st3


MODULES: dict[str, ModuleCase] = {
    # other neuron models
    "event.IF": ModuleCase(
        lambda: event.IF(4, 5, params=P_IF, t_max=T_MAX, max_spikes=64, key=KEY),
        _call(S_IN), lambda m: m.weight),
    "event.AdaptiveLIF": ModuleCase(
        lambda: event.AdaptiveLIF(4, 5, params=P_ALIF, t_max=T_MAX, max_spikes=64, key=KEY),
        _call(S_IN), lambda m: m.weight),
    "event.IFParams": ModuleCase(
        lambda: event.IFParams(tau_mem=jnp.asarray(1e-2), tau_syn=jnp.asarray(5e-3)),
        _apply(lambda p: _neuron_behaviour(event.IFNeuron(p))), lambda m: m.tau_syn),
    "event.IFNeuron": ModuleCase(lambda: event.IFNeuron(P_IF), _apply(_neuron_behaviour),
                                 lambda m: m.params.v_th),
    "event.AdaptiveLIFParams": ModuleCase(
        lambda: event.AdaptiveLIFParams(tau_adapt=jnp.asarray(5e-2), b=jnp.asarray(0.2)),
        _apply(lambda p: _neuron_behaviour(event.AdaptiveLIFNeuron(p), ALIF_STATE)),
        lambda m: m.b),
    "event.AdaptiveLIFNeuron": ModuleCase(
        lambda: event.AdaptiveLIFNeuron(P_ALIF),
        _apply(lambda n: _neuron_behaviour(n, ALIF_STATE)), lambda m: m.params.tau_adapt),
    "event.AdaptiveLIFState": ModuleCase(
        lambda: ALIF_STATE,
        _apply(lambda s: _neuron_behaviour(event.AdaptiveLIFNeuron(P_ALIF), s)),
        lambda m: m.a),
    # event layers
    "event.LIF": ModuleCase(_event_lif(), _call(S_IN), lambda m: m.weight),
    "event.LIF[single_spike]": ModuleCase(_event_lif(single_spike=True, max_spikes=5),
                                          _call(S_IN), lambda m: m.weight),
    "event.LIF[delay]": ModuleCase(
        _event_lif(delay=jnp.linspace(0.0, 2e-3, 20).reshape(4, 5)), _call(S_IN),
        lambda m: m.delay),
    "event.EventPropLIF": ModuleCase(
        lambda: event.EventPropLIF(4, 5, params=P, t_max=T_MAX, max_spikes=64, key=KEY),
        _call(S_IN), lambda m: m.weight),
    "event.RecurrentEventPropLIF": ModuleCase(
        lambda: event.RecurrentEventPropLIF(4, 5, params=P, t_max=T_MAX, max_spikes=64,
                                            key=KEY),
        _call(S_IN), lambda m: m.weight_rec),
    "event.HardwareRecurrentLIF": ModuleCase(  # the default (calibrated-chip) emulator
        lambda: event.HardwareRecurrentLIF(4, 5, params=P, t_max=T_MAX, max_spikes=64,
                                           backend=hardware.Emulator(), key=KEY),
        _call(S_IN, key=_keys(3)[2]), lambda m: m.weight_in),
    "event.EventLayer": ModuleCase(
        lambda: event.EventLayer(event.LIFNeuron(P),
                                 1.5 * event.lif_weight_scale(P) * jax.random.uniform(KEY, (4, 5)),
                                 t_max=T_MAX, max_spikes=64),
        _call(S_IN), lambda m: m.weight),
    # containers
    "Sequential[event]": ModuleCase(
        lambda: snn.Sequential([_event_lif()(), event.LIF(5, 2, params=P, t_max=T_MAX,
                                                          max_spikes=64, key=_keys(2)[1])]),
        _call(S_IN), lambda m: m.layers[1].weight),
    "Recurrent[event]": ModuleCase(
        lambda: snn.Recurrent(_event_lif()(), scale=0.3 * event.lif_weight_scale(P),
                              key=_keys(2)[1]),
        _call(S_IN), lambda m: m.weight_rec),
    "Sequential[discrete]": ModuleCase(
        lambda: snn.Sequential([discrete.LIF(4, 6, params=discrete.LIFParams(), dt=5e-4,
                                             key=KEY, init_mean=2.0),
                                discrete.LI(6, 2, dt=5e-4, key=_keys(2)[1])]),
        _call(XS), lambda m: m.layers[0].weight),
    "Recurrent[discrete]": ModuleCase(
        lambda: snn.Recurrent(discrete.LIF(4, 6, params=discrete.LIFParams(), dt=5e-4, key=KEY,
                                           init_mean=2.0), scale=0.5, key=_keys(2)[1]),
        _call(XS), lambda m: m.weight_rec),
    # discrete layers and surrogates
    "discrete.LIF": ModuleCase(
        lambda: discrete.LIF(4, 6, params=discrete.LIFParams(), dt=5e-4, key=KEY, init_mean=2.0),
        _call(XS), lambda m: m.weight),
    "discrete.LI": ModuleCase(lambda: discrete.LI(4, 3, dt=5e-4, key=KEY), _call(XS),
                              lambda m: m.weight),
    "discrete.SuperSpike": ModuleCase(discrete.SuperSpike, _apply(_surrogate), lambda m: m.alpha),
    "discrete.FastSigmoid": ModuleCase(discrete.FastSigmoid, _apply(_surrogate),
                                       lambda m: m.alpha),
    "discrete.Triangle": ModuleCase(discrete.Triangle, _apply(_surrogate), lambda m: m.alpha),
    "discrete.ArcTan": ModuleCase(discrete.ArcTan, _apply(_surrogate), lambda m: m.alpha),
    # parameters, states, neurons (no call: a jitted use of them)
    "discrete.LIFParams": ModuleCase(
        lambda: discrete.LIFParams(tau_mem=jnp.asarray(1e-2), v_th=jnp.asarray(1.0)),
        _apply(lambda p: discrete.LIF(4, 6, params=p, dt=5e-4, weight=jnp.full((4, 6), 0.05))(XS)),
        lambda m: m.tau_mem),
    "discrete.LIParams": ModuleCase(
        lambda: discrete.LIParams(tau_mem=jnp.asarray(1e-2)),
        _apply(lambda p: discrete.LI(4, 3, params=p, dt=5e-4, weight=jnp.full((4, 3), 0.05))(XS)),
        lambda m: m.tau_mem),
    "discrete.LIFState": ModuleCase(
        lambda: discrete.LIF(4, 6, params=discrete.LIFParams(), dt=5e-4, key=KEY).init_state(),
        _apply(lambda s: discrete.LIF(4, 6, params=discrete.LIFParams(), dt=5e-4,
                                      weight=jnp.full((4, 6), 0.05))(XS, state=s)),
        lambda m: m.v),
    "discrete.LIState": ModuleCase(
        lambda: discrete.LI(4, 3, dt=5e-4, key=KEY).init_state(),
        _apply(lambda s: discrete.LI(4, 3, dt=5e-4, weight=jnp.full((4, 3), 0.05))(XS, state=s)),
        lambda m: m.v),
    "event.LIFParams": ModuleCase(
        lambda: event.LIFParams(tau_mem=jnp.asarray(1e-2), tau_syn=jnp.asarray(5e-3),
                                v_th=jnp.asarray(1.0)),
        _apply(lambda p: _lif_neuron_behaviour(event.LIFNeuron(p))), lambda m: m.v_th),
    "event.LIFNeuron": ModuleCase(lambda: event.LIFNeuron(P), _apply(_lif_neuron_behaviour),
                                  lambda m: m.params.v_th),
    "event.LIFState": ModuleCase(
        lambda: event.LIFState(v=jnp.array([0.2, 0.5]), i=jnp.array([1.5, 3.0]),
                               r=jnp.array([0.0, 1e-3])),
        _apply(lambda s: event.LIFNeuron(P).integrate(s, jnp.full((2,), 2e-3))),
        lambda m: m.i),
    "event.Transition": ModuleCase(
        lambda: event.Transition(weight=jnp.array([0.01, -0.01]), fired=jnp.array([True, False])),
        _apply(lambda tr: event.LIFNeuron(P).transition(event.LIFNeuron(P).init_state(
            2, jnp.float64), tr)),
        lambda m: m.weight),
    "Spikes": ModuleCase(lambda: S_IN,
                         _apply(lambda s: (s.sort(), s.counts(5), s.first_times(5), s.count)),
                         lambda m: m.time),
    # backends
    "event.Population": ModuleCase(_population, _apply(lambda p: simulate_population(p, S_IN)),
                                   lambda m: m.weight_in),
    "event.JaxSimulation": ModuleCase(event.JaxSimulation, _call(_population(), S_IN), None),
    "hardware.Emulator": ModuleCase(hardware.Emulator, _call(_population(), S_IN, key=KEY), None),
    "hardware.Emulator.ideal": ModuleCase(hardware.Emulator.ideal, _call(_population(), S_IN),
                                          None),
    "hardware.BSS2Executor": ModuleCase(  # no chip here: its jit-able weight translation
        hardware.BSS2Executor, lambda m: eqx.filter_jit(m.hardware_weights)(_population()),
        None),
}
# backward-pass strategies: the gradient of a layer's spike times with the strategy
def _backward_behaviour(b):
    w = 1.5 * event.lif_weight_scale(P) * jax.random.uniform(KEY, (4, 5))

    def loss(w):
        out = event.simulate(event.LIFNeuron(P), w, S_IN, t_max=T_MAX, max_spikes=64,
                             backward=b)
        return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time, 0.0))

    return jax.grad(loss)(w)


MODULES["event.Replay"] = ModuleCase(event.Replay, _apply(_backward_behaviour), None)
MODULES["event.EventProp"] = ModuleCase(lambda: event.EventProp(slope_floor=0.1),
                                        _apply(_backward_behaviour), None)
# abstract: exercised through their subclasses above and in the tests at the end
ABSTRACT = {event.EventNeuron, event.AbstractEventLayer, event.Backend, event.Backward,
            event.AbstractAdjoint, event.AbstractRecurrentLIF}


# ----------------------------------------------------------------------------- helpers
def assert_same(a, b):
    """Two pytrees of arrays (e.g. outputs) are equal: same structure, same values."""
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert ta == tb, (ta, tb)
    for x, y in zip(la, lb, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        if np.issubdtype(x.dtype, np.inexact):  # jit/eager fusion may differ by an ulp
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(x, y)


def assert_same_module(m, m2):
    assert type(m2) is type(m)
    s1 = jax.tree.structure(m)
    assert jax.tree.structure(m2) == s1
    for x, y in zip(jax.tree.leaves(m), jax.tree.leaves(m2), strict=True):
        if eqx.is_array(x):
            assert eqx.is_array(y) and x.dtype == y.dtype
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        else:
            assert x == y


def _skeleton(m):
    """``m`` with every leaf zeroed (arrays and Python numbers): what deserialising fills."""
    def zero(x):
        if eqx.is_array(x):
            return jnp.zeros_like(x)
        if isinstance(x, bool):
            return x
        if isinstance(x, int | float):
            return type(x)(0)
        return x
    return jax.tree.map(zero, m)


@pytest.fixture(scope="module", params=sorted(MODULES))
def case(request):
    c = MODULES[request.param]
    m = c.make()
    return request.param, c, m, c.behave(m)


# ----------------------------------------------------------------------------- the tools
def test_filter_jit_and_identity_map(case):
    name, c, m, out = case
    assert isinstance(m, eqx.Module)
    m2 = jax.tree.map(lambda x: x, m)
    assert_same_module(m, m2)
    assert_same(out, c.behave(m2))


def test_tree_at_edits_a_weight(case):
    name, c, m, out = case
    if c.weight is None:
        assert not jax.tree.leaves(m), f"{name}: has leaves, give it a weight to edit"
        return
    w = c.weight(m)
    # the same value in a new leaf: the same module
    same = eqx.tree_at(c.weight, m, jnp.array(w, copy=True) if eqx.is_array(w) else float(w))
    assert_same_module(m, same)
    assert_same(out, c.behave(same))
    # a changed weight: the same type, every other leaf kept, and it still runs jitted
    edited = eqx.tree_at(c.weight, m, w * 1.25 + 1e-3)
    assert type(edited) is type(m)
    np.testing.assert_array_equal(np.asarray(c.weight(edited)), np.asarray(w) * 1.25 + 1e-3)
    changed = [not np.array_equal(np.asarray(a), np.asarray(b))
               for a, b in zip(jax.tree.leaves(m), jax.tree.leaves(edited), strict=True)]
    assert sum(changed) == 1
    res = c.behave(edited)
    assert all(np.all(~np.isnan(np.asarray(x))) for x in jax.tree.leaves(res)
               if np.issubdtype(np.asarray(x).dtype, np.inexact))


def test_serialise_round_trip(case, tmp_path):
    name, c, m, out = case
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, m)
    buf.seek(0)
    back = eqx.tree_deserialise_leaves(buf, _skeleton(m))
    assert_same_module(m, back)
    assert_same(out, c.behave(back))
    path = tmp_path / "m.eqx"
    eqx.tree_serialise_leaves(path, m)
    assert_same_module(m, eqx.tree_deserialise_leaves(path, _skeleton(m)))


@pytest.mark.parametrize("spec", [eqx.is_array, eqx.is_inexact_array])
def test_partition_combine(case, spec):
    name, c, m, out = case
    dynamic, static = eqx.partition(m, spec)
    back = eqx.combine(dynamic, static)
    assert_same_module(m, back)
    assert_same(out, c.behave(back))


# ----------------------------------------------------------------------------- the classes
def _public_module_classes():
    from jaxsnn_eqx import data

    found = {}
    for ns in (snn, event, discrete, hardware, data):
        for name in getattr(ns, "__all__", ()):
            obj = getattr(ns, name)
            if inspect.isclass(obj) and issubclass(obj, eqx.Module):
                found[obj] = f"{ns.__name__}.{name}"
    return found


def test_every_public_module_is_covered():
    covered = {type(MODULES[k].make()) for k in MODULES} | ABSTRACT
    missing = [n for cls, n in _public_module_classes().items() if cls not in covered]
    assert not missing, f"public modules without a tools test: {missing}"


@pytest.mark.parametrize("cls", sorted(_public_module_classes(), key=lambda c: c.__qualname__),
                         ids=lambda c: c.__qualname__)
def test_no_field_is_a_property(cls):
    """A property (e.g. `LIF.neuron`, `RecurrentEventPropLIF.out_size`) must not also be a
    dataclass field: that is what an unrecognised ``eqx.AbstractVar`` turns into."""
    fields = {f.name for f in dataclasses.fields(cls)}
    props = {n for n in dir(cls) if isinstance(inspect.getattr_static(cls, n, None), property)}
    assert not fields & props, fields & props


def test_abstract_vars_are_not_fields():
    """Every ``eqx.AbstractVar`` of the package (only `event.AbstractEventLayer` declares any)
    is abstract, not a field: of the abstract class and of its concrete subclasses."""
    import pathlib

    import jaxsnn_eqx

    root = pathlib.Path(jaxsnn_eqx.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if "AbstractVar" in p.read_text() or "AbstractClassVar" in p.read_text())
    # a new user: add its classes below
    assert users == ["event/layers.py", "event/recurrent.py"], users
    names = _abstract_var_names(event.AbstractEventLayer)
    assert names >= {"neuron", "weight", "in_size", "out_size", "t_max", "max_spikes"}
    assert not {f.name for f in dataclasses.fields(event.AbstractEventLayer)} & names
    for cls in (event.LIF, event.EventPropLIF):
        assert "neuron" not in {f.name for f in dataclasses.fields(cls)}  # a property there
    names = _abstract_var_names(event.AbstractRecurrentLIF)
    assert names >= {"weight_in", "weight_rec", "mask", "mask_in", "params", "size"}
    assert not {f.name for f in dataclasses.fields(event.AbstractRecurrentLIF)} & names
    for cls in (event.RecurrentEventPropLIF, event.HardwareRecurrentLIF):
        assert names <= {f.name for f in dataclasses.fields(cls)}
        assert "neuron" not in {f.name for f in dataclasses.fields(cls)}  # a property
    assert "neuron" in {f.name for f in dataclasses.fields(event.EventLayer)}  # a field here


def _abstract_var_names(cls) -> set[str]:
    ann = inspect.get_annotations(cls)
    return {k for k, v in ann.items() if "AbstractVar" in str(v)}


# subclasses declared here, under `from __future__ import annotations`
def _complete_namespace(skip: str | None = None):
    """Annotations and members of an `AbstractEventLayer` subclass that defines every abstract
    member (``neuron`` as a property) except ``skip``."""
    ann = {"weight": "jax.Array", "in_size": "int", "out_size": "int", "t_max": "float",
           "max_spikes": "int", "max_spikes_per_neuron": "int | None",
           "backward": "Any", "method": "str"}
    ns = {"__annotations__": {k: v for k, v in ann.items() if k != skip},
          "neuron": property(lambda self: event.LIFNeuron(P))}
    if skip == "neuron":
        del ns["neuron"]
    return ns


_LAYER_KW = dict(weight=jnp.full((2, 3), 0.015), in_size=2, out_size=3, t_max=T_MAX,
                 max_spikes=16, max_spikes_per_neuron=None, backward=None, method="auto")


def test_complete_subclass_of_the_abstract_layer_works():
    Layer = type("Layer", (event.AbstractEventLayer,), _complete_namespace())
    layer = Layer(**_LAYER_KW)
    assert "neuron" not in {f.name for f in dataclasses.fields(Layer)}
    out = eqx.filter_jit(layer)(snn.Spikes(jnp.array([1e-3, 2e-3]), jnp.array([0, 1])))
    assert out.time.shape == (16,) and int(out.count) == 3


@pytest.mark.parametrize("missing", sorted(_abstract_var_names(event.AbstractEventLayer)))
def test_subclass_forgetting_an_abstract_member_is_refused(missing):
    Layer = type("Layer", (event.AbstractEventLayer,), _complete_namespace(skip=missing))
    with pytest.raises(TypeError, match="abstract"):
        Layer(**{k: v for k, v in _LAYER_KW.items() if k != missing})


def test_subclasses_forgetting_an_abstract_method_are_refused():
    class NoRun(event.Backend):
        pass

    class NoIntegrate(event.EventNeuron):
        def init_state(self, n, dtype):
            return jnp.zeros((n,), dtype)

        def next_threshold_crossing(self, state, t_max):
            return jnp.full_like(state, jnp.inf)

        def transition(self, state, spike):
            return state

    for cls in (NoRun, NoIntegrate):
        with pytest.raises(TypeError, match="abstract"):
            cls()
