r"""numba kernels of the neural-network family (book Section 5.1.3): the backward loop of
backpropagation through time, the backward step of a tanh layer and the Adam update.

* :func:`bptt_backward`: the recursion over time of Eqs. 5.20-5.21 for the Elman network of
  :mod:`~pedagogy_lib.nn.rnn`, which computes the backprop signals :math:`\mathbf b_t` from the last
  step to the first (the forward loop stays in NumPy: its vectorized tanh is faster there).
* :func:`tanh_backward`: a tanh layer's step of backpropagation,
  :math:`\mathbf b = \mathbf J\,d\mathcal S/d\check{\mathbf z}` with :math:`\mathbf J = \mathrm{diag}(1-\check{\mathbf z}^2)`,
  one pass over the batch in place (NumPy needs three and a temporary), for
  :class:`~pedagogy_lib.nn.network.Activation`.
* :func:`adam_update`: one Adam step (Kingma and Ba 2015) on one flattened parameter leaf, for
  :class:`~pedagogy_lib.nn.optim.Adam`; the step's scalars (hyper-parameters and bias
  corrections) come in one tuple, shared by every leaf.

The public functions, their validation and the readable NumPy twins (``rnn._bptt_numpy``,
``network._tanh_backward_numpy``, ``optim._adam_numpy``) are in :mod:`~pedagogy_lib.nn.rnn`,
:mod:`~pedagogy_lib.nn.network` and :mod:`~pedagogy_lib.nn.optim`.
Contract: the kernels validate nothing and draw no random number. :func:`adam_update` writes into
arrays its caller allocated and reports a non-finite result by its return value, which the caller
turns into an error naming the input at fault; :func:`tanh_backward` overwrites the gradient it is
given (the caller passes an array of its own); :func:`bptt_backward` returns the signals in an array
of its own (the caller checks them for overflow).
"""
from __future__ import annotations

import numpy as np

from ..core.jit import njit, njit_ieee

__all__ = ["warmup_kernels"]


# ----------------------------------------------------------------------------------------------
# Backpropagation through time, Eqs. 5.20-5.21
# ----------------------------------------------------------------------------------------------

@njit
def bptt_backward(G, Z, D_zz):
    """The backward recursion of backpropagation through time (Eqs. 5.20-5.21): the signals ``B`` (T, N, H).

    ``G[t]`` holds the direct derivatives of the loss with respect to the hidden states ``Z[t]``;
    returns ``B`` and :math:`\\mathbf D_{\\check z\\check z}^{\\mathsf T}\\mathbf b_1` per row (the
    derivative with respect to the initial state). NumPy twin: :func:`~pedagogy_lib.nn.rnn._bptt_numpy`.

    The elementwise step is an explicit loop (no temporaries); the product with
    :math:`\\mathbf D_{\\check z\\check z}` is a BLAS call writing into a preallocated buffer.
    """
    T, N, H = Z.shape
    B = np.empty((T, N, H))
    carry = np.zeros((N, H))                             # D_zz^T b_{t+1} per row; zero after the last step
    for t in range(T - 1, -1, -1):
        for n in range(N):
            for i in range(H):
                # Eq. 5.20: dS/dz_t = dS/dz_t (direct) + D_zz^T b_{t+1}
                dS_dz = G[t, n, i] + carry[n, i]
                # Eq. 5.21: b_t = J_t dS/dz_t with J_t = diag(1 - z_t^2)
                B[t, n, i] = (1.0 - Z[t, n, i] * Z[t, n, i]) * dS_dz
        # D_zz^T b_t for step t - 1 (rows: b_t @ D_zz); at t = 0 this is dS/dz_0
        np.dot(B[t], D_zz, carry)
    return B, carry


# ----------------------------------------------------------------------------------------------
# The backward step of a tanh layer, Eq. 5.16's Jacobian
# ----------------------------------------------------------------------------------------------

