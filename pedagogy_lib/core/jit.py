"""numba when it is installed, plain Python when it is not.

Every kernel module decorates its loops with :func:`njit` from here instead of importing numba
itself. With numba installed this is ``numba.njit(cache=True)``: compiled once, then loaded from the
on-disk cache. Without numba (for example in the in-browser JupyterLite build, whose Python runtime
has no LLVM) the decorator returns the function unchanged, and :func:`pedagogy_lib.core.checks.check_backend`
sends every ``backend="numba"`` request to the NumPy twin instead, so results are the same and only
speed differs. Set the environment variable ``PEDAGOGY_DISABLE_NUMBA=1`` to get that behaviour with
numba installed (the test suite does, to check the fallback).

**A first run.** Compiling a kernel costs seconds (up to about 20 for the Kalman filter's); a page that
calls it a few times on small inputs is done sooner by the twin. So the default ``backend="auto"`` of every
public function that has a kernel follows one rule, :func:`choose`: the compiled kernel once it
is compiled (in this process, or marked as compiled in numba's cache on this machine), or once this
call's work, added to what the twin already did for the same kernel in this process, comes to
:data:`COMPILE_AFTER_TWIN_SECONDS`; the twin until then. The work is an estimate of the twin's seconds
computed from the sizes alone: the choice depends on the sizes and on whether the kernel is compiled,
never on a clock, and the twin agrees with the kernel to the tolerance the tests hold them to.
``backend="numba"`` and ``backend="numpy"`` choose outright.

**The registry.** Each kernel that ``"auto"`` may choose declares once, in :mod:`pedagogy_lib.core.costs`
(read only by this module), its NumPy twin, the sizes its cost depends on, and the estimate of the twin's
seconds from those sizes. A public function resolves its backend with one call,
``check_backend(backend, kernel, **sizes)`` (or :func:`choose` when the string is already checked), once
per call of the public function, and hands the resolved ``"numba"`` or ``"numpy"`` to whatever it calls
inside, so the estimate is counted once. Validation kernels (a screen compiled to check a model) are
registered under the same rule. :func:`registry` lists the entries; ``benchmarks/twin_costs.py`` times
every twin against its estimate.

Whenever numba compiles one of the library's kernels (not when it loads one from its cache), the
reader sees one line on standard error naming the kernel and saying that later runs load it from the
cache; once per kernel and process (the helpers compiled inside a kernel are not named).
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

__all__ = ["COMPILE_AFTER_TWIN_SECONDS", "HAVE_NUMBA", "choose", "compile_for", "mark_compiled", "njit",
           "njit_ieee", "njit_inline", "prefer_compiled", "registry", "twin_estimate"]

try:
    if os.environ.get("PEDAGOGY_DISABLE_NUMBA", "") not in ("", "0"):
        raise ImportError("numba disabled by PEDAGOGY_DISABLE_NUMBA")
    import numba as _numba
except ImportError:
    _numba = None

#: True when the kernels are compiled by numba; False when the NumPy twins do all the work.
HAVE_NUMBA: bool = _numba is not None


def njit(func):
    """Compile ``func`` with ``numba.njit(cache=True)``, or return it unchanged without numba.

    The uncompiled function gets a ``py_func`` attribute pointing at itself, as numba's
    dispatchers have, so code that asks for the Python version works either way.
    """
    if _numba is not None:
        return _numba.njit(cache=True)(func)
    func.py_func = func
    return func


def njit_inline(func):
    """Like :func:`njit`, but numba inlines the function into its compiled callers (``inline="always"``).

    For the small dense helpers of a kernel (a 2 x 2 product, a Cholesky step): inlined, the compiler
    sees the whole time step at once, and no array structures are passed per call.
    """
    if _numba is not None:
        return _numba.njit(cache=True, inline="always")(func)
    func.py_func = func
    return func


def njit_ieee(func):
    """Like :func:`njit`, with NumPy's floating-point error model (``error_model="numpy"``).

    By default numba follows Python and checks every floating division for a zero divisor (to
    raise ``ZeroDivisionError``); that branch keeps a loop with divisions from being vectorized.
    With this decorator a division by zero gives an infinity or NaN as in NumPy, so an elementwise
    loop with divisions and square roots compiles to vector instructions. For kernels whose
    divisors are positive by construction, or whose caller checks the result for NaN.
    """
    if _numba is not None:
        return _numba.njit(cache=True, error_model="numpy")(func)
    func.py_func = func
    return func


def compile_for(func, signature: str):
    """``func`` compiled now (or loaded from the cache) for the argument types ``signature`` and no others, by
    ``numba.njit(signature, cache=True)``; ``func`` itself without numba.

    numba's dispatcher then checks the types of every call in C, and raises ``TypeError`` ("No matching
    definition") for any other dtype, dimension or layout, or a read-only array, instead of compiling
    another version: a caller that catches it needs no checks of its own. Compiling at once is the price,
    so a caller that may never need the function calls this on first use.
    """
    if _numba is not None:
        return _numba.njit(signature, cache=True)(func)
    return func


# ------------------------------------------------------------------------------------------------
# backend="auto": the kernel or its twin, by the work (see the module docstring)
# ------------------------------------------------------------------------------------------------

#: ``backend="auto"`` runs a kernel's twin until the twin's estimated work for it in this process
#: (this call included) reaches this many seconds. Compiling one of the kernels that choose this way
#: costs 5 to 20 s, so a reader never pays the twin more than about twice what compiling at once would
#: have cost, and a page that calls a kernel on small inputs never compiles it.
COMPILE_AFTER_TWIN_SECONDS = 5.0

_LIBRARY = Path(__file__).resolve().parents[1]
_twin_seconds: dict[str, float] = {}          # per kernel: the twin's estimated work so far in this process
_announced: set[str] = set()                 # kernels whose compiling the reader has been told about
_ready: set = set()                          # kernels known compiled (asking numba costs microseconds)


def _kernel_name(kernel) -> str:
    return f"{kernel.py_func.__module__}.{kernel.py_func.__qualname__}"


def _marker_dir() -> Path:
    """Where the marks of compiled kernels live: beside numba's cache (``NUMBA_CACHE_DIR`` when set, else
    the library's ``__pycache__`` when writable, else the user's cache directory)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "pedagogy_lib-compiled"
    if os.access(_LIBRARY, os.W_OK):
        return _LIBRARY / "__pycache__" / "compiled"
    return Path.home() / ".cache" / "pedagogy_lib" / "compiled"


