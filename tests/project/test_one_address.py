"""The repository's address is written once (``repository.url`` in ``_config.yml``) and every outward
link derives from it (issue 72).

What derives from what is listed in ``_ext/site_address.py``. Here:

- no tracked file but ``_config.yml`` writes the address, or its site (``<owner>.github.io``), except
  the files that must hold it literally (citation metadata, licence text, changelog links), and
  those must equal the configured one; a notebook may hold it only in its install line, which
  ``tools/set_install_cell.py`` writes and checks;
- a small book built with another address in a temporary folder (the book's own settings, templates
  and extensions for the address, the footer and the figure credit) has every outward link, button,
  report link, credit and code block at the new address and none at the old one; so have the
  JupyterLite copies, the equation index's code links and the install line written from that
  settings file.
"""
from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
for _folder in ("_ext", "tools", "lite"):
    if str(ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(ROOT / _folder))

import set_install_cell  # noqa: E402
import site_address  # noqa: E402

#: The one place the address is written.
THE_PLACE = "_config.yml"
#: Files that must write the address literally (read by tools that know nothing of _config.yml:
#: citation managers, Zenodo, GitHub's licence view, changelog readers); each must equal it.
LITERAL = ("CITATION.cff", ".zenodo.json", "LICENSE-text.md", "CHANGELOG.md")
#: An address someone else chose, for the rebuilt copy.
OTHER = "https://github.com/another-owner/another-name"


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def _version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def _owner_and_name(url: str) -> tuple[str, str]:
    owner, name = urlsplit(url).path.strip("/").removesuffix(".git").split("/")
    return owner, name


def _needles(url: str) -> list[str]:
    """Every way a file can name the repository ``url`` or its site: host/owner/name (any scheme,
    clone or web address), the owner's pages host, and the owner's account on the host."""
    parts = urlsplit(url)
    owner, name = _owner_and_name(url)
    return [f"{parts.netloc}/{owner}/{name}".lower(), f"{owner}.github.io".lower(), f"{parts.netloc}/{owner}/".lower()]


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git clone: the tracked files cannot be listed")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode("utf-8").split("\0") if p]


def _text(rel: str) -> str | None:
    path = ROOT / rel
    if not path.is_file():
        return None                            # deleted in the working tree
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None                            # not text


def test_the_configured_address_is_a_github_repository_and_the_site_derives_from_it():
    url = _config()["repository"]["url"]
    owner, name = _owner_and_name(url)
    assert site_address.repository_url(ROOT) == url.rstrip("/")
    assert site_address.site_url(ROOT) == f"https://{owner.lower()}.github.io/{name}/"
    assert "baseurl" not in (_config().get("html") or {}), "html.baseurl would write the address a second time"
    assert site_address.install_spec(ROOT) == f"git+{url.rstrip('/')}@v{_version()}"
    # what a wrong address is told
    for bad in ("http://github.com/a/b", "https://github.com/a", "git@github.com:a/b.git"):
        with pytest.raises(ValueError, match="repository.url"):
            site_address.normalise_repository_url(bad)
    with pytest.raises(TypeError, match="repository.url"):
        site_address.normalise_repository_url(None)


def test_no_other_file_writes_the_address():
    url = _config()["repository"]["url"]
    needles = _needles(url)
    # the install line of a notebook, pinned or not (whether it is up to date is the next test's)
    install = re.compile(r'pedagogy_lib @ git\+' + re.escape(url.rstrip("/")) + r'(@v[0-9][^"\\]*)?(?=\\")', re.I)
    problems, scanned = [], 0
    for rel in _tracked():
        if rel == THE_PLACE or rel in LITERAL:
            continue
        text = _text(rel)
        if text is None:
            continue
        scanned += 1
        if rel.endswith(".ipynb"):
            text = install.sub("", text)        # the install line: written by tools/set_install_cell.py
        for n, line in enumerate(text.splitlines(), 1):
            low = line.lower()
            if any(needle in low for needle in needles):
                problems.append(f"{rel}:{n}: {line.strip()[:120]}")
    assert scanned > 300, f"only {scanned} text files scanned"
    assert not problems, ("these lines write the repository's address; derive it from repository.url "
                          "(_ext/site_address.py):\n" + "\n".join(problems[:30]))


