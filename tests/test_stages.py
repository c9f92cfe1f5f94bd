"""A masked population without cycles, simulated stage by stage (`event.stages`), against the
population's one event loop (``method="kernel"``) and finite differences."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import event
from jaxsnn_eqx.event.stages import feedforward_stages
from jaxsnn_eqx.spikes import Spikes

jax.config.update("jax_enable_x64", True)

T_MAX = 3e-2


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def random_input(key, n_in, k, t_hi):
    t = jnp.sort(jax.random.uniform(key, (k,), minval=0.0, maxval=t_hi))
    return Spikes(t, jax.random.randint(jax.random.fold_in(key, 1), (k,), 0, n_in))


def skip_stack(key):
    """Neurons in shuffled order: 6 hidden A (from the inputs), 4 hidden B (from A and the
    inputs), 3 outputs (from A and B: a skip connection); stages A, B, outputs."""
    perm = np.asarray(jax.random.permutation(key, 13))
    a, b, o = perm[:6], perm[6:10], perm[10:]
    mask = np.zeros((13, 13), bool)
    mask[np.ix_(a, b)] = True
    mask[np.ix_(a, o)] = True
    mask[np.ix_(b, o)] = True
    mask_in = np.zeros((4, 13), bool)
    mask_in[:, a] = True
    mask_in[:2, b] = True
    return mask_in, mask, (a, b, o)


def population(mask_in, mask, *, single_spike, method, delay=None, v_th=None):
    size, n_in = mask.shape[0], mask_in.shape[0]
    p = event.LIFParams(tau_mem=1e-2, tau_syn=4e-3, t_refrac=1.5e-3,
                        v_th=1.0 if v_th is None else v_th)
    k1, k2 = jax.random.split(jax.random.PRNGKey(3))
    w1 = event.lif_weight_scale(p)
    w_in = 0.5 * w1 * (1.5 + jax.random.normal(k1, (n_in, size)))
    w_rec = 0.3 * w1 * (1.0 + jax.random.normal(k2, (size, size)))
    return event.RecurrentEventPropLIF(
        n_in, size, params=p, t_max=T_MAX, max_spikes=128, weight_in=w_in, weight_rec=w_rec,
        mask=mask, mask_in=mask_in, single_spike=single_spike, method=method, delay=delay)


# Compiled once per call site: an eager call dispatches (and compiles) every operation
# around the event loop one by one, 3x slower than one compiled program in these tests.
_call = eqx.filter_jit(lambda model, spikes: model(spikes))


def loss_of(spikes, n):
    coef = jax.random.normal(jax.random.PRNGKey(9), (128,))

    def loss(m, t_in=None):
        x = spikes if t_in is None else Spikes(t_in, spikes.idx)
        out = m(x)
        t = jnp.where(jnp.isfinite(out.time), out.time, 0.0)
        return jnp.sum(coef * t * (1.0 + out.idx % 3))

    return loss


def test_stages_of_masks():
    mask_in, mask, (a, b, o) = skip_stack(jax.random.PRNGKey(0))
    stages = feedforward_stages(mask)
    assert [set(s) for s in stages] == [set(a.tolist()), set(b.tolist()), set(o.tolist())]
    assert feedforward_stages(None) is None
    cyc = mask.copy()
    cyc[o[0], a[0]] = True  # output -> hidden: a cycle
    assert feedforward_stages(cyc) is None
    self_loop = mask.copy()
    self_loop[b[1], b[1]] = True
    assert feedforward_stages(self_loop) is None
    chain = np.eye(20, k=1, dtype=bool)  # 20 stages of one neuron
    assert feedforward_stages(chain) is None
    assert len(feedforward_stages(chain, max_stages=20)) == 20
    assert feedforward_stages(np.zeros((3, 3), bool)) == ((0, 1, 2),)


@pytest.mark.parametrize("single_spike", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_stages_equal_the_event_loop(single_spike):
    """Spike times, indices and EventProp gradients (input and recurrent weights, input times,
    per-neuron thresholds) of the staged population equal the event loop's (float64)."""
    mask_in, mask, _ = skip_stack(jax.random.PRNGKey(1))
    v_th = jnp.linspace(0.9, 1.1, 13)
    fast = population(mask_in, mask, single_spike=single_spike, method="auto", v_th=v_th)
    loop = population(mask_in, mask, single_spike=single_spike, method="kernel", v_th=v_th)
    assert fast.stages is not None and loop.stages is None
    spikes = random_input(jax.random.PRNGKey(2), 4, 12, 1.2e-2)
    out_f, out_l = _call(fast, spikes), _call(loop, spikes)
    n = int(jnp.sum(jnp.isfinite(out_l.time)))
    assert n >= 10 and len(np.unique(np.asarray(out_l.idx)[:n])) >= 8, "setup: activity wanted"
    if not single_spike:
        assert n > len(np.unique(np.asarray(out_l.idx)[:n])), "setup: repeated spikes wanted"
    np.testing.assert_array_equal(out_f.idx, out_l.idx)
    np.testing.assert_allclose(out_f.time, out_l.time, rtol=1e-12)
    loss = loss_of(spikes, 13)
    grad = eqx.filter_jit(eqx.filter_grad(loss))
    g_f, g_l = grad(fast), grad(loop)
    for get in (lambda g: g.weight_in, lambda g: g.weight_rec, lambda g: g.params.v_th):
        assert rel_err(get(g_f), get(g_l)) < 1e-10
    assert np.all(np.asarray(g_f.weight_rec)[~mask] == 0)
    grad_t = eqx.filter_jit(jax.grad(loss, argnums=1))
    gt_f, gt_l = grad_t(fast, spikes.time), grad_t(loop, spikes.time)
    assert rel_err(gt_f, gt_l) < 1e-10


