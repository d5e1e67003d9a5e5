r"""Belief propagation on factor graphs: sum-product and max-product on trees, loopy BP on any graph.

Messages (Section 3.5; Appendix C). A variable sends a factor the product of what its other factors
told it,

.. math:: \mu_{i\to f}(x_i) = \prod_{g \ni i,\, g\ne f}\mu_{g\to i}(x_i),

and a factor sends a variable its potential weighted by the other variables' messages and summed
(maximized, for max-product) over them,

.. math:: \mu_{f\to i}(x_i) = \sum_{\mathbf x_f \setminus x_i}\psi_f(\mathbf x_f)
          \prod_{j \in f,\, j\ne i}\mu_{j\to f}(x_j).

On a tree, one pass from the leaves to a root and one back give every marginal
:math:`p(x_i)\propto\prod_{f\ni i}\mu_{f\to i}(x_i)` exactly: this is variable elimination done for
all variables at once. The HMM's forward recursion (Section 2.2.1, Eq. 2.41) and its smoothing
recursion (Eq. 2.44) are the special case of a chain: the forward message is the collect pass
towards the last state and the backward message the collect pass towards the first (see
``tests/graphical/test_graphical_inference.py::test_hmm_forward_backward_is_sum_product_on_a_chain``).

Every message is normalized as it is sent (to sum to one, or to have maximum one), and the logs of
the normalizers of the collect pass add up to :math:`\log Z`, so long chains neither underflow
nor overflow. Sum-product on a tree (:func:`belief_propagation`) and loopy BP pass their messages in logs, each
a log-sum-exp by its largest term: potentials that span more than the floats (a table holding
:math:`e^{600}` and :math:`e^{-600}`) make messages whose entries do too, and the smallest may still
decide a marginal.

On a graph with cycles the same updates, iterated from uniform messages, are *loopy* belief
propagation: not exact, often close, and not guaranteed to converge.
"""
from __future__ import annotations

import warnings
from typing import Hashable, Mapping, NamedTuple

import numpy as np

from ..core.checks import ConvergenceWarning, check_int, positive_scalar
from ..core.logmath import logsumexp
from .factor_graph import FactorGraph, check_tree, factor_node, make_factor_graph, message_schedule, var_node
from .factors import Factor, indicator

__all__ = [
    "BeliefPropagation",
    "MaxProduct",
    "LoopyBP",
    "with_evidence",
    "belief_propagation",
    "max_product",
    "loopy_belief_propagation",
]


class BeliefPropagation(NamedTuple):
    r"""Result of :func:`belief_propagation` (sum-product on a tree).

    Attributes
    ----------
    marginals : dict
        ``marginals[v]`` :math:`= p(x_v \mid \text{evidence})`, shape ``(K_v,)``.
    log_Z : float
        :math:`\log\sum_{\mathbf x}\prod_f\psi_f` (times the evidence indicators: with evidence this is
        :math:`\log` of the unnormalized probability of the evidence).
    messages : dict
        ``messages[(sender, receiver)]``: the normalized message, shape ``(K_v,)`` for the variable on
        that edge. Nodes are ``("var", name)`` and ``("factor", k)``.
    schedule : list of (sender, receiver)
        The order the messages were sent: the collect pass, then the distribute pass.
    """

    marginals: dict
    log_Z: float
    messages: dict
    schedule: list


class MaxProduct(NamedTuple):
    r"""Result of :func:`max_product` (max-product on a tree).

    Attributes
    ----------
    assignment : dict
        A most probable configuration (the MAP), one state per variable.
    log_max : float
        :math:`\log\max_{\mathbf x}\prod_f\psi_f(\mathbf x_f)`; subtract ``log_Z`` for the log probability.
    max_marginals : dict
        ``max_marginals[v][k]`` :math:`= \max_{\mathbf x: x_v = k}\prod_f\psi_f / \max_{\mathbf x}\prod_f\psi_f`
        (so its largest entry is 1).
    schedule : list of (sender, receiver)
    """

    assignment: dict
    log_max: float
    max_marginals: dict
    schedule: list


