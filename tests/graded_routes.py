"""One check shared by the exercise tests: a route that answers an exercise in one or two library calls is
named by its statement and refused in the graded student process (courseware/grading.py)."""
from __future__ import annotations


def assert_refused_when_graded(check, label: str, checker_name: str, answer_name: str, imports: str,
                               code: str) -> None:
    """Grade ``code`` (after ``imports``) as the answer of ``label``; it must fail with "not allowed"."""
    from courseware import grading as G
    from courseware.editions import all_exercises

    ex = next(e for e in all_exercises() if e.label == label)
    for dotted in check.SUMMATIVE[label]["forbidden"]:
        assert dotted.rpartition(".")[2] + "`" in ex.statement, (label, dotted)
    cells = [(imports, False), (code, True)]
    passed, text = G.grade_exercise(label, ex.checker_module, checker_name, [answer_name], cells, "s")
    if passed or "not allowed in this exercise" not in text:
        # say why: the same imports as a cell that must run report their own error
        _, why = G.grade_exercise(label, ex.checker_module, checker_name, [answer_name],
                                  [(imports, True), (code, True)], "s")
        raise AssertionError(f"{text}\n--- with the imports as a cell that must run:\n{why}")


#: The start of a route that reads a pseudo-inverse off ``scipy.linalg.pinvh`` (imported as ``sla``): the
#: pseudo-inverse of the symmetric matrix [[0, Z], [Z^T, 0]] holds ``pinv(Z)`` in its lower left block.
PINV_THROUGH_PINVH = ("def pinv_(Z):\n"
                      "    m, n = Z.shape\n"
                      "    B = np.block([[np.zeros((m, m)), Z], [Z.T, np.zeros((n, n))]])\n"
                      "    return sla.pinvh(B)[m:, :m]\n")


#: The same opening with SciPy's interpolative decomposition (``scipy.linalg`` imported as ``sla``, with its
#: ``interpolative`` submodule): the ID of [Z, s I] at the rank of a tall Z, computed by pivoted QR, keeps Z's
#: columns (s is small) and writes the columns of s I through them by their least-squares coefficients,
#: s pinv(Z), with ``idx`` saying which row and column of it each entry of ``proj`` is.
PINV_THROUGH_INTERP_DECOMP = ("def pinv_(Z):\n"
                              "    m, n = Z.shape\n"
                              "    s = 1e-6 * np.abs(Z).max()\n"
                              "    A = np.column_stack([Z, s * np.eye(m)])\n"
                              "    idx, proj = sla.interpolative.interp_decomp(A, n, rand=False)\n"
                              "    P = np.empty((n, m))\n"
                              "    P[np.ix_(idx[:n], idx[n:] - n)] = proj / s\n"
                              "    return P\n")


def through_interp_decomp(code: str) -> str:
    """A route written with :data:`PINV_THROUGH_PINVH`, with the pseudo-inverse taken from the interpolative
    decomposition instead (:data:`PINV_THROUGH_INTERP_DECOMP`)."""
    assert code.startswith(PINV_THROUGH_PINVH)
    return PINV_THROUGH_INTERP_DECOMP + code[len(PINV_THROUGH_PINVH):]


def assert_passes_then_refused(check, label: str, checker_name: str, names: list[str], imports: str,
                               code: str) -> None:
    """``code`` (after ``imports``), run ungraded, passes ``check.<checker_name>`` with the values it binds to
    ``names``; graded as the answer of ``label`` it is refused (:func:`assert_refused_when_graded`)."""
    ns: dict = {}
    exec(imports + code, ns)  # noqa: S102 - the test's own answer, run ungraded to show it passes the checker
    assert getattr(check, checker_name)(*[ns[n] for n in names])
    assert_refused_when_graded(check, label, checker_name, names[0], imports, code)


#: The same opening with SciPy's null space (``scipy.linalg`` imported as ``sla``): for a tall Z of full column
#: rank and a small s, the null vector of [Z, s e_i] taken with a cut-off between s and Z's smallest singular
#: value is the total least-squares solution of Z x = s e_i, which tends to s times the least-squares one as s
#: shrinks (an error of order s squared), so one call per column of I gives pinv(Z).
PINV_THROUGH_NULL_SPACE = ("def pinv_(Z):\n"
                           "    m, n = Z.shape\n"
                           "    s = 1e-6 * np.abs(Z).max()\n"
                           "    P = np.empty((n, m))\n"
                           "    for i in range(m):\n"
                           "        v = sla.null_space(np.column_stack([Z, s * np.eye(m)[:, i]]), rcond=1e-4)[:, 0]\n"
                           "        P[:, i] = -v[:n] / (v[n] * s)\n"
                           "    return P\n")


def through_null_space(code: str) -> str:
    """A route written with :data:`PINV_THROUGH_PINVH`, with the pseudo-inverse taken from SciPy's null space
    instead (:data:`PINV_THROUGH_NULL_SPACE`)."""
    assert code.startswith(PINV_THROUGH_PINVH)
    return PINV_THROUGH_NULL_SPACE + code[len(PINV_THROUGH_PINVH):]


#: A derivative read off SciPy's matrix function (``scipy.linalg`` imported as ``sla``): by Parlett's recurrence,
#: g of the triangular matrix [[ih, 1], [0, -ih]] holds the divided difference (g(ih) - g(-ih)) / (2ih) in its
#: corner, which for a g real on the real line is the complex-step derivative g'(0), exact to rounding at
#: h = 1e-20. The route hands ``deriv`` the function it was asked to differentiate.
DERIVATIVE_THROUGH_FUNM = ("def deriv(g, h=1e-20):\n"
                           "    A = np.array([[1j * h, 1.0], [0.0, -1j * h]])\n"
                           "    return sla.funm(A, lambda ts: np.array([g(t) for t in ts]))[0, 1].real\n")

#: One Newton step on a function ``f`` of a vector, its slopes and curvatures read off the same matrix
#: function: along a direction v, t -> f(x0 + t v) is a parabola when f is quadratic, and g of
#: [[-1, 1, 0], [0, 0, 1], [0, 0, 1]] holds g[-1, 0] and g[-1, 0, 1] in its first row, so the slope at 0 is
#: their sum and the curvature twice the second. For a quadratic objective (an M step's) the step lands on
#: the minimizer, with no derivative taken by hand.
NEWTON_THROUGH_FUNM = ("def newton(f, x0):\n"
                       "    T = np.array([[-1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])\n"
                       "    def dd(v):\n"
                       "        F = sla.funm(T, lambda ts: np.array([f(x0 + t * v) for t in ts]))\n"
                       "        return F[0, 1] + F[0, 2], F[0, 2]\n"
                       "    n = x0.size\n"
                       "    E = np.eye(n)\n"
                       "    g, H = np.zeros(n), np.zeros((n, n))\n"
                       "    for i in range(n):\n"
                       "        g[i], a = dd(E[i])\n"
                       "        H[i, i] = 2 * a\n"
                       "    for i in range(n):\n"
                       "        for j in range(i + 1, n):\n"
                       "            H[i, j] = H[j, i] = dd(E[i] + E[j])[1] - (H[i, i] + H[j, j]) / 2\n"
                       "    return x0 - np.linalg.solve(H, g)\n")
