r"""Discrete factors: non-negative tables over named variables, and the operations inference needs.

A *factor* (a potential, :math:`\psi` in Section 3.5) is a non-negative table
:math:`\psi(\mathbf x_A)` over a set :math:`A` of discrete variables. A model is a list of factors; its
unnormalized density is their product and its normalizer
:math:`Z = \sum_{\mathbf x}\prod_f \psi_f(\mathbf x_f)`. Everything here is exact and small: products,
sums (or maxima) over variables, clamping observed variables, and, for checking, the full joint by
enumeration.

A :class:`Factor` keeps its table's axes in the order of its ``variables``; the number of states of a
variable (its *cardinality*) is the length of its axis, and it must be the same in every factor that
mentions the variable.
"""
from __future__ import annotations

from typing import Hashable, Mapping, NamedTuple, Sequence

import numpy as np

from ..core.checks import as_array, check_int
from ..core.logmath import logsumexp

__all__ = [
    "Factor",
    "make_factor",
    "check_factors",
    "check_factor",
    "factor_product",
    "sum_out",
    "max_out",
    "marginal_of",
    "clamp",
    "indicator",
    "joint",
    "dag_factors",
    "log_partition_by_enumeration",
    "marginals_by_enumeration",
]


class Factor(NamedTuple):
    r"""A non-negative table :math:`\psi(\mathbf x_A)`.

    Attributes
    ----------
    variables : tuple
        The variables :math:`A` (hashable names, e.g. strings or integers), one per axis of ``table``.
    table : ndarray
        ``table[x_1, ..., x_n]`` :math:`= \psi(x_1, \dots, x_n)`, shape = the variables' cardinalities.
    """

    variables: tuple
    table: np.ndarray


def make_factor(variables: Sequence[Hashable], table, *, name: str = "table") -> Factor:
    """Build a validated :class:`Factor`: one axis per variable, entries finite and non-negative.

    Raises
    ------
    ValueError
        If the names repeat, the table's number of axes differs from the number of variables, or an
        entry is negative, infinite or NaN (``name`` is used in the message).
    """
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        raise TypeError(f"variables must be a sequence of names (a list or tuple); got {type(variables).__name__}.")
    variables = tuple(variables)
    if len(set(variables)) != len(variables):
        raise ValueError(f"variables must be distinct; got {variables}.")
    T = as_array(table, name)
    if T.ndim != len(variables):
        raise ValueError(f"{name} must have one axis per variable ({len(variables)} for {variables}); "
                         f"got shape {T.shape}.")
    if any(s == 0 for s in T.shape):
        raise ValueError(f"{name} must have at least one state per variable; got shape {T.shape}.")
    if (T < 0).any():
        idx = tuple(int(i) for i in np.argwhere(T < 0)[0])
        raise ValueError(f"{name} must be non-negative (a potential); entry {idx} is {T[idx]:.3g}.")
    return Factor(variables, T)


def check_factor(f, name: str = "f") -> Factor:
    """Return ``f`` as a clean :class:`Factor` after checking it as :func:`make_factor` does.

    A factor built by hand, ``Factor(variables, table)``, or edited with ``_replace`` is held to
    the same rules as one from :func:`make_factor`.

    Raises
    ------
    TypeError
        If ``f`` is not a :class:`Factor`, its variables are not a sequence, or its table is not
        real and numeric.
    ValueError
        If the variables repeat, the table has not one axis per variable, an axis is empty, or an
        entry is negative, infinite or NaN (the message names ``name.table``).
    """
    if not isinstance(f, Factor):
        raise TypeError(f"{name} must be a Factor (see make_factor); got {type(f).__name__}.")
    return make_factor(f.variables, f.table, name=f"{name}.table")


def _common_cardinalities(f: Factor, g: Factor, names: tuple[str, str]) -> None:
    """Raise unless every variable shared by ``f`` and ``g`` has the same number of states in both."""
    for i, v in enumerate(f.variables):
        if v in g.variables:
            a, b = f.table.shape[i], g.table.shape[g.variables.index(v)]
            if a != b:
                raise ValueError(f"variable {v!r} has {a} states in {names[0]} but {b} in {names[1]} "
                                 "(mismatched cardinalities).")


