r"""Discrete generative models by brute-force enumeration (book Chapter 2 introduction, Eq. 2.1).

Everything here works on small tables of categorical variables, so every answer can be had by
writing out the whole joint distribution and summing. That makes these functions both the
teaching code for "inverting the arrow" and the oracle that faster algorithms are tested against.

**Two nodes,** :math:`\hat X \to \hat Y`. The prior is :math:`\hat p(x) = \mathrm{Categ}(\boldsymbol\pi)`
and the emission is a table ``P_y_x`` with

.. math::
    \texttt{P\_y\_x}[l, k] = \hat p(\hat Y = l \mid \hat X = k), \qquad \sum_l \texttt{P\_y\_x}[l, k] = 1,

so *columns* index the source and each column is a distribution. With a one-hot
:math:`\mathbf x` this is :math:`\hat p(\mathbf y\mid\mathbf x) = \mathrm{Categ}(\mathbf P\mathbf x)`, the same
column-stochastic convention as the HMM transition matrix :math:`\mathbf A` of Section 2.2.1.

* :func:`invert` applies Bayes's theorem (Eq. 2.1) to one observation: posterior and evidence.
* :func:`marginal_y` gives the marginal of the emission, :math:`\hat p(y) = \sum_x \hat p(y\mid x)\hat p(x)`.
* :func:`reverse_arrow` does both for every :math:`y` at once: the model :math:`\hat Y \to \hat X`
  that describes the same joint distribution.
* :func:`update_sequence` absorbs i.i.d. observations one at a time (yesterday's posterior is
  today's prior).

**Small DAGs.** A :class:`DAG` lists node names (parents before children), each node's parents,
and one conditional probability table (CPT) per node. A CPT's first axis is the node itself and
the remaining axes are its parents in the order listed, so ``cpt[:, j1, j2]`` is the distribution
of the node given parent states ``(j1, j2)`` (again, summing over axis 0 gives ones).

* :func:`joint_table` multiplies the CPTs over every joint configuration (the chain rule with
  the missing arrows removed).
* :func:`marginal`, :func:`conditional` sum and normalize that table.
* :func:`ci_discrepancy`, :func:`is_independent` test a conditional independence by enumeration.
* :func:`chain`, :func:`fork`, :func:`collider`, :func:`canonical` build the three canonical
  three-node graphs; :func:`sample` draws from any DAG by ancestral sampling.

States are 0-based integers. ``K`` is the number of source states, ``L`` of emission states.
"""
from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from ..core.checks import PROB_ATOL, as_array, check_choice, check_int, check_prob_vector, check_rng, check_shape
from ..core.logmath import logsumexp

__all__ = [
    "DiscretePosterior",
    "ReversedModel",
    "SequentialPosterior",
    "DAG",
    "MAX_JOINT_STATES",
    "invert",
    "marginal_y",
    "reverse_arrow",
    "update_sequence",
    "make_dag",
    "joint_table",
    "marginal",
    "conditional",
    "ci_discrepancy",
    "is_independent",
    "chain",
    "fork",
    "collider",
    "canonical",
    "sample",
]

#: Largest joint table :func:`joint_table` will enumerate (the loop visits every configuration).
MAX_JOINT_STATES = 2 ** 16

CANONICAL_KINDS = ("chain", "fork", "collider")


# --------------------------------------------------------------------------------------------
# Results and parameters
# --------------------------------------------------------------------------------------------
class DiscretePosterior(NamedTuple):
    r"""Result of :func:`invert`.

    Attributes
    ----------
    posterior : ndarray, shape (K,)
        :math:`\hat p(x \mid y)` for every source state :math:`x` (Eq. 2.1).
    evidence : float
        :math:`\hat p(y) = \sum_x \hat p(y\mid x)\hat p(x)`, the normalizer of Eq. 2.1.
    log_evidence : float
        :math:`\log\hat p(y)`.
    """

    posterior: np.ndarray
    evidence: float
    log_evidence: float


class ReversedModel(NamedTuple):
    r"""Result of :func:`reverse_arrow`: the model :math:`\hat Y\to\hat X` with the same joint.

    Attributes
    ----------
    p_y : ndarray, shape (L,)
        Marginal of the emission, :math:`\hat p(y)`.
    P_x_y : ndarray, shape (K, L)
        Posterior table, ``P_x_y[k, l]`` :math:`= \hat p(\hat X = k\mid \hat Y = l)`; column-stochastic.
    """

    p_y: np.ndarray
    P_x_y: np.ndarray