@njit
def tanh_backward(G, Z):
    r"""``G`` times the tanh layer's diagonal Jacobian, in place: ``G[n, i] *= 1 - Z[n, i]^2``.

    ``G`` holds :math:`d\mathcal S/d\check{\mathbf z}` per row and ``Z`` the layer's outputs
    :math:`\check{\mathbf z} = \tanh(\mathbf a)` (the derivative :math:`1-\tanh^2` needs no other
    input); afterwards ``G`` holds :math:`\mathbf b = \mathbf J\,d\mathcal S/d\check{\mathbf z}`
    (Eq. 5.16). Both are 2-D of the same shape and distinct (aliasing keeps the loop from being
    vectorized). NumPy twin: :func:`~pedagogy_lib.nn.network._tanh_backward_numpy`, which computes the
    same products in three passes and a temporary array.
    """
    n, m = G.shape
    for r in range(n):
        for i in range(m):
            G[r, i] *= 1.0 - Z[r, i] * Z[r, i]


# ----------------------------------------------------------------------------------------------
# Adam
# ----------------------------------------------------------------------------------------------

@njit_ieee                                            # divisions vectorize (the divisors are positive)
def adam_update(p, g, m, v, h, p_new, m_new, v_new):
    r"""One leaf's Adam update in a single pass over flat (1-D) arrays; returns whether ``p_new`` is finite.

    :math:`\mathbf m \leftarrow \beta_1\mathbf m + (1-\beta_1)\mathbf g`,
    :math:`\mathbf v \leftarrow \beta_2\mathbf v + (1-\beta_2)\mathbf g^2`,
    :math:`\theta \leftarrow \theta - \eta\,(\mathbf m/c_1)/(\sqrt{\mathbf v/c_2} + \epsilon)`, with
    ``h = (b1, b2, lr, eps, c1, c2)`` the step's scalars (the bias corrections are
    :math:`c_1 = 1-\beta_1^t`, :math:`c_2 = 1-\beta_2^t`). NumPy twin:
    :func:`~pedagogy_lib.nn.optim._adam_numpy`.

    ``h`` is a plain tuple, not a NamedTuple: numba types a plain tuple in the C fast path of its
    dispatcher, a NamedTuple in Python, which cost about 0.5 us per call here, as much as the whole
    update of a small leaf.

    A NaN or infinity in ``p`` or ``g`` always reaches ``p_new`` (an infinite gradient makes
    ``m / sqrt(v)`` infinity over infinity), so the caller learns from the flag that an input was
    not finite without a pass of its own over the inputs.
    """
    b1, b2, lr, eps, c1, c2 = h
    finite = True
    for i in range(p.size):
        gi = g[i]
        mi = b1 * m[i] + (1.0 - b1) * gi
        vi = b2 * v[i] + (1.0 - b2) * (gi * gi)
        pi = p[i] - lr * (mi / c1) / (np.sqrt(vi / c2) + eps)
        m_new[i] = mi
        v_new[i] = vi
        p_new[i] = pi
        finite &= (pi - pi) == 0.0                   # False for an infinite or NaN entry
    return finite


def warmup_kernels() -> None:
    """Compile (or load from cache) the BPTT kernel on a tiny problem, the tanh step and the Adam kernel on
    tiny arrays."""
    rng = np.random.default_rng(0)
    D_zz = 0.5 * rng.standard_normal((4, 4))
    Z = np.tanh(rng.standard_normal((3, 2, 4)))          # hidden states lie in (-1, 1)
    bptt_backward(rng.standard_normal((3, 2, 4)), Z, D_zz)
    tanh_backward(rng.standard_normal((2, 4)), Z[0])
    x = np.ones(3)
    h = (0.9, 0.999, 1e-3, 1e-8, 1.0 - 0.9, 1.0 - 0.999)    # Adam's scalars at its first step
    adam_update(x, x, np.zeros(3), np.zeros(3), h, np.empty(3), np.empty(3), np.empty(3))