def _check_names(variables, name: str) -> tuple:
    """``variables`` as a tuple of names, after checking it is a sequence (a single name is refused)."""
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Sequence):
        raise TypeError(f"{name} must be a sequence of variable names (a list or tuple); got "
                        f"{type(variables).__name__} {variables!r}.")
    return tuple(variables)


def check_factors(factors, name: str = "factors") -> tuple[list[Factor], dict]:
    """Validate a list of factors and return it with the cardinality of every variable.

    Each element may be a :class:`Factor` or a ``(variables, table)`` pair.

    Raises
    ------
    ValueError
        If the list is empty, a factor is invalid, or a variable has different cardinalities in two
        factors (the message names both factors by their index).
    """
    if isinstance(factors, Factor) or not isinstance(factors, Sequence) or len(factors) == 0:
        raise ValueError(f"{name} must be a non-empty list of factors; got {type(factors).__name__}.")
    out, card, where = [], {}, {}
    for k, f in enumerate(factors):
        if not (isinstance(f, tuple) and len(f) == 2):
            raise TypeError(f"{name}[{k}] must be a Factor or a (variables, table) pair; got {type(f).__name__}.")
        f = make_factor(f[0], f[1], name=f"{name}[{k}].table")
        if len(f.variables) == 0:
            raise ValueError(f"{name}[{k}] has no variables; fold constants into another factor.")
        for v, s in zip(f.variables, f.table.shape):
            if v in card and card[v] != s:
                raise ValueError(f"{name}: variable {v!r} has {card[v]} states in {name}[{where[v]}] but {s} in "
                                 f"{name}[{k}] (mismatched cardinalities).")
            card.setdefault(v, s)
            where.setdefault(v, k)
        out.append(f)
    return out, card


def _expand(f: Factor, variables: tuple) -> np.ndarray:
    """``f.table`` with its axes permuted to ``variables``' order and size-1 axes for the others."""
    present = [v for v in variables if v in f.variables]
    T = f.table.transpose([f.variables.index(v) for v in present])
    shape = [f.table.shape[f.variables.index(v)] if v in f.variables else 1 for v in variables]
    return T.reshape(shape)


def factor_product(f: Factor, g: Factor) -> Factor:
    r"""The product :math:`(\psi_f\psi_g)(\mathbf x_{A\cup B}) = \psi_f(\mathbf x_A)\psi_g(\mathbf x_B)`.

    The result's variables are ``f``'s followed by ``g``'s new ones.

    Raises
    ------
    TypeError, ValueError
        If ``f`` or ``g`` is not a valid factor (see :func:`check_factor`), or a variable they share
        has a different number of states in each.
    """
    f, g = check_factor(f, "f"), check_factor(g, "g")
    _common_cardinalities(f, g, ("f", "g"))
    variables = f.variables + tuple(v for v in g.variables if v not in f.variables)
    return Factor(variables, _product_table([f, g], variables, "f.table and g.table"))


def _reduce(f: Factor, drop: Sequence[Hashable], op, name: str = "f.table") -> Factor:
    drop = set(drop)
    axes = tuple(i for i, v in enumerate(f.variables) if v in drop)
    keep = tuple(v for v in f.variables if v not in drop)
    with np.errstate(over="ignore"):
        out = op(f.table, axis=axes) if axes else f.table
    if not np.all(np.isfinite(out)):
        raise ValueError(f"the sums of {name} overflow float64 (its largest entry is {f.table.max():.3g}); divide "
                         f"{name} by a constant (log Z shifts by its log), or use belief_propagation, which works "
                         "with normalized messages.")
    return Factor(keep, out)


#: Smallest and largest positive float64 numbers with full precision (below ``TINY`` they are subnormal).
_TINY, _HUGE = float(np.finfo(float).tiny), float(np.finfo(float).max)


def _log_table(f: Factor, variables: tuple) -> np.ndarray:
    """``log f.table`` (``-inf`` where an entry is zero), expanded as :func:`_expand` does."""
    with np.errstate(divide="ignore"):
        return np.log(_expand(f, variables))


def _log_product(factors, variables: tuple) -> np.ndarray:
    """The log of the product of the factors' tables over ``variables`` (each variable in some factor): a
    sum of logs, which neither under- nor overflows; ``-inf`` where a factor is zero."""
    L = np.zeros([1] * len(variables))
    for f in factors:
        L = L + _log_table(f, variables)
    return L


