"""autograd.data: datasets, DataLoader (shuffling, dropping, sharding), SeqDataLoader,
and the datasets made on the fly."""

import pathlib

import numpy as np
import pytest

import autograd as ag
from autograd.data import ArrayDataset, DataLoader, SeqDataLoader, moons, sine, spiral

ROOT = pathlib.Path(__file__).resolve().parent.parent


def labels(loader):
    """The second array of every batch, as lists."""
    return [b[1].tolist() for b in loader]


def dataset(n):
    return ArrayDataset(np.arange(n, dtype=np.float64).reshape(n, 1) * 10, np.arange(n))


# --------------------------------------------------------------------------- ArrayDataset


def test_array_dataset_samples():
    ds = ArrayDataset(np.zeros((4, 2)), [1, 2, 3, 4])
    assert len(ds) == 4
    x, t = ds[3]
    assert x.shape == (2,) and t == 4
    assert [a.shape for a in ds[1:3]] == [(2, 2), (2,)]


def test_array_dataset_takes_variables():
    ds = ArrayDataset(ag.Variable(np.ones((3, 2))))
    assert isinstance(ds.arrays[0], np.ndarray) and ds.arrays[0].shape == (3, 2)


@pytest.mark.parametrize(
    "arrays, error, words",
    [
        ((), ValueError, "at least one array"),
        ((np.zeros(3), np.zeros(4)), ValueError, "same length"),
        ((np.float64(2.0),), ValueError, "scalar"),
        ((np.array([object(), 1]),), TypeError, "not numeric"),
    ],
)
def test_array_dataset_bad_arguments(arrays, error, words):
    with pytest.raises(error, match=words):
        ArrayDataset(*arrays)


# --------------------------------------------------------------------------- DataLoader


def test_batches_in_order_with_a_short_last():
    loader = DataLoader(dataset(7), batch_size=3)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [t.tolist() for _, t in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    x, _ = batches[0]
    assert x.shape == (3, 1) and x.dtype == np.float64
    np.testing.assert_array_equal(x[:, 0], [0, 10, 20])


def test_drop_last():
    loader = DataLoader(dataset(7), batch_size=3, drop_last=True)
    assert len(loader) == 2 and labels(loader) == [[0, 1, 2], [3, 4, 5]]


def test_batches_are_copies():
    ds = dataset(4)
    for x, _ in DataLoader(ds, batch_size=2):
        x[...] = -1
    assert ds.arrays[0].min() == 0


@pytest.mark.parametrize(
    "make",
    [lambda: np.random.default_rng(5), lambda: ag.random.const(5)],
    ids=["generator", "ag.random"],
)
def test_shuffle_each_epoch_a_new_order_reproducibly(make):
    loader = DataLoader(dataset(20), batch_size=6, shuffle=True, rng=make())
    first, second = labels(loader), labels(loader)
    for epoch in (first, second):
        assert sorted(sum(epoch, [])) == list(range(20))
        assert [len(b) for b in epoch] == [6, 6, 6, 2]
    assert first != second
    again = DataLoader(dataset(20), batch_size=6, shuffle=True, rng=make())
    assert labels(again) == first and labels(again) == second


def test_shuffle_keeps_samples_together():
    for x, t in DataLoader(dataset(30), batch_size=7, shuffle=True, rng=np.random.default_rng(0)):
        np.testing.assert_array_equal(x[:, 0], t * 10)


def test_dataset_of_samples():
    """Any object with __len__ and __getitem__: samples stacked along a new first axis."""
    samples = [(np.full(2, i), i) for i in range(5)]
    x, t = next(iter(DataLoader(samples, batch_size=3)))
    assert x.shape == (3, 2) and t.tolist() == [0, 1, 2]
    (only,) = next(iter(DataLoader([np.ones(3)] * 4, batch_size=4)))
    assert only.shape == (4, 3)


def test_tuple_of_arrays_as_dataset():
    x, t = spiral(30, classes=3, rng=np.random.default_rng(0))
    xb, tb = next(iter(DataLoader((x, t), batch_size=10)))
    np.testing.assert_array_equal(xb, x[:10])
    np.testing.assert_array_equal(tb, t[:10])


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(batch_size=2.0), TypeError, "batch_size must be an int"),
        (dict(batch_size=True), TypeError, "batch_size must be an int"),
        (dict(shuffle="yes"), TypeError, "shuffle must be True or False"),
        (dict(drop_last=1), TypeError, "drop_last must be True or False"),
        (dict(rng=5), TypeError, "rng must be a numpy.random.Generator.*default_rng"),
        (dict(rng="seed"), TypeError, "rng must be"),
        (dict(shard=3), TypeError, r"shard must be a \(rank, size\) pair"),
        (dict(shard=(0, 1, 2)), TypeError, "shard must be"),
        (dict(shard=(2, 2)), ValueError, r"shard rank must be in \[0, 2\)"),
        (dict(shard=(-1, 2)), ValueError, "shard rank must be >= 0"),
        (dict(shard=(0, 0)), ValueError, "shard size must be >= 1"),
        (dict(shard=(0.0, 2)), TypeError, "shard rank must be an int"),
    ],
)
def test_loader_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        DataLoader(dataset(10), **kwargs)


