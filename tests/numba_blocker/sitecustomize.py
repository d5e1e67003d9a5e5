"""Make numba (and llvmlite) unimportable in any Python started with this folder on PYTHONPATH.

Used to check the library's NumPy fallback the way the in-browser build meets it: nothing can reach
numba by another route. ``python3 tasks.py test`` runs one chapter notebook under nbval this way,
and ``tests/library/test_without_numba.py`` runs library tests this way.
"""
import sys


class _RefuseNumba:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("numba", "llvmlite"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked to test the NumPy fallback)", name=name)
        return None


sys.meta_path.insert(0, _RefuseNumba())
