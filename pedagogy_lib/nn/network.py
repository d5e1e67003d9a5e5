r"""Small neural networks with hand-written backpropagation (book Section 5.1.3, Eqs. 5.15-5.17).

The network of Eq. 5.15 maps an input :math:`\mathbf y` through :math:`L` layers,

.. math::
    \check{\mathbf z}_0 = \mathbf y, \qquad
    \check{\mathbf z}_l = \psi_l(\mathbf D_l\check{\mathbf z}_{l-1} + \mathbf d_l), \quad l = 1,\dots,L,

and backpropagation (Eqs. 5.16-5.17, with the transpose that the printed Eq. 5.16 drops) computes
the gradient of the surprisal :math:`\mathcal S = -\log\check p(\mathbf x\mid\mathbf y;\phi)`:

.. math::
    \mathbf b_L = \mathbf J_L\,\frac{d\mathcal S}{d\check{\mathbf z}_L}, \qquad
    \mathbf b_l = \mathbf J_l\,\mathbf D_{l+1}^{\mathsf T}\,\mathbf b_{l+1}, \qquad
    \frac{d\mathcal S}{d\mathbf D_l} = \mathbf b_l\check{\mathbf z}_{l-1}^{\mathsf T}, \qquad
    \frac{d\mathcal S}{d\mathbf d_l} = \mathbf b_l,

where :math:`\mathbf J_l = \mathrm{diag}\,\psi_l'(\cdot)` is the (diagonal) Jacobian of the
nonlinearity. No automatic differentiation is used anywhere: every layer writes its own
derivative, and :func:`numerical_gradient` checks it by central differences.

This module holds that story: the parameter trees the layers' parameters live in, the
activations :math:`\psi_l`, the layers (:class:`Dense`, :class:`Activation`, :class:`Sequential`,
:func:`mlp`) and the gradient check (:func:`numerical_gradient`, :func:`relative_error`). The
losses that start the recursion are in :mod:`~pedagogy_lib.nn.losses`, the gradient steps that use
its result (SGD, Adam, minibatches) in :mod:`~pedagogy_lib.nn.optim`.

Layout: samples in rows
-----------------------
The book stores one sample per *column* (``Y = [y_1 ... y_N]``). Here a minibatch is a 2-D array
with **one sample per row**, shape ``(N, D_in)``, as in scikit-learn. The weight matrix keeps the
book's shape, ``D`` of shape ``(D_out, D_in)`` (it *is* :math:`\mathbf D_l`), so the affine map of
Eq. 5.15 for a whole batch reads ``A = Z_prev @ D.T + d`` (row ``n`` is
:math:`\mathbf D_l\check{\mathbf z}_{l-1,n} + \mathbf d_l`). Transposing the book's column formulas
gives the row formulas used in the code (book, one sample as a column  ->  code, a batch in rows):

* :math:`\mathbf D_l\check{\mathbf z}_{l-1}+\mathbf d_l`  ->  ``Z_prev @ D.T + d``;
* :math:`\mathbf J_l\,\mathbf v` with :math:`\mathbf J_l` diagonal  ->  ``psi_prime(A) * V`` (elementwise);
* :math:`\mathbf D_{l+1}^{\mathsf T}\mathbf b_{l+1}` (Eq. 5.16, corrected)  ->  ``B_next @ D_next``;
* :math:`\langle\mathbf b_l\check{\mathbf z}_{l-1}^{\mathsf T}\rangle` (Eq. 5.17, averaged)  ->  ``B.T @ Z_prev``;
* :math:`\langle\mathbf b_l\rangle`  ->  ``B.sum(axis=0)``.

The losses (:mod:`~pedagogy_lib.nn.losses`) return the gradient of the **sample average**
:math:`\langle\mathcal S\rangle` (the book's cross-entropy estimate, Eq. 5.1), so the ``1/N`` is
already inside ``grad`` and the sums above produce the averaged updates
:math:`\Delta\mathbf D_l \propto -\langle\mathbf b_l\check{\mathbf z}_{l-1}^{\mathsf T}\rangle` of
Section 5.1.3 directly.

Role reversal: in Chapter 5 the network's input is :math:`\mathbf y` and the modelled output is
:math:`\check{\mathbf x}` (draft footnote 2), so the inputs are called ``Y`` and the loss targets ``X``.

Design
------
* **Layers are stateless descriptions; parameters live outside them.** A layer object
  (:class:`Dense`, :class:`Activation`, :class:`Sequential`) holds only its sizes and choices. Its
  three methods are pure functions of their arguments:

  - ``init(rng) -> params``
  - ``forward(params, Z_prev) -> (out, cache)``
  - ``backward(params, cache, grad_out) -> (grad_in, grads)``, where ``grads`` has exactly the
    structure of ``params`` and ``grad_in`` is the gradient with respect to the layer's *input*
    (needed by energy-based models and flows, which differentiate with respect to the data).

* **Parameter collections are nested tuples, lists, dicts and NamedTuples of arrays** (a "tree";
  :class:`DenseParams` for one affine layer, a tuple of those for a :class:`Sequential`, any
  container of several networks for a VAE). :func:`tree_map` applies a function leaf by leaf, so
  the optimizers of :mod:`~pedagogy_lib.nn.optim` work on any such collection (they check and
  flatten trees with the helpers here, :func:`checked_leaves` and :func:`tree_unflatten`).
* Randomness only through an explicit ``np.random.Generator`` (initialization).

Public ``forward``/``backward`` methods validate their inputs once and raise ``ValueError`` naming
the argument; a :class:`Sequential` validates at its boundary and calls its layers' unchecked
``_forward``/``_backward``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from ..core.checks import as_array, check_choice, check_finite, check_int, check_rng, fmt_shape, positive_scalar
from ..core.gradcheck import gradcheck
from ..core.jit import HAVE_NUMBA
from ..core.logmath import sigmoid, softplus  # noqa: F401 (public here too)
from . import kernels

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "DenseParams",
    "Dense",
    "Activation",
    "Sequential",
    "mlp",
    "sigmoid",
    "softplus",
    "tree_map",
    "tree_leaves",
    "numerical_gradient",
    "relative_error",
]


# ----------------------------------------------------------------------------------------------
# Parameter trees
# ----------------------------------------------------------------------------------------------
# tree_map and tree_leaves are for everyone. check_tree_like, checked_leaves and tree_unflatten
# validate, flatten and rebuild trees for the optimizers of nn.optim and the gradient check below:
# shared within the family, so public by name, but not in __all__.

def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_map(fn: Callable, tree, *rest):
    r"""Apply ``fn`` leaf by leaf to one or more parameter trees of the same structure.

    A tree is an array (a leaf) or a NamedTuple, tuple, list or dict of trees. The result has the
    structure of ``tree``; ``rest`` must match it (checked by the optimizers, not here).

    Examples
    --------
    >>> p = DenseParams(D=np.ones((2, 3)), d=np.zeros(2))
    >>> float(tree_map(lambda a, b: a - 0.1 * b, p, p).D[0, 0])
    0.9

    Raises
    ------
    TypeError
        If ``fn`` is not callable or a leaf of ``tree`` is ``None``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}.")
    if tree is None:
        raise TypeError("tree has a leaf None; the leaves of a parameter tree are arrays.")
    if _is_namedtuple(tree):
        return type(tree)(*(tree_map(fn, *children) for children in zip(tree, *rest)))
    if isinstance(tree, (tuple, list)):
        return type(tree)(tree_map(fn, *children) for children in zip(tree, *rest))
    if isinstance(tree, dict):
        return {k: tree_map(fn, tree[k], *(r[k] for r in rest)) for k in tree}
    return fn(tree, *rest)


