"""Every public name has a docstring; the examples in the compiled functions' docstrings run."""

import doctest
import inspect

import pytest

import autograd as ag
import autograd.functions as F
import autograd.hooks as H
import autograd.layers as L
import autograd.models as M
import autograd.optimizers as O
from autograd.variable import variable

MODULES = [ag, F, L, M, O, H, ag.random, ag.numerical, ag.dot]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_public_name_has_a_docstring(module):
    assert inspect.getdoc(module)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        assert inspect.getdoc(obj), f"{module.__name__}.{name} has no docstring"


@pytest.mark.parametrize("name", F.__all__)
def test_function_examples_run(name):
    fn = getattr(F, name)
    globs = {"variable": variable, **{n: getattr(fn, "__globals__", {}).get(n) for n in ()}}
    globs.update({f.__name__: f for f in (getattr(F, n) for n in F.__all__)})
    tests = doctest.DocTestFinder().find(fn, name, globs=globs)
    examples = sum(len(t.examples) for t in tests)
    assert examples, f"F.{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in tests:
        runner.run(t)
    assert runner.failures == 0, f"the example of F.{name} fails"