class SequentialPosterior(NamedTuple):
    r"""Result of :func:`update_sequence`.

    Attributes
    ----------
    posteriors : ndarray, shape (N + 1, K)
        Row ``n`` is :math:`\hat p(x\mid y_1,\ldots,y_n)`; row 0 is the prior :math:`\boldsymbol\pi`.
    log_evidence : ndarray, shape (N + 1,)
        Entry ``n`` is :math:`\log\hat p(y_1,\ldots,y_n)`; entry 0 is 0.
    """

    posteriors: np.ndarray
    log_evidence: np.ndarray


class DAG(NamedTuple):
    r"""A directed acyclic graph over categorical variables, with one CPT per node.

    The joint distribution is :math:`\hat p(x_1,\ldots,x_n) = \prod_i \hat p(x_i\mid x_{\mathrm{pa}(i)})`.
    Build one with :func:`make_dag` (or the canonical constructors); every function that takes
    a ``DAG`` validates it.

    Attributes
    ----------
    names : tuple of str
        Node names, every parent listed before its children (a topological order). The axes of
        :func:`joint_table` follow this order.
    parents : tuple of tuple of str
        ``parents[i]`` are the parents of ``names[i]``, in the order of the CPT's axes.
    cpts : tuple of ndarray
        ``cpts[i]`` has shape ``(K_i, K_pa1, K_pa2, ...)``; ``cpts[i][:, j1, j2, ...]`` is the
        distribution of node ``i`` given its parents' states, so it sums to one over axis 0.
    """

    names: tuple
    parents: tuple
    cpts: tuple


# --------------------------------------------------------------------------------------------
# Validation (once, at the boundary)
# --------------------------------------------------------------------------------------------
def _check_cpt(P: np.ndarray, name: str, *, atol: float = PROB_ATOL) -> None:
    """Raise unless ``P`` is non-negative and every slice ``P[:, j...]`` sums to one."""
    if P.ndim == 0 or P.shape[0] == 0:
        raise ValueError(f"{name} must have at least one state along its first axis; got shape {P.shape}.")
    if (P < 0).any():
        idx = tuple(int(i) for i in np.argwhere(P < 0)[0])
        raise ValueError(f"{name} must be non-negative; entry {idx if len(idx) > 1 else idx[0]} is {P[idx]:.3g}.")
    sums = P.sum(axis=0)
    bad = np.abs(sums - 1.0) > atol
    if np.any(bad):
        if P.ndim == 1:
            raise ValueError(f"{name} must sum to 1; it sums to {float(sums):.10g} (tolerance {atol:.0e}).")
        j = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"{name}[:, {', '.join(str(i) for i in j)}]"
        raise ValueError(f"{name} must sum to 1 over its first axis (each column is a distribution); "
                         f"{where} sums to {sums[j]:.10g} (tolerance {atol:.0e}).")


def _check_prior_emission(pi, P_y_x) -> tuple[np.ndarray, np.ndarray]:
    pi = as_array(pi, "pi", ndim=1, dims="(K,)")
    check_prob_vector(pi, "pi")
    P_y_x = as_array(P_y_x, "P_y_x", ndim=2, dims="(L, K)")
    check_shape(P_y_x, "P_y_x", (None, pi.shape[0]), dims="(L, K)")
    _check_cpt(P_y_x, "P_y_x")
    return pi, P_y_x


def _check_observations(ys, L: int) -> np.ndarray:
    arr = np.asarray(ys)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"ys must be a 1-D array of integer observations in 0..{L - 1}; "
                         f"got an array of shape {arr.shape} and dtype {arr.dtype}.")
    if arr.size and (arr.min() < 0 or arr.max() >= L):
        n = int(np.argmax((arr < 0) | (arr >= L)))
        raise ValueError(f"ys[{n}] = {int(arr[n])} is not a state of Y; states are 0..{L - 1}.")
    return arr.astype(np.int64)


