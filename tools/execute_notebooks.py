"""Execute the book's notebooks into the build's execution cache, one process per core.

    python tools/execute_notebooks.py BUILD_DIR

The book's build (``execute_notebooks: cache`` in ``_config.yml``) executes each notebook that
its cache (``BUILD_DIR/.jupyter_cache``) does not hold, one after another. ``tasks.py`` runs this
script first, so that the notebooks execute in parallel (jupyter-cache's ``local-parallel``
executor, in each notebook's own folder, with the build's cell timeout) and the build then finds
every one in the cache. A notebook whose code has not changed since its last execution is not run
again. One that fails here is left out of the cache: the build runs it again and reports the error
the usual way, so nothing is hidden by this step.
"""
from __future__ import annotations

import sys
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


def main(build_dir: Path) -> int:
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(str(build_dir / ".jupyter_cache"))
    uris = []
    for path in notebooks():
        cache.add_nb_to_project(str(path))
        uris.append(str(path))
    stale = [record.uri for record in cache.list_unexecuted() if record.uri in uris]
    print(f"[execute] {len(uris) - len(stale)} of {len(uris)} notebooks already in the cache; "
          f"executing {len(stale)} in parallel", flush=True)
    if not stale:
        return 0
    executor = load_executor("local-parallel", cache)
    result = executor.run_and_cache(filter_uris=stale, timeout=cell_timeout(), allow_errors=False)
    for uri in result.excepted + result.errored:
        print(f"[execute] {Path(uri).relative_to(ROOT)} failed here; the build will run it again "
              "and report the error", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tools/execute_notebooks.py BUILD_DIR")
    sys.exit(main(Path(sys.argv[1]).resolve()))
