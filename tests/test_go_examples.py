"""The Go library's own example tests, translated: each case runs the Python twin of one
``Example...`` function of itsubaki/autograd and compares what it prints with the Go
example's ``// Output:`` text, kept verbatim (comment markers included) below.

Sources: the Go example tests of itsubaki/autograd (``*_test.go``) from the float64 era the
seed pages describe (``variable.New`` with float64 data, ``rand.Const()``, ``variable(6)``
and ``variable[2 3]([...])`` printing). Where the only stored text of an example is from the
later float32 era, it is used only when every printed number is exact in both (integers,
halves, ``-Inf``, shapes, names). See docs/go-parity.md for the count and the differences.

Known differences that the compiled core is being changed for are marked
``xfail(strict=False, reason="issue 15 cause N: ...")``, so that each documents itself and
starts passing when the core is fixed.
"""

import math

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
import autograd.hooks as H
import autograd.layers as L
import autograd.models as M
import autograd.optimizers as O
from autograd.variable import go_format

# ----------------------------------------------------------------------------- helpers


def go_output(block):
    """The text of a Go ``// Output:`` block: each line's ``// `` (or a bare ``//``) removed."""
    lines = []
    for line in block.strip("\n").splitlines():
        line = line.strip()
        assert line.startswith("//"), line
        lines.append(line[3:] if line.startswith("// ") else line[2:])
    return "\n".join(lines) + "\n"


def go_str(v):
    """One value as Go's ``%v`` prints it."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return go_format(v)
    if isinstance(v, (tuple, list, np.ndarray)):
        return "[" + " ".join(go_str(e) for e in v) + "]"
    return str(v)


def println(*args):
    """Go's ``fmt.Println``: operands as ``%v``, separated by spaces."""
    print(" ".join(go_str(a) for a in args))


def printf_row(fmt, row):
    """Go's ``fmt.Printf(fmt + "\\n", row)`` for a ``[]float64`` row: ``[a b c]``."""
    print("[" + " ".join(fmt % v for v in row) + "]")


def rows(v):
    """``v.Data.Seq2()``: the rows of a 2-D variable (the last axis, for N-D)."""
    data = v.data
    return data.reshape(-1, data.shape[-1])


CASES = []


def example(go_name, go_file, output, xfail=None):
    """Register a translated Go example: ``go_name`` in ``go_file``, with Go's output block."""

    def register(body):
        marks = [pytest.mark.xfail(strict=False, reason=xfail)] if xfail else []
        CASES.append(pytest.param(body, go_output(output), id=f"{go_file}:{go_name}", marks=marks))
        return body

    return register


class TestModel(L.Layer):
    """optimizer_test.go's ``TestModel``: one parameter ``p``."""

    __test__ = False

    def __init__(self, p):
        super().__init__()
        self.p = p


def new(*values):
    """Go's ``variable.New``: a leaf whose ``Reshape`` reshapes it in place (a leaf still),
    where ``ag.variable(...).reshape(...)`` would be a reshape's output."""
    return _Leaf(ag.variable(*values))


class _Leaf:
    def __init__(self, v):
        self.v = v

    def reshape(self, *shape):
        return ag.Variable(self.v.data.reshape(shape))


def param(*values):
    return L.Parameter(np.array(values, dtype=np.float64), name=None)


# ------------------------------------------------------------ autograd_test.go (float64)


@example(
    "Example",
    "autograd_test.go",
    """
    // variable(3.297442541400256)
""",
)
def _():
    x = ag.variable(0.5)
    y = F.square(F.exp(F.square(x)))
    y.backward()
    println(x.grad)


@example(
    "Example_numericalDiff",
    "autograd_test.go",
    """
    // 3.2974
""",
)
def _():
    v = ag.variable(0.5)
    f = lambda x: F.square(F.exp(F.square(x)))
    print("%.4f" % ag.numerical.diff(f, v).flat[0])


@example(
    "Example_func",
    "autograd_test.go",
    """
    // variable(3.297442541400256)
""",
)
def _():
    x = ag.variable(0.5)
    a = F.square(x)
    b = F.exp(a)
    y = F.square(b)
    y.backward()
    println(x.grad)


@example(
    "Example_add",
    "autograd_test.go",
    """
    // variable(13)
    // variable(4) variable(6)
""",
)
def _():
    x = ag.variable(2.0)
    y = ag.variable(3.0)
    z = F.add(F.square(x), F.square(y))
    z.backward()
    println(z)
    println(x.grad, y.grad)


@example(
    "Example_reuse",
    "autograd_test.go",
    """
    // variable(9)
    // variable(3)
""",
)
def _():
    x = ag.variable(3.0)
    y = F.add(F.add(x, x), x)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "Example_inplace",
    "autograd_test.go",
    """
    // variable(6)
    // variable(2)
""",
)
def _():
    x = ag.variable(3.0)
    y = F.add(x, x)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "Example_cleargrad",
    "autograd_test.go",
    """
    // variable(2)
    // variable(3)
""",
)
def _():
    x = ag.variable(3.0)
    y = F.add(x, x)
    y.backward()
    println(x.grad)
    x.cleargrad()
    y = F.add(F.add(x, x), x)
    y.backward()
    println(x.grad)


@example(
    "Example_generation",
    "autograd_test.go",
    """
    // variable(32)
    // variable(64)
""",
)
def _():
    x = ag.variable(2.0)
    a = F.square(x)
    y = F.add(F.square(a), F.square(a))
    y.backward()
    println(y)
    println(x.grad)


@example(
    "Example_sphere",
    "autograd_test.go",
    """
    // variable(2)
    // variable(2)
""",
)
def _():
    x = ag.variable(1.0)
    y = ag.variable(1.0)
    z = F.add(F.pow(x, 2.0), F.pow(y, 2.0))
    z.backward()
    println(x.grad)
    println(y.grad)


@example(
    "Example_matyas",
    "autograd_test.go",
    """
    // variable(0.040000000000000036)
    // variable(0.040000000000000036)
""",
)
def _():
    def matyas(x, y):
        z0 = 0.26 * F.add(F.pow(x, 2.0), F.pow(y, 2.0))
        z1 = 0.48 * F.mul(x, y)
        return F.sub(z0, z1)

    x = ag.variable(1.0)
    y = ag.variable(1.0)
    matyas(x, y).backward()
    println(x.grad)
    println(y.grad)


def _rosenbrock(x0, x1):
    y0 = 100 * F.pow(F.sub(x1, F.pow(x0, 2.0)), 2.0)
    y1 = F.pow(-1.0 + x0, 2.0)
    return F.add(y0, y1)


@example(
    "Example_rosenbrock",
    "autograd_test.go",
    """
    // variable(-2)
    // variable(400)
""",
)
def _():
    x0 = ag.variable(0.0)
    x1 = ag.variable(2.0)
    _rosenbrock(x0, x1).backward()
    println(x0.grad)
    println(x1.grad)