def test_loader_bad_dataset():
    with pytest.raises(TypeError, match="dataset must be"):
        DataLoader(42)


# --------------------------------------------------------------------------- sharding


@pytest.mark.parametrize("n", [1, 2, 3, 7, 12, 13, 25, 100, 101])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
@pytest.mark.parametrize("batch", [1, 4, 5])
@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_see_every_sample_once(n, size, batch, shuffle):
    if n < size:
        with pytest.raises(ValueError, match="cannot be shared"):
            DataLoader(dataset(n), batch_size=batch, shard=(0, size))
        return
    loaders = [
        DataLoader(
            dataset(n),
            batch_size=batch,
            shuffle=shuffle,
            rng=np.random.default_rng(3),
            shard=(r, size),
        )
        for r in range(size)
    ]
    for _ in range(2):  # two epochs, each complete
        epochs = [labels(loader) for loader in loaders]
        counts = {len(e) for e in epochs}
        assert counts == {len(loaders[0])}, "every rank yields the same number of batches"
        seen = sorted(i for e in epochs for b in e for i in b)
        assert seen == list(range(n))
        assert all(b for e in epochs for b in e), "no rank gets an empty batch"
        assert all(len(b) <= batch + 1 for e in epochs for b in e)


@pytest.mark.parametrize("drop_last", [False, True])
def test_shards_together_are_the_single_process_batches(drop_last):
    """Rank r takes every size-th sample of the single process's batch of B*size."""
    n, size, batch = 53, 3, 4
    single = labels(
        DataLoader(
            dataset(n),
            batch_size=batch * size,
            shuffle=True,
            drop_last=drop_last,
            rng=np.random.default_rng(9),
        )
    )
    parts = [
        labels(
            DataLoader(
                dataset(n),
                batch_size=batch,
                shuffle=True,
                drop_last=drop_last,
                rng=np.random.default_rng(9),
                shard=(r, size),
            )
        )
        for r in range(size)
    ]
    assert len(single) == len(parts[0]) == (4 if drop_last else 5)
    for k, whole in enumerate(single):
        for r in range(size):
            assert parts[r][k] == whole[r::size]
    if drop_last:
        assert all(len(b) == batch for p in parts for b in p)


def test_shard_of_one_is_the_plain_loader():
    plain = DataLoader(dataset(11), batch_size=3, shuffle=True, rng=ag.random.const(1))
    sharded = DataLoader(
        dataset(11), batch_size=3, shuffle=True, rng=ag.random.const(1), shard=(0, 1)
    )
    assert labels(plain) == labels(sharded)


def test_few_samples_left_join_the_batch_before():
    # 2 ranks, batch 2: 9 samples are two global batches of 4 and one sample left over
    parts = [labels(DataLoader(dataset(9), batch_size=2, shard=(r, 2))) for r in range(2)]
    assert parts == [[[0, 2], [4, 6, 8]], [[1, 3], [5, 7]]]


def test_shard_without_rng_is_the_same_on_every_rank():
    a = labels(DataLoader(dataset(40), batch_size=5, shuffle=True, shard=(0, 2)))
    b = labels(DataLoader(dataset(40), batch_size=5, shuffle=True, shard=(1, 2)))
    assert sorted(sum(a + b, [])) == list(range(40))
    assert a != [[0, 2, 4, 6, 8], [10, 12, 14, 16, 18]][: len(a)]  # shuffled


# --------------------------------------------------------------------------- SeqDataLoader


@pytest.mark.parametrize("n, batch", [(1000, 30), (100, 7), (31, 30), (50, 50)])
def test_seq_loader_gives_the_lstm_programs_batches(n, batch):
    # the seed program's data and batches, as examples/lstm.py computed them before it
    # used autograd.data
    rng = ag.random.const(0)
    y = np.sin(2 * np.pi * (np.arange(n) / (n - 1))) + rng.random(n) * (2 * 0.05) - 0.05
    data, label = y[:-1], y[1:]
    x, t = sine(n, 0.05, rng=ag.random.const(0))
    np.testing.assert_array_equal(x, data)
    np.testing.assert_array_equal(t, label)
    expected = [
        (
            ag.Variable(data[b : b + batch].reshape(-1, 1)),
            ag.Variable(label[b : b + batch].reshape(-1, 1)),
        )
        for b in range(0, len(data) - batch + 1, batch)
    ]
    loader = SeqDataLoader(x, t, batch_size=batch)
    got = list(loader)
    assert loader.n == n - 1 and len(loader) == len(got) == len(expected)
    for (ex, et), (gx, gt) in zip(expected, got):
        assert gx.shape == ex.shape == (batch, 1)
        np.testing.assert_array_equal(gx, ex.data)
        np.testing.assert_array_equal(gt, et.data)
    again = list(loader)  # every epoch from the start
    assert [b[0].tolist() for b in again] == [b[0].tolist() for b in got]


