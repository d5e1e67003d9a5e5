"""The in-browser (JupyterLite) site: it builds offline and ships every chapter notebook and the wheel.

The book build makes the lite site with ``lite/lite_build.py`` and ``jupyterlite_sphinx`` and checks
it at the end (including each chapter page's launch button). To test that without a second full
book build, this file builds a one-page Sphinx project with the same extension and settings, which
runs the same wheel build and the same ``jupyter lite build``, with the network cut off when the
machine allows it (``unshare -n``).

What this cannot check: running a notebook in the browser. The lite site's Python (Pyodide) is
downloaded by the reader's browser from its CDN when a kernel starts, and this machine cannot
fetch it. ``tests/test_without_numba.py`` checks the part of that we can: the library without numba.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lite"))
import lite_build  # noqa: E402

pytest.importorskip("jupyterlite_sphinx", reason="jupyterlite-sphinx is not installed (requirements.txt lists it)")


def _offline_prefix() -> list[str]:
    """``unshare -n`` (a private network namespace with no network) when it works here, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


@pytest.fixture(scope="module")
def lite_site(tmp_path_factory):
    work = tmp_path_factory.mktemp("lite")
    src = work / "src"
    src.mkdir()
    (src / "index.rst").write_text("Lite site test\n==============\n", encoding="utf-8")
    (src / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(ROOT / 'lite')!r})
        extensions = ["lite_build"]
        pedagogy_lite_root = {str(ROOT)!r}
        pedagogy_lite_check_buttons = False     # this one-page project has no chapter pages
        jupyterlite_bind_ipynb_suffix = False
        jupyterlite_silence = True
    """), encoding="utf-8")
    html = work / "_build" / "html"
    offline = _offline_prefix()
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    res = subprocess.run([*offline, sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", str(src), str(html)],
                         cwd=src, env=env, capture_output=True, text=True, timeout=900)
    return {"html": html, "work": work, "src": src, "offline": bool(offline), "result": res}


@pytest.mark.slow
def test_lite_site_builds(lite_site):
    res = lite_site["result"]
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    if not lite_site["offline"]:
        print("note: built with the network available (unshare -n is not permitted here)")


def test_lite_site_ships_every_chapter_notebook_and_the_wheel(lite_site):
    lite = lite_site["html"] / "lite"
    notebooks = lite_build.chapter_notebooks()
    assert len(notebooks) >= 19
    assert lite_build.lite_site_problems(lite, notebooks) == []
    staged = lite_site["html"].parent / "lite_staging" / "contents"
    for rel in notebooks:                                   # unchanged copies of the repository's files
        assert (lite / "files" / rel).read_bytes() == (staged / rel).read_bytes(), rel


def test_lite_site_leaves_the_source_tree_alone(lite_site):
    # staging, wheel build, lite settings and cache all live next to the HTML output
    staging = lite_site["html"].parent / "lite_staging"
    assert (staging / "contents" / "chapters").is_dir() and (staging / "lite_dir" / ".cache").is_dir()
    for name in ("_contents", ".jupyterlite.doit.db", "build", ".cache"):
        assert not (lite_site["src"] / name).exists(), name
    assert not (ROOT / "_contents").exists() and not (ROOT / "lite" / ".cache").exists()


def test_pages_do_not_load_the_lite_embedding_assets(lite_site):
    page = (lite_site["html"] / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in page and "jupyterlite_sphinx" not in page


def test_wheel_is_pure_python_without_numba_and_imports_without_it(lite_site, tmp_path):
    wheel, = (lite_site["html"] / "lite" / "pypi").glob("pedagogy_lib-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        zf.extractall(tmp_path / "site")
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if r.startswith("numba") and "extra" not in r], requires
    assert any(r.startswith("numba") and 'extra == "fast"' in r for r in requires), requires
    assert not list((tmp_path / "site").rglob("*.nb[ic]")) and not list((tmp_path / "site").rglob("*.pyc"))
    # The unpacked wheel alone (not the working tree), with numba unimportable, runs every kernel.
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(textwrap.dedent("""\
        import sys
        class _RefuseNumba:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in ("numba", "llvmlite"):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, _RefuseNumba())
    """), encoding="utf-8")
    code = textwrap.dedent(f"""\
        import pedagogy_lib, pedagogy_lib.core.warmup as warmup
        from pedagogy_lib.core.jit import HAVE_NUMBA
        assert pedagogy_lib.__file__.startswith({str(tmp_path / 'site')!r}), pedagogy_lib.__file__
        assert not HAVE_NUMBA
        warmup.compile_all()
        print("wheel ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "hook"), str(tmp_path / "site")]),
               MPLBACKEND="Agg")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and "wheel ok" in res.stdout, res.stdout + res.stderr
