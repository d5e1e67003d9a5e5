"""Release metadata: one version everywhere, a citation file that follows CFF 1.2.0, Zenodo's
metadata, a changelog in the layout of Keep a Changelog, the licences.

The version is written in ``pyproject.toml``; ``CITATION.cff``, ``.zenodo.json`` and the newest
release of ``CHANGELOG.md`` must say the same, with the same date (the site's footer reads the
version from pyproject at build time, which ``tests/browser/test_release_footer.py`` checks on the
built pages). The repository's address is read from ``_config.yml`` (``repository.url``), never
written here.
"""
from __future__ import annotations

import datetime
import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: A release heading of Keep a Changelog: "## [1.2.3] - 2026-11-23".
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})\s*$", re.M)
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
HOLDER = "The contributors to the companion"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def _zenodo() -> dict:
    return json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))


def _repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def _releases() -> list[tuple[str, str]]:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return [(m.group("version"), m.group("date")) for m in RELEASE_HEADING.finditer(text)]


def test_version_is_semantic_and_the_same_in_pyproject_citation_and_changelog():
    version = _pyproject()["version"]
    assert SEMVER.match(version), f"pyproject's version {version!r} is not MAJOR.MINOR.PATCH"
    cff = _citation()
    # a YAML number (0.1) would also parse; CFF wants a string or a number, we want the same text
    assert str(cff["version"]) == version, f"CITATION.cff says {cff['version']!r}, pyproject {version!r}"
    releases = _releases()
    assert releases, "CHANGELOG.md has no release heading like '## [0.1.0] - 2026-11-23'"
    newest, newest_date = releases[0]
    assert newest == version, f"CHANGELOG.md's newest release is {newest}, pyproject says {version}"
    assert str(cff["date-released"]) == newest_date, (
        f"CITATION.cff's date-released {cff['date-released']} differs from the changelog's {newest_date}")
    zenodo = _zenodo()
    assert zenodo["version"] == version, f".zenodo.json says {zenodo['version']!r}, pyproject {version!r}"
    assert zenodo["publication_date"] == newest_date, (
        f".zenodo.json's publication_date {zenodo['publication_date']} differs from the changelog's {newest_date}")


def test_changelog_releases_are_newest_first_with_real_dates():
    releases = _releases()
    dates = [datetime.date.fromisoformat(d) for _, d in releases]
    assert dates == sorted(dates, reverse=True), f"releases are not newest first: {releases}"
    versions = [tuple(int(x) for x in re.findall(r"\d+", v)[:3]) for v, _ in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions), releases
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text, "Keep a Changelog keeps an [Unreleased] section on top"
    for version, _ in releases:
        assert re.search(rf"^\[{re.escape(version)}\]: https://", text, re.M), f"no link for [{version}]"


#: The kinds of change Keep a Changelog names, the only subheadings a release may have.
KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of every "## " section of the changelog, in order."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def test_changelog_has_unreleased_on_top_and_one_line_per_change():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = _sections(text)
    assert sections and sections[0][0] == "[Unreleased]", [h for h, _ in sections]
    assert all(RELEASE_HEADING.match(f"## {h}") for h, _ in sections[1:]), [h for h, _ in sections]
    for heading, body in sections:
        kinds = re.findall(r"^### (.+)$", body, re.M)
        assert set(kinds) <= set(KINDS) and len(kinds) == len(set(kinds)), f"{heading}: {kinds}"
        assert kinds == sorted(kinds, key=KINDS.index), f"{heading}: {kinds} not in Keep a Changelog's order"
        lines = body.splitlines()
        for i, line in enumerate(lines):
            # a change is one bullet on one line: the next line is another bullet, blank, a heading or a link
            if line.startswith("- ") and i + 1 < len(lines):
                after = lines[i + 1]
                assert not after.strip() or after.startswith(("- ", "#", "[")), (
                    f"{heading}: the change {line[:60]!r}... continues on a second line: {after.strip()[:60]!r}")
    newest = sections[1][1]
    assert len(re.findall(r"^- ", newest, re.M)) >= 10, "the newest release lists almost nothing"
    # the link references follow the configured repository
    url = _repository_url()
    links = dict(re.findall(r"^\[([^\]]+)\]: (\S+)$", text, re.M))
    newest_version = RELEASE_HEADING.match(f"## {sections[1][0]}")["version"]
    assert links["Unreleased"] == f"{url}/compare/v{newest_version}...HEAD", links["Unreleased"]
    for version, _ in _releases():
        assert links[version].startswith(url + "/"), links[version]


