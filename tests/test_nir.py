"""NIR export/import (`jaxsnn_eqx.nir`).

Round trips go through an HDF5 file (`nir.write`/`nir.read`) and must give identical spike times
(event) or outputs (discrete). Graphs written the way other libraries write them (norse,
snnTorch, spyx, the published jaxsnn) are built here with the `nir` package and the imported
model is checked against an independent reference: each library's neuron model integrated in
numpy in that library's own units (`_ode_layer`, event imports) or its Euler update written out
(`_norse_steps`, discrete import).
"""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn
from jaxsnn_eqx import discrete, event

nir = pytest.importorskip("nir")
jnir = pytest.importorskip("jaxsnn_eqx.nir")

T_MAX = 2e-2


def _spikes(times, idx):
    return snn.Spikes.from_arrays(jnp.asarray(times, jnp.float64), jnp.asarray(idx))


def _input(n_in=3, k=12, seed=0, t_hi=8e-3):
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0.0, t_hi, k)), rng.integers(0, n_in, k)


def _arr(x, n):
    return np.full(n, float(x))


def _write_read(graph, tmp_path):
    path = tmp_path / "net.nir"
    nir.write(path, graph)
    return nir.read(path)


def _finite(s):
    ok = np.isfinite(np.asarray(s.time))
    return np.asarray(s.time)[ok], np.asarray(s.idx)[ok]


# ----------------------------------------------------------------------------- reference
def _ode_layer(p, t_in, i_in, t_max, h):
    """One population of current-based LIF neurons in a library's own units, integrated with
    RK4 steps of at most ``h`` (landing exactly on every input), a crossing located by bisecting
    the length of the RK4 step that crosses, and the step redone up to it:

        tau_syn dI/dt = -I,  I += jump W[:, pre] at an input, += jump Wrec[:, k] at a spike of k
        tau_mem dV/dt = v_leak - V + R I,   V >= v_th -> V = v_reset

    RK4's local error is O((h / tau)^5) tau: about 1e-15 tau for h <= tau / 1000 (the steps
    used below), so the reference spike times are exact to far below the 1e-12 s tolerance;
    what remains is the accumulated rounding of ~1e4 steps.
    """
    W, Wrec = p["W"], p.get("Wrec")
    n = W.shape[0]
    tm, ts, R = p["tm"], p["ts"], p["R"]
    vl, th, vr = p["v_leak"], p["v_th"], p["v_reset"]

    def f(v, c):
        return (vl - v + R * c) / tm, -c / ts

    def rk4(v, c, dt):
        k1 = f(v, c)
        k2 = f(v + dt / 2 * k1[0], c + dt / 2 * k1[1])
        k3 = f(v + dt / 2 * k2[0], c + dt / 2 * k2[1])
        k4 = f(v + dt * k3[0], c + dt * k3[1])
        return (v + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
                c + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]))

    v, c = np.broadcast_to(vl, (n,)).astype(float).copy(), np.zeros(n)
    t, k, out_t, out_i = 0.0, 0, [], []
    while t < t_max:
        while k < len(t_in) and t_in[k] <= t:
            c = c + W[:, i_in[k]]
            k += 1
        t_next = min(t + h, t_in[k] if k < len(t_in) else np.inf, t_max)
        v1, c1 = rk4(v, c, t_next - t)
        cross = (v < th) & (v1 >= th)
        if np.any(cross):
            lo, hi = np.zeros(n), np.full(n, t_next - t)
            for _ in range(54):  # bisection on the RK4 step length: to rounding
                mid = (lo + hi) / 2
                up = rk4(v, c, mid)[0] >= th
                lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
            j = int(np.argmin(np.where(cross, hi, np.inf)))
            t_c = t + hi[j]
            v, c = rk4(v, c, hi[j])
            v[j] = np.broadcast_to(vr, (n,))[j]
            if Wrec is not None:
                c = c + Wrec[:, j]
            out_t.append(t_c)
            out_i.append(j)
            t = t_c
            continue
        v, c, t = v1, c1, t_next
    return np.array(out_t), np.array(out_i, int)