def _product_table(factors, variables: tuple, name: str) -> np.ndarray:
    """The product of the factors' tables over ``variables`` (each variable in some factor), refused if
    float64 cannot hold it.

    The tables are multiplied as they are. Only when the result is not finite, or its largest entry is
    positive but below the normal float64 range, is it rebuilt from the sum of the logs (a partial
    product may leave the range where the whole one fits); when the product itself lies beyond float64,
    a ``ValueError`` names the range.
    """
    T = np.ones([1] * len(variables))
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for f in factors:
            T = T * _expand(f, variables)
    top = float(T.max())
    if np.all(np.isfinite(T)) and (top >= _TINY or (top == 0.0 and _all_zero(factors, variables))):
        return T
    L = _log_product(factors, variables)
    top = float(L.max())
    if top == -np.inf:
        return np.zeros(L.shape)
    if not np.log(_TINY) <= top <= np.log(_HUGE):
        raise ValueError(f"the product of {name} lies beyond float64: its largest entry is exp({top:.6g}) (float64 "
                         f"holds exp(-708) to exp(709)). Scale the tables (each constant factor shifts log Z by its "
                         "log), or use log_partition_by_enumeration, marginals_by_enumeration or belief_propagation, "
                         "which work in logs or with normalized messages.")
    return np.exp(L)


def _all_zero(factors, variables: tuple) -> bool:
    """True when every configuration has a zero factor (the product is zero exactly, not by underflow)."""
    return bool(np.all(_log_product(factors, variables) == -np.inf))


def sum_out(f: Factor, variables: Sequence[Hashable]) -> Factor:
    r"""Sum the factor over ``variables``: :math:`\sum_{\mathbf x_B}\psi(\mathbf x_A)` (names not in it are ignored).

    Raises
    ------
    TypeError, ValueError
        If ``f`` is not a valid factor (see :func:`check_factor`) or ``variables`` is not a
        sequence of names.
    """
    f = check_factor(f)
    return _reduce(f, _check_names(variables, "variables"), np.sum)


def max_out(f: Factor, variables: Sequence[Hashable]) -> Factor:
    r"""Maximize the factor over ``variables`` (the max-product analogue of :func:`sum_out`).

    Raises
    ------
    TypeError, ValueError
        As :func:`sum_out`.
    """
    f = check_factor(f)
    return _reduce(f, _check_names(variables, "variables"), np.max)


def marginal_of(f: Factor, keep: Sequence[Hashable]) -> Factor:
    """Sum out every variable of ``f`` except ``keep``, and order the axes as ``keep``.

    Raises
    ------
    TypeError, ValueError
        If ``f`` is not a valid factor, ``keep`` is not a sequence of distinct names, or it names a
        variable that is not in ``f``.
    """
    f = check_factor(f)
    keep = _check_names(keep, "keep")
    if any(v not in f.variables for v in keep) or len(set(keep)) != len(keep):
        raise ValueError(f"keep must list distinct variables of f {f.variables}; got {keep}.")
    g = _reduce(f, [v for v in f.variables if v not in keep], np.sum)
    return Factor(keep, _expand(g, keep))


def clamp(f: Factor, evidence: Mapping[Hashable, int]) -> Factor:
    """Fix observed variables to their values, removing their axes (variables not in ``f`` are ignored).

    Raises
    ------
    TypeError, ValueError
        If ``f`` is not a valid factor, ``evidence`` is not a mapping, or an observed value is not an
        integer state of its variable.
    """
    f = check_factor(f)
    if not isinstance(evidence, Mapping):
        raise TypeError(f"evidence must be a mapping from variable to state; got {type(evidence).__name__}.")
    index = tuple(check_int(evidence[v], f"evidence[{v!r}]", minimum=0, maximum=K - 1) if v in evidence
                  else slice(None) for v, K in zip(f.variables, f.table.shape))
    return Factor(tuple(v for v in f.variables if v not in evidence), f.table[index])