def tree_leaves(tree) -> list:
    """The arrays of a parameter tree, in the order :func:`tree_map` visits them."""
    rows = []
    _flatten((tree,), rows)
    return [row[0] for row in rows]


class _Unlike(Exception):
    """Raised by :func:`_flatten` where the trees it walks together differ."""


def _flatten(trees: tuple, rows: list):
    """Walk the trees of ``trees`` together, in :func:`tree_map` order: append one row per leaf to ``rows`` (that
    leaf of every tree) and return the structure of ``trees[0]``.

    The structure is a nested tuple of container types (and dict keys), ``None`` at a leaf, from which
    :func:`tree_unflatten` rebuilds a tree. Raises :class:`_Unlike` where a tree's container differs from that of
    ``trees[0]`` in type, length or keys.
    """
    tree = trees[0]
    kind = type(tree)
    if kind is np.ndarray or not isinstance(tree, (tuple, list, dict)):
        rows.append(trees)
        return None
    keys = list(tree) if isinstance(tree, dict) else None
    for t in trees:
        if type(t) is not kind or len(t) != len(tree) or (keys is not None and list(t) != keys):
            raise _Unlike
    if keys is not None:
        return dict, tuple(keys), tuple([_flatten(tuple([t[k] for t in trees]), rows) for k in keys])
    if kind is not tuple and kind is not list and not hasattr(kind, "_fields"):
        kind = tuple                                   # a tuple subclass that is not a NamedTuple
    return kind, tuple([_flatten(children, rows) for children in zip(*trees)])


