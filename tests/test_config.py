"""Modes: nesting, restoring, per thread."""

import threading

import autograd as ag
import autograd.functions as F


def test_no_grad_nests_and_restores():
    assert ag.config.enable_backprop
    with ag.no_grad():
        assert not ag.config.enable_backprop
        with ag.no_grad():
            assert not ag.config.enable_backprop
        assert not ag.config.enable_backprop
    assert ag.config.enable_backprop


def test_restored_after_an_exception():
    try:
        with ag.test_mode():
            assert not ag.config.train
            raise KeyError("boom")
    except KeyError:
        pass
    assert ag.config.train


def test_span_end_is_idempotent():
    span = ag.nograd()
    assert not ag.config.enable_backprop
    span.end()
    span.end()
    assert ag.config.enable_backprop
    t = ag.testmode()
    assert not ag.config.train
    t.end()
    assert ag.config.train


def test_modes_are_per_thread():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def other():
        inside.wait()
        seen["backprop"] = ag.config.enable_backprop
        seen["train"] = ag.config.train
        x = ag.variable(1.0)
        seen["recorded"] = F.sin(x).creator is not None
        with ag.no_grad():
            release.set()
            seen["other_off"] = not ag.config.enable_backprop

    t = threading.Thread(target=other)
    t.start()
    with ag.no_grad(), ag.test_mode():
        inside.set()
        release.wait(5)
        t.join(5)
        assert not ag.config.enable_backprop
    assert seen == {"backprop": True, "train": True, "recorded": True, "other_off": True}
    assert ag.config.enable_backprop


def test_config_repr():
    assert repr(ag.config) == "config(enable_backprop=True, train=True)"