def _check_dag(dag) -> tuple[tuple, list[tuple[int, ...]], list[np.ndarray], tuple[int, ...]]:
    """Validate a DAG; return names, parent indices, float CPTs and cardinalities."""
    if not isinstance(dag, DAG):
        raise TypeError(f"dag must be a pedagogy_lib.discrete.DAG (see make_dag); got {type(dag).__name__}.")
    names, parents, cpts = dag
    if not (len(names) == len(parents) == len(cpts)) or len(names) == 0:
        raise ValueError("dag.names, dag.parents and dag.cpts must be non-empty and have the same length; "
                         f"got {len(names)}, {len(parents)}, {len(cpts)}.")
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"node names must be distinct non-empty strings; got {list(names)}.")
    index = {n: i for i, n in enumerate(names)}
    pa_idx, arrays, card = [], [], []
    for i, (name, pa, cpt) in enumerate(zip(names, parents, cpts)):
        if isinstance(pa, str):
            raise ValueError(f"the parents of node {name!r} must be a sequence of names, e.g. ({pa!r},); "
                             f"got the string {pa!r}.")
        pa = tuple(pa)
        for p in pa:
            if p not in index:
                raise ValueError(f"parent {p!r} of node {name!r} is not a node; the nodes are {tuple(names)}.")
            if p == name:
                raise ValueError(f"node {name!r} cannot be its own parent.")
            if index[p] > i:
                raise ValueError(f"nodes must be listed parents first (a topological order): parent {p!r} "
                                 f"of node {name!r} comes after it in dag.names.")
        if len(set(pa)) != len(pa):
            raise ValueError(f"node {name!r} lists a parent twice: {pa}.")
        label = f"cpts[{name!r}]"
        P = as_array(cpt, label)
        dims = "(" + ", ".join(f"K_{n}" for n in (name,) + pa) + ")"
        check_shape(P, label, (None,) + tuple(card[index[p]] for p in pa), dims=dims)
        _check_cpt(P, label)
        pa_idx.append(tuple(index[p] for p in pa))
        arrays.append(P)
        card.append(P.shape[0])
    size = math.prod(card)
    if size > MAX_JOINT_STATES:
        raise ValueError(f"the joint table would have {size} configurations, more than MAX_JOINT_STATES = "
                         f"{MAX_JOINT_STATES}: enumeration is meant for small graphs.")
    return tuple(names), pa_idx, arrays, tuple(card)


def _check_nodes(nodes, names: tuple, what: str) -> tuple[str, ...]:
    """Turn a name or a sequence of names into a tuple of distinct known node names."""
    if isinstance(nodes, str):
        nodes = (nodes,)
    elif isinstance(nodes, (list, tuple)):
        nodes = tuple(nodes)
    else:
        raise TypeError(f"{what} must be a node name (str) or a list of node names; got {type(nodes).__name__} "
                        f"{nodes!r}. The nodes are {names}.")
    for n in nodes:
        if n not in names:
            raise ValueError(f"{what}: unknown node {n!r}; the nodes are {names}.")
    if len(set(nodes)) != len(nodes):
        raise ValueError(f"{what}: a node is listed twice: {nodes}.")
    return nodes


# --------------------------------------------------------------------------------------------
# Two nodes: X -> Y
# --------------------------------------------------------------------------------------------
def invert(pi, P_y_x, y) -> DiscretePosterior:
    r"""Bayes's theorem for one observation of a discrete model :math:`\hat X\to\hat Y` (Eq. 2.1).

    .. math::
        \hat p(x\mid y) = \frac{\hat p(y\mid x)\,\hat p(x)}{\sum_{x'}\hat p(y\mid x')\,\hat p(x')},
        \qquad \hat p(y) = \sum_{x'}\hat p(y\mid x')\,\hat p(x').

    The emission enters as a function of :math:`x` (the row ``P_y_x[y, :]``, the likelihood);
    the normalizer is the evidence. The sum is done in log space.

    Parameters
    ----------
    pi : array_like, shape (K,)
        Prior :math:`\boldsymbol\pi`, ``pi[k]`` :math:`= \hat p(\hat X = k)`.
    P_y_x : array_like, shape (L, K)
        Emission table, ``P_y_x[l, k]`` :math:`= \hat p(\hat Y = l\mid\hat X = k)`; columns sum to one.
    y : int
        The observed state of :math:`\hat Y`, in ``0..L-1``.

    Returns
    -------
    DiscretePosterior
        ``posterior`` (K,), ``evidence`` and ``log_evidence`` (floats).

    Raises
    ------
    ValueError
        If ``y`` has probability zero under the model (the posterior is then undefined).
    """
    pi, P_y_x = _check_prior_emission(pi, P_y_x)
    y = check_int(y, "y", minimum=0, maximum=P_y_x.shape[0] - 1)
    with np.errstate(divide="ignore"):
        log_joint = np.log(P_y_x[y]) + np.log(pi)          # log p(y | x) + log p(x), a function of x
    log_evidence = float(logsumexp(log_joint))                # log sum_x p(y | x) p(x)
    if not np.isfinite(log_evidence):
        raise ValueError(f"y = {y} has probability zero under the model (sum_x P_y_x[{y}, x] pi[x] = 0), "
                         "so the posterior p(x | y) is undefined.")
    posterior = np.exp(log_joint - log_evidence)              # Eq. 2.1
    return DiscretePosterior(posterior, float(np.exp(log_evidence)), log_evidence)