def tree_unflatten(structure, leaves):
    """The tree of ``structure`` (as :func:`checked_leaves` returns it) holding the items of the iterator
    ``leaves``, in :func:`tree_map` order. Trusts its arguments: they come from :func:`checked_leaves`."""
    if structure is None:
        return next(leaves)
    kind = structure[0]
    if kind is dict:
        return {k: tree_unflatten(child, leaves) for k, child in zip(structure[1], structure[2])}
    children = [next(leaves) if child is None else tree_unflatten(child, leaves) for child in structure[1]]
    if kind is list:
        return children
    return tuple(children) if kind is tuple else kind(*children)


def _tree_paths(tree, prefix: str) -> list[tuple[str, object]]:
    """``(path, leaf)`` pairs; paths read like Python (``params[1].D``, ``params['enc'][0].d``)."""
    if _is_namedtuple(tree):
        return [p for f, c in zip(tree._fields, tree) for p in _tree_paths(c, f"{prefix}.{f}")]
    if isinstance(tree, (tuple, list)):
        return [p for i, c in enumerate(tree) for p in _tree_paths(c, f"{prefix}[{i}]")]
    if isinstance(tree, dict):
        return [p for k in tree for p in _tree_paths(tree[k], f"{prefix}[{k!r}]")]
    return [(prefix, tree)]


def check_tree_like(tree, name: str, ref, ref_name: str, finite: bool = True) -> None:
    """Raise unless ``tree`` has the containers, keys and leaf shapes of ``ref`` (and finite leaves if ``finite``).

    ``name`` and ``ref_name`` are the arguments' names in the messages, which name the leaf at fault
    (``grads[1].D must have shape (3, 2) like params[1].D``).

    Raises
    ------
    TypeError, ValueError
        If a container, key or shape differs, a leaf is not a real numeric array, or (with
        ``finite``) a leaf is not finite.
    """
    if _is_namedtuple(ref):
        if type(tree) is not type(ref):
            raise ValueError(f"{name} must be a {type(ref).__name__} like {ref_name}; got {type(tree).__name__}.")
        for f in ref._fields:
            check_tree_like(getattr(tree, f), f"{name}.{f}", getattr(ref, f), f"{ref_name}.{f}", finite)
        return
    if isinstance(ref, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(tree) != len(ref):
            got = f"length {len(tree)}" if isinstance(tree, (tuple, list)) else type(tree).__name__
            raise ValueError(f"{name} must be a sequence of length {len(ref)} like {ref_name}; got {got}.")
        for i, (t, r) in enumerate(zip(tree, ref)):
            check_tree_like(t, f"{name}[{i}]", r, f"{ref_name}[{i}]", finite)
        return
    if isinstance(ref, dict):
        if not isinstance(tree, dict) or list(tree) != list(ref):
            got = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
            raise ValueError(f"{name} must be a dict with keys {list(ref)} like {ref_name}; got {got}.")
        for k in ref:
            check_tree_like(tree[k], f"{name}[{k!r}]", ref[k], f"{ref_name}[{k!r}]", finite)
        return
    arr = np.asarray(tree)
    ref_shape = np.shape(ref)
    if arr.shape != ref_shape:
        raise ValueError(f"{name} must have shape {fmt_shape(ref_shape)} like {ref_name}; "
                         f"got {fmt_shape(arr.shape)}.")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array; got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real; got complex dtype {arr.dtype}.")
    if finite:
        check_finite(arr, name)


def checked_leaves(params, others, finite: bool = True) -> tuple:
    """Validate ``params`` and the trees of ``others`` against it; return their structure and leaves.

    ``others`` holds ``(tree, name, finite)`` triples; ``finite`` is for ``params``. Returns
    ``(structure, rows)``: one row per leaf of ``params``, that leaf then the same leaf of each tree of
    ``others``, every one a float64 array; ``structure`` rebuilds a tree of the same shape with
    :func:`tree_unflatten`. The checks are those of :func:`check_tree_like`; when every leaf is already a
    float64 array of the right shape (what an optimizer is given at each step of a training loop) they
    cost one walk of all the trees together, and any departure from that is handed to
    :func:`check_tree_like`, which explains it or accepts it (e.g. a leaf given as a list).
    """
    trees = (params, *[tree for tree, _, _ in others])
    finites = (finite, *[tree_finite for _, _, tree_finite in others])
    rows = []
    try:
        structure = _flatten(trees, rows)
    except _Unlike:
        pass
    else:
        if all(type(x) is np.ndarray and x.dtype == np.float64 and x.shape == row[0].shape
               and (not x_finite or np.isfinite(x).all()) for row in rows for x, x_finite in zip(row, finites)):
            return structure, rows
    check_tree_like(params, "params", params, "params", finite)
    for tree, name, tree_finite in others:
        check_tree_like(tree, name, params, "params", tree_finite)
    # every tree now has the containers of params, which their float64 copies take
    rows = []
    structure = _flatten(tuple([tree_map(lambda r, t: np.asarray(t, dtype=np.float64), params, tree)
                                for tree in trees]), rows)
    return structure, rows


# ----------------------------------------------------------------------------------------------
# Activations (the stable sigmoid and softplus live in core.logmath, shared with other families)
# ----------------------------------------------------------------------------------------------

# Each activation: psi(A) and psi'(A, Z), the diagonal of J_l, given the pre-activation A and output Z.
def _identity(A):
    return A


def _identity_prime(A, Z):
    return np.ones_like(A)


def _relu(A):
    return np.maximum(A, 0.0)


def _relu_prime(A, Z):
    return (A > 0.0).astype(np.float64)           # the subgradient 0 is used at A == 0


def _tanh_prime(A, Z):
    P = Z * Z
    return np.subtract(1.0, P, out=P)             # tanh' = 1 - tanh^2, in one new array


def _tanh_backward_numpy(G, Z):
    """Readable twin of :func:`~pedagogy_lib.nn.kernels.tanh_backward`: ``G *= 1 - Z^2`` in place, the
    tanh layer's Jacobian applied to the gradient ``G`` with respect to its outputs ``Z``."""
    G *= _tanh_prime(None, Z)


# the tanh layer's backward step: one compiled pass, or its twin without numba
_TANH_BACKWARD = kernels.tanh_backward if HAVE_NUMBA else _tanh_backward_numpy


def _logistic_prime(A, Z):
    return Z * (1.0 - Z)                          # sigma' = sigma (1 - sigma)


def _softplus_prime(A, Z):
    return sigmoid(A)


def _silu(A):
    return A * sigmoid(A)


def _silu_prime(A, Z):
    s = sigmoid(A)
    return s * (1.0 + A * (1.0 - s))              # d/da [a sigma(a)] = sigma + a sigma (1 - sigma)


#: Pointwise nonlinearities :math:`\psi_l` (Eq. 5.15) and their derivatives.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "identity": (_identity, _identity_prime),
    "relu": (_relu, _relu_prime),
    "tanh": (np.tanh, _tanh_prime),
    "logistic": (sigmoid, _logistic_prime),
    "softplus": (softplus, _softplus_prime),
    "silu": (_silu, _silu_prime),
}