def _ode_net(layers, t_in, i_in, t_max, h):
    for p in layers:
        t_in, i_in = _ode_layer(p, t_in, i_in, t_max, h)
    return t_in, i_in


def _check_against(model, layers, t_in, i_in, t_max_lib, unit, h, atol):
    """Spike times of ``model`` (seconds) against the reference (library units ``unit``)."""
    ref_t, ref_i = _ode_net(layers, t_in / unit, i_in, t_max_lib, h)
    got_t, got_i = _finite(model(_spikes(t_in, i_in)))
    assert len(ref_t) >= 3, "test network too quiet to be a test"
    assert len(got_t) == len(ref_t)
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_allclose(got_t, ref_t * unit, rtol=0, atol=atol)


# ----------------------------------------------------------------------------- packaging
@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_lazy_import_and_install_hint():
    code = (
        "import sys, jaxsnn_eqx\n"
        "assert 'nir' not in sys.modules, 'import jaxsnn_eqx imported nir'\n"
        "sys.modules['nir'] = None  # as if not installed\n"
        "try:\n"
        "    import jaxsnn_eqx.nir\n"
        "except ImportError as e:\n"
        "    assert 'pip install \"jaxsnn-eqx[nir]\"' in str(e), str(e)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ----------------------------------------------------------------------------- export
def _event_net(key, recurrent=True):
    k = jax.random.split(key, 3)
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=-0.1, v_leak=0.05)
    l1 = event.LIF(3, 6, params=p, t_max=T_MAX, max_spikes=512, key=k[0], init_mean=1.5)
    l2 = event.LIF(6, 4, params=p, t_max=T_MAX, max_spikes=512, key=k[1], init_mean=1.5)
    if recurrent:
        l2 = snn.Recurrent(l2, key=k[2], scale=0.03, mask=1.0 - jnp.eye(4))
    return snn.Sequential([l1, l2])


def test_export_structure():
    net = _event_net(jax.random.PRNGKey(0))
    g = jnir.to_nir(net)
    assert set(g.nodes) == {"input", "linear_0", "lif_0", "linear_1", "lif_1", "w_rec_1",
                            "output"}
    assert ("lif_1", "w_rec_1") in g.edges and ("w_rec_1", "lif_1") in g.edges
    np.testing.assert_array_equal(g.nodes["input"].input_type["input"], [3])
    np.testing.assert_array_equal(g.nodes["output"].output_type["output"], [4])
    np.testing.assert_array_equal(g.nodes["linear_0"].weight, np.asarray(net.layers[0].weight).T)
    w_rec = g.nodes["w_rec_1"].weight
    assert np.all(np.diag(w_rec) == 0)  # masked self-connections are zero entries
    np.testing.assert_array_equal(w_rec, np.asarray(net.layers[1].effective_weight_rec).T)
    lif = g.nodes["lif_0"]
    assert isinstance(lif, nir.CubaLIF)
    for name in ("tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in"):
        a = getattr(lif, name)
        assert isinstance(a, np.ndarray) and a.shape == (6,) and a.dtype == np.float64, name
    np.testing.assert_array_equal(lif.tau_mem, 1e-2)
    np.testing.assert_array_equal(lif.v_reset, -0.1)
    assert g.metadata["time_unit"] == "s" and g.metadata["reset"] == "value"
    assert g.metadata["kind"] == "event" and "dt" not in g.metadata


def test_export_refuses_unknown_layer():
    import equinox as eqx

    with pytest.raises(TypeError, match="layer 0 \\(Linear\\) has no NIR equivalent"):
        jnir.to_nir(snn.Sequential([eqx.nn.Linear(2, 3, key=jax.random.PRNGKey(0))]))


def test_export_refuses_delays():
    layer = event.LIF(2, 3, t_max=T_MAX, max_spikes=3, key=jax.random.PRNGKey(0),
                      delay=jnp.full((2, 3), 1e-3))
    with pytest.raises(TypeError, match="layer 0 \\(LIF\\) has synaptic delays"):
        jnir.to_nir(snn.Sequential([layer]))