@example(
    "Example_gradientDescent",
    "autograd_test.go",
    """
    // variable(0) variable(2)
    // variable(0.6837118569138317) variable(0.4659526837427042)
    // variable(0.8263177857050957) variable(0.6820311873361097)
    // variable(0.8947837494333546) variable(0.8001896451930564)
    // variable(0.9334871723401226) variable(0.8711213202579401)
    // variable(0.9569899983530249) variable(0.9156532462021957)
    // variable(0.9718168065095137) variable(0.9443132014542008)
    // variable(0.9813809710644894) variable(0.9630332658658076)
    // variable(0.9876355102559093) variable(0.9753740541653942)
    // variable(0.9917613994572028) variable(0.9835575421346807)
    // variable(0.9944984367782456) variable(0.9890050527419593)
""",
)
def _():
    def rosenbrock(x0, x1):  # this example's order: 100 * y0 is added last
        y0 = F.pow(F.sub(x1, F.pow(x0, 2.0)), 2.0)
        y1 = F.pow(-1.0 + x0, 2.0)
        return F.add(100 * y0, y1)

    x0 = ag.variable(0.0)
    x1 = ag.variable(2.0)
    lr = 0.001
    for i in range(10000 + 1):
        if i % 1000 == 0:
            println(x0, x1)
        x0.cleargrad()
        x1.cleargrad()
        rosenbrock(x0, x1).backward()
        for v in (x0, x1):
            v.data = v.data - lr * v.grad.data


def _newton_f(x):
    y0 = F.pow(x, 4.0)
    y1 = F.pow(x, 2.0)
    y2 = 2 * y1
    return F.sub(y0, y2)


_NEWTON = """
    // variable(2)
    // variable(1.4545454545454546)
    // variable(1.1510467893775467)
    // variable(1.0253259289766978)
    // variable(1.0009084519430513)
    // variable(1.0000012353089454)
    // variable(1.000000000002289)
    // variable(1)
    // variable(1)
    // variable(1)
"""


@example("Example_newton", "autograd_test.go", _NEWTON)
def _():
    def gx2(x):
        return -4.0 + 12 * F.pow(x, 2.0)

    x = ag.variable(2.0)
    for _ in range(10):
        println(x)
        y = _newton_f(x)
        x.cleargrad()
        y.backward()
        x.data = x.data - x.grad.data / gx2(x).data


@example("Example_newton_double", "autograd_test.go", _NEWTON)
def _():
    x = ag.variable(2.0)
    for _ in range(10):
        println(x)
        y = _newton_f(x)
        x.cleargrad()
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        gx2 = x.grad
        x.data = x.data - gx.data / gx2.data


@example(
    "Example_double",
    "autograd_test.go",
    """
    // variable(100)
""",
)
def _():
    x = ag.variable(2.0)
    y = F.pow(x, 2.0)
    y.backward(create_graph=True)
    gx = x.grad
    z = F.add(F.pow(gx, 3.0), y)
    x.cleargrad()
    z.backward()
    println(x.grad)


@example(
    "Example_linearRegression",
    "autograd_test.go",
    """
    // 2.1859
    // 5.3549
    // 0.0738
""",
)
def _():
    s = ag.random.const()
    xrand = s.random((100, 1))
    yrand = s.random((100, 1))
    x = ag.Variable(xrand)
    t = ag.Variable(2 * xrand + (5 + yrand))
    w = new(0.0).reshape(1, 1)
    b = new(0.0).reshape(1, 1)
    lr = 0.1
    for _ in range(100):
        y = F.add(F.matmul(x, w), b)
        loss = F.mean_squared_error(y, t)
        w.cleargrad()
        b.cleargrad()
        loss.backward()
        for v in (w, b):
            v.data = v.data - lr * v.grad.data
    print("%.4f" % w.at())
    print("%.4f" % b.at())
    print("%.4f" % loss.at())


@example(
    "Example_mlp",
    "autograd_test.go",
    """
    // 0.17547970
    // 0.07741569
    // 0.07284688
    // 0.07090371
    // 0.07005858
    // 0.06968885
    // 0.06952675
    // 0.06945531
    // 0.06942337
    // 0.06940859
""",
)
def _():
    s = ag.random.const()
    m = M.MLP([10, 1], rng=s, activation=F.relu)
    o = O.SGD(lr=0.2)
    x = ag.rand((100, 1), rng=s)
    t = ag.rand((100, 1), rng=s)
    for i in range(100):
        y = m(x)
        loss = F.mean_squared_error(y, t)
        m.cleargrads()
        loss.backward()
        o.update(m)
        if i % 10 == 0:
            print("%.8f" % loss.at())


# ----------------------------------------------------------- variable/variable_test.go


@example(
    "ExampleVariable",
    "variable/variable_test.go",
    """
    // variable[4]([1 2 3 4])
""",
)
def _():
    println(ag.variable(1, 2, 3, 4))


@example(
    "ExampleVariable_Name",
    "variable/variable_test.go",
    """
    // v[4]([1 2 3 4])
""",
)
def _():
    v = ag.variable(1, 2, 3, 4)
    v.name = "v"
    println(v)


@example(
    "ExampleVariable_String",
    "variable/variable_test.go",
    """
    // variable[2 3]([1 2 3 4 5 6])
""",
)
def _():
    println(new(1, 2, 3, 4, 5, 6).reshape(2, 3))


@example(
    "ExampleZeroLike",
    "variable/variable_test.go",
    """
    // variable[4]([0 0 0 0])
""",
)
def _():
    println(ag.zeros_like(ag.variable(1, 2, 3, 4)))


@example(
    "ExampleOneLike",
    "variable/variable_test.go",
    """
    // variable[4]([1 1 1 1])
""",
)
def _():
    println(ag.ones_like(ag.variable(1, 2, 3, 4)))


@example(
    "ExampleZeros",
    "variable/variable_test.go",
    """
    // variable[2 3]([0 0 0 0 0 0])
""",
)
def _():
    println(ag.zeros(2, 3))


@example(
    "ExampleRand",
    "variable/variable_test.go",
    """
    // [0.9999275824802834 0.8856419373528862 0.38147752771154886]
    // [0.4812673234167829 0.44417259544314847 0.5210016660132573]
""",
)
def _():
    v = ag.rand((2, 3), rng=ag.random.const())
    for row in rows(v):
        println(row)


@example(
    "ExampleRandn",
    "variable/variable_test.go",
    """
    // [0.5665360716030388 -0.6123972949371448 0.5898947122637695]
    // [-0.3678242340302933 1.0919575041640825 -0.4438344619606553]
""",
)
def _():
    v = ag.randn((2, 3), rng=ag.random.const())
    for row in rows(v):
        println(row)


@example(
    "ExampleVariable_NumDims",
    "variable/variable_test.go",
    """
    // 2
""",
)
def _():
    println(new(1, 2, 3, 4, 5, 6).reshape(2, 3).ndim)


@example(
    "ExampleVariable_Size",
    "variable/variable_test.go",
    """
    // 6
""",
)
def _():
    println(new(1, 2, 3, 4, 5, 6).reshape(2, 3).size)


@example(
    "ExampleVariable_Backward",
    "variable/variable_test.go",
    """
    // variable(1)
    // variable(1)
""",
)
def _():
    x = ag.variable(1.0)
    x.backward()
    println(x.grad)
    x.cleargrad()
    x.backward()
    println(x.grad)


# ------------------------------------------------------------- variable/config_test.go