#: Weight initializations: Glorot/Xavier uniform (Glorot and Bengio 2010) and He normal (He et al. 2015).
INITS = ("glorot", "he")


# ----------------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------------

class DenseParams(NamedTuple):
    r"""Parameters of one affine layer, :math:`\mathbf a = \mathbf D_l\check{\mathbf z}_{l-1} + \mathbf d_l` (Eq. 5.15).

    Attributes
    ----------
    D : ndarray, shape (D_out, D_in)
        Weight matrix :math:`\mathbf D_l`, in the book's orientation (outputs by inputs).
    d : ndarray, shape (D_out,)
        Bias :math:`\mathbf d_l`.
    """

    D: np.ndarray
    d: np.ndarray


def _check_input(Z_prev, name: str, n_in: int, dims: str) -> np.ndarray:
    return as_array(Z_prev, name, shape=(None, n_in), dims=dims)


class Dense:
    r"""Affine layer :math:`\mathbf D\check{\mathbf z}_{l-1} + \mathbf d` on a batch with samples in rows (Eq. 5.15).

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths, :math:`D_{l-1}` and :math:`D_l`.
    init : {"glorot", "he"}
        Weight initialization used by :meth:`init`. ``"glorot"``: uniform on
        :math:`\pm\sqrt{6/(D_{in}+D_{out})}` (variance :math:`2/(D_{in}+D_{out})`), suited to tanh and
        logistic units. ``"he"``: normal with variance :math:`2/D_{in}`, suited to ReLU-like units.
        Biases start at zero.
    """

    def __init__(self, n_in: int, n_out: int, *, init: str = "glorot"):
        self.n_in = check_int(n_in, "n_in", minimum=1)
        self.n_out = check_int(n_out, "n_out", minimum=1)
        self.init_scheme = check_choice(init, "init", INITS)

    def __repr__(self) -> str:
        return f"Dense({self.n_in}, {self.n_out}, init={self.init_scheme!r})"

    def init(self, rng: np.random.Generator) -> DenseParams:
        """Draw :math:`\\mathbf D` from the chosen scheme with ``rng``; :math:`\\mathbf d = 0`."""
        rng = check_rng(rng)
        shape = (self.n_out, self.n_in)
        if self.init_scheme == "glorot":
            a = np.sqrt(6.0 / (self.n_in + self.n_out))
            D = rng.uniform(-a, a, size=shape)
        else:
            D = rng.normal(0.0, np.sqrt(2.0 / self.n_in), size=shape)
        return DenseParams(D, np.zeros(self.n_out))

    def _check_params(self, params, name: str = "params") -> DenseParams:
        if not isinstance(params, tuple) or len(params) != 2:
            raise ValueError(f"{name} must be a DenseParams(D, d); got {type(params).__name__}.")
        D = as_array(params[0], f"{name}.D", shape=(self.n_out, self.n_in), dims="(D_out, D_in)")
        d = as_array(params[1], f"{name}.d", shape=(self.n_out,), dims="(D_out,)")
        if type(params) is DenseParams and D is params.D and d is params.d:
            return params                                # nothing converted: the very parameters
        return DenseParams(D, d)

    def forward(self, params: DenseParams, Z_prev):
        r"""Pre-activations ``A = Z_prev @ D.T + d``, i.e. :math:`\mathbf D_l\check{\mathbf z}_{l-1}+\mathbf d_l` per row.

        Parameters
        ----------
        params : DenseParams
        Z_prev : array_like, shape (N, D_in)
            Inputs :math:`\check{\mathbf z}_{l-1}`, one sample per row.

        Returns
        -------
        A : ndarray, shape (N, D_out)
        cache : ndarray
            What :meth:`backward` needs (``Z_prev``).
        """
        params = self._check_params(params)
        Z_prev = _check_input(Z_prev, "Z_prev", self.n_in, "(N, D_in)")
        return self._forward(params, Z_prev)

    def _forward(self, params, Z_prev):
        A = Z_prev @ params.D.T
        A += params.d                                    # in place: no second (N, D_out) array
        return A, Z_prev

    def backward(self, params: DenseParams, cache, grad_A):
        r"""Backward pass: gradients with respect to the input and to :math:`(\mathbf D, \mathbf d)`.

        With ``grad_A`` holding :math:`\mathbf b` per row (the gradient with respect to the
        pre-activations),

        .. math::
            \frac{d\mathcal S}{d\check{\mathbf z}_{l-1}} = \mathbf D^{\mathsf T}\mathbf b, \qquad
            \frac{d\mathcal S}{d\mathbf D} = \mathbf b\,\check{\mathbf z}_{l-1}^{\mathsf T}\ \text{(Eq. 5.17)}, \qquad
            \frac{d\mathcal S}{d\mathbf d} = \mathbf b,

        summed over the rows of the batch (``grad_A.T @ Z_prev`` and ``grad_A.sum(0)``).

        Returns
        -------
        grad_Z_prev : ndarray, shape (N, D_in)
        grads : DenseParams
        """
        params = self._check_params(params)
        Z_prev = _check_input(cache, "cache", self.n_in, "(N, D_in)")
        grad_A = as_array(grad_A, "grad_A", shape=(Z_prev.shape[0], self.n_out), dims="(N, D_out)")
        return self._backward(params, Z_prev, grad_A)

    def _backward(self, params, Z_prev, grad_A, input_grad=True):
        # input_grad=False: the first layer of a network, whose input gradient nobody asks for
        grad_Z_prev = grad_A @ params.D if input_grad else None   # rows of D^T b: the transpose of Eq. 5.16
        grad_D = grad_A.T @ Z_prev                       # sum_n b_n z_{l-1,n}^T, Eq. 5.17
        grad_d = grad_A.sum(axis=0)                      # sum_n b_n
        return grad_Z_prev, DenseParams(grad_D, grad_d)