def marginal_y(pi, P_y_x) -> np.ndarray:
    r"""Marginal of the emission, :math:`\hat p(y) = \sum_x\hat p(y\mid x)\hat p(x)`, i.e. ``P_y_x @ pi``.

    Parameters
    ----------
    pi : array_like, shape (K,)
    P_y_x : array_like, shape (L, K)
        Column-stochastic emission table.

    Returns
    -------
    ndarray, shape (L,)
    """
    pi, P_y_x = _check_prior_emission(pi, P_y_x)
    return P_y_x @ pi


def reverse_arrow(pi, P_y_x) -> ReversedModel:
    r"""Invert the arrow of :math:`\hat X\to\hat Y` for every observation at once (Ch. 2 intro, Eq. 2.1).

    The pair (marginal, posterior table) describes the same joint as (prior, emission table):

    .. math::
        \hat p(x\mid y)\,\hat p(y) = \hat p(x, y) = \hat p(y\mid x)\,\hat p(x)
        \quad\Longleftrightarrow\quad
        \texttt{P\_x\_y}\,\mathrm{diag}(\texttt{p\_y}) = \mathrm{diag}(\boldsymbol\pi)\,\texttt{P\_y\_x}^T.

    Applying it to the result gives back ``(pi, P_y_x)``.

    Parameters
    ----------
    pi : array_like, shape (K,)
    P_y_x : array_like, shape (L, K)
        Column-stochastic emission table.

    Returns
    -------
    ReversedModel
        ``p_y`` (L,) and ``P_x_y`` (K, L), column-stochastic.

    Raises
    ------
    ValueError
        If some observation has probability zero (its column of ``P_x_y`` would be undefined).
    """
    pi, P_y_x = _check_prior_emission(pi, P_y_x)
    joint = P_y_x.T * pi[:, None]                             # joint[k, l] = p(x = k) p(y = l | x = k)
    p_y = joint.sum(axis=0)                                   # marginalize x
    if np.any(p_y <= 0):
        l = int(np.argmax(p_y <= 0))
        raise ValueError(f"observation y = {l} has probability zero under the model, so column {l} of "
                         "P_x_y (the posterior p(x | y)) is undefined.")
    return ReversedModel(p_y, joint / p_y)                    # condition on y: divide each column


def update_sequence(pi, P_y_x, ys) -> SequentialPosterior:
    r"""Posterior after each of a sequence of observations that are i.i.d. given :math:`\hat X`.

    Each step is Eq. 2.1 with the previous posterior as the prior,

    .. math::
        \hat p(x\mid y_{1:n}) = \frac{\hat p(y_n\mid x)\,\hat p(x\mid y_{1:n-1})}{\hat p(y_n\mid y_{1:n-1})},
        \qquad \log\hat p(y_{1:n}) = \sum_{m\le n}\log\hat p(y_m\mid y_{1:m-1}),

    so the evidence of the whole sequence is the product of the one-step normalizers.

    Parameters
    ----------
    pi : array_like, shape (K,)
    P_y_x : array_like, shape (L, K)
        Column-stochastic emission table.
    ys : array_like of int, shape (N,)
        Observations, each in ``0..L-1``.

    Returns
    -------
    SequentialPosterior
        ``posteriors`` (N + 1, K) and ``log_evidence`` (N + 1,).
    """
    pi, P_y_x = _check_prior_emission(pi, P_y_x)
    ys = _check_observations(ys, P_y_x.shape[0])
    N, K = ys.shape[0], pi.shape[0]
    posteriors = np.empty((N + 1, K))
    log_evidence = np.zeros(N + 1)
    posteriors[0] = pi
    for n, y in enumerate(ys, start=1):
        unnormalized = P_y_x[y] * posteriors[n - 1]           # p(y_n | x) p(x | y_{1:n-1})
        step = unnormalized.sum()                             # p(y_n | y_{1:n-1})
        if step <= 0:
            raise ValueError(f"observation ys[{n - 1}] = {y} has probability zero given the earlier ones, "
                             "so the posterior is undefined.")
        posteriors[n] = unnormalized / step
        log_evidence[n] = log_evidence[n - 1] + np.log(step)
    return SequentialPosterior(posteriors, log_evidence)


