"""`to_nir(model, convention=...)`: each library's importer format.

* round trips ``from_nir(to_nir(m, convention=c), convention=c)`` give the same spikes (discrete:
  identical step for step; event: the same spikes, times to 1e-12 s: ``W = w / tau_syn`` and
  back is exact to rounding only);
* each export, read the way that library reads it, is evaluated with a numpy model of that
  library's equations (`test_nir._ode_net`, `test_nir._norse_steps`, `_spyx_steps`,
  `_snntorch_steps` below) and agrees with our simulation;
* what an importer cannot represent is refused, what it drops or changes is warned about.

The real libraries are run by ``benchmarks/nir_interop.py`` (their own venvs).
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn
from jaxsnn_eqx import discrete, event

nir = pytest.importorskip("nir")
jnir = pytest.importorskip("jaxsnn_eqx.nir")
from test_nir import _finite, _input, _norse_steps, _ode_net, _spikes, _write_read  # noqa: E402

T_MAX = 2e-2
DT = 1e-3


def _event_net(v_reset=-0.2, v_leak=0.05, recurrent=False):
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=v_reset, v_leak=v_leak)
    l1 = event.LIF(3, 5, params=p, t_max=T_MAX, max_spikes=256, key=k[0], init_mean=0.8)
    l2 = event.LIF(5, 3, params=p, t_max=T_MAX, max_spikes=256, key=k[1], init_mean=0.8)
    if recurrent:
        l2 = snn.Recurrent(l2, key=k[2], scale=0.05)
    return snn.Sequential([l1, l2])


def _discrete_net(reset, v_reset=0.0, v_leak=0.0, readout=False):
    k = jax.random.split(jax.random.PRNGKey(1), 2)
    p = discrete.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=v_reset,
                           v_leak=v_leak, reset=reset)
    last = (discrete.LI(8, 3, dt=DT, key=k[1]) if readout
            else discrete.LIF(8, 3, params=p, dt=DT, key=k[1], init_mean=0.6))
    return snn.Sequential([discrete.LIF(3, 8, params=p, dt=DT, key=k[0], init_mean=0.6), last])


def _xs(steps=100, seed=2):
    return (np.random.default_rng(seed).uniform(size=(steps, 3)) < 0.3).astype(np.float64)


def _chain(graph):
    """``[(W (post, pre), neuron node)]`` in graph order, as the library reads them."""
    layers, k = [], 0
    while f"linear_{k}" in graph.nodes:
        w = np.asarray(graph.nodes[f"linear_{k}"].weight)
        if graph.metadata.get("weight_layout") == "pre_post":
            w = w.T
        layers.append((w, graph.nodes[f"lif_{k}"]))
        k += 1
    return layers


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("convention", ["norse", "norse-1.1", "jaxsnn", "snntorch", "spyx"])
def test_roundtrip_event(convention, tmp_path):
    lib_ok = convention in ("norse", "jaxsnn")
    net = _event_net(*((-0.2, 0.05) if lib_ok else (0.0, 0.0)))
    g = jnir.to_nir(net, convention, **({} if lib_ok else {"dt": DT}))
    assert g.metadata["convention"] == convention
    if convention != "jaxsnn":  # (pre, post) matrices are not NIR-typed: no file round trip
        g = _write_read(g, tmp_path)
    back = jnir.from_nir(g, t_max=T_MAX, max_spikes=256, convention=convention)
    x = _spikes(*_input(3, 15, seed=3))
    (ta, ia), (tb, ib) = _finite(net(x)), _finite(back(x))
    assert len(ta) >= 5
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(ta, tb, rtol=0, atol=1e-12)


@pytest.mark.parametrize("convention,reset", [("norse", "value"), ("norse-1.1", "value"),
                                              ("snntorch", "value"), ("spyx", "subtract")])
def test_roundtrip_discrete_identical(convention, reset, tmp_path):
    net = _discrete_net(reset)
    g = _write_read(jnir.to_nir(net, convention), tmp_path)
    back = jnir.from_nir(g, kind="discrete", convention=convention)
    assert back.layers[0].dt == pytest.approx(DT, rel=1e-15)
    assert back.layers[0].params.reset == reset
    xs = jnp.asarray(_xs())
    a = np.asarray(net(xs))
    assert a.sum() >= 5
    np.testing.assert_array_equal(a, np.asarray(back(xs)))


def test_default_convention_unchanged():
    net = _event_net(recurrent=True)
    a, b = jnir.to_nir(net), jnir.to_nir(net, None)
    c = jnir.to_nir(net, "jaxsnn_eqx")
    for g in (b, c):
        assert set(g.nodes) == set(a.nodes) and g.edges == a.edges and g.metadata == a.metadata
        for name, node in a.nodes.items():
            for field, value in vars(node).items():
                if isinstance(value, np.ndarray):
                    np.testing.assert_array_equal(value, getattr(g.nodes[name], field))


# ----------------------------------------------------------------------------- library models
def test_norse_event_export_matches_ode():
    """norse reads seconds, a spike raises I by W (``r = w_in = 1``)."""
    net = _event_net(recurrent=True)
    g = jnir.to_nir(net, "norse")
    layers = [dict(W=w, tm=n.tau_mem, ts=n.tau_syn, R=1.0, v_leak=n.v_leak,
                   v_th=n.v_threshold, v_reset=n.v_reset) for w, n in _chain(g)]
    assert np.all(g.nodes["lif_0"].r == 1) and np.all(g.nodes["lif_0"].w_in == 1)
    layers[1]["Wrec"] = np.asarray(g.nodes["w_rec_1"].weight)
    t_in, i_in = _input(3, 15, seed=4)
    ref_t, ref_i = _ode_net(layers, t_in, i_in, T_MAX, h=5e-6)
    got_t, got_i = _finite(net(_spikes(t_in, i_in)))
    assert len(ref_t) >= 3 and len(got_t) == len(ref_t)
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_allclose(got_t, ref_t, rtol=0, atol=1e-12)


def test_jaxsnn_event_export_matches_ode():
    """jaxsnn 0.3.0 reads ms (``tau * 1e-3``), ``Linear.weight`` as its ``(pre, post)``
    matrix, and adds the weight to I at an input spike."""
    net = _event_net()
    g = jnir.to_nir(net, "jaxsnn")
    assert g.metadata["weight_layout"] == "pre_post"
    assert g.nodes["linear_0"].weight.shape == (3, 5)  # (pre, post)
    np.testing.assert_allclose(g.nodes["lif_0"].tau_mem, 10.0)
    layers = [dict(W=w, tm=n.tau_mem[0], ts=n.tau_syn[0], R=1.0, v_leak=n.v_leak[0],
                   v_th=n.v_threshold[0], v_reset=n.v_reset[0]) for w, n in _chain(g)]
    t_in, i_in = _input(3, 15, seed=5)
    ref_t, ref_i = _ode_net(layers, t_in * 1e3, i_in, T_MAX * 1e3, h=5e-3)
    got_t, got_i = _finite(net(_spikes(t_in, i_in)))
    assert len(ref_t) >= 3 and len(got_t) == len(ref_t)
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_allclose(got_t, ref_t * 1e-3, rtol=0, atol=1e-12)


def test_norse_discrete_export_matches_euler_update():
    net = _discrete_net("value", v_reset=-0.1, v_leak=0.05)
    g = jnir.to_nir(net, "norse")
    layers = [dict(W=w, tm=n.tau_mem, ts=n.tau_syn, v_leak=n.v_leak, v_th=n.v_threshold,
                   v_reset=n.v_reset) for w, n in _chain(g)]
    xs = _xs(seed=6)
    want, got = _norse_steps(xs, layers, DT), np.asarray(net(jnp.asarray(xs)))
    assert want.sum() >= 5
    np.testing.assert_array_equal(got[2:], want[:-2])  # one step later per layer


def _norse_box_steps(xs, layers, dt):
    """norse 1.1.0's import of a CubaLIF (norse/torch/utils/import_nir.py): LIBoxCell synapse
    ``s += dt/tau_syn (v_leak - s + w_in W x)``, then LIFBoxCell ``v += dt/tau_mem (v_leak - v +
    r s)``, ``z = v > v_th``, reset to its default v_reset = 0 (functional/leaky_integrator_box.py,
    lif_box.py)."""
    for w, n in layers:
        s, v, zs = np.zeros(w.shape[0]), np.zeros(w.shape[0]), []
        for x in xs:
            s = s + dt / n.tau_syn * ((n.v_leak - s) + n.w_in * (w @ x))
            v = v + dt / n.tau_mem * ((n.v_leak - v) + n.r * s)
            z = (v - n.v_threshold > 0).astype(float)
            v = (1 - z) * v
            zs.append(z)
        xs = np.array(zs)
    return xs


def test_norse_box_discrete_export_matches_its_update():
    net = _discrete_net("value")
    g = jnir.to_nir(net, "norse-1.1")
    assert g.metadata["dt"] == DT and g.metadata["time_unit"] == "s"
    xs = _xs(seed=9)
    want, got = _norse_box_steps(xs, _chain(g), DT), np.asarray(net(jnp.asarray(xs)))
    assert want.sum() >= 5
    np.testing.assert_array_equal(got[2:], want[:-2])  # one step later per layer


def _spyx_steps(xs, layers, dt=1.0):
    """spyx's CuBaLIF (src/spyx/nn.py) as its from_nir builds it (alpha = 1 - dt / tau_syn,
    beta = 1 - dt / tau_mem, threshold; src/spyx/nir.py): s = H(V - thr); V -= s thr;
    I = alpha I + W x; V = beta V + I; output s."""
    for w, n in layers:
        alpha, beta, thr = 1 - dt / n.tau_syn, 1 - dt / n.tau_mem, n.v_threshold
        v, i, zs = np.zeros(w.shape[0]), np.zeros(w.shape[0]), []
        for x in xs:
            s = (v - thr > 0).astype(float)
            v = v - s * thr
            i = alpha * i + w @ x
            v = beta * v + i
            zs.append(s)
        xs = np.array(zs)
    return xs


def _snntorch_steps(xs, layers, dt=1e-4):
    """snnTorch's Synaptic as its import_from_nir builds it (snntorch/import_nir.py: alpha =
    1 - dt / tau_syn, beta = 1 - dt / tau_mem, dt = 1e-4, reset_mechanism="zero",
    reset_delay=False; _neurons/synaptic.py): syn = alpha syn + W x; mem = beta mem + syn;
    s = H(mem - thr); mem = 0 where s."""
    for w, n in layers:
        assert np.allclose(n.r, n.tau_mem / dt) and np.allclose(n.w_in * dt / n.tau_syn, 1)
        alpha, beta, thr = 1 - dt / n.tau_syn, 1 - dt / n.tau_mem, n.v_threshold
        mem, syn, zs = np.zeros(w.shape[0]), np.zeros(w.shape[0]), []
        for x in xs:
            syn = alpha * syn + w @ x
            mem = beta * mem + syn
            s = (mem - thr > 0).astype(float)
            mem = (1 - s) * mem
            zs.append(s)
        xs = np.array(zs)
    return xs


def test_spyx_discrete_export_identical_step_for_step():
    net = _discrete_net("subtract")
    g = jnir.to_nir(net, "spyx")
    assert g.metadata["dt"] == 1.0 and g.metadata["time_unit"] == DT
    xs = _xs(seed=7)
    want, got = _spyx_steps(xs, _chain(g)), np.asarray(net(jnp.asarray(xs)))
    assert want.sum() >= 5
    np.testing.assert_array_equal(got, want)


def test_snntorch_discrete_export_matches_its_update():
    net = _discrete_net("value")
    g = jnir.to_nir(net, "snntorch")
    xs = _xs(seed=8)
    want, got = _snntorch_steps(xs, _chain(g)), np.asarray(net(jnp.asarray(xs)))
    assert want.sum() >= 5
    np.testing.assert_array_equal(got[2:], want[:-2])  # one step later per layer


# ----------------------------------------------------------------------------- refusals, warnings
def test_export_refusals_and_warnings():
    with pytest.raises(ValueError, match="convention must be one of"):
        jnir.to_nir(_event_net(), "brian")
    with pytest.raises(ValueError, match="needs the step"):
        jnir.to_nir(_event_net(0.0, 0.0), "spyx")
    with pytest.raises(ValueError, match="reads no v_leak"):
        jnir.to_nir(_discrete_net("value", v_leak=0.1), "snntorch")
    with pytest.raises(ValueError, match="reads no v_reset"):
        jnir.to_nir(_discrete_net("subtract", v_reset=-0.1), "spyx")
    with pytest.raises(ValueError, match="event-based importer"):
        jnir.to_nir(_discrete_net("value"), "jaxsnn")
    with pytest.raises(ValueError, match="dt= is for"):
        jnir.to_nir(_event_net(), dt=DT)
    with pytest.warns(UserWarning, match="spyx's from_nir drops"):
        jnir.to_nir(_discrete_net("subtract", readout=True), "spyx")
    with pytest.warns(UserWarning, match="spyx subtracts the threshold"):
        jnir.to_nir(_discrete_net("value"), "spyx")
    with pytest.warns(UserWarning, match="resets to zero"):
        jnir.to_nir(_discrete_net("subtract"), "snntorch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jnir.to_nir(_discrete_net("subtract"), "spyx")
        jnir.to_nir(_event_net(), "jaxsnn")