@example(
    "ExampleNograd",
    "variable/config_test.go",
    """
    // backprop: true
    // gx:  variable(6)
    //
    // backprop: false
    // gx:  <nil>
    //
    // backprop: true
    // gx:  variable(6)
""",
    xfail="API.md, gradients as values: backward() on a result computed under no_grad() is a "
    "RuntimeError that says why (Go: a silent no-op leaving gx nil)",
)
def _():
    def f():
        x = ag.variable(3)
        y = F.square(x)
        y.backward()
        println("gx: ", x.grad)
        println()

    println("backprop:", ag.config.enable_backprop)
    f()
    with ag.no_grad():
        println("backprop:", ag.config.enable_backprop)
        f()
    println("backprop:", ag.config.enable_backprop)
    f()


@example(
    "ExampleTestMode",
    "variable/config_test.go",
    """
    // train: true
    // train: false
    // train: true
""",
)
def _():
    println("train:", ag.config.train)
    with ag.test_mode():
        println("train:", ag.config.train)
    println("train:", ag.config.train)


# ---------------------------------------------------------- arithmetic (variable/*_test.go)


@example(
    "ExampleAdd",
    "variable/add_test.go",
    """
    // variable[2]([1 1])
    // variable[2]([1 1])
""",
)
def _():
    a = ag.variable(2, 3)
    b = ag.variable(3, 4)
    F.add(a, b).backward()
    println(a.grad)
    println(b.grad)


@example(
    "ExampleAddC",
    "variable/add_test.go",
    """
    // variable(13)
    // variable(1)
""",
)
def _():
    x = ag.variable(3)
    y = 10.0 + x
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleAdd_broadcast",
    "variable/add_test.go",
    """
    // variable[3]([11 12 13])
    // variable[3]([1 1 1])
    // variable(3)
""",
)
def _():
    a = ag.variable(1, 2, 3)
    b = ag.variable(10)
    y = F.add(a, b)
    y.backward()
    println(y)
    println(a.grad)
    println(b.grad)


@example(
    "ExampleAdd_double",
    "variable/add_test.go",
    """
    // variable[3]([11 12 13])
    // variable[3]([1 1 1])
    // variable(3)
    // <nil>
    // <nil>
""",
)
def _():
    a = ag.variable(1, 2, 3)
    b = ag.variable(10)
    y = F.add(a, b)
    y.backward(create_graph=True)
    println(y)
    println(a.grad)
    println(b.grad)
    ga, gb = a.grad, b.grad
    a.cleargrad()
    b.cleargrad()
    ga.backward()
    gb.backward()
    println(a.grad)
    println(b.grad)


@example(
    "ExampleSub",
    "variable/sub_test.go",
    """
    // variable(1)
    // variable(1)
    // variable(-1)
""",
)
def _():
    a = ag.variable(3.0)
    b = ag.variable(2.0)
    y = F.sub(a, b)
    y.backward()
    println(y)
    println(a.grad)
    println(b.grad)


@example(
    "ExampleSubC",
    "variable/sub_test.go",
    """
    // variable(7)
    // variable(-1)
""",
)
def _():
    x = ag.variable(3.0)
    y = 10.0 - x  # Go's SubC(c, x) is c - x
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleSub_broadcast",
    "variable/sub_test.go",
    """
    // variable[5]([0 1 2 3 4])
    // variable[5]([1 1 1 1 1])
    // variable(-5)
""",
)
def _():
    a = ag.variable(1, 2, 3, 4, 5)
    b = ag.variable(1)
    y = F.sub(a, b)
    y.backward()
    println(y)
    println(a.grad)
    println(b.grad)


@example(
    "ExampleSub_double",
    "variable/sub_test.go",
    """
    // variable(1)
    // variable(1)
    // variable(-1)
    // <nil>
    // <nil>
""",
)
def _():
    a = ag.variable(3.0)
    b = ag.variable(2.0)
    y = F.sub(a, b)
    y.backward(create_graph=True)
    println(y)
    println(a.grad)
    println(b.grad)
    ga, gb = a.grad, b.grad
    a.cleargrad()
    b.cleargrad()
    ga.backward()
    gb.backward()
    println(a.grad)
    println(b.grad)


@example(
    "ExampleMul",
    "variable/mul_test.go",
    """
    // variable(7)
    // variable(2)
    // variable(3)
""",
)
def _():
    a = ag.variable(3.0)
    b = ag.variable(2.0)
    c = ag.variable(1.0)
    y = F.add(F.mul(a, b), c)
    y.backward()
    println(y)
    println(a.grad)
    println(b.grad)


@example(
    "ExampleMul_broadcast",
    "variable/mul_test.go",
    """
    // variable[5]([6 6 6 6 6])
    // variable[5]([3 3 3 3 3])
    // variable(10)
""",
)
def _():
    a = ag.variable(2, 2, 2, 2, 2)
    b = ag.variable(3.0)
    y = F.mul(a, b)
    y.backward()
    println(y)
    println(a.grad)
    println(b.grad)


@example(
    "ExampleMul_double",
    "variable/mul_test.go",
    """
    // variable(6)
    // variable(2)
    // variable(3)
    // variable(1)
    // variable(1)
""",
)
def _():
    a = ag.variable(3.0)
    b = ag.variable(2.0)
    y = F.mul(a, b)
    y.backward(create_graph=True)
    println(y)
    println(a.grad)
    println(b.grad)
    ga, gb = a.grad, b.grad
    a.cleargrad()
    b.cleargrad()
    ga.backward()
    gb.backward()
    println(a.grad)
    println(b.grad)


@example(
    "ExampleDiv",
    "variable/div_test.go",
    """
    // variable(5)
    // variable(0.5)
    // variable(-2.5)
""",
)
def _():
    a = ag.variable(10)
    b = ag.variable(2)
    y = F.div(a, b)
    y.backward()
    println(y)
    println(a.grad)
    println(b.grad)


@example(
    "ExampleDivC",
    "variable/div_test.go",
    """
    // variable(5)
    // variable(-2.5)
""",
)
def _():
    b = ag.variable(2)
    y = 10.0 / b  # Go's DivC(c, x) is c / x
    y.backward()
    println(y)
    println(b.grad)


@example(
    "ExampleDiv_broadcast",
    "variable/div_test.go",
    """
    // variable[5]([0.5 1 1.5 2 2.5])
    // variable[5]([0.5 0.5 0.5 0.5 0.5]) variable(-3.75)
""",
)
def _():
    a = ag.variable(1, 2, 3, 4, 5)
    b = ag.variable(2)
    y = F.div(a, b)
    y.backward()
    println(y)
    println(a.grad, b.grad)


@example(
    "ExampleDiv_double",
    "variable/div_test.go",
    """
    // variable(5)
    // variable(0.5)
    // variable(-2.5)
    // variable(-0.25)
    // variable(2.25)
""",
)
def _():
    a = ag.variable(10)
    b = ag.variable(2)
    y = F.div(a, b)
    y.backward(create_graph=True)
    println(y)
    println(a.grad)
    println(b.grad)
    ga, gb = a.grad, b.grad
    a.cleargrad()
    b.cleargrad()
    ga.backward()
    gb.backward()
    println(a.grad)
    println(b.grad)


@example(
    "ExampleLog",
    "variable/log_test.go",
    """
    // variable[5]([1 0.5 0.3333333333333333 0.25 0.2])
""",
)
def _():
    v = ag.variable(1, 2, 3, 4, 5)
    F.log(v).backward()
    println(v.grad)