# --------------------------------------------------------------------------------------------
# Small DAGs
# --------------------------------------------------------------------------------------------
def make_dag(cpts: Mapping[str, object], parents: Mapping[str, Sequence[str]] | None = None) -> DAG:
    r"""Build and validate a :class:`DAG` from CPTs keyed by node name.

    Parameters
    ----------
    cpts : mapping of str to array_like
        One CPT per node, in a topological order (parents first). A root node's CPT is its
        marginal, shape ``(K_i,)``; a node with parents ``(u, v)`` has shape ``(K_i, K_u, K_v)``.
    parents : mapping of str to sequence of str, optional
        Parents of each node, in the order of its CPT's axes; nodes not listed have none.

    Returns
    -------
    DAG

    Examples
    --------
    >>> g = make_dag({"a": [0.3, 0.7], "b": [[0.9, 0.2], [0.1, 0.8]]}, {"b": ("a",)})
    >>> g.names, g.parents
    (('a', 'b'), ((), ('a',)))
    """
    if not isinstance(cpts, Mapping):
        raise TypeError(f"cpts must be a mapping from node name to table; got {type(cpts).__name__}.")
    parents = {} if parents is None else dict(parents)
    unknown = [n for n in parents if n not in cpts]
    if unknown:
        raise ValueError(f"parents names node {unknown[0]!r}, which has no CPT; the nodes are {tuple(cpts)}.")
    names = tuple(cpts)
    pa = tuple(parents.get(n, ()) for n in names)
    dag = DAG(names, pa, tuple(cpts[n] for n in names))
    _, _, arrays, _ = _check_dag(dag)
    return DAG(names, tuple(tuple(p) for p in pa), tuple(arrays))


def _joint(pa_idx: list, cpts: list, card: tuple) -> np.ndarray:
    """Enumerate every configuration and multiply one CPT entry per node (inputs validated)."""
    p = np.empty(card)
    for state in np.ndindex(*card):                           # every joint configuration (x_1, ..., x_n)
        prob = 1.0
        for i, P in enumerate(cpts):                          # prod_i p(x_i | x_pa(i))
            prob *= P[(state[i],) + tuple(state[j] for j in pa_idx[i])]
        p[state] = prob
    return p


def _log_joint(pa_idx: list, cpts: list, card: tuple) -> np.ndarray:
    """Log of :func:`_joint`: one log CPT entry per node, summed. A configuration whose probability is
    below the floats (three entries of 1e-120) keeps its log; a zero entry gives ``-inf``."""
    with np.errstate(divide="ignore"):
        logs = [np.log(P) for P in cpts]
    lp = np.empty(card)
    for state in np.ndindex(*card):
        lp[state] = sum(L[(state[i],) + tuple(state[j] for j in pa_idx[i])] for i, L in enumerate(logs))
    return lp


def _log_marginal_axes(lp: np.ndarray, names: tuple, keep: tuple) -> np.ndarray:
    """:func:`_marginal_axes` of a log table: log-sum-exp over every axis not in ``keep``."""
    drop = tuple(i for i, n in enumerate(names) if n not in keep)
    m = logsumexp(lp, axis=drop) if drop else lp
    remaining = [n for n in names if n in keep]
    return np.transpose(m, [remaining.index(n) for n in keep])


#: Below this probability a conditioning event is normalized from the log table: its float entries may
#: have lost digits (subnormal below 2.2e-308) or be 0; above it, what underflowed is under 1e-28 of it.
_FLOAT_TOTAL_MIN = 1e-280


