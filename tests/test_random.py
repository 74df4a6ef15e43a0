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


# --- one source shared by threads (issue 14) ---------------------------------------------

def _draw_in_threads(source, method, threads=4, chunks=10, chunk=50_000):
    # fills long enough (~0.2 ms) that threads run them at the same time
    import threading
    barrier = threading.Barrier(threads)
    out = [[] for _ in range(threads)]

    def work(k):
        barrier.wait()
        draw = getattr(source, method)
        for i in range(chunks):
            out[k].append(draw(chunk))
            out[k].append(np.array([draw()]))      # scalar draws interleaved with the fills

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return np.concatenate([a for o in out for a in o])


@pytest.mark.parametrize("method", ["random", "standard_normal"])
def test_threads_sharing_a_source_draw_its_stream_once(method):
    """Threads sharing one source get, between them, exactly the source's stream: every
    draw once, none repeated (unserialised, 16 million draws held 2-4 million distinct).
    (Normal draws repeat by chance: a ziggurat draw has ~2**39 possible values.)"""
    drawn = _draw_in_threads(ag.random.const(), method)
    expected = getattr(ag.random.const(), method)(drawn.size)
    np.testing.assert_array_equal(np.sort(drawn), np.sort(expected))


def test_a_thread_waiting_for_a_source_lets_other_threads_run():
    """A draw that waits while another thread fills a large array from the same source
    waits without the GIL: a third, pure-Python thread is never stopped for long."""
    import threading
    import time
    s = ag.random.const()
    longest = [0.0]
    measuring = threading.Event()
    stop = threading.Event()

    def ticker():
        last = time.perf_counter()
        while not stop.is_set():
            now = time.perf_counter()
            if measuring.is_set():
                longest[0] = max(longest[0], now - last)
            last = now

    filler = threading.Thread(target=s.standard_normal, args=(10_000_000,))
    threads = [threading.Thread(target=ticker), filler]
    for t in threads:
        t.start()
    time.sleep(0.01)                                # the filler takes the source's lock
    measuring.set()
    start = time.perf_counter()
    s.random()
    waited = time.perf_counter() - start
    measuring.clear()
    stop.set()
    for t in threads:
        t.join()
    if waited < 0.03:
        pytest.skip(f"the fill ended before the draw had waited long ({waited:.4f} s)")
    assert longest[0] < waited / 2, (longest[0], waited)


# --- copy and pickle (issue 25) ----------------------------------------------------------

def test_copy_deepcopy_and_pickle_continue_the_stream():
    import copy
    import pickle
    s = ag.random.const(3, 4)
    s.random(5)
    copies = [copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))]
    expected = s.standard_normal(10)
    for c in copies:
        assert c is not s and type(c) is type(s)
        np.testing.assert_array_equal(c.standard_normal(10), expected)


def test_state_names_the_position_in_the_stream():
    s = ag.random.const(1, 2)
    assert s.state == (1, 2)
    s.uint64()
    t = ag.random.PCGSource(*s.state)
    assert [t.uint64() for _ in range(3)] == [s.uint64() for _ in range(3)]
    assert repr(s) == f"<PCGSource state={s.state}>"


def test_a_model_with_a_const_source_deep_copies_and_pickles():
    import copy
    import pickle
    import autograd.models as M
    x = np.linspace(0, 1, 12).reshape(4, 3)
    m = M.MLP([5, 2], rng=ag.random.const())
    clones = [copy.deepcopy(m), pickle.loads(pickle.dumps(m))]
    for c in clones:
        assert c.linear0.rng is c.linear1.rng and c.linear0.rng is not m.linear0.rng
    y = m(x).data
    for c in clones:
        np.testing.assert_array_equal(c(x).data, y)


# --- shapes and arguments (issue 26) -----------------------------------------------------

@pytest.mark.parametrize("bad", ["12", b"12", 2.0, 2.5, (2.5, 3), (2, "3"), True, (True, 2),
                                 np.bool_(True), np.float64(3), np.array([2.0, 3.0]),
                                 np.array(2.5), object(), {2.0}])
@pytest.mark.parametrize("method", ["random", "standard_normal"])
def test_a_shape_that_is_not_ints_is_a_type_error(bad, method):
    with pytest.raises(TypeError, match="shape must be an int or a sequence of ints"):
        getattr(ag.random.const(), method)(bad)


@pytest.mark.parametrize("bad", [-1, (2, -1), 2 ** 70, (2 ** 70,), (2, 2 ** 64),
                                 (2 ** 40, 2 ** 40), np.uint64(2 ** 63 + 5)])
def test_a_negative_or_huge_shape_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"shape .*(negative|too large|too many)"):
        ag.random.const().random(bad)


@pytest.mark.parametrize("shape, expected", [
    (3, (3,)), (np.int64(3), (3,)), (np.uint8(3), (3,)), ((2, np.int32(3)), (2, 3)),
    ([2, 3], (2, 3)), (np.array([2, 3]), (2, 3)), (np.array(3), (3,)), ((), ()), (0, (0,)),
    ((2, 0), (2, 0))])
def test_int_shapes(shape, expected):
    assert ag.random.const().random(shape).shape == expected


def test_normal_scale():
    s = ag.random.const()
    with pytest.raises(ValueError, match="scale must not be negative"):
        s.normal(0.0, -1.0, 3)
    with pytest.raises(ValueError, match="scale must not be negative"):
        s.normal(0.0, np.array([1.0, -0.5]), 2)
    assert s.state == (0, 0)                       # nothing drawn by a refused call
    np.testing.assert_array_equal(s.normal(1.0, 2.0, 3),
                                  1.0 + 2.0 * ag.random.const().standard_normal(3))
    np.testing.assert_array_equal(s.normal(5.0, 0.0, 2), [5.0, 5.0])