class LoopyBP(NamedTuple):
    r"""Result of :func:`loopy_belief_propagation`.

    Attributes
    ----------
    marginals : dict
        Approximate marginals (the *beliefs*), exact on trees at convergence.
    log_Z_bethe : float
        The Bethe approximation to :math:`\log Z` at the final messages (exact on trees).
    n_iter : int
        Parallel rounds of messages sent.
    converged : bool
        Whether the largest change of a message fell below ``tol``.
    history : list of dict
        The beliefs after each round (only with ``record=True``; otherwise empty).
    """

    marginals: dict
    log_Z_bethe: float
    n_iter: int
    converged: bool
    history: list


def with_evidence(fg: FactorGraph, evidence: Mapping[Hashable, int] | None) -> FactorGraph:
    """Append an indicator factor :math:`\\mathbb 1[x_v = e_v]` for each observed variable.

    Raises
    ------
    ValueError
        If an observed variable is unknown or its value is out of range.
    """
    fg = make_factor_graph(fg)
    if not evidence:
        return fg
    if not isinstance(evidence, Mapping):
        raise TypeError(f"evidence must be a mapping from variable to state; got {type(evidence).__name__}.")
    extra = []
    for v, value in evidence.items():
        if v not in fg.card:
            raise ValueError(f"evidence names {v!r}, which is not a variable of the model {list(fg.card)}.")
        K = fg.card[v]
        value = check_int(value, f"evidence[{v!r}]", minimum=0, maximum=K - 1)
        extra.append(indicator(v, value, K))
    return make_factor_graph(list(fg.factors) + extra)


def _weighted(f: Factor, k_var: int, incoming: dict, k: int, log: bool) -> np.ndarray:
    """The factor's table times (plus, in logs) the messages from its variables other than ``k_var``."""
    T = np.log(f.table) if log else f.table
    for j, u in enumerate(f.variables):
        if j == k_var:
            continue
        shape = [1] * f.table.ndim
        shape[j] = f.table.shape[j]
        m = incoming[(var_node(u), factor_node(k))].reshape(shape)
        T = T + m if log else T * m
    return T


def _factor_to_var(f: Factor, k: int, v, incoming: dict, mode: str) -> np.ndarray:
    i = f.variables.index(v)
    others = tuple(j for j in range(f.table.ndim) if j != i)
    if mode == "sum":
        return _weighted(f, i, incoming, k, False).sum(axis=others) if others else f.table.copy()
    with np.errstate(divide="ignore"):
        T = _weighted(f, i, incoming, k, True)
    return T.max(axis=others) if others else T


#: A product of normalized messages at a variable is divided by its largest entry (the log of which
#: is returned) once that entry falls below this: a variable in thousands of factors does not underflow.
_PRODUCT_LO = 1e-200


def _var_to_var_product(fg: FactorGraph, v, exclude, msgs: dict, mode: str) -> tuple[np.ndarray, float]:
    """The product (sum, in logs, for max-product) of the messages into ``v`` from all but ``exclude``,
    and the log of what it was divided by on the way (0 unless the product fell below ``_PRODUCT_LO``)."""
    out = np.zeros(fg.card[v]) if mode == "max" else np.ones(fg.card[v])
    log_scale = 0.0
    for nb in fg.graph.neighbors(var_node(v)):
        if nb == exclude:
            continue
        m = msgs[(nb, var_node(v))]
        if mode == "max":
            out = out + m
            continue
        out = out * m
        top = float(out.max())
        if 0.0 < top < _PRODUCT_LO:
            out = out / top
            log_scale += float(np.log(top))
    return out, log_scale


def _normalize(m: np.ndarray, mode: str, name) -> tuple[np.ndarray, float]:
    if mode == "max":
        top = float(m.max())
        if not np.isfinite(top):
            raise ValueError(f"every configuration has probability zero (the message into {name} is all zero).")
        return m - top, top
    s = float(m.sum())
    if not s > 0:
        raise ValueError(f"every configuration has probability zero (the message into {name} is all zero): "
                         "the potentials, or potentials and evidence, contradict each other.")
    return m / s, float(np.log(s))


