import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn


def test_from_arrays_sorts_and_pads():
    s = snn.Spikes.from_arrays(jnp.array([3.0, 1.0, jnp.inf, 2.0]), jnp.array([0, 1, 2, 1]), size=6)
    np.testing.assert_array_equal(s.time[:3], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(s.idx, [1, 1, 0, -1, -1, -1])
    assert np.all(np.isinf(s.time[3:]))
    assert int(s.count) == 3


def test_sort_is_stable_for_equal_times():
    s = snn.Spikes(jnp.array([2.0, 1.0, 1.0, 1.0]), jnp.array([7, 3, 1, 2])).sort()
    np.testing.assert_array_equal(s.idx, [3, 1, 2, 7])


def test_from_arrays_overflow_raises():
    with pytest.raises(Exception, match="more than size=2"):
        snn.Spikes.from_arrays(jnp.array([1.0, 2.0, 3.0]), jnp.array([0, 1, 2]), size=2)


def test_first_times_counts_dense():
    s = snn.Spikes(jnp.array([0.5, 1.5, 2.5, jnp.inf]), jnp.array([2, 0, 2, -1]))
    np.testing.assert_array_equal(s.first_times(3), [1.5, jnp.inf, 0.5])
    np.testing.assert_array_equal(s.counts(3), [1, 0, 2])
    dense = s.to_dense(3, t_max=3.0, dt=1.0)
    expected = np.zeros((3, 3))
    expected[0, 2] = expected[1, 0] = expected[2, 2] = 1
    np.testing.assert_array_equal(dense, expected)


def test_batched_helpers_and_indexing():
    t = jnp.array([[0.1, 0.2], [0.3, jnp.inf]])
    i = jnp.array([[1, 0], [1, -1]])
    s = snn.Spikes(t, i)
    np.testing.assert_array_equal(s.first_times(2), [[0.2, 0.1], [jnp.inf, 0.3]])
    assert s.to_dense(2, 1.0, 0.5).shape == (2, 2, 2)
    assert s[1].time.shape == (2,)
    out = jax.vmap(lambda s: s.sort())(s)
    assert out.time.shape == (2, 2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="same shape"):
        snn.Spikes(jnp.zeros(3), jnp.zeros(2, jnp.int32))
    with pytest.raises(TypeError, match="idx"):
        snn.Spikes(jnp.zeros(3), jnp.zeros(3))


def test_is_pytree_under_jit():
    s = snn.Spikes.from_arrays(jnp.array([1.0, 0.5]), jnp.array([0, 1]), size=3)
    f = eqx.filter_jit(lambda s: s.time + 1.0)
    np.testing.assert_allclose(f(s)[:2], [1.5, 2.0])
    s2 = snn.Spikes.empty(4)
    assert int(s2.count) == 0
    merged = s.concatenate(s2.pad(4), offset=2)
    assert merged.size == 7


def test_from_arrays_refuses_float_indices_like_spikes():
    # from_arrays used to truncate [1.9, 0.7] to [1, 0]; Spikes(...) refuses float indices
    t = jnp.array([1.0, 2.0])
    with pytest.raises(TypeError, match="idx"):
        snn.Spikes.from_arrays(t, jnp.array([1.9, 0.7]))
    with pytest.raises(TypeError, match="idx"):
        snn.Spikes(t, jnp.array([1.9, 0.7]))
    for bad in (jnp.array([1.0, 0.0]), [1.9, 0.7], jnp.array([True, False])):
        with pytest.raises(TypeError, match="idx"):
            snn.Spikes.from_arrays(t, bad)
        with pytest.raises(TypeError, match="idx"):
            snn.Spikes(t, bad)
    s = snn.Spikes.from_arrays(t, [1, 0])  # integers (a list included) are fine
    np.testing.assert_array_equal(s.idx, [1, 0])
    assert s.idx.dtype == jnp.int32
