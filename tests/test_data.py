import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import data


def _published_class(x, y, r_small=0.1, r_big=0.5):
    """Scalar transcription of the published Yin-Yang rules (Kriener et al. 2021)."""
    d_right = math.dist((x, y), (1.5 * r_big, r_big))
    d_left = math.dist((x, y), (0.5 * r_big, r_big))
    c1 = d_right <= r_small
    c2 = r_small < d_left <= 0.5 * r_big
    c3 = y > r_big and d_right > 0.5 * r_big
    if d_right < r_small or d_left < r_small:
        return 2
    return int(c1 or c2 or c3)


def test_labels_follow_published_rules_and_geometry():
    x, y = data.yinyang(jax.random.PRNGKey(3), 3000)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (3000, 2) and y.shape == (3000,)
    assert x.min() >= 0.0 and x.max() <= 1.0
    # every point inside the big circle
    assert np.all(np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5 + 1e-7)
    for (px, py), label in zip(x.astype(float), y, strict=True):
        assert _published_class(px, py) == label


def test_balanced_and_deterministic():
    x1, y1 = data.yinyang(jax.random.PRNGKey(0), 1000)
    x2, y2 = data.yinyang(jax.random.PRNGKey(0), 1000)
    x3, _ = data.yinyang(jax.random.PRNGKey(1), 1000)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(x1, x3)
    counts = np.bincount(np.asarray(y1), minlength=3)
    assert counts.max() - counts.min() <= 1


def test_splits_sizes_and_independence():
    d = data.yinyang_splits(seed=0, n_train=300, n_val=60, n_test=90)
    assert d["train"][0].shape == (300, 2)
    assert d["val"][0].shape == (60, 2)
    assert d["test"][1].shape == (90,)
    assert not np.allclose(d["train"][0][:60], d["val"][0])
    d2 = data.yinyang_splits(seed=0, n_train=300, n_val=60, n_test=90)
    np.testing.assert_array_equal(d["test"][0], d2["test"][0])


def test_encode_latency():
    x = jnp.array([[0.0, 1.0], [0.25, 0.5]])
    s = data.encode_latency(x, t_early=1.0, t_late=3.0, bias_time=1.5)
    assert s.time.shape == (2, 5)
    # sample 0: features (0, 1, 1, 0) -> times (1, 3, 3, 1), bias 1.5
    np.testing.assert_allclose(s.time[0], [1.0, 1.0, 1.5, 3.0, 3.0])
    np.testing.assert_array_equal(s.idx[0], [0, 3, 4, 1, 2])
    assert np.all(np.diff(np.asarray(s.time), axis=-1) >= 0)
    dense = data.encode_latency_dense(x, t_max=4.0, dt=0.5, t_early=1.0, t_late=3.0)
    assert dense.shape == (2, 8, 4)
    np.testing.assert_array_equal(dense.sum(axis=1), np.ones((2, 4)))


def test_bad_inputs():
    with pytest.raises(ValueError, match="size"):
        data.yinyang(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="n_train"):
        data.yinyang_splits(0, n_train=0)
    with pytest.raises(ValueError, match="t_late"):
        data.encode_latency(jnp.zeros((2, 2)), 2.0, 1.0)
    with pytest.raises(TypeError, match="float"):
        data.encode_latency(jnp.zeros((2, 2), jnp.int32), 0.0, 1.0)


def test_encode_latency_defaults_mirror_and_returns_spikes():
    from jaxsnn_eqx import Spikes

    x = jnp.array([[0.0, 0.5], [1.5, 0.25]])  # 1.5: not clipped
    s = data.encode_latency(x, 0.0, 1e-2)
    assert isinstance(s, Spikes) and s.time.shape == s.idx.shape == (2, 4)  # mirror=True
    t = data.latency_times(x, 0.0, 1e-2)
    np.testing.assert_allclose(t[1], [1.5e-2, 2.5e-3, -0.5e-2, 7.5e-3])
    assert data.encode_latency(x, 0.0, 1e-2, mirror=False).time.shape == (2, 2)
    assert data.encode_latency(x, 0.0, 1e-2, bias_time=0.0).time.shape == (2, 5)
    dense = data.encode_latency_dense(x[:1], t_max=2e-2, dt=1e-3, t_early=0.0, t_late=1e-2)
    assert dense.shape == (1, 20, 4)