@example(
    "ExampleLogT",
    "variable/log_test.go",
    """
    // variable[5]([1 2 3 4 5])
    // [variable[5]([0 0.6931471805599453 1.0986122886681096 1.3862943611198906 1.6094379124341003])]
    // [variable[5]([1 0.5 0.3333333333333333 0.25 0.2])]
""",
)
def _():
    x = ag.variable(1, 2, 3, 4, 5)
    println(x)
    y = F.log(x)  # LogT.Forward and LogT.Backward(ones): the value and its grad
    println([y])
    y.backward()
    println([x.grad])


@example(
    "ExampleLog_double",
    "variable/log_test.go",
    """
    // variable(0.6931471805599453)
    // variable(0.5)
    // variable(-0.25)
    // variable(0.25)
    // variable(-0.375)
""",
)
def _():
    x = ag.variable(2)
    y = F.log(x)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    for _ in range(3):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


# ------------------------------------------------------------- shapes and reductions


@example(
    "ExampleTranspose",
    "variable/transpose_test.go",
    """
    // variable[3 2]([1 4 2 5 3 6])
    // variable[2 3]([1 1 1 1 1 1])
""",
)
def _():
    x = new(1, 2, 3, 4, 5, 6).reshape(2, 3)
    y = F.transpose(x, (-1, -2))
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleSqueeze",
    "variable/squeeze_test.go",
    """
    // variable[3 1 3]([1 2 3 4 5 6 7 8 9])
    // variable[3 3]([1 2 3 4 5 6 7 8 9])
    // variable[3 1 3]([1 1 1 1 1 1 1 1 1])
""",
)
def _():
    x = new(1, 2, 3, 4, 5, 6, 7, 8, 9).reshape(3, 1, 3)
    y = F.squeeze(x, 1)
    y.backward()
    println(x)
    println(y)
    println(x.grad)


@example(
    "ExampleSqueeze_double",
    "variable/squeeze_test.go",
    """
    // <nil>
""",
)
def _():
    x = new(1, 2, 3, 4, 5, 6, 7, 8, 9).reshape(3, 1, 3)
    y = F.squeeze(x, 1)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    println(x.grad)


@example(
    "ExampleUnsqueeze",
    "variable/unsqueeze_test.go",
    """
    // variable[3 3]([1 2 3 4 5 6 7 8 9])
    // variable[3 1 3]([1 2 3 4 5 6 7 8 9])
    // variable[3 3]([1 1 1 1 1 1 1 1 1])
""",
)
def _():
    x = new(1, 2, 3, 4, 5, 6, 7, 8, 9).reshape(3, 3)
    y = F.unsqueeze(x, 1)
    y.backward()
    println(x)
    println(y)
    println(x.grad)


@example(
    "ExampleConcat",
    "variable/concat_test.go",
    """
    // variable[2 5]([1 2 3 7 8 4 5 6 9 10])
    // variable[2 3]([1 1 1 1 1 1])
    // variable[2 2]([1 1 1 1])
""",
)
def _():
    x = new(1, 2, 3, 4, 5, 6).reshape(2, 3)
    y = new(7, 8, 9, 10).reshape(2, 2)
    z = F.concat([x, y], axis=1)
    z.backward()
    println(z)
    println(x.grad)
    println(y.grad)


@example(
    "ExampleConcat_axis0",
    "variable/concat_test.go",
    """
    // variable[3 3]([1 2 3 4 5 6 7 8 9])
    // variable[2 3]([1 1 1 1 1 1])
    // variable[1 3]([1 1 1])
""",
)
def _():
    x = new(1, 2, 3, 4, 5, 6).reshape(2, 3)
    y = new(7, 8, 9).reshape(1, 3)
    z = F.concat([x, y], axis=0)
    z.backward()
    println(z)
    println(x.grad)
    println(y.grad)


def _split_x():
    return new(1, 2, 3, 4, 5, 6, 7, 8, 9).reshape(3, 3)


@example(
    "ExampleSplit",
    "variable/split_test.go",
    """
    // variable[1 3]([1 2 3])
    // variable[2 3]([4 5 6 7 8 9])
    // variable[3 3]([1 1 1 0 0 0 0 0 0])
""",
)
def _():
    x = _split_x()
    y = F.split(x, [1, 2], axis=0)
    println(y[0])
    println(y[1])
    y[0].backward()
    println(x.grad)


@example(
    "ExampleSplit_y1",
    "variable/split_test.go",
    """
    // variable[1 3]([1 2 3])
    // variable[2 3]([4 5 6 7 8 9])
    // variable[3 3]([0 0 0 1 1 1 1 1 1])
""",
)
def _():
    x = _split_x()
    y = F.split(x, [1, 2], axis=0)
    println(y[0])
    println(y[1])
    y[1].backward()
    println(x.grad)


@example(
    "ExampleSplit_y01",
    "variable/split_test.go",
    """
    // variable[1 3]([1 2 3])
    // variable[2 3]([4 5 6 7 8 9])
    // variable[3 3]([1 1 1 1 1 1 1 1 1])
""",
)
def _():
    x = _split_x()
    y = F.split(x, [1, 2], axis=0)
    println(y[0])
    println(y[1])
    y[0].backward()
    y[1].backward()
    println(x.grad)


@example(
    "ExampleSplit_axis1",
    "variable/split_test.go",
    """
    // variable[3 1]([1 4 7])
    // variable[3 2]([2 3 5 6 8 9])
    // variable[3 3]([1 0 0 1 0 0 1 0 0])
""",
)
def _():
    x = _split_x()
    y = F.split(x, [1, 2], axis=1)
    println(y[0])
    println(y[1])
    y[0].backward()
    println(x.grad)


@example(
    "ExampleSplit_double",
    "variable/split_test.go",
    """
    // variable[1 3]([1 2 3])
    // variable[2 3]([4 5 6 7 8 9])
    // variable[3 3]([1 1 1 0 0 0 0 0 0])
    // variable[3 3]([1 1 1 1 1 1 1 1 1])
""",
)
def _():
    x = _split_x()
    y = F.split(x, [1, 2], axis=0)
    println(y[0])
    println(y[1])
    y[0].backward(create_graph=True)
    println(x.grad)
    gx = x.grad
    x.cleargrad()
    gx.backward(create_graph=True, retain_grad=True)
    println(gx.grad)


@example(
    "ExampleGetItem",
    "variable/get_item_test.go",
    """
    // variable[1 3]([4 5 6])
    // variable[2 3]([0 0 0 1 1 1])
""",
)
def _():
    a = new(1, 2, 3, 4, 5, 6).reshape(2, 3)
    y = F.get_item(a, [1])
    y.backward()
    println(y)
    println(a.grad)


@example(
    "ExampleGetItem_indices",
    "variable/get_item_test.go",
    """
    // variable[3 3]([1 2 3 1 2 3 4 5 6])
    // variable[2 3]([2 2 2 1 1 1])
""",
)
def _():
    a = new(1, 2, 3, 4, 5, 6).reshape(2, 3)
    y = F.get_item(a, [0, 0, 1])
    y.backward()
    println(y)
    println(a.grad)


def _x23():
    return new(1, 2, 3, 4, 5, 6).reshape(2, 3)