# ----------------------------------------------------------------------------- round trips
def test_roundtrip_event_file_identical(tmp_path):
    net = _event_net(jax.random.PRNGKey(1))
    g = _write_read(jnir.to_nir(net), tmp_path)
    net2 = jnir.from_nir(g, t_max=T_MAX, max_spikes=512)
    assert isinstance(net2.layers[1], snn.Recurrent)
    x = _spikes(*_input())
    a, b = net(x), net2(x)
    assert int(a.count) > 5
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(a.idx, b.idx)


def test_roundtrip_recurrent_eventprop_masked(tmp_path):
    size, n_in = 7, 3
    mask = np.ones((size, size))
    mask[:, :2] = 0.0  # nothing projects onto neurons 0, 1 recurrently
    p = event.LIFParams(tau_mem=1e-2, tau_syn=4e-3, v_th=1.0, t_refrac=1e-3)
    rec = event.RecurrentEventPropLIF(n_in, size, params=p, t_max=T_MAX, max_spikes=512,
                                      key=jax.random.PRNGKey(2), mask=mask, init_mean=5.0,
                                      rec_init_mean=1.0)
    with pytest.warns(UserWarning, match="refractory"):
        g = jnir.to_nir(rec)
    assert np.all(g.nodes["w_rec_0"].weight[:2, :] == 0.0)  # (post, pre): rows 0, 1
    g = _write_read(g, tmp_path)
    rec2 = jnir.from_nir(g, t_max=T_MAX, max_spikes=512, eventprop=True)[0]
    assert isinstance(rec2, event.RecurrentEventPropLIF) and rec2.params.t_refrac == 1e-3
    x = _spikes(*_input(n_in))
    a, b = rec(x), rec2(x)
    assert int(a.count) > 5
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(a.idx, b.idx)


def test_roundtrip_discrete_file_identical(tmp_path):
    k = jax.random.split(jax.random.PRNGKey(3), 3)
    p = discrete.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0, reset="subtract")
    net = snn.Sequential([
        snn.Recurrent(discrete.LIF(4, 8, params=p, dt=5e-4, key=k[0], init_mean=1.0), key=k[1]),
        discrete.LI(8, 3, dt=5e-4, key=k[2]),
    ])
    g = jnir.to_nir(net)
    assert isinstance(g.nodes["li_1"], nir.CubaLI)
    assert g.metadata["dt"] == 5e-4 and g.metadata["reset"] == "subtract"
    g = _write_read(g, tmp_path)
    net2 = jnir.from_nir(g, kind="discrete")
    assert net2.layers[0].layer.params.reset == "subtract"
    xs = (jax.random.uniform(jax.random.PRNGKey(4), (60, 4)) < 0.3).astype(jnp.float64)
    np.testing.assert_array_equal(net(xs), net2(xs))
    np.testing.assert_array_equal(net.layers[0](xs), net2.layers[0](xs))


# ----------------------------------------------------------------------------- other libraries
def _graph(nodes, edges, metadata=None):
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {})


def _chain(n_in, layers, n_out):
    nodes, edges, prev = {"input": nir.Input(input_type=np.array([n_in]))}, [], "input"
    for k, (w, neuron) in enumerate(layers):
        nodes[f"fc{k}"], nodes[f"n{k}"] = nir.Linear(weight=w), neuron
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"n{k}")]
        prev = f"n{k}"
    nodes["output"] = nir.Output(output_type=np.array([n_out]))
    return _graph(nodes, edges + [(prev, "output")])


