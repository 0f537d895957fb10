"""Each role's argument spec is the one description of its variables (hacking/generate_docs.py writes the
README's tables from it, see test_generate_docs.py); defaults/main.yml, which Ansible sets the variables
from, holds exactly the defaults the specs declare."""
import pathlib

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = pathlib.Path(repo_paths.REPO)
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def load(path):
    return yaml.safe_load(path.read_text()) if path.exists() else None


def entry_points(role):
    return load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]


def declared(role):
    """(entry point, variable, option) of every variable every entry point of the role declares."""
    return [(entry, name, option)
            for entry, spec in entry_points(role).items()
            for name, option in ((spec or {}).get("options") or {}).items()]


def defaults(role):
    return load(REPO / "roles" / role / "defaults" / "main.yml") or {}


def dependency_defaults(role, seen=()):
    """The defaults of the roles this role depends on (meta/main.yml), which it sees as its own."""
    merged = {}
    for dependency in (load(REPO / "roles" / role / "meta" / "main.yml") or {}).get("dependencies") or []:
        name = (dependency["role"] if isinstance(dependency, dict) else dependency).split(".")[-1]
        if name not in seen:
            merged.update(dependency_defaults(name, seen + (role,)))
            merged.update(defaults(name))
    return merged


def same(spec_default, value):
    """A spec default equals the defaults/main.yml value (templated strings compared without line breaks)."""
    if isinstance(value, str):
        return " ".join(value.split()) == " ".join(str(spec_default).split())
    return type(spec_default) is type(value) and spec_default == value


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_declared_by_an_entry_point(role):
    names = {name for unused_entry, name, unused_option in declared(role)}
    assert sorted(set(defaults(role)) - names) == [], "defaults/main.yml sets variables no argument spec declares"


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_equal_role_defaults(role):
    """Ansible sets no variable from an argument spec: the spec's default is what defaults/main.yml sets."""
    known = dict(dependency_defaults(role), **defaults(role))
    for entry, name, option in declared(role):
        where = "%s: entry point %s declares %s" % (role, entry, name)
        if name in known:
            assert "default" in option, "%s without the default %r it has" % (where, known[name])
            assert same(option["default"], known[name]), "%s with default %r, defaults say %r" % (
                where, option["default"], known[name])
        else:
            assert option.get("required") or "default" not in option, (
                "%s with a default that no defaults/main.yml sets" % where)


@pytest.mark.parametrize("role", ROLES)
def test_a_variable_has_one_type_and_default_in_every_entry_point(role):
    first = {}
    for entry, name, option in declared(role):
        kind = (option.get("type", "str"), option.get("elements"), option.get("default"))
        assert first.setdefault(name, (entry, kind))[1] == kind, "%s: %s differs between %s and %s" % (
            role, name, first[name][0], entry)


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described(role):
    for entry, name, option in declared(role):
        assert option.get("description"), (entry, name)
        assert option.get("type"), (entry, name)


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_is_described(role):
    for entry, spec in entry_points(role).items():
        assert (spec or {}).get("short_description"), entry