@example(
    "ExampleSum_axis01",
    "variable/sum_test.go",
    """
    // variable(21)
    // variable[2 3]([1 1 1 1 1 1])
""",
)
def _():
    x = _x23()
    y = F.sum(x, axis=(0, 1))
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleSum_axis0",
    "variable/sum_test.go",
    """
    // variable[3]([5 7 9])
    // variable[2 3]([1 1 1 1 1 1])
""",
)
def _():
    x = _x23()
    y = F.sum(x, axis=0)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleSum_axis1",
    "variable/sum_test.go",
    """
    // variable[2]([6 15])
    // variable[2 3]([1 1 1 1 1 1])
""",
)
def _():
    x = _x23()
    y = F.sum(x, axis=1)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMean",
    "variable/mean_test.go",
    """
    // variable[3]([2.5 3.5 4.5])
    // variable[2 3]([0.5 0.5 0.5 0.5 0.5 0.5])
""",
)
def _():
    x = _x23()
    y = F.mean(x, axis=0)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMean_axis01",
    "variable/mean_test.go",
    """
    // variable(3.5)
    // variable[2 3]([0.1666 0.1666 0.1666 0.1666 0.1666 0.1666])
""",
)
def _():
    x = _x23()
    y = F.mean(x, axis=(0, 1))
    y.backward()
    println(y)
    println(F.clip(x.grad, 0, 0.1666))


@example(
    "ExampleMean_double",
    "variable/mean_test.go",
    """
    // variable(3.5)
    // <nil>
""",
)
def _():
    x = _x23()
    y = F.mean(x, axis=(0, 1))
    y.backward(create_graph=True)
    println(y)
    gx = x.grad
    x.cleargrad()
    gx.backward(create_graph=True)
    println(x.grad)


@example(
    "ExampleVariance_axis0",
    "variable/variance_test.go",
    """
    // variable[3]([2.25 2.25 2.25])
    // variable[2 3]([-1.5 -1.5 -1.5 1.5 1.5 1.5])
""",
)
def _():
    x = _x23()
    y = F.variance(x, axis=0)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleVariance_axis1",
    "variable/variance_test.go",
    """
    // variable[2]([6 6])
    // variable[2 3]([-2 0 2 -2 0 2])
""",
)
def _():
    x = new(-3, 0, 3, -3, 0, 3).reshape(2, 3)
    y = F.variance(x, axis=1)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleVariance_double",
    "variable/variance_test.go",
    """
    // variable[2]([6 6])
    // variable[2 3]([-2 0 2 -2 0 2])
    // variable[2 3]([0 0 0 0 0 0])
""",
)
def _():
    x = new(-3, 0, 3, -3, 0, 3).reshape(2, 3)
    y = F.variance(x, axis=1)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    println(x.grad)


@example(
    "ExampleMax",
    "variable/max_test.go",
    """
    // variable(10)
    // variable[2 3]([0 0 0 0 1 0])
""",
)
def _():
    x = new(1, 2, 3, 4, 10, 6).reshape(2, 3)
    y = F.max(x)
    y.backward()
    println(y)
    println(x.grad)


def _xmin():
    return new(1, 2, 3, 4, -5, 6).reshape(2, 3)


@example(
    "ExampleMin",
    "variable/min_test.go",
    """
    // variable(-5)
    // variable[2 3]([0 0 0 0 1 0])
""",
)
def _():
    x = _xmin()
    y = F.min(x)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMin_axis0",
    "variable/min_test.go",
    """
    // variable[3]([1 -5 3])
    // variable[2 3]([1 0 1 0 1 0])
""",
)
def _():
    x = _xmin()
    y = F.min(x, axis=0)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMin_axis1",
    "variable/min_test.go",
    """
    // variable[2]([1 -5])
    // variable[2 3]([1 0 0 0 1 0])
""",
)
def _():
    x = _xmin()
    y = F.min(x, axis=1)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMin_axis21n",
    "variable/min_test.go",
    """
    // variable(-5)
    // variable[2 3]([0 0 0 0 1 0])
""",
)
def _():
    x = _xmin()
    y = F.min(x, axis=(-2, -1))
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMatMul",
    "variable/matmul_test.go",
    """
    // variable[2 3]([10 26 42 10 26 42])
    // variable[3 4]([5 5 5 5 7 7 7 7 9 9 9 9])
""",
)
def _():
    x = _x23()
    w = new(*range(1, 13)).reshape(3, 4)
    F.matmul(x, w).backward()
    println(x.grad)
    println(w.grad)


@example(
    "ExampleClip",
    "variable/clip_test.go",
    """
    // variable[8]([0 0 0 1 2 4 5 5])
    // variable[8]([0 0 1 1 1 1 0 0])
""",
)
def _():
    x = ag.variable(-2, -1, 0, 1, 2, 4, 6, 8)
    y = F.clip(x, 0, 5)
    y.backward()
    println(y)
    println(x.grad)


# ---------------------------------------------------------------- function/*_test.go


@example(
    "ExampleSigmoid",
    "function/sigmoid_test.go",
    """
    // variable(0.01798620996209155)
    // variable(0.11920292202211757)
    // variable(0.5)
    // variable(0.8807970779778824)
    // variable(0.9820137900379085)
""",
)
def _():
    for v in (-4, -2, 0.0, 2, 4):
        println(F.sigmoid(ag.variable(v)))


@example(
    "ExampleSigmoid_backward",
    "function/sigmoid_test.go",
    """
    // variable[5]([0.017662706213291107 0.10499358540350653 0.25 0.10499358540350653 0.017662706213291107])
""",
)
def _():
    x = ag.variable(-4, 2, 0, 2, 4)
    F.sigmoid(x).backward()
    println(x.grad)


@example(
    "ExampleSigmoid_double",
    "function/sigmoid_test.go",
    """
    // variable[5]([0.017662706213291107 0.10499358540350653 0.25 0.10499358540350653 0.017662706213291107])
    // variable[5]([0.01702733592838912 -0.07996250105615307 0 -0.07996250105615307 -0.01702733592838912])
""",
)
def _():
    x = ag.variable(-4, 2, 0, 2, 4)
    F.sigmoid(x).backward(create_graph=True)
    println(x.grad)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    println(x.grad)


@example(
    "ExampleReLU",
    "function/relu_test.go",
    """
    // variable[2 3]([1 0 3 0 5 0])
    // variable[2 3]([1 0 1 0 1 0])
""",
)
def _():
    x = new(1, -2, 3, -4, 5, -6).reshape(2, 3)
    y = F.relu(x)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleReLU_double",
    "function/relu_test.go",
    """
    // variable[2 3]([1 0 3 0 5 0])
    // variable[2 3]([1 0 1 0 1 0])
    // <nil>
""",
)
def _():
    x = new(1, -2, 3, -4, 5, -6).reshape(2, 3)
    y = F.relu(x)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    println(x.grad)


