r"""Automatic-differentiation variational inference (ADVI): Gaussian VI for constrained latents.

The black-box VI of :mod:`pedagogy_lib.vi.bbvi` fits a Gaussian :math:`q`, which puts mass on the
whole real line. A rate, a variance or a probability lives on part of it. ADVI first maps each
constrained coordinate :math:`\theta_i` to an unconstrained :math:`\zeta_i = T_i(\theta_i)` and fits
the Gaussian to the density of :math:`\boldsymbol\zeta`, which by the change of variables (Eq. 8.25,
Eq. 9.3) is

.. math::
    \tilde p_\zeta(\boldsymbol\zeta) = \tilde p\big(T^{-1}(\boldsymbol\zeta)\big)\,
    \Big|\det\frac{\partial T^{-1}}{\partial\boldsymbol\zeta}\Big|,

so that the fitted :math:`q(\boldsymbol\zeta)` pushed back through :math:`T^{-1}` is a distribution on
the right support (a log-normal for a rate). Here each coordinate has its own transform:

* ``"log"`` for :math:`\theta > 0`: :math:`\theta = e^\zeta`, :math:`\log|J| = \zeta`;
* ``"logit"`` for :math:`0 < \theta < 1`: :math:`\theta = \sigma(\zeta)`,
  :math:`\log|J| = \log\theta + \log(1 - \theta)`;
* ``"identity"`` for an unconstrained coordinate.

:func:`unconstrained_target` returns the target of :math:`\boldsymbol\zeta` with its force (the chain
rule through :math:`T^{-1}` plus the log-Jacobian's derivative), which any of the estimators and
:func:`pedagogy_lib.vi.bbvi.fit_gaussian_vi` accept unchanged.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..core.checks import as_array
from ..core.logmath import sigmoid
from ..samplers.targets import PythonTarget, python_target

__all__ = ["TRANSFORMS", "to_constrained", "unconstrained_target"]

#: The transforms a coordinate can have, by name.
TRANSFORMS = ("identity", "log", "logit")


def _check_transforms(transforms, D: int | None = None) -> tuple[str, ...]:
    if isinstance(transforms, str) or not isinstance(transforms, Sequence):
        raise TypeError(f"transforms must be a sequence of names, one per coordinate, each one of {TRANSFORMS}; "
                        f"got {type(transforms).__name__}.")
    transforms = tuple(transforms)
    if len(transforms) < 1 or (D is not None and len(transforms) != D):
        want = "at least one" if D is None else str(D)
        raise ValueError(f"transforms must name {want} transform(s), one per coordinate; got {len(transforms)}.")
    for i, t in enumerate(transforms):
        if t not in TRANSFORMS:
            raise ValueError(f"transforms[{i}] must be one of {TRANSFORMS}; got {t!r}.")
    return transforms


def _inverse(zeta: np.ndarray, transforms: tuple[str, ...]):
    """theta = T^{-1}(zeta), d theta / d zeta, log|J| and d log|J| / d zeta, all of zeta's shape (S, D)."""
    theta, dtheta = zeta.copy(), np.ones_like(zeta)
    log_J, dlog_J = np.zeros_like(zeta), np.zeros_like(zeta)
    for i, t in enumerate(transforms):
        z = zeta[:, i]
        if t == "log":
            theta[:, i] = np.exp(z)
            dtheta[:, i] = theta[:, i]
            log_J[:, i], dlog_J[:, i] = z, 1.0
        elif t == "logit":
            th = sigmoid(z)
            theta[:, i] = th
            dtheta[:, i] = th * (1.0 - th)
            # log(theta) + log(1 - theta) = -softplus(-z) - softplus(z), stable for large |z|
            log_J[:, i] = -np.logaddexp(0.0, -z) - np.logaddexp(0.0, z)
            dlog_J[:, i] = 1.0 - 2.0 * th
    return theta, dtheta, log_J, dlog_J


def to_constrained(zeta, transforms) -> np.ndarray:
    r"""Map unconstrained points back to the model's support: :math:`\boldsymbol\theta = T^{-1}(\boldsymbol\zeta)`.

    Parameters
    ----------
    zeta : array_like, shape (S, D)
        Points of the unconstrained space, one per row (draws of the fitted :math:`q`, for instance).
    transforms : sequence of str, length D
        One of ``"identity"``, ``"log"``, ``"logit"`` per coordinate.

    Returns
    -------
    ndarray, shape (S, D)
    """
    zeta = as_array(zeta, "zeta", ndim=2, nonempty=True)
    transforms = _check_transforms(transforms, zeta.shape[1])
    return _inverse(zeta, transforms)[0]


def unconstrained_target(log_density_and_grad: Callable, transforms) -> PythonTarget:
    r"""The target of ADVI: the log density of :math:`\boldsymbol\zeta = T(\boldsymbol\theta)` and its force.

    .. math::
        \log\tilde p_\zeta(\boldsymbol\zeta) = \log\tilde p(\boldsymbol\theta) + \sum_i\log|J_i(\zeta_i)|,
        \qquad \frac{\partial\log\tilde p_\zeta}{\partial\zeta_i}
        = \frac{\partial\log\tilde p}{\partial\theta_i}\frac{d\theta_i}{d\zeta_i}
        + \frac{d\log|J_i|}{d\zeta_i},

    with :math:`\boldsymbol\theta = T^{-1}(\boldsymbol\zeta)` (the change of variables of Eqs. 8.25 and 9.3).

    Parameters
    ----------
    log_density_and_grad : callable
        ``f(theta) -> (log_p, grad)``: for points ``theta`` of shape (S, D) inside the support, the
        log density up to a constant, shape (S,), and its gradient in ``theta``, shape (S, D).
    transforms : sequence of str
        One of ``"identity"``, ``"log"``, ``"logit"`` per coordinate; its length is ``D``.

    Returns
    -------
    PythonTarget
        A ``D``-dimensional target for :mod:`pedagogy_lib.vi.bbvi` (or the samplers).

    Raises
    ------
    TypeError
        If ``log_density_and_grad`` is not callable or ``transforms`` is not a sequence.
    ValueError
        If a transform is unknown.
    """
    if not callable(log_density_and_grad):
        raise TypeError("log_density_and_grad must be callable f(theta) -> (log_p, grad); got "
                        f"{type(log_density_and_grad).__name__}.")
    transforms = _check_transforms(transforms)

    def log_density_and_force(zeta):
        theta, dtheta, log_J, dlog_J = _inverse(np.asarray(zeta, dtype=float), transforms)
        log_p, grad = log_density_and_grad(theta)
        return np.asarray(log_p, dtype=float) + log_J.sum(axis=1), np.asarray(grad, dtype=float) * dtheta + dlog_J

    return python_target(log_density_and_force, len(transforms))
