r"""A simple (Elman) recurrent network and backpropagation through time (book Section 5.1.3, Eqs. 5.18-5.21).

The recurrent map is the book's "standard recurrent function" (after Eq. 5.20), with a linear
readout added so the hidden layer need not be the output layer:

.. math::
    \check{\mathbf z}_t = \tanh(\mathbf D_{\check z\check z}\check{\mathbf z}_{t-1}
        + \mathbf D_{y\check z}\mathbf y_t + \mathbf d_{\check z}), \qquad
    \check{\mathbf x}_t = \mathbf D_{\check z x}\check{\mathbf z}_t + \mathbf d_x, \qquad t = 1,\dots,T,

from a given :math:`\check{\mathbf z}_0` (zeros by default). In the more common notation
:math:`h_t = \tanh(W_{hh}h_{t-1} + W_{xh}x_t + b_h)`, :math:`y_t = W_{hy}h_t + b_y`, the
correspondence is ``W_hh = D_zz``, ``W_xh = D_yz``, ``b_h = d_z``, ``W_hy = D_zx``, ``b_y = d_x``
(inputs and outputs swap letters because of Chapter 5's role reversal: inputs are :math:`\mathbf y`).

Backpropagation through time. For a loss :math:`\mathcal S` that depends on the outputs (and
possibly on the hidden states directly), Eq. 5.20 gives the total derivative with respect to each
hidden state by a backward recursion, and Eq. 5.21 defines the backprop signal:

.. math::
    \frac{d\mathcal S}{d\check{\mathbf z}_t} = \frac{\partial\mathcal S}{\partial\check{\mathbf z}_t}
        + \mathbf D_{\check z\check z}^{\mathsf T}\,\mathbf b_{t+1}, \qquad
    \mathbf b_t := \mathbf J_t\,\frac{d\mathcal S}{d\check{\mathbf z}_t}, \qquad
    \mathbf J_t = \mathrm{diag}(1 - \check{\mathbf z}_t^2),

started at :math:`\mathbf b_{T+1} = \mathbf 0`. (In the book's row form the second term is
:math:`(d\mathcal S/d\check{\mathbf z}_{t+1}^{\mathsf T})\mathbf J_{t+1}\mathbf D_{\check z\check z}`; as a
column it needs the transpose, exactly as in Eq. 5.16.) The parameter gradients are then sums over
time (Eq. 5.19, second form; the sums start at :math:`t = 1`, see the errata):

.. math::
    \frac{d\mathcal S}{d\mathbf D_{\check z\check z}} = \sum_{t=1}^T \mathbf b_t\check{\mathbf z}_{t-1}^{\mathsf T}, \quad
    \frac{d\mathcal S}{d\mathbf D_{y\check z}} = \sum_{t=1}^T \mathbf b_t\mathbf y_t^{\mathsf T}, \quad
    \frac{d\mathcal S}{d\mathbf d_{\check z}} = \sum_{t=1}^T \mathbf b_t, \quad
    \frac{d\mathcal S}{d\check{\mathbf z}_0} = \mathbf D_{\check z\check z}^{\mathsf T}\mathbf b_1.

The only unavoidable loops over time are the recursions for :math:`\check{\mathbf z}_t` (forward)
and :math:`\mathbf b_t` (backward). The backward loop is a numba kernel
(:func:`~pedagogy_lib.nn.kernels.bptt_backward`) with a readable NumPy twin here
(``rnn_bptt(..., backend="numba"|"numpy")``); the forward loop stays in NumPy, whose vectorized
tanh is faster than a compiled scalar loop at these sizes. Everything that is a sum over time is
one matrix product over all ``T * N`` rows, shared by both backends.

Layout and time indexing (stated once): a batch of ``N`` sequences is time-major, ``Y`` of shape
``(T, N, D_y)``; code is 0-based and **row t is the book's t + 1**: ``Y[t]`` is
:math:`\mathbf y_{t+1}`, ``Z[t]`` is :math:`\check{\mathbf z}_{t+1}`, ``B[t]`` is
:math:`\mathbf b_{t+1}`; the initial state ``z0`` (:math:`\check{\mathbf z}_0`) is separate.
Samples are rows, so the column formulas above appear transposed in the code, as in
:mod:`pedagogy_lib.nn` (``Z_prev @ D_zz.T``, ``B @ D_zz``, ``B.T @ Z_prev``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.checks import positive_scalar, as_array, check_backend, check_int, check_rng
from . import kernels

__all__ = ["RNNParams", "RNNForward", "BPTTResult", "init_rnn", "rnn_forward", "rnn_bptt"]


class RNNParams(NamedTuple):
    r"""Parameters of the Elman RNN (shapes: ``H`` hidden units, ``D_y`` inputs, ``D_x`` outputs).

    Attributes
    ----------
    D_zz : ndarray, shape (H, H)
        Recurrent weights :math:`\mathbf D_{\check z\check z}` (``W_hh``).
    D_yz : ndarray, shape (H, D_y)
        Input weights :math:`\mathbf D_{y\check z}` (``W_xh``).
    d_z : ndarray, shape (H,)
        Hidden bias :math:`\mathbf d_{\check z}` (``b_h``).
    D_zx : ndarray, shape (D_x, H)
        Readout weights :math:`\mathbf D_{\check z x}` (``W_hy``).
    d_x : ndarray, shape (D_x,)
        Readout bias :math:`\mathbf d_x` (``b_y``).
    """

    D_zz: np.ndarray
    D_yz: np.ndarray
    d_z: np.ndarray
    D_zx: np.ndarray
    d_x: np.ndarray


class RNNForward(NamedTuple):
    r"""Result of :func:`rnn_forward` (row ``t`` is the book's step :math:`t+1`).

    Attributes
    ----------
    Z : ndarray, shape (T, N, H)
        Hidden states :math:`\check{\mathbf z}_1,\dots,\check{\mathbf z}_T`.
    X_hat : ndarray, shape (T, N, D_x)
        Readouts :math:`\check{\mathbf x}_t = \mathbf D_{\check z x}\check{\mathbf z}_t + \mathbf d_x`.
    """

    Z: np.ndarray
    X_hat: np.ndarray


class BPTTResult(NamedTuple):
    r"""Result of :func:`rnn_bptt`.

    Attributes
    ----------
    grads : RNNParams
        :math:`d\mathcal S/d\theta` for every parameter, shaped like the parameters.
    grad_Y : ndarray, shape (T, N, D_y)
        :math:`d\mathcal S/d\mathbf y_t = \mathbf D_{y\check z}^{\mathsf T}\mathbf b_t`.
    grad_z0 : ndarray, shape (N, H)
        :math:`d\mathcal S/d\check{\mathbf z}_0 = \mathbf D_{\check z\check z}^{\mathsf T}\mathbf b_1`.
    B : ndarray, shape (T, N, H)
        Backprop signals :math:`\mathbf b_t` (Eq. 5.21); their norms over ``t`` show vanishing or
        exploding gradients.
    """

    grads: RNNParams
    grad_Y: np.ndarray
    grad_z0: np.ndarray
    B: np.ndarray


# ----------------------------------------------------------------------------------------------
# Validation (once, at the boundary)
# ----------------------------------------------------------------------------------------------

def _check_params(params) -> RNNParams:
    if not isinstance(params, RNNParams):
        raise ValueError(f"params must be an RNNParams(D_zz, D_yz, d_z, D_zx, d_x); got {type(params).__name__}.")
    D_zz = as_array(params.D_zz, "D_zz", ndim=2, dims="(H, H)")
    H = D_zz.shape[0]
    D_zz = as_array(D_zz, "D_zz", shape=(H, H), dims="(H, H)")
    D_yz = as_array(params.D_yz, "D_yz", shape=(H, None), dims="(H, D_y)")
    d_z = as_array(params.d_z, "d_z", shape=(H,), dims="(H,)")
    D_zx = as_array(params.D_zx, "D_zx", shape=(None, H), dims="(D_x, H)")
    d_x = as_array(params.d_x, "d_x", shape=(D_zx.shape[0],), dims="(D_x,)")
    return RNNParams(D_zz, D_yz, d_z, D_zx, d_x)


def _check_inputs(params: RNNParams, Y, z0):
    H, D_y = params.D_yz.shape
    Y = as_array(Y, "Y", shape=(None, None, D_y), dims="(T, N, D_y)")
    T, N, _ = Y.shape
    if T == 0 or N == 0:
        raise ValueError(f"Y must have at least one time step and one sequence; got shape {Y.shape}.")
    z0 = np.zeros((N, H)) if z0 is None else as_array(z0, "z0", shape=(N, H), dims="(N, H)")
    return Y, z0


# ----------------------------------------------------------------------------------------------
# Forward recursion, Eq. 5.18 with the standard recurrent function
# ----------------------------------------------------------------------------------------------

def _forward_numpy(U, D_zz, z0):
    """The forward loop over time; ``U[t] = Y[t] @ D_yz.T + d_z`` (the input drive) is precomputed.

    There is deliberately no numba version: per step the work is one small matrix product and
    ``N * H`` evaluations of tanh, and NumPy's vectorized tanh beat numba's scalar tanh loop by
    about 3x in our measurements (``benchmarks/bench_nn.py``), so a kernel would be slower.
    """
    T, N, H = U.shape
    Z = np.empty((T, N, H))
    z_prev = z0
    for t in range(T):
        # z_t = tanh(D_zz z_{t-1} + D_yz y_t + d_z)   (rows: z_prev @ D_zz.T)
        Z[t] = np.tanh(U[t] + z_prev @ D_zz.T)
        z_prev = Z[t]
    return Z


# ----------------------------------------------------------------------------------------------
# Backward recursion over time, Eqs. 5.20-5.21
# ----------------------------------------------------------------------------------------------

def _bptt_numpy(G, Z, D_zz):
    """Readable twin of :func:`~pedagogy_lib.nn.kernels.bptt_backward`.

    ``G[t]`` is the direct (partial) derivative :math:`\\partial\\mathcal S/\\partial\\check{\\mathbf z}_t`
    per row; returns the backprop signals ``B`` and :math:`d\\mathcal S/d\\check{\\mathbf z}_0`.
    """
    T, N, H = Z.shape
    B = np.empty((T, N, H))
    carry = np.zeros((N, H))                             # D_zz^T b_{t+1} per row; zero after the last step
    for t in range(T - 1, -1, -1):
        # Eq. 5.20: dS/dz_t = dS/dz_t (direct) + D_zz^T b_{t+1}  (the future's share)
        dS_dz = G[t] + carry
        # Eq. 5.21: b_t = J_t dS/dz_t with J_t = diag(1 - z_t^2)
        B[t] = (1.0 - Z[t] ** 2) * dS_dz
        # D_zz^T b_t for step t - 1 (rows: b_t @ D_zz); at t = 0 this is dS/dz_0
        carry = B[t] @ D_zz
    return B, carry

_BPTT = {"numpy": _bptt_numpy, "numba": kernels.bptt_backward}


# ----------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------

def init_rnn(rng: np.random.Generator, D_y: int, H: int, D_x: int, *, gain: float = 1.0) -> RNNParams:
    r"""Random RNN parameters: Glorot-uniform input and readout weights, zero biases, Gaussian recurrence.

    :math:`\mathbf D_{\check z\check z}` has i.i.d. :math:`\mathcal N(0, \text{gain}^2/H)` entries,
    so its spectral radius is close to ``gain`` for large ``H`` (the circular law): ``gain < 1``
    makes backpropagated signals shrink over time, ``gain > 1`` lets them grow.

    Parameters
    ----------
    rng : numpy.random.Generator
    D_y, H, D_x : int
        Input, hidden and output widths.
    gain : float
        Scale of the recurrent weights.
    """
    rng = check_rng(rng)
    D_y = check_int(D_y, "D_y", minimum=1)
    H = check_int(H, "H", minimum=1)
    D_x = check_int(D_x, "D_x", minimum=1)
    gain = positive_scalar(gain, "gain")
    a_in = np.sqrt(6.0 / (D_y + H))
    a_out = np.sqrt(6.0 / (H + D_x))
    return RNNParams(D_zz=rng.normal(0.0, gain / np.sqrt(H), size=(H, H)),
                     D_yz=rng.uniform(-a_in, a_in, size=(H, D_y)),
                     d_z=np.zeros(H),
                     D_zx=rng.uniform(-a_out, a_out, size=(D_x, H)),
                     d_x=np.zeros(D_x))


def rnn_forward(params: RNNParams, Y, z0=None) -> RNNForward:
    r"""Run the RNN over a batch of sequences (Eq. 5.18 with the standard recurrent function).

    .. math::
        \check{\mathbf z}_t = \tanh(\mathbf D_{\check z\check z}\check{\mathbf z}_{t-1}
            + \mathbf D_{y\check z}\mathbf y_t + \mathbf d_{\check z}), \qquad
        \check{\mathbf x}_t = \mathbf D_{\check z x}\check{\mathbf z}_t + \mathbf d_x.

    Parameters
    ----------
    params : RNNParams
    Y : array_like, shape (T, N, D_y)
        Inputs, time-major: ``Y[t, n]`` is :math:`\mathbf y_{t+1}` of sequence ``n``.
    z0 : array_like, shape (N, H), optional
        Initial states :math:`\check{\mathbf z}_0`; zeros if omitted.

    Returns
    -------
    RNNForward
        ``Z`` (hidden states) and ``X_hat`` (readouts).
    """
    params = _check_params(params)
    Y, z0 = _check_inputs(params, Y, z0)
    T, N, D_y = Y.shape
    H, D_x = params.D_zz.shape[0], params.D_zx.shape[0]
    # Input drive for all steps at once: U[t] = D_yz y_t + d_z (rows; one product over T*N rows)
    U = (Y.reshape(T * N, D_y) @ params.D_yz.T + params.d_z).reshape(T, N, H)
    Z = _forward_numpy(U, params.D_zz, z0)
    X_hat = (Z.reshape(T * N, H) @ params.D_zx.T + params.d_x).reshape(T, N, D_x)
    return RNNForward(Z, X_hat)


def rnn_bptt(params: RNNParams, Y, Z, grad_X_hat, z0=None, *, grad_Z=None, backend: str = "auto") -> BPTTResult:
    r"""Backpropagation through time (Eqs. 5.19, 5.20 and 5.21) for the RNN of :func:`rnn_forward`.

    Given the hidden states from the forward pass and the gradient of the loss with respect to
    the readouts, computes :math:`\partial\mathcal S/\partial\check{\mathbf z}_t =
    \mathbf D_{\check z x}^{\mathsf T}\,\partial\mathcal S/\partial\check{\mathbf x}_t` (+ ``grad_Z``),
    runs the backward recursion

    .. math::
        \mathbf b_t = \mathbf J_t\Big(\frac{\partial\mathcal S}{\partial\check{\mathbf z}_t}
            + \mathbf D_{\check z\check z}^{\mathsf T}\mathbf b_{t+1}\Big), \qquad \mathbf b_{T+1} = \mathbf 0,

    and sums :math:`\mathbf b_t\check{\mathbf z}_{t-1}^{\mathsf T}`, :math:`\mathbf b_t\mathbf y_t^{\mathsf T}`,
    :math:`\mathbf b_t` over time (and over the batch).

    Parameters
    ----------
    params : RNNParams
    Y : array_like, shape (T, N, D_y)
        The inputs given to :func:`rnn_forward`.
    Z : array_like, shape (T, N, H)
        ``rnn_forward(params, Y, z0).Z``.
    grad_X_hat : array_like, shape (T, N, D_x)
        :math:`\partial\mathcal S/\partial\check{\mathbf x}_t` (for example a loss gradient reshaped
        to ``(T, N, D_x)``).
    z0 : array_like, shape (N, H), optional
        The initial states given to :func:`rnn_forward` (zeros if omitted).
    grad_Z : array_like, shape (T, N, H), optional
        Extra direct derivatives :math:`\partial\mathcal S/\partial\check{\mathbf z}_t` (a loss on
        the hidden states, e.g. a regularizer); zero if omitted.
    backend : {"auto", "numba", "numpy"}
        Compiled kernel or its readable NumPy twin for the loop over time; ``"auto"`` runs the twin while
        compiling would cost more than it saves (:func:`pedagogy_lib.core.jit.choose`).

    Returns
    -------
    BPTTResult
        ``grads`` (an :class:`RNNParams`), ``grad_Y``, ``grad_z0`` and the signals ``B``.

    Raises
    ------
    ValueError
        If an argument is malformed or not finite, ``Z`` holds values outside [-1, 1] (not tanh
        states), or the backpropagated signals overflow float64.
    """
    check_backend(backend)
    params = _check_params(params)
    Y, z0 = _check_inputs(params, Y, z0)
    T, N, D_y = Y.shape
    H = params.D_zz.shape[0]
    D_x = params.D_zx.shape[0]
    Z = as_array(Z, "Z", shape=(T, N, H), dims="(T, N, H)")
    if np.any(np.abs(Z) > 1.0):
        raise ValueError("Z must hold the hidden states of rnn_forward (tanh outputs, |Z| <= 1); got "
                         f"largest |Z| = {np.max(np.abs(Z)):.3g}.")
    grad_X_hat = as_array(grad_X_hat, "grad_X_hat", shape=(T, N, D_x), dims="(T, N, D_x)")
    # Direct derivatives dS/dz_t through the readout (rows: grad_X_hat @ D_zx), plus any given directly
    G = (grad_X_hat.reshape(T * N, D_x) @ params.D_zx).reshape(T, N, H)
    if grad_Z is not None:
        G = G + as_array(grad_Z, "grad_Z", shape=(T, N, H), dims="(T, N, H)")
    G = np.ascontiguousarray(G)
    B, grad_z0 = _BPTT[check_backend(backend, kernels.bptt_backward, T=T, N=N, H=H)](G, Z, params.D_zz)
    # Sums over time and batch (Eq. 5.19, second form), each one matrix product over T*N rows
    B2 = B.reshape(T * N, H)
    Z_prev = np.concatenate([z0[None], Z[:-1]], axis=0).reshape(T * N, H)     # z_{t-1} for t = 1..T
    grads = RNNParams(
        D_zz=B2.T @ Z_prev,                                # sum_t b_t z_{t-1}^T
        D_yz=B2.T @ Y.reshape(T * N, D_y),                 # sum_t b_t y_t^T
        d_z=B2.sum(axis=0),                                # sum_t b_t
        D_zx=grad_X_hat.reshape(T * N, D_x).T @ Z.reshape(T * N, H),   # readout: sum_t (dS/dx_t) z_t^T
        d_x=grad_X_hat.reshape(T * N, D_x).sum(axis=0),
    )
    grad_Y = (B2 @ params.D_yz).reshape(T, N, D_y)         # rows of D_yz^T b_t
    if not (np.all(np.isfinite(B)) and np.all(np.isfinite(grad_Y)) and all(np.all(np.isfinite(g)) for g in grads)):
        raise ValueError("the backpropagated signals overflow float64: the recurrence D_zz (largest |entry| "
                         f"{np.max(np.abs(params.D_zz)):.3g}) or grad_X_hat is too large for T = {T} steps.")
    return BPTTResult(grads, grad_Y, grad_z0, B)