def _normalized_slice(p: np.ndarray, log_table, index: tuple):
    """``p[index] / p[index].sum()`` (a conditional table), from the logs when that sum is tiny.

    ``log_table`` is a callable giving the log table of ``p`` (computed only when needed). Returns None
    when the slice has probability zero exactly.
    """
    table = p[index]
    total = table.sum()
    if total >= _FLOAT_TOTAL_MIN:
        return table / total
    lt = log_table()[index]
    log_total = float(logsumexp(lt.ravel()))
    if log_total == -np.inf:
        return None
    return np.exp(lt - log_total)


def joint_table(dag: DAG) -> np.ndarray:
    r"""The full joint table of a DAG, by explicit enumeration of every configuration.

    .. math::
        \hat p(x_1,\ldots,x_n) = \prod_{i=1}^n \hat p(x_i\mid x_{\mathrm{pa}(i)}).

    This is the chain rule of probability in which each conditional keeps only the parents of
    its node (Ch. 2 intro, "Directed graphical models"): a missing arrow is a variable dropped
    from the right of a conditioning bar.

    Parameters
    ----------
    dag : DAG

    Returns
    -------
    ndarray, shape (K_1, ..., K_n)
        Axis ``i`` is node ``dag.names[i]``; the entries sum to one.
    """
    _, pa_idx, cpts, card = _check_dag(dag)
    return _joint(pa_idx, cpts, card)


def _marginal_axes(p: np.ndarray, names: tuple, keep: tuple) -> np.ndarray:
    """Sum out every axis not in ``keep``; order the remaining axes as in ``keep``."""
    drop = tuple(i for i, n in enumerate(names) if n not in keep)
    m = p.sum(axis=drop)
    remaining = [n for n in names if n in keep]
    return np.transpose(m, [remaining.index(n) for n in keep])


def marginal(dag: DAG, keep) -> np.ndarray:
    r"""Marginal table of the nodes ``keep``, by summing the joint over all other nodes.

    Parameters
    ----------
    dag : DAG
    keep : str or sequence of str
        The nodes to keep; the result's axes follow this order.

    Returns
    -------
    ndarray
        Shape ``(K_keep1, K_keep2, ...)``; sums to one.
    """
    names, pa_idx, cpts, card = _check_dag(dag)
    keep = _check_nodes(keep, names, "keep")
    return _marginal_axes(_joint(pa_idx, cpts, card), names, keep)


def conditional(dag: DAG, query, given: Mapping[str, int] | None = None) -> np.ndarray:
    r"""Conditional table :math:`\hat p(\text{query}\mid\text{given})` by enumeration (Eq. 2.1 on a DAG).

    .. math::
        \hat p(\mathbf x_Q\mid\mathbf x_E) = \frac{\sum_{\mathbf x_R}\hat p(\mathbf x_Q,\mathbf x_E,\mathbf x_R)}
        {\sum_{\mathbf x_Q,\mathbf x_R}\hat p(\mathbf x_Q,\mathbf x_E,\mathbf x_R)}

    with :math:`R` the remaining nodes.

    Parameters
    ----------
    dag : DAG
    query : str or sequence of str
        Nodes whose conditional distribution is wanted; the result's axes follow this order.
    given : mapping of str to int, optional
        Observed nodes and their states. Empty or ``None`` gives the marginal.

    Returns
    -------
    ndarray
        Shape ``(K_q1, K_q2, ...)``; sums to one.

    Raises
    ------
    ValueError
        If the evidence ``given`` has probability zero.
    """
    names, pa_idx, cpts, card = _check_dag(dag)
    query = _check_nodes(query, names, "query")
    given = {} if given is None else dict(given)
    _check_nodes(tuple(given), names, "given")
    overlap = [n for n in query if n in given]
    if overlap:
        raise ValueError(f"node {overlap[0]!r} is both queried and given.")
    for n, v in given.items():
        given[n] = check_int(v, f"given[{n!r}]", minimum=0, maximum=card[names.index(n)] - 1)
    keep = query + tuple(given)
    p = _marginal_axes(_joint(pa_idx, cpts, card), names, keep)
    out = _normalized_slice(p, lambda: _log_marginal_axes(_log_joint(pa_idx, cpts, card), names, keep),
                            (Ellipsis,) + tuple(given.values()))   # slice at the observed states
    if out is None:
        raise ValueError(f"the evidence {given} has probability zero, so the conditional is undefined.")
    return out


