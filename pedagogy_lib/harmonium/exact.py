r"""Exact computations for small harmoniums: log Z, marginals, the MRE and its gradient, CD chains.

Everything here enumerates one Bernoulli layer, so it is exact and exponential in that layer's size.

* :func:`log_marginal_table` lists :math:`\log\tilde p` (the unnormalized marginal) of every state
  of the enumerated layer. The kernel (:mod:`pedagogy_lib.harmonium.kernels`) walks the states in
  Gray-code order, so consecutive states differ in one unit and the other layer's natural parameters
  change by one row of :math:`\mathbf W`: :math:`O(2^n m)` work instead of :math:`O(2^n n m)`. For a
  Bernoulli partner layer it also keeps :math:`e^{\zeta_j}` up to date by multiplication and the product
  :math:`\prod_j(1 + e^{\zeta_j})` in scaled form (a mantissa and an integer binary exponent), so a step
  costs one logarithm instead of an exponential and a logarithm per unit, at any coupling strength.
* :func:`log_partition` is :math:`\log Z` of Eq. 10.14, the log-sum-exp of that table, computed by
  the same walk without building the table: block by block, each block's terms summed in that scaled
  form (no logarithm or exponential per state) for a Bernoulli partner, and merged into a running
  log-sum-exp.
* Parameters whose :math:`\log Z` could leave the range of float64 are refused with a ``ValueError``
  (see :data:`LOG_Z_LIMIT`) rather than answered with an infinity or a NaN.
* :func:`exact_gradient` is Eq. 10.19, model moments minus data moments, both exact.
* :func:`visible_transition_matrix` and :func:`chain_distributions` give the exact distributions
  :math:`p^n` of the Gibbs chain started at the data, which is what the contrastive-divergence
  analysis of Section 10.2.2 (Eqs. 10.21-10.22) is about; :func:`expected_cd_gradient` is the
  expectation of the CD-k update of Eq. 10.20 under those exact chains.

States are indexed by integers whose bit ``k`` is unit ``k``: index 5 is the state ``(1, 0, 1, 0, ...)``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import as_array, check_backend, check_choice, check_int, check_prob_vector
from ..core.logmath import logsumexp
from . import kernels
from .model import (EFHParams, check_layer, check_params, family_code, log_partition_units, mean_units,
                    sigmoid, softplus)

__all__ = ["EFHGrad", "states", "state_index", "log_marginal_table", "log_partition", "visible_log_probs",
           "hidden_log_probs", "average_log_likelihood", "empirical_distribution", "mre", "model_moments",
           "data_moments", "exact_gradient", "visible_transition_matrix", "chain_distributions",
           "kl_divergence", "expected_cd_gradient", "train_exact", "MAX_ENUM", "LOG_Z_LIMIT"]

#: Largest number of units enumerated (2**24 states: a 128 MB table).
MAX_ENUM = 24
#: Largest bound on the log marginals (hence on ``|log Z|``) accepted by the enumeration: beyond it a sum
#: could overflow float64 (about 1.8e308), so such parameters are refused by name.
LOG_Z_LIMIT = 1e308


class EFHGrad(NamedTuple):
    """A gradient with respect to the parameters of an :class:`EFHParams` (same shapes)."""

    W: np.ndarray
    b_x: np.ndarray
    b_y: np.ndarray


def states(n: int) -> np.ndarray:
    """All ``2**n`` binary states of ``n`` units, shape ``(2**n, n)``; row ``i`` has bit ``k`` of ``i`` in column ``k``."""
    n = check_int(n, "n", minimum=0, maximum=MAX_ENUM)
    idx = np.arange(2 ** n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(float)


def state_index(s) -> np.ndarray:
    """The integer index of each binary row of ``s`` (inverse of :func:`states`)."""
    s = as_array(s, "s", ndim=2, dims="(N, n)")
    if ((s != 0) & (s != 1)).any():
        raise ValueError("s must hold binary states (0 or 1).")
    return (s.astype(np.int64) << np.arange(s.shape[1])).sum(axis=1)


# ------------------------------------------------------------------------------------------------
# Gray-code enumeration: NumPy twins of the kernels (pedagogy_lib.harmonium.kernels)
# ------------------------------------------------------------------------------------------------
#: Largest natural parameter (in size) whose exponential the kernels keep by multiplication: ``exp(zeta_j)``
#: of a Bernoulli partner and ``exp(b_e)`` (well inside float64's exponent range, about 709).
_EXP_RANGE = 300.0


def _log_marginals_of(We, b_e, b_o, family, idx):
    """The log marginals of the states ``idx`` (integers, bit ``k`` = unit ``k``), by one matrix product."""
    S = ((idx[:, None] >> np.arange(We.shape[0])) & 1).astype(float)
    return S @ b_e + log_partition_units(b_o + S @ We, family).sum(axis=1)


def _gray_log_marginals_numpy(We, b_e, b_o, fam_o, block=4096):
    """NumPy twin of :func:`~pedagogy_lib.harmonium.kernels.gray_log_marginals`: every state at once (in blocks),
    by a matrix product."""
    n = We.shape[0]
    family = ("bernoulli", "gaussian", "poisson")[fam_o]
    out = np.empty(2 ** n)
    for start in range(0, 2 ** n, block):
        idx = np.arange(start, min(2 ** n, start + block))
        out[idx] = _log_marginals_of(We, b_e, b_o, family, idx)
    return out


def _gray_log_partition_numpy(We, b_e, b_o, fam_o, block=4096):
    """NumPy twin of :func:`~pedagogy_lib.harmonium.kernels.gray_log_partition`: the log-sum-exp of each block
    of states merged into a running one."""
    n = We.shape[0]
    family = ("bernoulli", "gaussian", "poisson")[fam_o]
    top, s = -np.inf, 0.0
    for start in range(0, 2 ** n, block):
        v = _log_marginals_of(We, b_e, b_o, family, np.arange(start, min(2 ** n, start + block)))
        c = float(v.max())
        sb = float(np.exp(v - c).sum())
        if c > top:
            s, top = s * np.exp(top - c) + sb, c
        else:
            s += sb * np.exp(c - top)
    return float(top + np.log(s))


def _enumeration_layer(p: EFHParams, layer: str) -> str:
    if layer == "auto":
        options = [name for name, fam, size in (("hidden", p.hidden, p.K), ("visible", p.visible, p.M))
                   if fam == "bernoulli"]
        return min(options, key=lambda name: p.K if name == "hidden" else p.M)
    fam = p.hidden if layer == "hidden" else p.visible
    if fam != "bernoulli":
        raise ValueError(f"layer={layer!r} can be enumerated only when it is Bernoulli; it is {fam!r}.")
    return layer


def _check_log_Z_range(We, b_e, b_o, fam_o, layer) -> float:
    """Refuse parameters whose log marginals could overflow float64 (a sum of them, an infinity, a NaN);
    return the bound on the natural parameters' size, ``max_j |b_o[j]| + sum_k |We[k, j]|``.

    Every log marginal is at most ``sum_k |b_e[k]| + sum_j B(zeta_j)`` with ``zeta_j`` between ``lo_j`` and
    ``hi_j`` (each unit's weights of one sign added to its bias), ``B`` the partner's log-partition function;
    every natural parameter is at most ``|b_o[j]| + sum_k |We[k, j]|`` in size. Both must stay within
    :data:`LOG_Z_LIMIT`.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        size = np.abs(b_o) + np.abs(We).sum(axis=0)
        hi = b_o + np.maximum(We, 0.0).sum(axis=0)
        lo = b_o + np.minimum(We, 0.0).sum(axis=0)
        if fam_o == "bernoulli":
            B = np.maximum(hi, 0.0) + np.log(2.0)
        elif fam_o == "gaussian":
            B = 0.5 * np.maximum(hi * hi, lo * lo)
        else:
            B = np.exp(hi)
        reach = float(np.abs(b_e).sum() + B.sum())
        bound = float(size.max())
        worst = max(reach, bound)
    if not worst <= LOG_Z_LIMIT:
        b_e_name, b_o_name = ("b_x", "b_y") if layer == "hidden" else ("b_y", "b_x")
        other = "visible" if layer == "hidden" else "hidden"
        raise ValueError(
            f"params: W, b_x and b_y are too large for log Z in float64 (enumerating the {layer} layer): the "
            f"supported range is sum|{b_e_name}| + sum over the {other} units of their log-partition function at "
            f"its largest natural parameter ({b_o_name} plus the positive weights), and each "
            f"|{b_o_name}_j| + sum_k |W|, up to {LOG_Z_LIMIT:g}; got {worst:.3g}.")
    return bound


def _enumeration_inputs(p: EFHParams, layer: str):
    """``(We, b_e, b_o, fam_o code, chunk, scaled)`` for the Gray-code kernels enumerating ``layer`` of ``p``.

    ``chunk`` is how many factors ``1 + exp(zeta_j)`` are multiplied before their binary exponent is taken
    out (at most ``exp(700)`` together; 0: one softplus per unit, for a non-Bernoulli partner or natural
    parameters beyond :data:`_EXP_RANGE` in size). ``scaled``: :func:`log_partition`'s kernel may sum the
    terms in scaled form (``chunk > 0`` and ``exp(+-b_e)`` within range too).
    """
    if layer == "hidden":
        We, b_e, b_o, fam_o, n = p.W, p.b_x, p.b_y, p.visible, p.K
    else:
        We, b_e, b_o, fam_o, n = p.W.T, p.b_y, p.b_x, p.hidden, p.M
    if n > MAX_ENUM:
        raise ValueError(f"the {layer} layer has {n} units; enumeration is limited to {MAX_ENUM} (2**{MAX_ENUM} states).")
    bound = _check_log_Z_range(We, b_e, b_o, fam_o, layer)            # |zeta_j| never exceeds it
    chunk = 0
    if fam_o == "bernoulli" and bound <= _EXP_RANGE:
        chunk = int(max(1, min(We.shape[1], 700.0 // (bound + 1.0))))
    scaled = bool(chunk > 0 and np.abs(b_e).max() <= _EXP_RANGE)
    return np.ascontiguousarray(We), b_e, b_o, family_code(fam_o), chunk, scaled


def log_marginal_table(params: EFHParams, layer: str = "hidden", *, backend: str = "auto") -> np.ndarray:
    r"""Unnormalized log marginal of every state of one Bernoulli layer, in index order (see :func:`states`).

    For the hidden layer, entry ``i`` is :math:`\mathbf b_{\hat x}^T\mathbf x_i + B(\boldsymbol\zeta(\mathbf x_i))`,
    the log of :math:`Z\,\hat p(\mathbf x_i)` (Section 3.1's marginal); for the visible layer
    :math:`\mathbf b_{\hat y}^T\mathbf y_i + A(\boldsymbol\eta(\mathbf y_i))`.

    Parameters
    ----------
    params : EFHParams
    layer : {"hidden", "visible"}
        The layer to enumerate; it must be Bernoulli with at most :data:`MAX_ENUM` units.
    backend : {"auto", "numba", "numpy"}
        The Gray-code kernel or its vectorized NumPy twin; ``"auto"`` runs the twin while compiling would cost
        more than it saves (:func:`pedagogy_lib.core.jit.choose`).

    Raises
    ------
    ValueError
        As :func:`log_partition`: a layer that cannot be enumerated, or log marginals that could leave
        float64's range (beyond :data:`LOG_Z_LIMIT`).
    """
    p = check_params(params)
    layer = check_choice(layer, "layer", ("hidden", "visible"))
    layer = _enumeration_layer(p, layer)
    check_backend(backend)
    We, b_e, b_o, code, chunk, _ = _enumeration_inputs(p, layer)
    if check_backend(backend, kernels.gray_log_marginals, E=We.shape[0], O=We.shape[1]) == "numpy":
        return _gray_log_marginals_numpy(We, b_e, b_o, code)
    out = np.empty(2 ** We.shape[0])
    kernels.gray_log_marginals(We, b_e, b_o, code, chunk, out)
    return out


def log_partition(params: EFHParams, *, layer: str = "auto", backend: str = "auto") -> float:
    r""":math:`\log Z` of Eq. 10.14, exactly, by enumerating the smaller Bernoulli layer (or ``layer``).

    The sum over the other layer is done in closed form by its log-partition function, so only
    ``2**n`` terms remain for the ``n`` enumerated units. ``backend`` (``"auto"``, ``"numba"`` or ``"numpy"``)
    chooses the Gray-code kernel or its twin as in :func:`log_marginal_table`.

    Raises
    ------
    ValueError
        If the parameters are malformed, the layer cannot be enumerated (not Bernoulli, more than
        :data:`MAX_ENUM` units), or :math:`\log Z` could leave float64's range (a bound on the log marginals
        beyond :data:`LOG_Z_LIMIT`): the message names ``params`` and the supported range.
    """
    p = check_params(params)
    layer = check_choice(layer, "layer", ("auto", "hidden", "visible"))
    layer = _enumeration_layer(p, layer)
    check_backend(backend)
    We, b_e, b_o, code, chunk, scaled = _enumeration_inputs(p, layer)
    if check_backend(backend, kernels.gray_log_partition, E=We.shape[0], O=We.shape[1]) == "numpy":
        return _gray_log_partition_numpy(We, b_e, b_o, code)
    return float(kernels.gray_log_partition(We, b_e, b_o, code, chunk, scaled))


def visible_log_probs(params: EFHParams, *, backend: str = "auto") -> np.ndarray:
    r""":math:`\log\hat p(\mathbf y)` for all ``2**M`` visible states (Bernoulli visible layer)."""
    table = log_marginal_table(params, "visible", backend=backend)
    return table - logsumexp(table)


def hidden_log_probs(params: EFHParams, *, backend: str = "auto") -> np.ndarray:
    r""":math:`\log\hat p(\mathbf x)` for all ``2**K`` hidden states (Bernoulli hidden layer)."""
    table = log_marginal_table(params, "hidden", backend=backend)
    return table - logsumexp(table)


def _weights(Y, weights, N):
    if N == 0:
        raise ValueError("Y must hold at least one row (datum); got shape (0, M).")
    if weights is None:
        return np.full(N, 1.0 / N)
    w = as_array(weights, "weights", shape=(N,), dims="(N,)")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be non-negative with a positive sum.")
    return w / w.sum()


def average_log_likelihood(params: EFHParams, Y, weights=None, *, log_Z: float | None = None) -> float:
    r"""Average :math:`\log\hat p(\mathbf y)` over the rows of ``Y`` (optionally weighted), with exact :math:`\log Z`."""
    from .model import free_energy_visible
    p = check_params(params)
    Y = check_layer(Y, p.visible, "Y", p.M)
    w = _weights(Y, weights, Y.shape[0])
    if log_Z is None:
        log_Z = log_partition(p)
    return float(-(w @ free_energy_visible(p, Y)) - log_Z)


def empirical_distribution(Y) -> np.ndarray:
    """The empirical distribution of binary rows ``Y`` (N, M) as a vector over the ``2**M`` states.

    Raises
    ------
    ValueError
        If ``Y`` is not a non-empty 2-D array of binary states, or has more than 20 columns.
    """
    Y = as_array(Y, "Y", ndim=2, dims="(N, M)")
    if Y.shape[0] == 0:
        raise ValueError(f"Y must hold at least one row; got shape {Y.shape}.")
    if ((Y != 0) & (Y != 1)).any():
        raise ValueError("Y must hold binary states (0 or 1).")
    if Y.shape[1] > 20:
        raise ValueError(f"Y has {Y.shape[1]} columns; a table over 2**M states is limited to M <= 20.")
    idx = state_index(Y)
    return np.bincount(idx, minlength=2 ** Y.shape[1]) / Y.shape[0]


def mre(params: EFHParams, Y, weights=None) -> float:
    r"""The marginal relative entropy :math:`D_{KL}\{p(\mathbf Y)\|\hat p(\mathbf Y)\}` for the empirical
    distribution of the (discrete) rows of ``Y`` (optionally weighted), in nats."""
    p = check_params(params)
    if p.visible == "gaussian":
        raise ValueError("mre needs a discrete visible layer (the empirical distribution of real data has no density).")
    Y = check_layer(Y, p.visible, "Y", p.M)
    w = _weights(Y, weights, Y.shape[0])
    _, inv = np.unique(Y, axis=0, return_inverse=True)
    q = np.bincount(inv.ravel(), weights=w)
    q = q[q > 0]
    return float(np.sum(q * np.log(q)) - average_log_likelihood(p, Y, w))


def model_moments(params: EFHParams, *, block: int = 4096) -> EFHGrad:
    r"""Exact model moments :math:`\mathbb E_{\hat p}[\mathbf x\mathbf y^T]`, :math:`\mathbb E[\mathbf x]`, :math:`\mathbb E[\mathbf y]`.

    One Bernoulli layer is enumerated (the smaller); the other is summed analytically through its
    conditional mean.
    """
    p = check_params(params)
    layer = _enumeration_layer(p, "auto")
    table = log_marginal_table(p, layer)
    prob = np.exp(table - logsumexp(table))
    n = p.K if layer == "hidden" else p.M
    XY = np.zeros((p.K, p.M))
    Ex, Ey = np.zeros(p.K), np.zeros(p.M)
    for start in range(0, 2 ** n, block):
        idx = np.arange(start, min(2 ** n, start + block))
        S = ((idx[:, None] >> np.arange(n)) & 1).astype(float)
        w = prob[idx]
        if layer == "hidden":
            Mean = mean_units(S @ p.W + p.b_y, p.visible)      # E[y | x]
            XY += (S * w[:, None]).T @ Mean
            Ex += w @ S
            Ey += w @ Mean
        else:
            Mean = mean_units(S @ p.W.T + p.b_x, p.hidden)     # E[x | y]
            XY += (Mean * w[:, None]).T @ S
            Ex += w @ Mean
            Ey += w @ S
    return EFHGrad(XY, Ex, Ey)


def data_moments(params: EFHParams, Y, weights=None) -> EFHGrad:
    r"""Moments under the hybrid distribution :math:`\hat p(\mathbf x\mid\mathbf y)p(\mathbf y)` (the data phase).

    Raises
    ------
    ValueError
        If ``params`` is malformed, ``Y`` is empty or not a batch of visible states, or ``weights`` is
        not a non-negative vector with a positive sum.
    """
    p = check_params(params)
    Y = check_layer(Y, p.visible, "Y", p.M, allow_fraction=True)
    w = _weights(Y, weights, Y.shape[0])
    Ex_y = mean_units(Y @ p.W.T + p.b_x, p.hidden)
    return EFHGrad((Ex_y * w[:, None]).T @ Y, w @ Ex_y, w @ Y)


def exact_gradient(params: EFHParams, Y, weights=None) -> EFHGrad:
    r"""The exact gradient of the MRE (Eq. 10.19): model moments minus hybrid (data) moments.

    This is Eqs. 10.15 and 10.16, the data-phase minus the model-phase expectation of :math:`dE/d\boldsymbol\theta`,
    for the harmonium's energy.

    .. math:: \frac{d D_{KL}}{d\mathbf W} = \mathbb E_{\hat{\mathbf X},\hat{\mathbf Y}}[\mathbf T\mathbf U^T]
              - \mathbb E_{\hat{\mathbf X},\mathbf Y}[\mathbf T\mathbf U^T],

    and likewise for the biases. ``Y`` holds the data (rows), optionally ``weights`` per row.
    """
    model = model_moments(params)
    data = data_moments(params, Y, weights)
    return EFHGrad(model.W - data.W, model.b_x - data.b_x, model.b_y - data.b_y)


def train_exact(params: EFHParams, Y, n_steps: int, *, lr: float = 0.1, weights=None, callback=None):
    r"""Gradient descent on the exact MRE with the exact gradient of Eq. 10.19 (small models only).

    Each step is :math:`\boldsymbol\theta \leftarrow \boldsymbol\theta - \text{lr}\,dD_{KL}/d\boldsymbol\theta`.
    ``callback(step, params)`` is called before the first step and after each; the list of its
    return values is returned with the final parameters, as ``(params, history)``.
    """
    from ..core.checks import positive_scalar
    p = check_params(params)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    lr = positive_scalar(lr, "lr")
    history = [callback(0, p)] if callback is not None else []
    for step in range(1, n_steps + 1):
        g = exact_gradient(p, Y, weights)
        p = p._replace(W=p.W - lr * g.W, b_x=p.b_x - lr * g.b_x, b_y=p.b_y - lr * g.b_y)
        if callback is not None:
            history.append(callback(step, p))
    return p, history


# ------------------------------------------------------------------------------------------------
# Exact Gibbs chains over the visible states (contrastive-divergence analysis)
# ------------------------------------------------------------------------------------------------
def _check_small_rbm(p: EFHParams, limit: int = 12):
    if p.hidden != "bernoulli" or p.visible != "bernoulli":
        raise ValueError("exact chains need a Bernoulli-Bernoulli harmonium (an RBM); got "
                         f"hidden={p.hidden!r}, visible={p.visible!r}.")
    if p.K > limit or p.M > limit:
        raise ValueError(f"exact chains build 2**M x 2**K tables: K and M must be at most {limit}; got K={p.K}, M={p.M}.")


def _conditional_tables(p: EFHParams):
    """P_xy[x, y] = p(x|y) and P_yx[y, x] = p(y|x) over all states."""
    Sx, Sy = states(p.K), states(p.M)
    eta = Sy @ p.W.T + p.b_x                          # (2^M, K)
    zeta = Sx @ p.W + p.b_y                           # (2^K, M)
    # log sigma(a) = -softplus(-a) and log(1 - sigma(a)) = -softplus(a): finite for any finite a, so a
    # saturated unit contributes a large finite log (not -inf times zero, which is NaN)
    log_px_y = -softplus(-eta) @ Sx.T - softplus(eta) @ (1 - Sx).T      # (2^M, 2^K): [y, x]
    log_py_x = -softplus(-zeta) @ Sy.T - softplus(zeta) @ (1 - Sy).T    # (2^K, 2^M): [x, y]
    return np.exp(log_px_y).T, np.exp(log_py_x).T


def visible_transition_matrix(params: EFHParams) -> np.ndarray:
    r"""The one-step block-Gibbs kernel on the visible states, column-stochastic:
    ``T[i, j]`` :math:`= \sum_{\mathbf x}\hat p(\mathbf y_i\mid\mathbf x)\hat p(\mathbf x\mid\mathbf y_j)`."""
    p = check_params(params)
    _check_small_rbm(p)
    P_xy, P_yx = _conditional_tables(p)
    return P_yx @ P_xy


def chain_distributions(params: EFHParams, p0, n_steps: int) -> np.ndarray:
    r"""The exact distributions :math:`p^0, p^1, \ldots, p^n` of the visible Gibbs chain started at ``p0``.

    Row ``n`` is :math:`p^n(\mathbf y)`, the distribution of :math:`\mathbf y^n` in the notation of
    Section 10.2.2 (``p0`` is the data distribution over the ``2**M`` states, e.g.
    :func:`empirical_distribution`). As ``n`` grows the rows approach :math:`p^\infty = \hat p(\mathbf y)`.
    """
    p = check_params(params)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    T = visible_transition_matrix(p)
    q = as_array(p0, "p0", shape=(2 ** p.M,), dims="(2**M,)")
    if (q < 0).any() or abs(q.sum() - 1.0) > 1e-8:
        raise ValueError("p0 must be a probability vector over the 2**M visible states.")
    out = np.empty((n_steps + 1, q.size))
    out[0] = q
    for n in range(n_steps):
        out[n + 1] = T @ out[n]
    return out


def kl_divergence(p, q) -> float:
    r""":math:`D_{KL}\{p\|q\} = \sum_i p_i\log(p_i/q_i)` for two probability vectors (terms with :math:`p_i = 0` vanish).

    Infinite when ``q`` is zero where ``p`` is not.

    Raises
    ------
    ValueError
        If ``p`` or ``q`` is not a probability vector, or they differ in length.
    """
    p = as_array(p, "p", ndim=1, nonempty=True)
    q = as_array(q, "q", shape=p.shape)
    check_prob_vector(p, "p")
    check_prob_vector(q, "q")
    mask = p > 0
    if np.any(q[mask] <= 0):
        return float("inf")
    return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(q[mask]))))


def expected_cd_gradient(params: EFHParams, p0, k: int) -> EFHGrad:
    r"""The expectation of the CD-k update (Eq. 10.20) under the exact chain, as a gradient of the loss.

    .. math:: \mathbb E\Big[\Big\langle\frac{dE}{d\boldsymbol\theta}\Big\rangle_{0} - \Big\langle\frac{dE}{d\boldsymbol\theta}\Big\rangle_{k}\Big],
              \quad\text{e.g. for } \mathbf W:\ \mathbb E_{p^k}[\mathbf x\mathbf y^T] - \mathbb E_{p^0}[\mathbf x\mathbf y^T],

    where :math:`p^n(\mathbf x,\mathbf y) = \hat p(\mathbf x\mid\mathbf y)p^n(\mathbf y)`. As ``k`` grows it
    tends to :func:`exact_gradient`. The two differ by
    :math:`\mathbb E_{p^k}[dE/d\boldsymbol\theta] - \mathbb E_{p^\infty}[dE/d\boldsymbol\theta]`, the derivative
    of :math:`\mathrm{KL}(p^k\,\|\,p^\infty)` with :math:`p^k` held fixed; the term Eq. 10.22 drops is the
    other part of that KL's derivative, through :math:`p^k` (``tests/harmonium/test_harmonium_cd_gradient.py``).
    """
    p = check_params(params)
    k = check_int(k, "k", minimum=1)
    dists = chain_distributions(p, p0, k)
    Sy = states(p.M)
    Ex_y = sigmoid(Sy @ p.W.T + p.b_x)

    def moments(q):
        return (Ex_y * q[:, None]).T @ Sy, q @ Ex_y, q @ Sy

    W0, bx0, by0 = moments(dists[0])
    Wk, bxk, byk = moments(dists[k])
    return EFHGrad(Wk - W0, bxk - bx0, byk - by0)