def test_the_files_that_must_write_the_address_write_the_configured_one():
    url = _config()["repository"]["url"].rstrip("/")
    owner, _ = _owner_and_name(url)
    site = site_address.derive_site_url(url)
    problems = []
    for rel in LITERAL:
        text = _text(rel)
        if text is None:
            continue                            # .zenodo.json comes with the release
        links = re.findall(r"https?://[^\s\"'<>)\]]+", text)
        ours = [u for u in links if urlsplit(u).netloc.lower() in ("github.com", f"{owner.lower()}.github.io")
                and not u.startswith(("https://github.com/jupyter", "https://github.com/executablebooks"))]
        for u in ours:
            if not (u == url or u.startswith(url + "/") or u.startswith(site)):
                problems.append(f"{rel}: {u} is not the configured address {url}")
        if rel != "CHANGELOG.md" and url not in links:
            problems.append(f"{rel} does not name the configured address {url}")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    if cff.get("repository-code") != url:
        problems.append(f"CITATION.cff repository-code is {cff.get('repository-code')!r}, not {url!r}")
    assert not problems, "\n".join(problems)


def test_every_notebook_installs_the_release_of_the_configured_repository():
    url = _config()["repository"]["url"].rstrip("/")
    spec = f"git+{url}@v{_version()}"
    notebooks = set_install_cell.notebooks(ROOT)
    assert len(notebooks) >= 50
    stale = [(p.relative_to(ROOT).as_posix(), s) for p, s in set_install_cell.out_of_date(ROOT)]
    assert not stale, (f"{len(stale)} notebooks do not install {spec}; run python3 tools/set_install_cell.py:\n"
                       + "\n".join(f"{p}: {s}" for p, s in stale[:10]))
    assert set_install_cell.main(["--check"]) == 0


def _copy_book_settings(dst: Path, url: str, published: bool = True) -> None:
    """``_config.yml`` (with ``url``) and ``pyproject.toml`` of the book, in ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    cfg = _config()
    cfg["repository"]["url"] = url
    cfg["sphinx"]["config"]["companion_published"] = published
    (dst / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    shutil.copy2(ROOT / "pyproject.toml", dst / "pyproject.toml")


def test_the_install_cell_script_rewrites_a_copy_once_and_touches_nothing_else(tmp_path):
    _copy_book_settings(tmp_path, OTHER)
    picked = set_install_cell.notebooks(ROOT)[:2]
    for p in picked:
        (tmp_path / p.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, tmp_path / p.relative_to(ROOT))
    assert set_install_cell.main(["--root", str(tmp_path), "--check"]) == 1
    assert set_install_cell.main(["--root", str(tmp_path)]) == 0
    assert set_install_cell.main(["--root", str(tmp_path), "--check"]) == 0
    first = {p: (tmp_path / p.relative_to(ROOT)).read_bytes() for p in picked}
    assert set_install_cell.main(["--root", str(tmp_path)]) == 0          # again: nothing changes
    for p in picked:
        new = (tmp_path / p.relative_to(ROOT)).read_bytes()
        assert new == first[p]
        old_lines, new_lines = p.read_text(encoding="utf-8").splitlines(), new.decode("utf-8").splitlines()
        changed = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
        assert len(old_lines) == len(new_lines) and len(changed) == 1, changed
        assert f'pedagogy_lib @ git+{OTHER}@v{_version()}\\"' in changed[0][1]
        first_code = next(c for c in json.loads(new)["cells"] if c["cell_type"] == "code")
        assert f'"pedagogy_lib @ git+{OTHER}@v{_version()}"' in "".join(first_code["source"])


# ---------------------------------------------------------------- the same book at another address
_PAGE = """# How to use