@example(
    "ExampleGELU",
    "function/gelu_test.go",
    """
    // variable[1 5]([-0 -0.0036373920817729943 0 2.996362607918227 10])
    // variable[1 5]([0 -0.011584166630969648 0.5 1.0115841666309695 1])
""",
    xfail="other difference: gelu's gradient at x = -3 differs in the last 3 digits "
    "(the same tanh-approximation derivative, grouped differently)",
)
def _():
    x = new(-10, -3, 0, 3, 10).reshape(1, 5)
    y = F.gelu(x)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleSoftmax",
    "function/softmax_test.go",
    """
    // variable[2 3]([0.09003057317038046 0.24472847105479764 0.6652409557748218 0.017668422014048047 0.017668422014048047 0.9646631559719038])
    // variable[2 3]([1.3877787807814457e-17 2.7755575615628914e-17 1.1102230246251565e-16 3.469446951953614e-18 3.469446951953614e-18 1.1102230246251565e-16])
""",
)
def _():
    x = new(1, 2, 3, 4, 4, 8).reshape(2, 3)
    y = F.softmax(x, axis=1)
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleSoftmax_axis0",
    "function/softmax_test.go",
    """
    // variable[2 3]([0.04742587317756679 0.11920292202211755 0.006692850924284856 0.9525741268224334 0.8807970779778823 0.9933071490757153])
    // variable[2 3]([-1.3877787807814457e-17 1.3877787807814457e-17 -1.734723475976807e-18 -2.220446049250313e-16 1.1102230246251565e-16 -2.220446049250313e-16])
""",
)
def _():
    x = new(1, 2, 3, 4, 4, 8).reshape(2, 3)
    y = F.softmax(x, axis=0)
    y.backward()
    println(y)
    println(x.grad)


_SCE_X = (
    0.1,
    0.05,
    0.6,
    0.0,
    0.05,
    0.1,
    0.0,
    0.1,
    0.0,
    0.0,
    0.1,
    0.05,
    0.1,
    0.0,
    0.05,
    0.1,
    0.0,
    0.6,
    0.0,
    0.0,
)


@example(
    "ExampleSoftmaxCrossEntropy",
    "function/softmax_cross_entropy_test.go",
    """
    // variable(2.069494302297095)
    // [0.04916165 0.04676401 -0.41894615 0.04448330 0.04676401 0.04916165 0.04448330 0.04916165 0.04448330 0.04448330]
    // [0.04916165 0.04676401 -0.45083835 0.04448330 0.04676401 0.04916165 0.04448330 0.08105385 0.04448330 0.04448330]
""",
)
def _():
    x = new(*_SCE_X).reshape(2, 10)
    y = F.softmax_cross_entropy(x, [2, 2])
    y.backward()
    println(y)
    for row in rows(x.grad):
        printf_row("%.8f", row)


@example(
    "ExampleSoftmaxCrossEntropy_double",
    "function/softmax_cross_entropy_test.go",
    """
    // variable(2.069494302297095)
    // variable[2 10]([0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0])
""",
)
def _():
    x = new(*_SCE_X).reshape(2, 10)
    y = F.softmax_cross_entropy(x, [2, 2])
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward(create_graph=True)
    println(y)
    println(x.grad)


@example(
    "ExampleCrossEntropy_ignore",
    "function/cross_entropy_test.go",
    """
    // variable(0.4076059644443806)
    // variable[2 3]([0.09003057317038046 0.24472847105479764 -0.3347590442251782 0 0 0])
""",
)
def _():
    x = new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0).reshape(2, 3)
    y = F.softmax_cross_entropy(x, [2, -100])
    y.backward()
    println(y)
    println(x.grad)


def _linear_xw():
    x = _x23()
    w = new(*range(1, 13)).reshape(3, 4)
    return x, w


@example(
    "ExampleLinear",
    "function/linear_test.go",
    """
    // variable[2 4]([38 44 50 56 83 98 113 128])
    // variable[2 3]([10 26 42 10 26 42])
    // variable[3 4]([5 5 5 5 7 7 7 7 9 9 9 9])
""",
)
def _():
    x, w = _linear_xw()
    y = F.linear(x, w)
    y.backward()
    println(y)
    println(x.grad)
    println(w.grad)


@example(
    "ExampleLinear_bias",
    "function/linear_test.go",
    """
    // variable[2 4]([39 45 51 57 84 99 114 129])
    // variable[2 3]([10 26 42 10 26 42])
    // variable[3 4]([5 5 5 5 7 7 7 7 9 9 9 9])
    // variable(8)
""",
)
def _():
    x, w = _linear_xw()
    b = ag.variable(1.0)
    y = F.linear(x, w, b)
    y.backward()
    println(y)
    println(x.grad)
    println(w.grad)
    println(b.grad)


@example(
    "ExampleLinear_batch",
    "function/linear_test.go",
    """
    // variable[2 2 4]([38 44 50 56 83 98 113 128 128 152 176 200 173 206 239 272])
    // variable[2 2 3]([10 26 42 10 26 42 10 26 42 10 26 42])
    // variable[1 3 4]([22 22 22 22 26 26 26 26 30 30 30 30])
""",
)
def _():
    x = new(*range(1, 13)).reshape(2, 2, 3)
    w = new(*range(1, 13)).reshape(1, 3, 4)
    y = F.linear(x, w)
    y.backward()
    println(y)
    println(x.grad)
    println(w.grad)


@example(
    "ExampleLinear_batchx",
    "function/linear_test.go",
    """
    // variable[2 2 4]([38 44 50 56 83 98 113 128 110 116 122 128 263 278 293 308])
    // variable[2 3]([68 100 132 68 100 132])
    // variable[2 3 4]([5 5 5 5 7 7 7 7 9 9 9 9 5 5 5 5 7 7 7 7 9 9 9 9])
""",
)
def _():
    x = _x23()
    w = new(*range(1, 25)).reshape(2, 3, 4)
    y = F.linear(x, w)
    y.backward()
    println(y)
    println(x.grad)
    println(w.grad)


def _mask_fill():
    mask = np.tril(np.ones((3, 3)))
    x = new(*range(1, 10)).reshape(3, 3)
    return x, F.mask_fill(x, mask == 0, -math.inf)


@example(
    "ExampleMaskFill",
    "function/mask_fill_test.go",
    """
    // variable[3 3]([1 -Inf -Inf 4 5 -Inf 7 8 9])
    // variable[3 3]([1 0 0 1 1 0 1 1 1])
""",
)
def _():
    x, y = _mask_fill()
    y.backward()
    println(y)
    println(x.grad)


@example(
    "ExampleMaskFill_double",
    "function/mask_fill_test.go",
    """
    // variable[3 3]([1 -Inf -Inf 4 5 -Inf 7 8 9])
    // variable[3 3]([1 0 0 1 1 0 1 1 1])
    // <nil>
""",
)
def _():
    x, y = _mask_fill()
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    println(x.grad)


# ------------------------------------------------------------------ layer/linear_test.go

_LINEAR_PARAMS = """
    // variable[1 5]([-3.753617207837431 -1.719903320416024 0.8735158343377458 -0.0434461237808752 1.0512162854878033])
    // b b[1 5]([0 0 0 0 0])
    // w w[3 5]([0.32708975344564756 -0.35356774308295924 0.34057587091902425 -0.21236342053185778 0.630441958972765 -0.25624794608861706 -0.1448844842619606 0.4946976700923148 0.41899488204992313 0.49172779552683027 -1.1894036897019482 -0.3588555362697145 -0.15215179225530268 -0.2230241557829546 -0.18756042151287408])
"""


@example("ExampleLinear", "layer/linear_test.go", _LINEAR_PARAMS)
def _():
    l = L.Linear(5, rng=ag.random.const())
    y = l(new(1, 2, 3).reshape(1, 3))  # Linear takes (N, in) here
    println(y)
    for k, v in l.params().items():
        println(k, v)


