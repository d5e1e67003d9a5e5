"""The book's one address: where the repository lives, and everything that is derived from it.

``repository.url`` in ``_config.yml`` is the only place the address is written. From it come:

- the site address (:func:`derive_site_url`): a GitHub repository ``github.com/<owner>/<name>`` is
  published by GitHub Pages at ``https://<owner>.github.io/<name>/``. ``_config.yml`` does not
  write ``html.baseurl``; this extension sets Sphinx's ``html_baseurl`` to the derived address and
  refuses a ``html.baseurl`` that differs from it (the same address written twice);
- the Colab install line (:func:`install_spec`): ``git+<repository>@v<version>``, pinned to the
  release tag of ``pyproject.toml``'s version; ``tools/set_install_cell.py`` writes it into the
  first cell of every chapter notebook;
- the words ``{{ repository_url }}``, ``{{ site_url }}``, ``{{ install_spec }}``,
  ``{{ release_tag }}`` and ``{{ issues_url }}`` in the book's Markdown pages, code blocks
  included, replaced before MyST reads the page (:func:`fill`);
- the report link of the footer (``_templates/author.html``): a new issue in the repository once
  ``companion_published`` (in ``_config.yml``, ``sphinx.config``) is true; until then the
  "Reporting a problem" section of ``book/how_to_use.md``, which works offline and says what to
  send and where.

The theme's repository, issues, Binder and Colab buttons, the figure credit (``_ext/teaching_kit.py``),
the footer's licence links and the equation index's code links read ``repository.url`` through
jupyter-book's own settings; the JupyterLite copies (``lite/lite_build.py``) link the published
site through :func:`site_url`. ``tests/project/test_one_address.py`` checks that no other file
writes the address and that changing it changes every outward link.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent

#: The words a Markdown page of the book may use for the address and what derives from it.
TOKEN_RE = re.compile(r"\{\{\s*(repository_url|site_url|install_spec|release_tag|issues_url)\s*\}\}")
#: Where the footer's report link leads until the repository is published (a page and its section).
REPORT_PAGE, REPORT_SECTION = "book/how_to_use", "reporting-a-problem"


def book_config(root: Path = ROOT) -> dict:
    """``_config.yml`` of the book at ``root``, as a dictionary."""
    import yaml

    return yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}


def normalise_repository_url(url) -> str:
    """``url`` without a trailing ``/`` or ``.git``; ValueError unless it is an https address."""
    if not isinstance(url, str):
        raise TypeError(f"repository.url must be a string, got {type(url).__name__}")
    url = url.strip().rstrip("/").removesuffix(".git")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or parts.path.strip("/").count("/") != 1:
        raise ValueError(f"repository.url must be https://<host>/<owner>/<name>, got {url!r}")
    return url


def repository_url(root: Path = ROOT, config: dict | None = None) -> str:
    """The repository's address, ``repository.url`` of ``_config.yml`` (no trailing slash)."""
    config = book_config(root) if config is None else config
    return normalise_repository_url((config.get("repository") or {}).get("url"))


def derive_site_url(repo_url: str) -> str:
    """The GitHub Pages address of the repository ``repo_url``, ending in ``/``."""
    repo_url = normalise_repository_url(repo_url)
    parts = urlsplit(repo_url)
    if parts.netloc.lower() != "github.com":
        raise ValueError(f"only a github.com repository has a derived site address, got {repo_url!r}")
    owner, name = parts.path.strip("/").split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def site_url(root: Path = ROOT, config: dict | None = None) -> str:
    """Where the book is published, derived from ``repository.url`` (ending in ``/``)."""
    return derive_site_url(repository_url(root, config))


def release_version(root: Path = ROOT) -> str:
    """``[project] version`` of ``pyproject.toml`` (the one place the version is written)."""
    with open(Path(root) / "pyproject.toml", "rb") as f:
        version = tomllib.load(f).get("project", {}).get("version")
    if not isinstance(version, str) or not version.strip():
        raise ValueError(f"{root}/pyproject.toml has no [project] version")
    return version.strip()


def install_spec(root: Path = ROOT, config: dict | None = None) -> str:
    """What Colab's ``%pip install`` fetches: the repository at the release's tag."""
    return f"git+{repository_url(root, config)}@v{release_version(root)}"


def values(root: Path = ROOT, config: dict | None = None) -> dict[str, str]:
    """Each word of :data:`TOKEN_RE` and its value for the book at ``root``."""
    repo = repository_url(root, config)
    return {"repository_url": repo, "site_url": derive_site_url(repo),
            "install_spec": install_spec(root, config), "release_tag": f"v{release_version(root)}",
            "issues_url": f"{repo}/issues"}


def fill(text: str, vals: dict[str, str]) -> str:
    """``text`` with every ``{{ word }}`` of :data:`TOKEN_RE` replaced by its value."""
    return TOKEN_RE.sub(lambda m: vals[m.group(1)], text)


# ----------------------------------------------------------------------------------- Sphinx hooks
def _on_config_inited(app, config):
    from sphinx.errors import ConfigError

    repo = (config.html_theme_options or {}).get("repository_url")
    if not repo:
        raise ConfigError("_config.yml has no repository.url (the book's one address)")
    derived = derive_site_url(repo)
    if config.html_baseurl and config.html_baseurl.rstrip("/") + "/" != derived:
        raise ConfigError(f"html.baseurl is {config.html_baseurl!r}, but the site address derives from "
                          f"repository.url: {derived!r}; remove html.baseurl from _config.yml")
    config.html_baseurl = derived
    vals = values(Path(app.srcdir), {"repository": {"url": repo}})
    app._site_address_values = vals
    config.html_context = {**(config.html_context or {}), "companion_published": bool(config.companion_published),
                           "companion_issues_url": vals["issues_url"]}


def _on_source_read(app, docname, source):
    if TOKEN_RE.search(source[0]) and not str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = fill(source[0], app._site_address_values)


def setup(app):
    # true once the repository is public at repository.url: the footer's report link then opens an issue
    app.add_config_value("companion_published", False, "html")
    app.connect("config-inited", _on_config_inited, priority=450)
    app.connect("source-read", _on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