Clone {{ repository_url }} and install {{ install_spec }}; the site is {{ site_url }}.

```bash
git clone {{ repository_url }}
```

## Reporting a problem

Send it to {{ issues_url }}.
"""


def _notebook(cells: list[tuple[str, str]]) -> dict:
    return {"cells": [{"cell_type": kind, "metadata": {}, "source": src, **(
        {"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, src in cells],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def other_book(tmp_path_factory):
    """A two-page book with the book's settings, templates and address extensions, at ``OTHER``."""
    src = tmp_path_factory.mktemp("other_address")
    _copy_book_settings(src, OTHER)
    cfg = yaml.safe_load((src / "_config.yml").read_text(encoding="utf-8"))
    ext = str(ROOT / "_ext")
    # the extensions that write the address (site_address), the footer's licence links
    # (accessible_site, which gives the templates the version) and the figure credit (teaching_kit)
    cfg["sphinx"]["local_extensions"] = {"site_address": ext, "accessible_site": ext, "teaching_kit": ext}
    cfg["sphinx"]["extra_extensions"] = []
    cfg["sphinx"]["config"]["templates_path"] = [str(ROOT / "_templates")]
    cfg["sphinx"]["config"].pop("jupyterlite_bind_ipynb_suffix", None)
    cfg["sphinx"]["config"].pop("jupyterlite_silence", None)
    cfg["sphinx"]["config"].pop("bibtex_reference_style", None)
    cfg.pop("bibtex_bibfiles", None)
    cfg["launch_buttons"].pop("jupyterlite_url", None)
    (src / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    (src / "_toc.yml").write_text("format: jb-book\nroot: book/how_to_use\nchapters:\n  - file: chapters/c1/s1\n",
                                  encoding="utf-8")
    (src / "book").mkdir()
    (src / "book" / "how_to_use.md").write_text(_PAGE, encoding="utf-8")
    (src / "chapters" / "c1").mkdir(parents=True)
    nb = _notebook([("markdown", "# 1.1 A section\n\nSee [the rules](../../book/how_to_use.md#reporting-a-problem)."),
                    ("code", "x = 1\nx")])
    (src / "chapters" / "c1" / "s1.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(src), "--builder", "html"] if jb.exists() else \
        [sys.executable, "-m", "jupyter_book.cli.main", "build", str(src), "--builder", "html"]
    res = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return src


def _urls(text: str) -> list[str]:
    return [u.replace("&amp;", "&") for u in re.findall(r"https?://[^\s\"'<>)\]]+", text)]


@pytest.mark.slow
def test_another_address_reaches_every_outward_link_of_the_built_book(other_book):
    old = site_address.repository_url(ROOT)
    old_needles = _needles(old)
    new_site = site_address.derive_site_url(OTHER)
    html = other_book / "_build" / "html"
    texts = {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8", errors="replace")
             for p in html.rglob("*") if p.suffix in (".html", ".js", ".txt", ".md", ".json") and p.is_file()}
    for pack in html.glob("_figure_packs/*.zip"):
        with zipfile.ZipFile(pack) as zf:
            for name in zf.namelist():
                if name.endswith((".md", ".json")):
                    texts[f"{pack.name}/{name}"] = zf.read(name).decode("utf-8")
    leftovers = [f"{rel}: {needle}" for rel, text in texts.items() for needle in old_needles if needle in text.lower()]
    assert not leftovers, "the old address is still in the output:\n" + "\n".join(leftovers[:20])

    page = texts["chapters/c1/s1.html"]
    urls = _urls(page)
    owner, name = _owner_and_name(OTHER)
    expected = {
        "repository button": OTHER,
        "issues button": f"{OTHER}/issues",
        "Binder": f"https://mybinder.org/v2/gh/{owner}/{name}/",
        "Colab": f"https://colab.research.google.com/github/{owner}/{name}/blob/",
        "footer's code licence": f"{OTHER}/blob/",
        "report link": f"{OTHER}/issues/new?title=",
        "canonical address": f"{new_site}chapters/c1/s1.html",
    }
    missing = [what for what, start in expected.items() if not any(u.startswith(start) for u in urls)]
    assert not missing, f"not at {OTHER}: {missing}"
    # every link to a repository host or a pages site leads to the new address
    outward = [u for u in urls if urlsplit(u).netloc.endswith(("github.com", "github.io", "mybinder.org",
                                                                "colab.research.google.com"))]
    strays = [u for u in outward if f"{owner}/{name}" not in u and not u.startswith(new_site)]
    assert not strays, strays
    # the book page's words and code block
    how_to = html_lib.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<script.*?</script>", "", texts["book/how_to_use.html"],
                                                             flags=re.S)))
    assert f"git clone {OTHER}" in how_to and f"git+{OTHER}@v{_version()}" in how_to and "{{" not in how_to
    # the figure credit of the chapter's figure pack
    credits = [t for rel, t in texts.items() if rel.endswith("CREDITS.md")]
    assert credits and all(OTHER in t for t in credits)