def test_zenodo_metadata_describes_the_same_software_as_the_citation_file():
    zenodo, cff = _zenodo(), _citation()
    for key in ("title", "version", "upload_type", "creators", "license", "related_identifiers", "description"):
        assert zenodo.get(key), f".zenodo.json lacks {key!r}"
    assert zenodo["upload_type"] == "software"
    assert zenodo["title"] == cff["title"]
    assert [c["name"] for c in zenodo["creators"]] == [a["name"] for a in cff["authors"]] == [HOLDER]
    # Zenodo takes one licence id: the code's; the notes name the text's licence too
    assert zenodo["license"] == "MIT" and "CC BY 4.0" in zenodo.get("notes", ""), zenodo.get("notes")
    repository = [r for r in zenodo["related_identifiers"] if r["identifier"] == _repository_url()]
    assert len(repository) == 1, (zenodo["related_identifiers"], _repository_url())
    assert repository[0]["scheme"] == "url" and repository[0]["relation"] == "isSupplementTo", repository
    known = {"title", "version", "publication_date", "upload_type", "description", "creators", "license", "notes",
             "keywords", "related_identifiers", "references", "access_right", "communities", "contributors"}
    assert set(zenodo) <= known, sorted(set(zenodo) - known)
    datetime.date.fromisoformat(zenodo["publication_date"])


def test_citation_file_follows_cff_1_2_0():
    cff = _citation()
    for key in ("cff-version", "message", "title", "version", "date-released", "authors", "license",
                "repository-code", "references"):
        assert key in cff, f"CITATION.cff lacks {key!r}"
    assert cff["cff-version"] == "1.2.0"
    assert isinstance(cff["message"], str) and cff["message"].strip()
    # date-released: a YAML date or a string in ISO form
    datetime.date.fromisoformat(str(cff["date-released"]))
    assert cff["authors"] == [{"name": HOLDER}], cff["authors"]
    licences = cff["license"] if isinstance(cff["license"], list) else [cff["license"]]
    assert sorted(licences) == ["CC-BY-4.0", "MIT"], licences
    assert cff["repository-code"] == _repository_url(), (cff["repository-code"], _repository_url())
    draft = [r for r in cff["references"] if "Modern Statistical Learning" in r.get("title", "")]
    assert len(draft) == 1, "CITATION.cff should list Makin's draft among its references"
    ref = draft[0]
    for key in ("type", "title", "authors"):
        assert key in ref, f"the draft's reference lacks {key!r}"
    assert ref["type"] in {"unpublished", "manuscript", "book"}, ref["type"]
    assert any(a.get("family-names") == "Makin" for a in ref["authors"]), ref["authors"]
    # every key of every person or entity is one CFF 1.2.0 knows
    person_keys = {"family-names", "given-names", "name-particle", "name-suffix", "affiliation", "email",
                   "orcid", "website", "alias", "address", "city", "country", "post-code", "region", "tel", "fax"}
    entity_keys = {"name", "address", "city", "country", "email", "date-end", "date-start", "fax", "location",
                   "orcid", "post-code", "region", "tel", "website", "alias"}
    for who in cff["authors"] + ref["authors"]:
        assert set(who) <= (entity_keys if "name" in who else person_keys), who


def test_licences_name_their_holder_and_their_parts():
    mit = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert mit.startswith("MIT License") and f"Copyright (c) 2026 {HOLDER}" in mit
    assert "WITHOUT WARRANTY OF ANY KIND" in mit
    text = " ".join((ROOT / "LICENSE-text.md").read_text(encoding="utf-8").split())
    assert "Creative Commons Attribution 4.0 International" in text and HOLDER in text
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in text
    assert _pyproject()["license"] in ({"text": "MIT"}, "MIT")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Licence\n", 1)
    assert len(section) == 2, "the README has no section 'Licence'"
    body = section[1].split("\n## ", 1)[0]
    for words in ("MIT", "CC BY 4.0", "pedagogy_lib", "book/", "chapters/", "LICENSE-text.md"):
        assert words in body, f"the README's Licence section does not mention {words!r}"