class Activation:
    r"""Pointwise nonlinearity :math:`\psi_l` (Eq. 5.15); its Jacobian :math:`\mathbf J_l` is diagonal.

    Parameters
    ----------
    name : {"identity", "relu", "tanh", "logistic", "softplus", "silu"}
        ``"logistic"`` is :math:`\sigma(a) = 1/(1+e^{-a})`; ``"silu"`` is :math:`a\,\sigma(a)`.
        All are computed without overflow for any finite input.

    Notes
    -----
    An activation has no parameters: its ``params`` is the empty tuple ``()``.
    """

    n_in = None          # no fixed width: it takes whatever the previous layer produces
    n_out = None

    def __init__(self, name: str):
        self.name = check_choice(name, "activation", tuple(ACTIVATIONS))
        self._psi, self._psi_prime = ACTIVATIONS[self.name]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def init(self, rng: np.random.Generator) -> tuple:
        """No parameters: returns ``()`` (``rng`` is checked for uniformity with other layers)."""
        check_rng(rng)
        return ()

    def _check_params(self, params, name: str = "params") -> tuple:
        if not (isinstance(params, tuple) and len(params) == 0):
            raise ValueError(f"{name} must be () for Activation({self.name!r}) (no parameters); "
                             f"got {type(params).__name__}.")
        return params

    def forward(self, params: tuple, A):
        r"""Apply :math:`\psi` elementwise. Returns ``(Z, cache)`` with ``Z`` the shape of ``A`` (2-D)."""
        self._check_params(params)
        A = as_array(A, "A", ndim=2, dims="(N, D)")
        return self._forward(params, A)

    def _forward(self, params, A, overwrite=False):
        # overwrite: A is a new array that nobody else holds (a Dense layer's output inside a Sequential)
        if self.name == "tanh":
            # tanh' = 1 - Z^2 needs the output only, so Z may take A's place (the cache keeps None for A)
            Z = np.tanh(A, out=A if overwrite else None)
            return Z, (None if overwrite else A, Z)
        Z = self._psi(A)
        return Z, (A, Z)

    def backward(self, params: tuple, cache, grad_Z):
        r"""Multiply by the diagonal Jacobian: ``grad_A = psi'(A) * grad_Z``.

        This is :math:`\mathbf J_l\,d\mathcal S/d\check{\mathbf z}_l`, the first factor of Eq. 5.16.

        Returns ``(grad_A, ())``.
        """
        self._check_params(params)
        if not isinstance(cache, tuple) or len(cache) != 2:
            raise ValueError(f"cache must be the (A, Z) pair returned by forward; got {type(cache).__name__}.")
        A = as_array(cache[0], "cache[0]", ndim=2, dims="(N, D)")
        Z = as_array(cache[1], "cache[1]", shape=A.shape, dims="(N, D)")
        grad_Z = as_array(grad_Z, "grad_Z", shape=A.shape, dims="(N, D)")
        return self._backward(params, (A, Z), grad_Z)

    def _backward(self, params, cache, grad_Z, input_grad=True, overwrite=False):
        # overwrite: grad_Z is a new array that nobody else holds (what a Dense layer above passes down)
        if self.name == "identity":                  # psi' = 1: the gradient passes through unchanged
            return grad_Z, ()
        A, Z = cache
        if self.name == "tanh":                       # grad_A = grad_Z (1 - Z^2) in one pass
            grad_A = grad_Z if overwrite else grad_Z.copy()
            _TANH_BACKWARD(grad_A, Z)
            return grad_A, ()
        grad_A = self._psi_prime(A, Z)                # a new array (the identity returned above)
        grad_A *= grad_Z
        return grad_A, ()


