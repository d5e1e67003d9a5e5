"""Write Colab's install line into the first cell of every chapter notebook, from the book's settings.

The first code cell of each notebook installs ``pedagogy_lib`` where it is missing; on Colab it runs
``%pip install -q "pedagogy_lib @ <spec>"``, with ``<spec>`` = ``git+<repository.url>@v<version>``
(``_ext/site_address.py``: :func:`install_spec`, from ``_config.yml`` and ``pyproject.toml``). This
script puts the current ``<spec>`` in that line and changes nothing else in the file (the rest of
its bytes stay as they are); run again, it changes nothing.

    python3 tools/set_install_cell.py            # rewrite the notebooks whose line is out of date
    python3 tools/set_install_cell.py --check    # exit 1, listing them, if any is out of date
    python3 tools/set_install_cell.py --root DIR # the book in DIR (a copy, for instance)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The library's requirement in the install line: ``pedagogy_lib @ <spec>`` between double quotes.
SPEC_RE = re.compile(r'(?P<head>%pip install[^\n"]*"pedagogy_lib @ )(?P<spec>[^"\s]+)(?P<tail>")')


def _install_spec(root: Path) -> str:
    """The spec for the book at ``root`` (its _config.yml and pyproject.toml), by this repository's rule."""
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import site_address
    finally:
        sys.path.pop(0)
    return site_address.install_spec(root)


def notebooks(root: Path) -> list[Path]:
    return sorted(p for p in (root / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def install_line_spec(path: Path) -> str:
    """The spec the install line of ``path``'s first code cell names; ValueError if there is none."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = next((c for c in nb.get("cells", []) if c.get("cell_type") == "code"), None)
    source = "" if first is None else "".join(first.get("source", ""))
    found = SPEC_RE.findall(source)
    if len(found) != 1:
        raise ValueError(f"{path}: the first code cell must hold one '%pip install ... \"pedagogy_lib @ ...\"' "
                         f"line; found {len(found)}")
    return found[0][1]


def set_spec(path: Path, spec: str) -> bool:
    """Put ``spec`` in the install line of ``path``; True if the file changed."""
    old = install_line_spec(path)
    if old == spec:
        return False
    raw = path.read_text(encoding="utf-8")
    # in the file the line is a JSON string: its quotes are escaped
    before = f'pedagogy_lib @ {json.dumps(old)[1:-1]}\\"'
    if raw.count(before) != 1:
        raise ValueError(f"{path}: {before!r} occurs {raw.count(before)} times in the file, expected once")
    path.write_text(raw.replace(before, f'pedagogy_lib @ {json.dumps(spec)[1:-1]}\\"'), encoding="utf-8")
    if install_line_spec(path) != spec:
        raise RuntimeError(f"{path}: the install line was not rewritten")
    return True


def out_of_date(root: Path) -> list[tuple[Path, str]]:
    """Each notebook whose install line does not name the current spec, with the spec it names."""
    spec = _install_spec(root)
    return [(p, s) for p in notebooks(root) if (s := install_line_spec(p)) != spec]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (default: this repository)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    spec = _install_spec(root)
    stale = out_of_date(root)
    if args.check:
        for path, old in stale:
            print(f"{path.relative_to(root)}: installs {old}, not {spec}")
        return 1 if stale else 0
    for path, _ in stale:
        set_spec(path, spec)
        print(f"{path.relative_to(root)}: now installs {spec}")
    print(f"{len(stale)} notebook(s) rewritten, {len(notebooks(root)) - len(stale)} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