def test_before_publication_the_report_link_stays_in_the_book():
    """``companion_published: false``: the footer's link leads to the how-to page's section."""
    import jinja2

    template = (ROOT / "_templates" / "author.html").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=False)
    context = dict(theme_repository_url=OTHER, theme_repository_branch="main", companion_version="9.9.9",
                   title="A page", pagename="chapters/c1/s1", file_suffix=".html", pageurl="",
                   pathto=lambda name: f"../../{name}.html", companion_issues_url=f"{OTHER}/issues")
    before = env.from_string(template).render(companion_published=False, **context)
    after = env.from_string(template).render(companion_published=True, **context)
    link = re.search(r'<a class="report-problem" href="([^"]+)"', before).group(1)
    assert link == "../../book/how_to_use.html#reporting-a-problem"
    assert re.search(r'<a class="report-problem" href="([^"]+)"', after).group(1).startswith(f"{OTHER}/issues/new?")
    # the section exists in the book's how-to page
    text = (ROOT / "book" / "how_to_use.md").read_text(encoding="utf-8")
    assert "## Reporting a problem" in text and "{{ issues_url }}" in text


def test_the_lite_copies_and_the_equation_index_link_the_other_address(tmp_path):
    import equation_index
    import lite_build

    _copy_book_settings(tmp_path, OTHER)
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "how_to_use.md").write_text(_PAGE, encoding="utf-8")
    nb_path = tmp_path / "chapters" / "c1" / "s1.ipynb"
    nb_path.parent.mkdir(parents=True)
    nb_path.write_text(json.dumps(_notebook([
        ("markdown", "# 1.1 A section\n\nSee [the rules](../../book/how_to_use.md#reporting-a-problem) and "
                     "[the page](../../book/how_to_use.md).")])), encoding="utf-8")
    site = lite_build.site_url(tmp_path)
    assert site == site_address.derive_site_url(OTHER)
    nb = lite_build.student_notebook(nb_path, tmp_path, refs={}, macros={})
    links = lite_build.site_links(nb, site)
    assert links == [f"{site}book/how_to_use.html#reporting-a-problem", f"{site}book/how_to_use.html"]
    text = json.dumps(nb).lower()
    assert not any(n in text for n in _needles(site_address.repository_url(ROOT)))
    # the equation index's code links
    config = equation_index.book_config(tmp_path)
    code = equation_index.Source("code", "f", "pedagogy_lib/x.py", 3)
    assert f"({OTHER}/blob/main/pedagogy_lib/x.py#L3)" in equation_index.link(code, config)
    # the pages' words
    vals = site_address.values(tmp_path)
    filled = site_address.fill(_PAGE, vals)
    assert f"git clone {OTHER}\n" in filled and f"{OTHER}/issues" in filled and "{{" not in filled