def _norse_graph(rng):
    """norse's `to_nir`: CubaLIF in seconds, r = w_in = 1, Linear = torch weight (out, in);
    norse's own update adds the Linear output to its current i (a jump of W per spike)."""
    n = (3, 5, 2)
    ws = [rng.uniform(0.5, 3.0, (n[1], n[0])), rng.uniform(0.5, 2.5, (n[2], n[1]))]
    params = []
    for k in (1, 2):
        m = n[k]
        params.append(dict(tm=rng.uniform(8e-3, 1.2e-2, m), ts=_arr(5e-3, m), R=1.0,
                           v_leak=_arr(0.1, m), v_th=_arr(1.0, m), v_reset=_arr(-0.2, m)))
    nodes = [
        (w, nir.CubaLIF(tau_mem=p["tm"], tau_syn=p["ts"], r=np.ones_like(p["tm"]),
                        v_leak=p["v_leak"], v_threshold=p["v_th"], v_reset=p["v_reset"],
                        w_in=np.ones_like(p["tm"])))
        for w, p in zip(ws, params, strict=True)
    ]
    return _chain(3, nodes, 2), [dict(W=w, **p) for w, p in zip(ws, params, strict=True)]


def test_norse_event_matches_ode():
    g, ref = _norse_graph(np.random.default_rng(5))
    model = jnir.from_nir(g, t_max=T_MAX, max_spikes=512, convention="norse")
    t_in, i_in = _input(3, 15, seed=6)
    _check_against(model, ref, t_in, i_in, T_MAX, 1.0, h=5e-6, atol=1e-12)


def _norse_steps(xs, layers, dt):
    """norse's `lif_feed_forward_step` (norse/torch/functional/lif.py), written out:
    i_jump = i + input; v += dt / tm (v_leak - v + i_jump); i = i_jump - dt / ts i_jump;
    z = v > v_th; v = (1 - z) v + z v_reset."""
    for p in layers:
        m = p["W"].shape[0]
        v, i, zs = np.broadcast_to(p["v_leak"], (m,)).copy(), np.zeros(m), []
        for x in xs:
            i_jump = i + p["W"] @ x
            v = v + dt / p["tm"] * ((p["v_leak"] - v) + i_jump)
            i = i_jump - dt / p["ts"] * i_jump
            z = (v - p["v_th"] > 0).astype(float)
            v = (1 - z) * v + z * p["v_reset"]
            zs.append(z)
        xs = np.array(zs)
    return xs


def test_norse_discrete_matches_euler_update():
    """Exact up to the documented latency: our Euler step feeds bin n's input to the membrane
    in step n + 1, norse's in step n, so each layer is one step later than norse's."""
    g, ref = _norse_graph(np.random.default_rng(7))
    dt = 1e-3  # norse's default step
    model = jnir.from_nir(g, kind="discrete", dt=dt, convention="norse")
    xs = (np.random.default_rng(8).uniform(size=(80, 3)) < 0.4).astype(float)
    want = _norse_steps(xs, ref, dt)
    got = np.asarray(model(jnp.asarray(xs)))
    assert want.sum() > 5
    n_layers = len(ref)
    np.testing.assert_array_equal(got[n_layers:], want[:-n_layers])
    assert not got[:n_layers].any()


def _snntorch_cuba(alpha, beta, thr, dt=1e-4):
    """snnTorch `Synaptic` as its export_nir.py writes it (hard-coded dt = 1e-4)."""
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt, v_leak=np.zeros_like(thr),
                       v_threshold=thr, v_reset=np.zeros_like(thr), w_in=tau_syn / dt)


def _snntorch_ref(W, alpha, beta, thr, dt=1e-4, Wrec=None):
    """snnTorch's update (snntorch/_neurons/synaptic.py, rsynaptic.py): syn = alpha syn + input
    (+ Wrec spk_prev); mem = beta mem + syn - reset thr. In continuous time: syn decays with
    tau_syn = dt / (1 - alpha) and jumps by W per spike; mem = beta mem + syn integrates syn with
    gain 1 / (1 - beta) = tau_mem / dt; subtracting thr at an exact crossing leaves mem = 0."""
    tm, ts = dt / (1 - beta), dt / (1 - alpha)
    return dict(W=W, Wrec=Wrec, tm=tm, ts=ts, R=tm / dt, v_leak=0.0, v_th=thr, v_reset=0.0)