@pytest.mark.slow
def test_stages_finite_differences():
    """Gradients of the staged population against float64 central differences."""
    mask_in, mask, (a, b, o) = skip_stack(jax.random.PRNGKey(4))
    model = population(mask_in, mask, single_spike=True, method="stages")
    spikes = random_input(jax.random.PRNGKey(5), 4, 10, 1.2e-2)
    loss = loss_of(spikes, 13)
    g = eqx.filter_grad(loss)(model)
    rng = np.random.default_rng(0)
    eps = 1e-7
    for name in ("weight_in", "weight_rec"):
        allowed = np.argwhere(np.asarray(mask_in if name == "weight_in" else mask))
        for i, j in allowed[rng.choice(len(allowed), 6, replace=False)]:
            def f(d, name=name, i=i, j=j):
                m = eqx.tree_at(lambda m: getattr(m, name), model,
                                getattr(model, name).at[i, j].add(d))
                return loss(m)
            fd = (f(eps) - f(-eps)) / (2 * eps)
            assert abs(fd - getattr(g, name)[i, j]) <= 1e-5 * max(abs(fd), 1e-3), (name, i, j)


def test_stages_with_delays():
    """Per-connection input delays: staged == event loop (spikes and delay gradients)."""
    mask_in, mask, _ = skip_stack(jax.random.PRNGKey(6))
    delay = jax.random.uniform(jax.random.PRNGKey(7), (4, 13), maxval=3e-3)
    fast = population(mask_in, mask, single_spike=True, method="auto", delay=delay)
    loop = population(mask_in, mask, single_spike=True, method="kernel", delay=delay)
    spikes = random_input(jax.random.PRNGKey(8), 4, 10, 1.2e-2)
    np.testing.assert_allclose(_call(fast, spikes).time, _call(loop, spikes).time, rtol=1e-12)
    loss = loss_of(spikes, 13)
    grad = eqx.filter_jit(eqx.filter_grad(loss))
    g_f, g_l = grad(fast), grad(loop)
    assert rel_err(g_f.delay, g_l.delay) < 1e-10
    assert rel_err(g_f.weight_in, g_l.weight_in) < 1e-10


def test_stages_module_tools_and_errors():
    mask_in, mask, _ = skip_stack(jax.random.PRNGKey(10))
    model = population(mask_in, mask, single_spike=True, method="auto")
    spikes = random_input(jax.random.PRNGKey(11), 4, 10, 1.2e-2)
    batch = Spikes(jnp.stack([spikes.time] * 3), jnp.stack([spikes.idx] * 3))
    out = eqx.filter_jit(jax.vmap(model))(batch)
    np.testing.assert_allclose(out.time[1], _call(model, spikes).time, rtol=1e-12)
    # a mask replaced after construction that connects backwards is refused, also under jit
    cyclic = eqx.tree_at(lambda m: m.mask, model, jnp.ones((13, 13), bool))
    with pytest.raises(Exception, match="no longer a stack of layers"):
        _call(cyclic, spikes)
    # a cycle with method="stages", an unknown method
    with pytest.raises(ValueError, match="needs a mask without cycles"):
        population(mask_in, np.ones((13, 13), bool), single_spike=True, method="stages")
    with pytest.raises(ValueError, match="method"):
        population(mask_in, mask, single_spike=True, method="fast")
    # the spike budget holds for the whole population
    small = event.RecurrentEventPropLIF(
        4, 13, params=model.params, t_max=T_MAX, max_spikes=3, weight_in=model.weight_in,
        weight_rec=model.weight_rec, mask=mask, mask_in=mask_in, single_spike=True)
    with pytest.raises(Exception, match="more than max_spikes=3"):
        _call(small, spikes)