def ci_discrepancy(dag: DAG, a: str, c: str, given: Sequence[str] = ()) -> float:
    r"""How far :math:`a` and :math:`c` are from independence given the nodes ``given``.

    Returns

    .. math::
        \max_{\mathbf g:\,\hat p(\mathbf g)>0}\;\max_{a, c}\;
        \bigl|\hat p(a, c\mid\mathbf g) - \hat p(a\mid\mathbf g)\,\hat p(c\mid\mathbf g)\bigr|,

    which is zero exactly when :math:`a\perp c\mid\mathbf g` holds for these CPTs. Everything is
    computed from the enumerated joint table.

    Parameters
    ----------
    dag : DAG
    a, c : str
        Two different nodes.
    given : sequence of str
        The conditioning set (may be empty); must not contain ``a`` or ``c``.

    Returns
    -------
    float
    """
    names, pa_idx, cpts, card = _check_dag(dag)
    (a,) = _check_nodes(a, names, "a")
    (c,) = _check_nodes(c, names, "c")
    given = _check_nodes(given, names, "given")
    if a == c:
        raise ValueError(f"a and c must be different nodes; both are {a!r}.")
    if a in given or c in given:
        raise ValueError(f"given must not contain a or c; got a = {a!r}, c = {c!r}, given = {given}.")
    keep = (a, c) + given
    p = _marginal_axes(_joint(pa_idx, cpts, card), names, keep)
    cache = []

    def log_table():                                           # for a rare g (1e-320) only, once
        if not cache:
            cache.append(_log_marginal_axes(_log_joint(pa_idx, cpts, card), names, keep))
        return cache[0]
    worst = 0.0
    for g in np.ndindex(*p.shape[2:]):                         # every configuration of the given nodes
        p_ac = _normalized_slice(p, log_table, (slice(None), slice(None)) + g)   # p(a, c | g)
        if p_ac is None:
            continue                                           # conditioning on an impossible event
        outer = np.outer(p_ac.sum(axis=1), p_ac.sum(axis=0))   # p(a | g) p(c | g)
        worst = max(worst, float(np.max(np.abs(p_ac - outer))))
    return worst


def is_independent(dag: DAG, a: str, c: str, given: Sequence[str] = (), *, atol: float = 1e-10) -> bool:
    r"""Whether :math:`a\perp c\mid\text{given}` holds for this DAG's CPTs, by enumeration.

    True when :func:`ci_discrepancy` is at most ``atol`` (round-off in exact independences is
    around 1e-16). An independence that holds for these particular numbers but not for the graph
    in general (a "coincidence" of the CPTs) also returns True: use generic random CPTs
    (:func:`canonical`) to ask about the graph.

    Parameters
    ----------
    dag : DAG
    a, c : str
    given : sequence of str
    atol : float
        Tolerance on the discrepancy.

    Returns
    -------
    bool
    """
    if not np.isfinite(atol) or atol < 0:
        raise ValueError(f"atol must be a non-negative finite number; got {atol!r}.")
    return ci_discrepancy(dag, a, c, given) <= atol


# --------------------------------------------------------------------------------------------
# The three canonical graphs
# --------------------------------------------------------------------------------------------
def chain(p_a, P_b_a, P_c_b) -> DAG:
    r"""The chain :math:`a\to b\to c`: :math:`\hat p(a,b,c) = \hat p(a)\hat p(b\mid a)\hat p(c\mid b)`.

    Parameters
    ----------
    p_a : array_like, shape (K_a,)
    P_b_a : array_like, shape (K_b, K_a)
        ``P_b_a[j, i]`` :math:`= \hat p(b = j\mid a = i)`.
    P_c_b : array_like, shape (K_c, K_b)

    Returns
    -------
    DAG
        Nodes in the order ``('a', 'b', 'c')``.
    """
    return _named_dag({"p_a": ("a", p_a), "P_b_a": ("b", P_b_a), "P_c_b": ("c", P_c_b)}, {"b": ("a",), "c": ("b",)})