def test_snntorch_recurrent_subgraph_event_matches_ode():
    rng = np.random.default_rng(9)
    n_in, n_h, n_out = 3, 4, 2
    a1, b1 = _arr(0.95, n_h), rng.uniform(0.97, 0.985, n_h)
    a2, b2 = _arr(0.95, n_out), _arr(0.98, n_out)
    thr1, thr2 = _arr(1.0, n_h), _arr(1.0, n_out)
    w1 = rng.uniform(0.02, 0.05, (n_h, n_in))
    w_rec = rng.uniform(-0.01, 0.015, (n_h, n_h))
    w2 = rng.uniform(0.02, 0.04, (n_out, n_h))
    sub = nir.NIRGraph(  # the subgraph of snnTorch's RSynaptic export
        nodes={"input": nir.Input(input_type=[n_h]), "lif": _snntorch_cuba(a1, b1, thr1),
               "w_rec": nir.Linear(weight=w_rec), "output": nir.Output(output_type=[n_h])},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    g = _graph(
        {"input": nir.Input(input_type=np.array([n_in])), "fc1": nir.Linear(weight=w1),
         "rsyn": sub, "fc2": nir.Affine(weight=w2, bias=np.zeros(n_out)),
         "syn": _snntorch_cuba(a2, b2, thr2), "output": nir.Output(output_type=np.array([n_out]))},
        [("input", "fc1"), ("fc1", "rsyn"), ("rsyn", "fc2"), ("fc2", "syn"), ("syn", "output")],
    )
    model = jnir.from_nir(g, t_max=T_MAX, max_spikes=512, convention="snntorch")
    assert isinstance(model.layers[0], snn.Recurrent)
    ref = [_snntorch_ref(w1, a1, b1, thr1, Wrec=w_rec), _snntorch_ref(w2, a2, b2, thr2)]
    t_in, i_in = _input(n_in, 15, seed=10)
    _check_against(model, ref, t_in, i_in, T_MAX, 1.0, h=2.5e-6, atol=1e-12)


def test_spyx_event_matches_ode():
    """spyx's to_nir (src/spyx/nir.py): CubaLIF(tau_mem = dt / (1 - beta), tau_syn = dt /
    (1 - alpha), r = beta), no v_reset (NIR fills zeros), w_in left at 1; its CuBaLIF update
    (src/spyx/nn.py): I = alpha I + x; V = beta V + I, reset by subtracting the threshold.
    Continuous time: I jumps by W per spike, V integrates I with gain 1 / (1 - beta)."""
    rng = np.random.default_rng(11)
    dt = 1.0  # spyx's default: time constants in steps
    beta, alpha = rng.uniform(0.9, 0.93, 4), _arr(0.8, 4)
    w = rng.uniform(0.1, 0.4, (4, 3))
    node = nir.CubaLIF(tau_mem=dt / (1 - beta), tau_syn=dt / (1 - alpha), r=beta,
                       v_leak=np.zeros(4), v_threshold=_arr(1.0, 4))
    g = _chain(3, [(w, node)], 4)
    with pytest.raises(ValueError, match="time unit is unknown"):
        jnir.from_nir(g, t_max=T_MAX, max_spikes=512, convention="spyx")
    unit = 1e-3  # one step = 1 ms
    model = jnir.from_nir(g, t_max=T_MAX, max_spikes=512, convention="spyx", time_unit=unit)
    tm, ts = dt / (1 - beta), dt / (1 - alpha)
    ref = [dict(W=w, tm=tm, ts=ts, R=1 / (1 - beta), v_leak=0.0, v_th=1.0, v_reset=0.0)]
    t_in, i_in = _input(3, 15, seed=12)
    _check_against(model, ref, t_in, i_in, T_MAX / unit, unit, h=5e-3, atol=1e-12)


def test_jaxsnn_event_matches_ode():
    """The published jaxsnn (event/utils/to_nir.py): CubaLIF with tau in ms, r = 1, Linear =
    its (pre, post) weights transposed; its input transition adds the weight to I
    (functional/lif/transition.py) and its flow is dV/dt = (-(V - v_leak) + I) / tau_mem."""
    rng = np.random.default_rng(13)
    n = 5
    w = rng.uniform(0.8, 3.0, (n, 2))
    node = nir.CubaLIF(tau_mem=_arr(10.0, n), tau_syn=_arr(5.0, n), r=np.ones(n),
                       v_leak=_arr(0.0, n), v_threshold=_arr(1.0, n), v_reset=_arr(-1.0, n))
    g = _chain(2, [(w, node)], n)
    model = jnir.from_nir(g, t_max=T_MAX, max_spikes=512, convention="jaxsnn")
    ref = [dict(W=w, tm=10.0, ts=5.0, R=1.0, v_leak=0.0, v_th=1.0, v_reset=-1.0)]
    t_in, i_in = _input(2, 12, seed=14)
    _check_against(model, ref, t_in, i_in, T_MAX * 1e3, 1e-3, h=5e-3, atol=1e-12)


# ----------------------------------------------------------------------------- errors
def test_unsupported_node_is_named():
    g = _chain(2, [(np.ones((3, 2)), nir.LIF(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3),
                                             v_threshold=np.ones(3)))], 3)
    with pytest.raises(ValueError, match="node 'n0' is a LIF"):
        jnir.from_nir(g, t_max=T_MAX, max_spikes=8, time_unit="s")