@example("ExampleLinear_inSize", "layer/linear_test.go", _LINEAR_PARAMS)
def _():
    l = L.Linear(5, in_size=3, rng=ag.random.const())
    y = l(new(1, 2, 3).reshape(1, 3))
    println(y)
    for k, v in l.params().items():
        println(k, v)


@example(
    "ExampleLinear_nobias",
    "layer/linear_test.go",
    """
    // w
""",
)
def _():
    l = L.Linear(5, bias=False)
    l(new(1, 2, 3).reshape(1, 3))
    for v in l.params().values():
        println(v.name)


@example(
    "ExampleLinear_backward",
    "layer/linear_test.go",
    """
    // b variable[1 5]([1 1 1 1 1])
    // w variable[3 5]([1 1 1 1 1 2 2 2 2 2 3 3 3 3 3])
    // b variable[1 5]([2 2 2 2 2])
    // w variable[3 5]([2 2 2 2 2 4 4 4 4 4 6 6 6 6 6])
""",
)
def _():
    l = L.Linear(5, rng=np.random.default_rng(0))
    l(new(1, 2, 3).reshape(1, 3)).backward()
    for v in l.params().values():
        println(v.name, v.grad)
    l(new(1, 2, 3).reshape(1, 3)).backward()
    for k, v in l.params().items():
        println(k, v.grad)


# -------------------------------------------------------------------- model/mlp_test.go


@example(
    "ExampleMLP_backward",
    "model/mlp_test.go",
    """
    // 0.b variable[1 5]([0 0 -0.11785627150007956 -0.17275376822987032 -0.1452836777854009])
    // 0.w variable[2 5]([[0 0 -0.11785627150007956 -0.17275376822987032 -0.1452836777854009] [0 0 -0.23571254300015912 -0.34550753645974064 -0.2905673555708018]])
    // 1.b variable(1)
    // 1.w variable[5 1]([[0] [0] [1.62887541989766] [0.7662326556923662] [1.9766127473463149]])
""",
    xfail="issue 15 cause 4: parameter names (this Go version: 0.b; later linear[0].b; here "
    "linear0.b); also this Go version prints 2-D values nested, and here the masked bias "
    "gradient prints -0 where Go prints 0",
)
def _():
    m = M.MLP([5, 1], rng=ag.random.const(), activation=F.relu)
    m(new(1, 2).reshape(1, 2)).backward()
    for k, v in m.params().items():
        println(k, v.grad)


@example(
    "ExampleMLP_cleargrads",
    "model/mlp_test.go",
    """
    // linear[0].b <nil>
    // linear[0].w <nil>
    // linear[1].b <nil>
    // linear[1].w <nil>
""",
)
def _():
    m = M.MLP([5, 1], rng=ag.random.const(), activation=F.relu)
    m(new(1, 2).reshape(1, 2)).backward()
    m.cleargrads()
    for k, v in m.params().items():
        println(k, v.grad)


@example(
    "ExampleMLP_Params",
    "model/mlp_test.go",
    """
    // linear[0].b [1 5]
    // linear[0].w [2 5]
    // linear[1].b [1 1]
    // linear[1].w [5 1]
""",
)
def _():
    m = M.MLP([5, 1])
    m(new(1, 2).reshape(1, 2))
    for k, v in m.params().items():
        println(k, v.shape)


@example(
    "ExampleMLP_batch",
    "model/mlp_test.go",
    """
    // [2 2 1]
    // [2 2 2]
    // linear[0].b [1 5]
    // linear[0].w [2 5]
    // linear[1].b [1 1]
    // linear[1].w [5 1]
""",
)
def _():
    m = M.MLP([5, 1], rng=ag.random.const(), activation=F.relu)
    x = new(*range(1, 9)).reshape(2, 2, 2)
    y = m(x)
    y.backward()
    m.cleargrads()
    println(y.shape)
    println(x.grad.shape)
    for k, v in m.params().items():
        println(k, v.shape)


# ------------------------------------------------------------------ optimizer/*_test.go


@example(
    "ExampleSGD",
    "optimizer/sgd_test.go",
    """
    // variable(0.9)
""",
)
def _():
    p = param(1.0)
    p.grad = ag.variable(1.0)
    O.SGD(lr=0.1).update(TestModel(p))
    println(p)


@example(
    "ExampleSGD_nograd",
    "optimizer/sgd_test.go",
    """
    // variable(1)
""",
)
def _():
    p = param(1.0)
    O.SGD(lr=0.1).update(TestModel(p))
    println(p)


@example(
    "ExampleMomentum",
    "optimizer/momentum_test.go",
    """
    // variable(0.999)
    // variable(0.9971)
""",
)
def _():
    p = param(1.0)
    p.grad = ag.variable(1.0)
    m = TestModel(p)
    o = O.Momentum(lr=0.001, momentum=0.9)
    for _ in range(2):
        o.update(m)
        println(p)


@example(
    "ExampleMomentum_nograd",
    "optimizer/momentum_test.go",
    """
    // variable(1)
""",
)
def _():
    p = param(1.0)
    O.Momentum(lr=0.001, momentum=0.9).update(TestModel(p))
    println(p)


@example(
    "ExampleAdamW",
    "optimizer/adamw_test.go",
    """
    // variable(0.9989684091623926)
    // variable(0.9979449255202475)
""",
)
def _():
    p = param(1.0)
    p.grad = ag.variable(1.0)
    m = TestModel(p)
    o = O.AdamW(alpha=0.001, beta1=0.9, beta2=0.999, weight_decay=0.1)
    for _ in range(2):
        o.update(m)
        println(p)


@example(
    "ExampleAdamW_nograd",
    "optimizer/adamw_test.go",
    """
    // variable(1)
""",
)
def _():
    p = param(1.0)
    O.AdamW(alpha=0.001, beta1=0.9, beta2=0.999, weight_decay=0.1).update(TestModel(p))
    println(p)


# ----------------------------------------------------------------------- hook/*_test.go


@example(
    "ExampleWeightDecay",
    "hook/weight_decay_test.go",
    """
    // variable(1.1)
""",
)
def _():
    p = param(1.0)
    p.grad = ag.variable(1.0)
    H.WeightDecay(0.1)([p])
    println(p.grad)


@example(
    "ExampleWeightDecay_nograd",
    "hook/weight_decay_test.go",
    """
    // <nil>
""",
)
def _():
    p = param(1.0)
    H.WeightDecay(0.1)([q for q in (p,) if q.grad is not None])  # as an optimizer calls hooks
    println(p.grad)


@example(
    "ExampleClipGrad",
    "hook/clip_grad_test.go",
    """
    // variable[4]([0.18257415250172812 0.36514830500345624 0.5477224575051843 0.7302966100069125])
""",
)
def _():
    p = param(1.0)
    p.grad = ag.variable(1, 2, 3, 4)
    H.ClipGrad(1.0)([p])
    println(p.grad)


@example(
    "ExampleClipGrad_noclip",
    "hook/clip_grad_test.go",
    """
    // variable[4]([0.1 0.2 0.3 0.4])
""",
)
def _():
    p = param(1.0)
    p.grad = ag.variable(0.1, 0.2, 0.3, 0.4)
    H.ClipGrad(1.0)([p])
    println(p.grad)