def fork(p_b, P_a_b, P_c_b) -> DAG:
    r"""The fork (common cause) :math:`a\leftarrow b\to c`: :math:`\hat p(b)\hat p(a\mid b)\hat p(c\mid b)`.

    Parameters
    ----------
    p_b : array_like, shape (K_b,)
    P_a_b : array_like, shape (K_a, K_b)
    P_c_b : array_like, shape (K_c, K_b)

    Returns
    -------
    DAG
        Nodes in the order ``('b', 'a', 'c')`` (the parent comes first).
    """
    return _named_dag({"p_b": ("b", p_b), "P_a_b": ("a", P_a_b), "P_c_b": ("c", P_c_b)}, {"a": ("b",), "c": ("b",)})


def collider(p_a, p_c, P_b_ac) -> DAG:
    r"""The collider (common effect) :math:`a\to b\leftarrow c`: :math:`\hat p(a)\hat p(c)\hat p(b\mid a,c)`.

    Parameters
    ----------
    p_a : array_like, shape (K_a,)
    p_c : array_like, shape (K_c,)
    P_b_ac : array_like, shape (K_b, K_a, K_c)
        ``P_b_ac[j, i, k]`` :math:`= \hat p(b = j\mid a = i, c = k)`.

    Returns
    -------
    DAG
        Nodes in the order ``('a', 'c', 'b')``.
    """
    return _named_dag({"p_a": ("a", p_a), "p_c": ("c", p_c), "P_b_ac": ("b", P_b_ac)}, {"b": ("a", "c")})


def _named_dag(arguments: dict, parents: dict) -> DAG:
    """:func:`make_dag` from ``{argument: (node, table)}``; its messages name the caller's argument
    (``P_b_a``) rather than the table it becomes (``cpts['b']``)."""
    try:
        return make_dag({node: table for node, table in arguments.values()}, parents)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        for argument, (node, _) in arguments.items():
            message = message.replace(f"cpts[{node!r}]", argument)
        raise type(exc)(message) from None


def canonical(kind: str, rng: np.random.Generator, K: int = 2, *, concentration: float = 1.0) -> DAG:
    r"""One of the canonical graphs with random CPTs (each column drawn from a Dirichlet).

    Random CPTs are *generic*: with probability one they have no independences beyond those the
    graph implies, so :func:`is_independent` on them answers questions about the graph.

    Parameters
    ----------
    kind : {'chain', 'fork', 'collider'}
    rng : numpy.random.Generator
    K : int
        Number of states of every node.
    concentration : float
        Dirichlet concentration of every column (1 = uniform over the simplex).

    Returns
    -------
    DAG
    """
    kind = check_choice(kind, "kind", CANONICAL_KINDS)
    rng = check_rng(rng)
    K = check_int(K, "K", minimum=2, maximum=6)
    if not np.isfinite(concentration) or concentration <= 0:
        raise ValueError(f"concentration must be a positive finite number; got {concentration!r}.")

    def table(*parent_sizes):
        draws = rng.dirichlet(np.full(K, concentration), size=parent_sizes or None)  # (..., K)
        return np.moveaxis(np.asarray(draws), -1, 0)                                 # child axis first

    if kind == "chain":
        return chain(table(), table(K), table(K))
    if kind == "fork":
        return fork(table(), table(K), table(K))
    return collider(table(), table(), table(K, K))


def sample(dag: DAG, N: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw ``N`` joint configurations by ancestral sampling (parents first, then children).

    Each node is drawn from its CPT column selected by its parents' sampled states, by inverting
    the cumulative distribution with one uniform per draw.

    Parameters
    ----------
    dag : DAG
    N : int
        Number of samples.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (N, n_nodes)
        Column ``i`` holds the states of ``dag.names[i]``.
    """
    names, pa_idx, cpts, card = _check_dag(dag)
    N = check_int(N, "N", minimum=1)
    rng = check_rng(rng)
    u = rng.random((N, len(names)))
    x = np.empty((N, len(names)), dtype=np.int64)
    for i, P in enumerate(cpts):                                  # topological order
        probs = P[(slice(None),) + tuple(x[:, j] for j in pa_idx[i])] if pa_idx[i] else P[:, None]
        cdf = np.cumsum(probs, axis=0)                            # (K_i, N) or (K_i, 1)
        draws = (u[:, i] >= cdf).sum(axis=0)                      # first state whose cdf exceeds u
        x[:, i] = np.minimum(draws, card[i] - 1)                  # guard against cdf[-1] = 1 - 1e-16
    return x