def _run_tree(fg: FactorGraph, root, mode: str):
    check_tree(fg)
    schedule = message_schedule(fg, root)
    n_collect = len(schedule) // 2
    msgs: dict = {}
    log_scale = 0.0
    for n, (s, r) in enumerate(schedule):
        if s[0] == "var":
            m, c0 = _var_to_var_product(fg, s[1], r, msgs, mode)
        else:
            m, c0 = _factor_to_var(fg.factors[s[1]], s[1], r[1], msgs, mode), 0.0
        m, c = _normalize(m, mode, r)
        msgs[(s, r)] = m
        if n < n_collect:
            log_scale += c + c0
    return schedule, msgs, log_scale


def _factor_to_var_log(f: Factor, k: int, v, incoming: dict) -> np.ndarray:
    """The sum-product message from factor ``k`` to ``v`` in logs: ``log sum`` over the factor's other
    variables of its table times the (log) messages from them, by the largest term."""
    i = f.variables.index(v)
    with np.errstate(divide="ignore"):
        T = _weighted(f, i, incoming, k, True)
    T = np.moveaxis(T, i, 0).reshape(T.shape[i], -1)
    return logsumexp(T, axis=1)


def _log_var_product(fg: FactorGraph, v, exclude, log_msgs: dict) -> np.ndarray:
    """The sum of the log messages into ``v`` from all its factors but ``exclude``."""
    out = np.zeros(fg.card[v])
    for nb in fg.graph.neighbors(var_node(v)):
        if nb != exclude:
            out = out + log_msgs[(nb, var_node(v))]
    return out


def _log_normalize(m: np.ndarray, name) -> tuple[np.ndarray, float]:
    """``m - logsumexp(m)`` and ``logsumexp(m)``; raise if every entry is ``-inf`` (probability zero)."""
    s = float(logsumexp(m))
    if s == -np.inf:
        raise ValueError(f"every configuration has probability zero (the message into {name} is all zero): "
                         "the potentials, or potentials and evidence, contradict each other.")
    return m - s, s


def _run_tree_log(fg: FactorGraph, root):
    """Sum-product's two passes on a tree with every message in logs: ``(schedule, log_msgs, log_scale)``,
    ``log_scale`` the sum of the log normalizers of the collect pass."""
    check_tree(fg)
    schedule = message_schedule(fg, root)
    n_collect = len(schedule) // 2
    log_msgs: dict = {}
    log_scale = 0.0
    for n, (s, r) in enumerate(schedule):
        if s[0] == "var":
            m = _log_var_product(fg, s[1], r, log_msgs)
        else:
            m = _factor_to_var_log(fg.factors[s[1]], s[1], r[1], log_msgs)
        log_msgs[(s, r)], c = _log_normalize(m, r)
        if n < n_collect:
            log_scale += c
    return schedule, log_msgs, log_scale


def _component_roots(fg: FactorGraph, schedule) -> list:
    """The root variable of each component: the variables that receive no collect message from a parent."""
    n_collect = len(schedule) // 2
    senders = {s for s, _ in schedule[:n_collect]}
    return [v for v in fg.card if var_node(v) not in senders]


def belief_propagation(factors, *, evidence: Mapping[Hashable, int] | None = None,
                       root: Hashable | None = None) -> BeliefPropagation:
    r"""Exact marginals and :math:`\log Z` of a tree-structured model by sum-product.

    Parameters
    ----------
    factors : list of Factor or (variables, table), or FactorGraph
        The model :math:`\frac1Z\prod_f\psi_f`; its factor graph must be a tree or a forest.
    evidence : dict, optional
        Observed states, ``{variable: state}``; the marginals are then conditional on them.
    root : variable, optional
        Where the collect pass ends (the result does not depend on it).

    Returns
    -------
    BeliefPropagation

    Raises
    ------
    ValueError
        If the factors are invalid (mismatched cardinalities, negative entries), the factor graph has a
        cycle (the message names it), or the evidence has probability zero.

    The messages are passed in logs (any positive finite potentials, :math:`e^{\pm 700}` included,
    give the right marginals and :math:`\log Z`); ``messages`` holds them exponentiated.
    """
    fg = with_evidence(make_factor_graph(factors), evidence)
    schedule, log_msgs, log_Z = _run_tree_log(fg, root)
    for v in _component_roots(fg, schedule):
        log_Z += _log_normalize(_log_var_product(fg, v, None, log_msgs), var_node(v))[1]
    marginals = {v: np.exp(_log_normalize(_log_var_product(fg, v, None, log_msgs), var_node(v))[0])
                 for v in fg.card}
    msgs = {edge: np.exp(m) for edge, m in log_msgs.items()}
    return BeliefPropagation(marginals, log_Z, msgs, schedule)