def test_import_errors():
    node = nir.CubaLIF(tau_mem=_arr(10.0, 2), tau_syn=_arr(5.0, 2), r=np.ones(2),
                       v_leak=np.zeros(2), v_threshold=np.ones(2))
    g = _chain(2, [(np.ones((2, 2)), node)], 2)
    with pytest.raises(ValueError, match="time unit is unknown"):
        jnir.from_nir(g, t_max=T_MAX, max_spikes=8)
    with pytest.raises(ValueError, match="pass dt="):
        jnir.from_nir(g, kind="discrete", time_unit="ms")
    with pytest.raises(ValueError, match="needs t_max"):
        jnir.from_nir(g, time_unit="ms")
    with pytest.raises(ValueError, match="convention must be one of"):
        jnir.from_nir(g, t_max=T_MAX, max_spikes=8, convention="brian")
    bias = _graph({"input": nir.Input(input_type=np.array([2])),
                   "fc": nir.Affine(weight=np.ones((2, 2)), bias=np.ones(2)), "n": node,
                   "output": nir.Output(output_type=np.array([2]))},
                  [("input", "fc"), ("fc", "n"), ("n", "output")])
    with pytest.raises(ValueError, match="'fc' is an Affine with a nonzero bias"):
        jnir.from_nir(bias, t_max=T_MAX, max_spikes=8, time_unit="ms")
    li = _chain(2, [(np.ones((2, 2)), nir.CubaLI(tau_mem=_arr(10.0, 2), tau_syn=_arr(5.0, 2),
                                                 r=np.ones(2), v_leak=np.zeros(2)))], 2)
    with pytest.raises(ValueError, match="use kind='discrete'"):
        jnir.from_nir(li, t_max=T_MAX, max_spikes=8, time_unit="ms")


def test_a_hardware_layer_exports_its_software_model():
    """`HardwareRecurrentLIF` and `RecurrentEventPropLIF` are siblings under
    `event.AbstractRecurrentLIF`: the hardware layer exports as the same recurrent LIF graph."""
    from jaxsnn_eqx import hardware

    p = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6)
    kw = dict(params=p, t_max=3e-5, max_spikes=20, key=jax.random.PRNGKey(0))
    hw = event.HardwareRecurrentLIF(3, 5, backend=hardware.Emulator(), **kw)
    sw = event.RecurrentEventPropLIF(3, 5, **kw)
    g_hw, g_sw = jnir.to_nir(snn.Sequential([hw])), jnir.to_nir(snn.Sequential([sw]))
    assert list(g_hw.nodes) == list(g_sw.nodes) == ["input", "linear_0", "lif_0", "w_rec_0",
                                                    "output"]
    w_in, w_rec = hw.effective_weights
    np.testing.assert_array_equal(g_hw.nodes["linear_0"].weight, np.asarray(w_in, np.float64).T)
    np.testing.assert_array_equal(g_hw.nodes["w_rec_0"].weight, np.asarray(w_rec, np.float64).T)
