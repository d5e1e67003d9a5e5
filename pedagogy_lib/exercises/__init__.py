"""Exercise checkers: call them with your answer; they say whether it is right, and if not, what
is wrong (shape, sign, tolerance, the first failing test case) without printing the solution.

Each chapter has a module, imported in its notebook as ``check``::

    from pedagogy_lib.exercises import ch02_gmm as check
    check.responsibilities(my_r)

The problem data for each exercise are constants in the same module (shown in the notebook), and
the reference answers are computed from them when a checker runs.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["checker"], eager=("checker",))