def max_product(factors, *, evidence: Mapping[Hashable, int] | None = None,
                root: Hashable | None = None) -> MaxProduct:
    r"""A most probable configuration of a tree-structured model, by max-product (in logs) and backtracking.

    The collect pass computes :math:`\max_{\mathbf x}\prod_f\psi_f` at the root; the root takes its best
    state, and each factor then picks its remaining variables' best states given its parent's,
    weighing the messages those variables sent it (Viterbi's algorithm on a chain).

    Parameters and errors as for :func:`belief_propagation`.
    """
    fg = with_evidence(make_factor_graph(factors), evidence)
    schedule, msgs, log_scale = _run_tree(fg, root, "max")
    roots = _component_roots(fg, schedule)
    assignment, log_max = {}, log_scale
    for v in roots:
        b, _ = _var_to_var_product(fg, v, None, msgs, "max")
        log_max += _normalize(b, "max", var_node(v))[1]
        assignment[v] = int(np.argmax(b))
    n_collect = len(schedule) // 2
    for s, r in schedule[n_collect:]:                       # parents before children
        if s[0] != "var":
            continue
        k = r[1]
        f = fg.factors[k]
        with np.errstate(divide="ignore"):
            T = np.log(f.table)
        children = [u for u in f.variables if u != s[1]]
        T = T[tuple(assignment[s[1]] if u == s[1] else slice(None) for u in f.variables)]
        for j, u in enumerate(children):
            shape = [1] * T.ndim
            shape[j] = T.shape[j]
            T = T + msgs[(var_node(u), factor_node(k))].reshape(shape)
        best = np.unravel_index(int(np.argmax(T)), T.shape)
        for u, x in zip(children, best):
            assignment[u] = int(x)
    max_marginals = {}
    for v in fg.card:
        b, _ = _var_to_var_product(fg, v, None, msgs, "max")
        max_marginals[v] = np.exp(b - b.max())
    return MaxProduct(assignment, log_max, max_marginals, schedule)


def _bethe_log_Z(fg: FactorGraph, log_v2f: dict, log_beliefs: dict) -> float:
    r"""The Bethe free energy's :math:`\log Z` at the given messages, from the logs of the tables, of the
    variable-to-factor messages and of the beliefs (zero entries skipped: :math:`0\log 0 = 0`)."""
    total = 0.0
    with np.errstate(divide="ignore"):
        for k, f in enumerate(fg.factors):
            log_t = np.log(f.table)
            lb = _weighted(f, -1, log_v2f, k, True)          # log psi_f + the log messages into f
            lb = lb - logsumexp(lb.ravel())
            pos = lb > -np.inf
            total += float(np.sum(np.exp(lb[pos]) * (log_t[pos] - lb[pos])))
        for v in fg.card:
            d = fg.graph.degree(var_node(v))
            lb = log_beliefs[v]
            pos = lb > -np.inf
            total += (d - 1) * float(np.sum(np.exp(lb[pos]) * lb[pos]))
    return total


