"""ag.random.const reproduces Go's math/rand/v2 PCG: RANDOM.md's test vectors."""
import numpy as np
import pytest

import autograd as ag
from autograd._core.pcg import ziggurat_tables


def test_raw_draws():
    s = ag.random.const(0, 0)
    assert [s.uint64() for _ in range(5)] == [
        4107282207882862730, 12464933722704884221, 6335497120186221275,
        8128828598453185623, 7371889741448783355]


def test_float64():
    s = ag.random.const()
    assert [s.random() for _ in range(5)] == [
        0.99992758248028335, 0.88564193735288621, 0.38147752771154886,
        0.48126732341678291, 0.44417259544314847]


def test_norm_float64():
    s = ag.random.const()
    assert [s.standard_normal() for _ in range(5)] == [
        0.56653607160303876, -0.61239729493714479, 0.58989471226376955,
        -0.3678242340302933, 1.0919575041640825]


def test_tables():
    kn, wn, fn = ziggurat_tables()
    assert kn[0] == 1991057938 and kn[2] == 1611602771 and kn[127] == 2010539237
    assert int(kn.astype(np.int64).sum()) == 267302380996
    assert float(wn[0]) == 1.7290404663583558e-09
    assert fn[127] == np.float32(0.0026696292)


def test_arrays_fill_row_major_one_draw_each():
    a = ag.random.const().random((2, 3))
    s = ag.random.const()
    assert a.shape == (2, 3)
    assert a.ravel().tolist() == [s.random() for _ in range(6)]
    n = ag.random.const().standard_normal(4)
    s = ag.random.const()
    assert n.tolist() == [s.standard_normal() for _ in range(4)]


def test_normal_draws_follow_the_distribution():
    n = ag.random.const(1, 2).standard_normal(200_000)
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    assert abs(np.mean(np.abs(n) > 3.442619855899) - 5.76e-4) < 2e-4   # the tail is drawn too


def test_seed_mlp_draw_order():
    """RANDOM.md's account of the seed MLP example's draws."""
    import autograd.functions as F
    import autograd.models as M
    s = ag.random.const()
    m = M.MLP([10, 1], activation=F.relu, rng=s)
    x = ag.rand((100, 1), rng=s)
    t = ag.rand((100, 1), rng=s)
    m(x)
    assert x.data[:3, 0].tolist() == [0.9999275824802834, 0.8856419373528862, 0.38147752771154886]
    assert t.data[:3, 0].tolist() == [0.878097528651598, 0.5817541963874112, 0.21409928300117131]
    np.testing.assert_array_equal(m.linear0.w.data[0, :3],
                                  [0.3537609658781431, -1.0106224069651004, -0.07463280852648024])
    np.testing.assert_allclose(m.linear1.w.data[:2, 0] * np.sqrt(10),
                               [1.5346912412180345, 1.864383565842243], rtol=1e-15)


@pytest.mark.parametrize("bad", [-1, 2 ** 64, 1.5, "0"])
def test_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError), match="seed0"):
        ag.random.const(bad)