class SequentialCache(NamedTuple):
    """Caches of the layers of a :class:`Sequential`, the output shape (to check ``grad_out``) and the parameters
    the forward pass ran with (``backward`` does not check them again when it is given the very same tuple)."""

    caches: tuple
    out_shape: tuple
    params: tuple


class Sequential:
    r"""Composition of layers, :math:`\check{\mathbf z}_L = f_L(\cdots f_1(\mathbf y))` (Eq. 5.15).

    ``params`` is a tuple with one entry per layer (``()`` for activations). The backward pass
    runs the layers in reverse, each one turning the gradient with respect to its output into
    the gradient with respect to its input: this is the recursion of Eq. 5.16, one layer at a time.

    Parameters
    ----------
    *layers : Dense, Activation or Sequential
        Widths must chain: each ``Dense``'s ``n_in`` equals the previous ``Dense``'s ``n_out``.
    """

    def __init__(self, *layers):
        if not layers:
            raise ValueError("layers must contain at least one layer; got none.")
        width = None
        for i, layer in enumerate(layers):
            if not isinstance(layer, (Dense, Activation, Sequential)):
                raise TypeError(f"layers[{i}] must be a Dense, Activation or Sequential; got {type(layer).__name__}.")
            if layer.n_in is not None:
                if width is not None and layer.n_in != width:
                    raise ValueError(f"layers[{i}] expects n_in = {layer.n_in} inputs, but the previous layers "
                                     f"produce {width}.")
            if layer.n_out is not None:
                width = layer.n_out
        self.layers = tuple(layers)

    @property
    def n_in(self) -> int | None:
        """Input width (that of the first layer with a fixed width)."""
        return next((l.n_in for l in self.layers if l.n_in is not None), None)

    @property
    def n_out(self) -> int | None:
        """Output width (that of the last layer with a fixed width)."""
        return next((l.n_out for l in reversed(self.layers) if l.n_out is not None), None)

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(repr(l) for l in self.layers) + ")"

    def __len__(self) -> int:
        return len(self.layers)

    def init(self, rng: np.random.Generator) -> tuple:
        """Initialize every layer in order from the same ``rng``; returns a tuple of layer parameters."""
        rng = check_rng(rng)
        return tuple(layer.init(rng) for layer in self.layers)

    def _check_params(self, params, name: str = "params") -> tuple:
        # returns params itself when it is a tuple whose layers needed no conversion: backward tells by
        # identity that it is the tuple forward checked
        if not isinstance(params, (tuple, list)) or len(params) != len(self.layers):
            got = f"length {len(params)}" if isinstance(params, (tuple, list)) else type(params).__name__
            raise ValueError(f"{name} must be a sequence of {len(self.layers)} layer parameters "
                             f"(one per layer); got {got}.")
        checked = tuple([layer._check_params(p, f"{name}[{i}]")
                         for i, (layer, p) in enumerate(zip(self.layers, params))])
        if type(params) is tuple and all(c is p for c, p in zip(checked, params)):
            return params
        return checked

    def forward(self, params: tuple, Y):
        r"""Run Eq. 5.15 on a batch ``Y`` of shape ``(N, D_0)``; return ``(Z_L, cache)``."""
        params = self._check_params(params)
        n_in = self.n_in
        Y = as_array(Y, "Y", shape=(None, n_in), dims="(N, D_0)") if n_in is not None else \
            as_array(Y, "Y", ndim=2, dims="(N, D_0)")
        return self._forward(params, Y)

    def _forward(self, params, Y):
        caches = []
        Z = Y
        for i, (layer, p) in enumerate(zip(self.layers, params)):
            if isinstance(layer, Activation):
                # after a Dense layer the input is that layer's new output, which nothing else holds (its
                # cache is its own input): the activation may overwrite it
                Z, cache = layer._forward(p, Z, i > 0 and isinstance(self.layers[i - 1], Dense))
            else:
                Z, cache = layer._forward(p, Z)
            caches.append(cache)
        return Z, SequentialCache(tuple(caches), Z.shape, params)

    def backward(self, params: tuple, cache: SequentialCache, grad_out, *, input_grad: bool = True):
        r"""Backpropagation (Eqs. 5.16-5.17): returns ``(grad_Y, grads)`` with ``grads`` shaped like ``params``.

        ``grad_out`` is :math:`d\mathcal S/d\check{\mathbf z}_L` per row (for example the ``grad``
        of a loss), shape ``(N, D_L)``. Rows do not interact, so for a scalar output
        (an energy :math:`E(\mathbf y)`, ``D_L = 1``) ``grad_out = np.ones((N, 1))`` makes
        ``grad_Y[n]`` the input gradient :math:`dE/d\mathbf y` at row ``n``, and
        ``grad_out = np.full((N, 1), 1 / N)`` gives :math:`\langle dE/d\theta\rangle` in ``grads``.

        With ``input_grad=False`` the pass stops once the first layer's parameter gradients are
        formed and ``grad_Y`` is ``None``: training needs only ``grads``, and this skips one product
        of the size of the first layer's weights per row.

        ``params`` is checked as ``forward`` checks it, unless it is the very tuple that ``forward``
        checked and ran with (``cache.params``), as in a training step.
        """
        if not isinstance(cache, SequentialCache):
            raise ValueError(f"cache must be the SequentialCache returned by forward; got {type(cache).__name__}.")
        if params is not cache.params:
            params = self._check_params(params)
        grad_out = as_array(grad_out, "grad_out", shape=cache.out_shape, dims="(N, D_L)")
        if not isinstance(input_grad, bool):
            raise ValueError(f"input_grad must be True or False; got {input_grad!r}.")
        return self._backward(params, cache, grad_out, input_grad)

    def _backward(self, params, cache, grad_out, input_grad=True):
        grads = [()] * len(self.layers)
        g = grad_out
        # without the input gradient the pass stops at the first layer with parameters, which
        # skips that layer's product D^T b (the layers below it have no parameters to learn)
        first = 0 if input_grad else next((i for i, p in enumerate(params) if p != ()), 0)
        for i in range(len(self.layers) - 1, first - 1, -1):
            layer, wanted = self.layers[i], input_grad or i > first
            if isinstance(layer, Activation):
                # below a Dense layer g is the new array that layer returned: the activation may overwrite it
                above = self.layers[i + 1] if i + 1 < len(self.layers) else None
                g, grads[i] = layer._backward(params[i], cache.caches[i], g, wanted, isinstance(above, Dense))
            else:
                g, grads[i] = layer._backward(params[i], cache.caches[i], g, wanted)
        return g, tuple(grads)