def loopy_belief_propagation(factors, *, evidence: Mapping[Hashable, int] | None = None, max_iter: int = 200,
                             tol: float = 1e-10, damping: float = 0.0, record: bool = False) -> LoopyBP:
    r"""Approximate marginals of any discrete model by loopy belief propagation (parallel updates).

    Every round sends all factor-to-variable messages from the previous round's variable-to-factor
    messages, then all variable-to-factor messages. On a tree this reaches the exact answer within
    as many rounds as the tree's diameter; on a graph with cycles it computes the Bethe
    approximation, if it converges at all. The messages are passed in logs, each normalized by a
    log-sum-exp, as in :func:`belief_propagation`: potentials of any positive scale (a table holding
    :math:`e^{600}` beside :math:`e^{-600}`) give the messages, beliefs and Bethe :math:`\log Z` that
    exact arithmetic would.

    Parameters
    ----------
    factors : list of Factor or (variables, table), or FactorGraph
    evidence : dict, optional
        Observed states.
    max_iter : int
        At most this many rounds.
    tol : float
        Stopping rule: no factor-to-variable message, as probabilities, changes by more than
        :math:`\max(\mathrm{tol},\ 64\epsilon)` in any entry (:math:`\epsilon` the machine
        epsilon). The messages are normalized to sum to one, so :math:`64\epsilon` is a few ulps of
        their largest possible entry: the rounding a recomputed message carries at a fixed point,
        whatever the order of the floating-point operations, and the floor keeps a tiny ``tol``
        attainable.
    damping : float in [0, 1)
        Each new message is ``(1 - damping) * new + damping * old`` (as probabilities); damping helps
        oscillating graphs.
    record : bool
        Keep the beliefs after every round in ``history`` (for animations).

    Returns
    -------
    LoopyBP

    Raises
    ------
    ValueError
        If the factors are invalid or a message is zero in every state (then every configuration has
        probability zero: a message keeps every state a configuration of positive probability uses).

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` rounds pass without meeting ``tol``.
    """
    fg = with_evidence(make_factor_graph(factors), evidence)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = positive_scalar(tol, "tol")
    damping = positive_scalar(damping, "damping", strict=False)
    if damping >= 1.0:
        raise ValueError(f"damping must be in [0, 1); got {damping}.")
    edges = [(k, v) for k, f in enumerate(fg.factors) for v in f.variables]
    v2f = {(var_node(v), factor_node(k)): np.full(fg.card[v], -np.log(fg.card[v])) for k, v in edges}
    f2v = {(factor_node(k), var_node(v)): np.full(fg.card[v], -np.log(fg.card[v])) for k, v in edges}
    history, converged, change = [], False, np.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        change = 0.0
        new_f2v = {}
        for k, v in edges:
            m, _ = _log_normalize(_factor_to_var_log(fg.factors[k], k, v, v2f), var_node(v))
            old = f2v[(factor_node(k), var_node(v))]
            if damping > 0.0:
                m = np.logaddexp(np.log1p(-damping) + m, np.log(damping) + old)
            change = max(change, float(np.abs(np.exp(m) - np.exp(old)).max()))
            new_f2v[(factor_node(k), var_node(v))] = m
        f2v = new_f2v
        for k, v in edges:
            m = _log_var_product(fg, v, factor_node(k), f2v)
            v2f[(var_node(v), factor_node(k))], _ = _log_normalize(m, factor_node(k))
        if record:
            history.append({v: np.exp(b) for v, b in _log_beliefs(fg, f2v).items()})
        if change <= max(tol, 64.0 * np.finfo(float).eps):
            converged = True
            break
    if not converged:
        warnings.warn(f"loopy belief propagation did not converge in {max_iter} rounds (last largest message "
                      f"change {change:.3g}, tol {tol:.3g}); try damping.", ConvergenceWarning, stacklevel=2)
    log_beliefs = _log_beliefs(fg, f2v)
    beliefs = {v: np.exp(b) for v, b in log_beliefs.items()}
    return LoopyBP(beliefs, _bethe_log_Z(fg, v2f, log_beliefs), n_iter, converged, history)


def _log_beliefs(fg: FactorGraph, log_f2v: dict) -> dict:
    """Each variable's normalized log belief: the sum of the log messages into it, normalized in logs."""
    return {v: _log_normalize(_log_var_product(fg, v, None, log_f2v), var_node(v))[0] for v in fg.card}
