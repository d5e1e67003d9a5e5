"""Execute the book's notebooks into the build's execution cache, one process per core.

    python tools/execute_notebooks.py BUILD_DIR [--executed FOLDER]

The book's build (``execute_notebooks: cache`` in ``_config.yml``) executes each notebook that
its cache (``BUILD_DIR/.jupyter_cache``) does not hold, one after another. ``tasks.py`` runs this
script first, so that the notebooks execute in parallel (one process per core, each notebook in
its own folder with the build's cell timeout, through the same jupyter-cache function the build
uses) and the build then finds every one in the cache. A notebook whose code has not changed since its last execution is not run
again. One that fails here is left out of the cache: the build runs it again and reports the error
the usual way, so nothing is hidden by this step.

``--executed FOLDER``: notebooks already executed elsewhere, with their outputs, at their paths in
the checkout under ``FOLDER`` (the test command's run under nbval writes them there; see the
project's ``conftest.py``) go into the cache as they are; jupyter-cache matches them to the
notebooks by the hash of their code, so one whose notebook has changed since is executed here as usual.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebooks() -> list[Path]:
    """Every notebook the book's table of contents lists (``_toc.yml``)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found: list[Path] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                path = ROOT / f"{node['file']}.ipynb"
                if path.is_file():
                    found.append(path)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    return found


def cell_timeout() -> int:
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return int(config.get("execute", {}).get("timeout", 120))


def run_like_the_build(nb, cwd: str, timeout: int):
    """Execute the nbformat notebook ``nb`` in place, in the folder ``cwd``, as the build would (the
    jupyter-cache function it uses, each cell within ``timeout`` seconds); returns that function's result
    (``.err`` is the failure or None, ``.time`` the seconds).

    The kernel talks to its client over Unix sockets in a private folder (ZeroMQ's ``ipc``
    transport) rather than over TCP ports on 127.0.0.1: kernels started at the same moment by two
    processes can otherwise pick the same free port, and one of them fails to start. The kernel is
    shut down afterwards, whatever happened.
    """
    import tempfile

    from jupyter_cache.executors.utils import single_nb_execution

    with tempfile.TemporaryDirectory(prefix="kernel-sockets-") as sockets:
        extra = {}
        if os.name == "posix":
            from jupyter_client.manager import AsyncKernelManager

            name = nb.metadata.get("kernelspec", {}).get("name", "python3")
            extra["km"] = AsyncKernelManager(kernel_name=name, transport="ipc", ip=os.path.join(sockets, "k"))
        try:
            return single_nb_execution(nb, cwd=cwd, timeout=timeout, allow_errors=False, meta_override=True,
                                       **extra)
        finally:
            # nbclient leaves running a kernel whose manager it was handed: shut it down here, or every
            # notebook's kernel lives (a few hundred MB each) until this process ends
            km = extra.get("km")
            if km is not None and km.has_kernel:
                from jupyter_core.utils import run_sync

                run_sync(km.shutdown_kernel)(now=True)


def execute_one(uri: str, timeout: int) -> tuple[str, str, float, str | None]:
    """Execute one notebook in its own folder, as the build would (:func:`run_like_the_build`):
    (uri, executed JSON, seconds, error)."""
    import nbformat

    nb = nbformat.read(uri, as_version=4)
    result = run_like_the_build(nb, str(Path(uri).parent), timeout)
    error = None if result.err is None else f"{type(result.err).__name__}: {str(result.err)[:300]}"
    return uri, nbformat.writes(nb), result.time, error


def main(build_dir: Path, executed: Path | None = None) -> int:
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(build_dir / ".jupyter_cache"))
    uris, taken = [], 0
    for path in notebooks():
        cache.add_nb_to_project(str(path))
        uris.append(str(path))
        done = executed / path.relative_to(ROOT) if executed else None
        if done is not None and done.is_file():
            # cached under the hash of its code: a notebook changed since it ran matches nothing, and runs below
            cache.cache_notebook_bundle(CacheBundleIn(nbformat.read(done, as_version=4), str(path)),
                                        check_validity=False, overwrite=True)
            taken += 1
    if executed:
        print(f"[execute] {taken} notebooks executed under nbval put in the cache, from {executed}", flush=True)
    stale = [record.uri for record in cache.list_unexecuted() if record.uri in uris]
    print(f"[execute] {len(uris) - len(stale)} of {len(uris)} notebooks already in the cache; "
          f"executing {len(stale)}, {os.cpu_count() or 1} at a time", flush=True)
    if not stale:
        return 0
    stale.sort(key=lambda uri: -Path(uri).stat().st_size)        # the longest first, for a balanced finish
    timeout = cell_timeout()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = [pool.submit(execute_one, uri, timeout) for uri in stale]
        for future in as_completed(futures):
            uri, text, seconds, error = future.result()
            name = Path(uri).relative_to(ROOT)
            if error:
                print(f"[execute] {name} failed here ({error}); the build will run it again and report "
                      "the error", flush=True)
                continue
            cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(text, as_version=4), uri,
                                                      data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"[execute] {name}: {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--executed"):
        sys.exit("usage: python tools/execute_notebooks.py BUILD_DIR [--executed FOLDER]")
    sys.exit(main(Path(args[0]).resolve(), Path(args[2]).resolve() if len(args) == 3 else None))