def indicator(variable: Hashable, value: int, K: int) -> Factor:
    """The factor :math:`\\mathbb 1[x = \\text{value}]` over one variable with ``K`` states (evidence as a factor).

    Raises
    ------
    TypeError, ValueError
        If ``K`` is not an integer at least 1 or ``value`` is not an integer in ``[0, K)``.
    """
    K = check_int(K, "K", minimum=1)
    value = check_int(value, "value", minimum=0, maximum=K - 1)
    t = np.zeros(K)
    t[value] = 1.0
    return Factor((variable,), t)


def joint(factors, order: Sequence[Hashable] | None = None) -> Factor:
    r"""The unnormalized joint :math:`\prod_f\psi_f` as one table, by brute force (small models only).

    Parameters
    ----------
    factors : list of Factor or (variables, table)
    order : sequence, optional
        The axis order of the result; by default, variables in order of first appearance.
    """
    factors, card = check_factors(factors)
    variables = tuple(card) if order is None else tuple(order)
    if set(variables) != set(card) or len(variables) != len(card):
        raise ValueError(f"order must list each variable once: {sorted(map(str, card))}; got {variables}.")
    return Factor(variables, _product_table(factors, variables, "the factors' tables"))


def _log_joint(factors) -> tuple[tuple, np.ndarray]:
    """The variables and the log of the unnormalized joint (``-inf`` where a factor is zero), by summing logs."""
    factors, card = check_factors(factors)
    variables = tuple(card)
    return variables, _log_product(factors, variables)


def log_partition_by_enumeration(factors) -> float:
    r""":math:`\log Z = \log\sum_{\mathbf x}\prod_f\psi_f(\mathbf x_f)` by enumerating every configuration.

    The joint is built in logs (a sum of the tables' logs) and summed by log-sum-exp, so tables of any
    scale give the right answer (a product of tables of size ``1e-150`` underflows; its log does not).
    ``-inf`` when every configuration has a zero factor (``Z = 0``).
    """
    _, L = _log_joint(factors)
    return float(logsumexp(L.ravel()))


def marginals_by_enumeration(factors) -> dict:
    """Every single-variable marginal :math:`p(x_i)` from the normalized joint (small models only).

    The joint is normalized in logs before it is exponentiated, so tables of any scale give the
    right marginals.

    Raises
    ------
    ValueError
        If the factors are invalid, or every configuration has a zero factor (``Z = 0``: no marginal).
    """
    variables, L = _log_joint(factors)
    log_Z = float(logsumexp(L.ravel()))
    if log_Z == -np.inf:
        raise ValueError("factors give every configuration probability zero (Z = 0): there are no marginals.")
    P = np.exp(L - log_Z)
    return {v: P.sum(axis=tuple(j for j in range(P.ndim) if j != i)) for i, v in enumerate(variables)}


def dag_factors(dag) -> list[Factor]:
    r"""The factors of a directed model: one conditional table :math:`p(x_i \mid x_{\mathrm{pa}(i)})` per node.

    ``dag`` is a :class:`~pedagogy_lib.discrete.categorical.DAG` (``names``, ``parents``, ``cpts``, each
    CPT with the child's axis first). The product of these factors is the joint, so :math:`Z = 1`.

    Raises
    ------
    TypeError
        If ``dag`` is not a ``DAG``.
    ValueError
        If its fields are inconsistent (it is re-validated as :func:`~pedagogy_lib.discrete.categorical.make_dag`
        would: lengths, parents before children, CPT shapes, each CPT summing to one over its first axis).
    """
    from ..discrete.categorical import DAG, make_dag
    if not isinstance(dag, DAG):
        raise TypeError(f"dag must be a pedagogy_lib.discrete.DAG (see make_dag); got {type(dag).__name__}.")
    if not (len(dag.names) == len(dag.parents) == len(dag.cpts)):
        raise ValueError(f"dag.names, dag.parents and dag.cpts must have one entry per node; got lengths "
                         f"{len(dag.names)}, {len(dag.parents)} and {len(dag.cpts)}.")
    dag = make_dag(dict(zip(dag.names, dag.cpts)), dict(zip(dag.names, dag.parents)))
    out = []
    for name, parents, cpt in zip(dag.names, dag.parents, dag.cpts):
        out.append(make_factor((name,) + tuple(parents), cpt, name=f"cpts[{name!r}]"))
    return out
