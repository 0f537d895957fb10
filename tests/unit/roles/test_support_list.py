"""roles/deps/vars/main.yml holds the one support list: the deps role's support check reads it, and
hacking/generate_docs.py writes the README's "Supported systems" table and every role's meta/main.yml
platforms from it (test_generate_docs.py fails when they differ); these tests say the same directly."""
import pathlib
import re

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = pathlib.Path(repo_paths.REPO)
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "main.yml").exists())
SUPPORT = yaml.safe_load((REPO / "roles" / "deps" / "vars" / "main.yml").read_text())["_charrnn_deps_support"]


def galaxy_platforms():
    """The Galaxy platforms of the list, merged by name in the list's order."""
    merged = {}
    for entry in SUPPORT:
        versions = merged.setdefault(entry["galaxy"]["name"], [])
        versions += [v for v in entry["galaxy"]["versions"] if v not in versions]
    return [{"name": name, "versions": versions} for name, versions in merged.items()]


def readme_supported_rows():
    """Distribution -> versions, from the first two columns of the README's "Supported systems" table."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Supported systems\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and not set(cells[0]) <= set("-") and cells[0] != "Distribution":
            rows[cells[0]] = [v.strip() for v in cells[1].split(",")]
    return rows


def test_every_entry_is_complete():
    for entry in SUPPORT:
        required = {"distribution", "label", "match", "versions", "galaxy", "repositories", "checked", "sources"}
        assert required <= set(entry) <= required | {"unconfirmed"}, entry
        assert entry.get("unconfirmed", "x").strip(), entry
        assert entry["sources"] and all(isinstance(s, str) and ": " in s for s in entry["sources"]), entry
        assert entry["checked"] in ("run", "published"), entry
        assert entry["repositories"].strip(), entry
        assert entry["match"] in ("distribution_major_version", "distribution_version"), entry
        assert entry["versions"] and all(isinstance(v, str) for v in entry["versions"]), entry
    assert len({entry["distribution"] for entry in SUPPORT}) == len(SUPPORT)


def test_readme_lists_exactly_the_supported_versions():
    assert readme_supported_rows() == {entry["label"]: entry["versions"] for entry in SUPPORT}


@pytest.mark.parametrize("role", ROLES)
def test_meta_platforms_come_from_the_support_list(role):
    meta = yaml.safe_load((REPO / "roles" / role / "meta" / "main.yml").read_text())
    assert meta["galaxy_info"]["platforms"] == galaxy_platforms()


def test_versions_compared_by_major_version_have_no_minor():
    for entry in SUPPORT:
        if entry["match"] == "distribution_major_version":
            assert all(re.fullmatch(r"\d+", v) for v in entry["versions"]), entry