_key: str | None = None


def _library_key() -> str:
    """A digest of what numba's cache depends on: numba's and Python's versions, the target CPU name, and
    every file of compiled code (``<family>/kernels.py``, the only files that compile, and this one: path,
    size, modification time). An edit or a reinstall changes it, so a mark never outlives the cache
    entry it stands for."""
    global _key
    if _key is None:
        h = hashlib.blake2b(digest_size=8)
        h.update(f"{_numba.__version__ if _numba else ''} {sys.version_info[:2]} "
                 f"{os.environ.get('NUMBA_CPU_NAME', '')}".encode())
        for path in sorted([*_LIBRARY.glob("*/kernels.py"), Path(__file__).resolve()]):
            st = path.stat()
            h.update(f"{path.relative_to(_LIBRARY)} {st.st_size} {st.st_mtime_ns}".encode())
        _key = h.hexdigest()
    return _key


def _marker(kernel) -> Path:
    return _marker_dir() / f"{_kernel_name(kernel)}.{_library_key()}"


def mark_compiled(kernel) -> None:
    """Record that ``kernel`` is in numba's cache on this machine (best effort: a read-only place is skipped)."""
    try:
        path = _marker(kernel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


def _registry_key(kernel) -> str:
    """The registry's key of ``kernel``: its module and name under ``pedagogy_lib``, e.g. ``"hmm.kernels.forward"``."""
    return _kernel_name(kernel).removeprefix("pedagogy_lib.")


def registry():
    """The registered kernels: a read-only mapping from a kernel's module and name under ``pedagogy_lib`` (e.g.
    ``"hmm.kernels.forward"``) to a
    :class:`pedagogy_lib.core.costs.Cost` (``twin``, ``sizes``, ``seconds``, ``callers``, ``validation``)."""
    from types import MappingProxyType

    from .costs import COSTS
    return MappingProxyType(COSTS)


def twin_estimate(kernel, **sizes) -> float:
    """The registered estimate of the twin's seconds for ``kernel`` at ``sizes`` (the names its entry declares).

    Raises
    ------
    LookupError
        If ``kernel`` has no entry in the registry.
    TypeError
        If ``sizes`` are not exactly the names the entry declares.
    """
    from .costs import COSTS
    key = kernel if isinstance(kernel, str) else _registry_key(kernel)
    try:
        cost = COSTS[key]
    except KeyError:
        raise LookupError(f"kernel {key} has no cost estimate in pedagogy_lib.core.costs; add its entry "
                          "(twin, sizes, seconds, callers) there.") from None
    if set(sizes) != set(cost.sizes):
        raise TypeError(f"the estimate of {key} takes the sizes {', '.join(cost.sizes)}; got "
                        f"{', '.join(sorted(sizes)) or 'none'}.")
    return float(cost.seconds(**sizes))


def choose(kernel, **sizes) -> str:
    """The rule of ``backend="auto"`` for a registered ``kernel`` at ``sizes``: ``"numba"`` or ``"numpy"``.

    Counts the twin's estimated work (:func:`twin_estimate`) once, so call it once per call of a public
    function and pass the answer down. Without numba it is always ``"numpy"``.
    """
    if kernel in _ready:                              # compiled in this process: no estimate to weigh, so that
        return "numba"                                # a loop of cheap calls pays next to nothing for the rule
    seconds = twin_estimate(kernel, **sizes)          # checks the entry even where numba is absent
    return "numba" if prefer_compiled(kernel, seconds) else "numpy"


def prefer_compiled(kernel, twin_seconds: float) -> bool:
    """The rule of ``backend="auto"``: True to call the compiled ``kernel``, False for its twin.

    :func:`choose` calls it with the registered estimate; a caller with an estimate of its own (a family
    not yet in the registry) may call it directly.

    Parameters
    ----------
    kernel : numba dispatcher
        The kernel the compiled path calls first.
    twin_seconds : float
        The caller's estimate, from the sizes alone, of what this call costs on the twin.
    """
    if _numba is None:
        return False
    if kernel in _ready:
        return True
    if kernel.signatures or _marker(kernel).exists():
        _ready.add(kernel)
        return True
    name = _kernel_name(kernel)
    # kept even past the threshold: should the compiled path not compile ``kernel`` itself, a later
    # smaller call must not fall back to the twin
    spent = _twin_seconds[name] = _twin_seconds.get(name, 0.0) + twin_seconds
    return spent >= COMPILE_AFTER_TWIN_SECONDS


if _numba is not None:
    from numba.core import event as _event

    class _CompileNotice(_event.Listener):
        """Says that numba is compiling a library kernel (the kernel called, not the helpers compiled
        inside it), once per kernel and process; marks each compiled kernel."""

        depth = 0

        def on_start(self, ev):
            self.depth += 1
            kernel = ev.data["dispatcher"].py_func
            name = f"{kernel.__module__}.{kernel.__qualname__}"
            if self.depth == 1 and name.startswith("pedagogy_lib.") and name not in _announced:
                _announced.add(name)
                print(f"Compiling {name.removeprefix('pedagogy_lib.')} with numba for this machine "
                      "(a one-off: later runs load it from numba's cache).", file=sys.stderr, flush=True)

        def on_end(self, ev):
            self.depth -= 1
            kernel = ev.data["dispatcher"]
            if kernel.py_func.__module__.startswith("pedagogy_lib.") and kernel.signatures:   # compiled
                mark_compiled(kernel)

    _event.register("numba:compile", _CompileNotice())