def test_seq_loader_inputs():
    x, t = sine(20, 0.0)
    by_tuple = list(SeqDataLoader((x, t), batch_size=4))
    by_dataset = list(SeqDataLoader(ArrayDataset(x, t), batch_size=4))
    by_arrays = list(SeqDataLoader(x, t, batch_size=4))
    assert len(by_arrays) == 4
    for a, b, c in zip(by_tuple, by_dataset, by_arrays):
        for u, v, w in zip(a, b, c):
            np.testing.assert_array_equal(u, w)
            np.testing.assert_array_equal(v, w)
    ((xb,),) = [next(iter(SeqDataLoader(np.zeros((10, 3)), batch_size=5)))]
    assert xb.shape == (5, 3)


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        ((np.zeros(5),), dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        ((np.zeros(5), np.zeros(4)), {}, ValueError, "same length"),
        (([(1, 2)],), {}, TypeError, "SeqDataLoader: expected arrays"),
        ((), {}, ValueError, "at least one array"),
    ],
)
def test_seq_loader_bad_arguments(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        SeqDataLoader(*args, **kwargs)


# --------------------------------------------------------------------------- datasets


def test_sine():
    x, t = sine(101, 0.0)
    grid = np.linspace(0, 2 * np.pi, 101)
    np.testing.assert_allclose(x, np.sin(grid[:-1]), atol=1e-12)
    np.testing.assert_array_equal(x[1:], t[:-1])
    x, _ = sine(1000, 0.1, rng=np.random.default_rng(0))
    assert np.abs(x - np.sin(np.linspace(0, 2 * np.pi, 1000)[:-1])).max() <= 0.1


@pytest.mark.parametrize("n, classes", [(300, 3), (10, 4), (5, 5), (1, 1)])
def test_spiral(n, classes):
    x, t = spiral(n, classes, rng=np.random.default_rng(0))
    assert x.shape == (n, 2) and x.dtype == np.float64
    assert t.shape == (n,) and t.dtype == np.int64
    counts = np.bincount(t, minlength=classes)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n
    assert np.all(np.hypot(x[:, 0], x[:, 1]) < 1)


def test_moons():
    x, t = moons(101, noise=0.0, rng=np.random.default_rng(0))
    assert x.shape == (101, 2) and t.shape == (101,) and t.dtype == np.int64
    assert (t == 0).sum() == 51 and (t == 1).sum() == 50
    upper, lower = x[t == 0], x[t == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: sine(50, 0.1, rng=s),
        lambda s: spiral(50, 3, rng=s),
        lambda s: moons(50, 0.1, rng=s),
    ],
    ids=["sine", "spiral", "moons"],
)
def test_datasets_are_reproducible_from_either_source(make):
    for source in (lambda: np.random.default_rng(4), lambda: ag.random.const(4)):
        a, b = make(source()), make(source())
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    c = make(np.random.default_rng(5))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: sine(1), ValueError, "sine: n must be >= 2"),
        (lambda: sine(10, -0.1), ValueError, "sine: noise must be a finite number >= 0"),
        (lambda: sine(10, float("nan")), ValueError, "noise must be a finite"),
        (lambda: sine(10, "0.1"), TypeError, "noise must be a number"),
        (lambda: sine(10.0), TypeError, "sine: n must be an int"),
        (lambda: spiral(2, 3), ValueError, r"spiral: n \(2\) must be at least classes \(3\)"),
        (lambda: spiral(10, 0), ValueError, "classes must be >= 1"),
        (lambda: moons(1), ValueError, "moons: n must be >= 2"),
        (lambda: moons(10, rng=3), TypeError, "moons: rng must be"),
        (lambda: spiral(10, rng=object()), TypeError, "spiral: rng must be"),
    ],
)
def test_dataset_bad_arguments(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_reachable_from_the_package():
    assert ag.data.DataLoader is DataLoader
    assert "data" in ag.__all__
    import inspect

    for name in ag.data.__all__:
        assert inspect.getdoc(getattr(ag.data, name)), name


def test_training_with_the_loader():
    """A short training run on the spiral lowers the loss (the loader feeds a model)."""
    import autograd.functions as F
    import autograd.models as M
    import autograd.optimizers as O

    x, t = spiral(150, 3, rng=np.random.default_rng(0))
    model = M.MLP([10, 3], rng=np.random.default_rng(1))
    opt = O.SGD(lr=1.0)
    loader = DataLoader((x, t), batch_size=30, shuffle=True, rng=np.random.default_rng(2))
    losses = []
    for _ in range(30):
        for xb, tb in loader:
            loss = F.softmax_cross_entropy(model(xb), tb)
            model.cleargrads()
            loss.backward()
            opt.update(model)
        losses.append(float(loss.data))
    assert losses[-1] < losses[0]