def mlp(sizes: Sequence[int], *, activation: str = "tanh", output: str = "identity",
        init: str | None = None) -> Sequential:
    r"""Multilayer perceptron of Eq. 5.15: ``Dense`` + ``activation`` for hidden layers, ``output`` last.

    Parameters
    ----------
    sizes : sequence of int
        Widths :math:`(D_0, D_1, \dots, D_L)`, at least two entries.
    activation : str
        Hidden nonlinearity :math:`\psi_1 = \dots = \psi_{L-1}` (see :data:`ACTIVATIONS`).
    output : str
        Output nonlinearity :math:`\psi_L`. Keep ``"identity"`` when the loss takes natural
        parameters (logits) or means, as all the losses here do.
    init : {"glorot", "he"}, optional
        Default: ``"he"`` for ReLU-like hidden units (``relu``, ``silu``, ``softplus``), else ``"glorot"``.

    Examples
    --------
    >>> net = mlp([2, 16, 1], activation="tanh")
    >>> net
    Sequential(Dense(2, 16, init='glorot'), Activation('tanh'), Dense(16, 1, init='glorot'), Activation('identity'))

    Raises
    ------
    TypeError, ValueError
        If ``sizes`` is not a sequence of at least two positive ints, or a name is unknown.
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a sequence of int (layer widths); got {type(sizes).__name__}.")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width; got {sizes}.")
    sizes = [check_int(s, f"sizes[{i}]", minimum=1) for i, s in enumerate(sizes)]
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    check_choice(output, "output", tuple(ACTIVATIONS))
    if init is None:
        init = "he" if activation in ("relu", "silu", "softplus") else "glorot"
    layers = []
    for l in range(1, len(sizes)):
        layers.append(Dense(sizes[l - 1], sizes[l], init=init))
        layers.append(Activation(activation if l < len(sizes) - 1 else output))
    return Sequential(*layers)


# ----------------------------------------------------------------------------------------------
# Gradient checking
# ----------------------------------------------------------------------------------------------

def numerical_gradient(f: Callable, params, *, eps: float = 1e-5):
    r"""Central-difference gradient of a scalar function of a parameter tree (or of one array).

    .. math::
        \frac{\partial f}{\partial\theta_i} \approx
        \frac{f(\theta + \epsilon\mathbf e_i) - f(\theta - \epsilon\mathbf e_i)}{2\epsilon}.

    The truncation error is :math:`O(\epsilon^2 f''')` and the rounding error
    :math:`O(\delta_{\text{mach}}|f|/\epsilon)`; with float64 and the default
    :math:`\epsilon = 10^{-5}` both are around :math:`10^{-10}` relative for smooth, well-scaled
    functions. Each leaf is differentiated by :func:`pedagogy_lib.core.gradcheck.gradcheck`, the
    library's one central-difference checker, with the other leaves held fixed. Costs :math:`2P`
    evaluations of ``f`` for :math:`P` parameters (plus one per leaf): for small checks only.
    Near a kink (ReLU at 0) the difference quotient is not a derivative; keep inputs away from them.

    Parameters
    ----------
    f : callable
        ``f(params) -> float``. It receives perturbed copies; ``params`` itself is never modified.
    params : ndarray or tree of ndarrays
    eps : float
        Step :math:`\epsilon`.

    Returns
    -------
    Same structure as ``params``.

    Raises
    ------
    TypeError, ValueError
        If ``f`` is not callable, ``params`` is not a tree of finite arrays, or ``eps`` is not positive.
    """
    if not callable(f):
        raise TypeError(f"f must be callable; got {type(f).__name__}.")
    eps = positive_scalar(eps, "eps")
    check_tree_like(params, "params", params, "params")
    work = tree_map(lambda p: np.array(p, dtype=np.float64), params)     # private copies, perturbed in place
    grads = tree_map(np.zeros_like, work)
    for leaf, g in zip(tree_leaves(work), tree_leaves(grads)):
        def f_of_leaf(value, leaf=leaf):
            # f as a function of this one leaf, the others held at params; the leaf is restored
            saved = leaf.copy()
            leaf[...] = value
            try:
                return float(f(work))
            finally:
                leaf[...] = saved
        try:
            g[...] = gradcheck(f_of_leaf, leaf, h=eps).numeric       # the book's one gradient checker
        except ValueError as exc:
            raise ValueError(f"f must return finite values at and around params ({exc})") from exc
    return grads


def relative_error(a, b) -> float:
    r"""Relative error :math:`\lVert a-b\rVert / \max(\lVert a\rVert, \lVert b\rVert)` between two trees.

    All leaves of each tree are concatenated into one vector.

    Returns 0 when both are zero. Used to compare backprop with :func:`numerical_gradient`.

    Raises
    ------
    TypeError, ValueError
        If ``a`` or ``b`` has a leaf that is not a finite real array, or ``b`` does not have the
        structure and leaf shapes of ``a``.
    """
    check_tree_like(a, "a", a, "a")
    check_tree_like(b, "b", a, "a")
    la = np.concatenate([np.ravel(x) for x in tree_leaves(a)]) if tree_leaves(a) else np.zeros(0)
    lb = np.concatenate([np.ravel(x) for x in tree_leaves(b)]) if tree_leaves(b) else np.zeros(0)
    scale = max(float(np.linalg.norm(la)), float(np.linalg.norm(lb)))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(la - lb)) / scale