@example(
    "ExampleClipGrad_nograd",
    "hook/clip_grad_test.go",
    """
    // <nil>
    // variable[4]([0.01825738525023306 0.03651477050046612 0.05477215575069918 0.07302954100093224])
""",
)
def _():
    p0 = param(1.0)
    p1 = param(2.0)
    p1.grad = ag.variable(0.1, 0.2, 0.3, 0.4)
    H.ClipGrad(0.1)([q for q in (p0, p1) if q.grad is not None])  # as an optimizer calls hooks
    println(p0.grad)
    println(p1.grad)


# ---------------------------------- float32 era (itsubaki/autograd's latest text), in float32
# The later Go library computes in float32; these run the same example on float32 data.


def f32(*values):
    return ag.Variable(np.array(values, dtype=np.float32))


@example(
    "Example_tanh",
    "variable/tanh_test.go (float32)",
    """
    // variable(0.41997433)
    // variable(-0.6397)
    // variable(0.6216267)
    // variable(0.6650909)
""",
)
def _():
    x = f32(1.0)
    y = F.tanh(x)
    y.backward(create_graph=True)
    println(x.grad)
    for _ in range(3):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


@example(
    "ExampleLogT",
    "variable/log_test.go (float32)",
    """
    // variable[5]([1 2 3 4 5])
    // [variable[5]([0 0.6931472 1.0986123 1.3862944 1.609438])]
    // [variable[5]([1 0.5 0.33333334 0.25 0.2])]
""",
)
def _():
    x = f32(1, 2, 3, 4, 5)
    println(x)
    y = F.log(x)
    println([y])
    y.backward()
    println([x.grad])


@example(
    "ExampleLog_double",
    "variable/log_test.go (float32)",
    """
    // variable(0.6931472)
    // variable(0.5)
    // variable(-0.25)
    // variable(0.25)
    // variable(-0.375)
""",
)
def _():
    x = f32(2)
    y = F.log(x)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    for _ in range(3):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


@example(
    "ExampleExp",
    "variable/exp_test.go (float32)",
    """
    // variable[5]([2.7182817 7.389056 20.085537 54.59815 148.41316])
""",
)
def _():
    v = f32(1, 2, 3, 4, 5)
    F.exp(v).backward()
    println(v.grad)


@example(
    "ExampleExp_double",
    "variable/exp_test.go (float32)",
    """
    // variable(7.389056)
    // variable(7.389056)
    // variable(7.389056)
    // variable(7.389056)
    // variable(7.389056)
""",
)
def _():
    x = f32(2.0)
    y = F.exp(x)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    for _ in range(3):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


@example(
    "ExampleAccuracy",
    "function/accuracy_test.go (float32)",
    """
    // variable(0.6666667)
""",
)
def _():
    y = ag.Variable(
        np.array([0.2, 0.8, 0.0, 0.1, 0.9, 0.0, 0.8, 0.1, 0.1], dtype=np.float32).reshape(3, 3)
    )
    println(F.accuracy(y, [1, 2, 0]))


_VARIANCE = """
    // variable(0.6666667)
    // variable[2 3]([-0.333 0 0.333 -0.333 0 0.333])
"""


@example("ExampleVariance", "variable/variance_test.go (float32)", _VARIANCE)
def _():
    x = ag.Variable(np.array([-1, 0, 1, -1, 0, 1], dtype=np.float32).reshape(2, 3))
    y = F.variance(x)
    y.backward()
    println(y)
    println(F.clip(x.grad, -0.333, 0.333))


@example("ExampleVariance_axis01", "variable/variance_test.go (float32)", _VARIANCE)
def _():
    x = ag.Variable(np.array([-1, 0, 1, -1, 0, 1], dtype=np.float32).reshape(2, 3))
    y = F.variance(x, axis=(0, 1))
    y.backward()
    println(y)
    println(F.clip(x.grad, -0.333, 0.333))


# ------------------- qntx/spark, a fork of itsubaki/autograd (its ``tensor`` package is the
# ``variable`` package renamed): the float64 text of examples whose itsubaki float64 version is
# not in the stored index. Counted apart in docs/go-parity.md.


@example(
    "ExampleSquare",
    "qntx/spark tensor/square_test.go",
    """
    // variable(3)
    // variable(9)
    // variable(6)
""",
)
def _():
    x = ag.variable(3.0)
    y = F.square(x)
    y.backward()
    println(x)
    println(y)
    println(x.grad)


@example(
    "ExampleSquare_double",
    "qntx/spark tensor/square_test.go",
    """
    // variable(3)
    // variable(9)
    // variable(6)
    // variable(2)
    // variable(0)
""",
)
def _():
    x = ag.variable(3.0)
    y = F.square(x)
    y.backward(create_graph=True)
    println(x)
    println(y)
    println(x.grad)
    for _ in range(2):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


@example(
    "ExampleSin",
    "qntx/spark tensor/sin_test.go",
    """
    // variable(0.7071067811865475)
    // variable(0.7071067811865476)
    // 0.7071067811865476
""",
)
def _():
    x = ag.variable(math.pi / 4)
    y = F.sin(x)
    y.backward()
    println(y)
    println(x.grad)
    println(math.sqrt(0.5))  # Go: 1.0 / math.Sqrt2, a constant computed exactly


@example(
    "ExampleSin_double",
    "qntx/spark tensor/sin_test.go",
    """
    // variable(0.8414709848078965)
    // variable(0.5403023058681398)
    // variable(-0.8414709848078965)
    // variable(-0.5403023058681398)
    // variable(0.8414709848078965)
    // variable(0.5403023058681398)
    // variable(-0.8414709848078965)
    // variable(-0.5403023058681398)
    // variable(0.8414709848078965)
    // variable(0.5403023058681398)
    // variable(-0.8414709848078965)
    // variable(-0.5403023058681398)
""",
)
def _():
    x = ag.variable(1.0)
    y = F.sin(x)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    for _ in range(10):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


@example(
    "ExampleCos",
    "qntx/spark tensor/cos_test.go",
    """
    // variable(0.7071067811865476)
    // variable(-0.7071067811865475)
    // 0.7071067811865476
""",
)
def _():
    x = ag.variable(math.pi / 4)
    y = F.cos(x)
    y.backward()
    println(y)
    println(x.grad)
    println(math.sqrt(0.5))  # Go: 1.0 / math.Sqrt2, a constant computed exactly


@example(
    "ExampleCos_double",
    "qntx/spark tensor/cos_test.go",
    """
    // variable(0.5403023058681398)
    // variable(-0.8414709848078965)
    // variable(-0.5403023058681398)
    // variable(0.8414709848078965)
    // variable(0.5403023058681398)
    // variable(-0.8414709848078965)
    // variable(-0.5403023058681398)
    // variable(0.8414709848078965)
    // variable(0.5403023058681398)
    // variable(-0.8414709848078965)
    // variable(-0.5403023058681398)
    // variable(0.8414709848078965)
""",
)
def _():
    x = ag.variable(1.0)
    y = F.cos(x)
    y.backward(create_graph=True)
    println(y)
    println(x.grad)
    for _ in range(10):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        println(x.grad)


# --------------------------------------------------------------------------------- run


@pytest.mark.parametrize("body, expected", CASES)
def test_go_example(body, expected, capsys):
    body()
    # as `go test` compares an example's output: surrounding white space trimmed
    assert capsys.readouterr().out.strip() == expected.strip()


def test_enough_examples_are_translated():
    assert len(CASES) >= 60
