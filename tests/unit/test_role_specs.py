"""Each role's defaults, argument spec and README table say the same thing."""
import pathlib
import re

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "defaults" / "main.yml").exists())


def load(path):
    return yaml.safe_load(path.read_text())


def spec_options(role):
    return load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def readme_rows(role):
    """Variable -> default cell of the role's table in the README."""
    text = (REPO / "README.md").read_text()
    section = text.split(f"### Role `rnn_bootstrap.charrnn.{role}`", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]
        if len(cells) > 3 and re.fullmatch(r"`charrnn_\w+`", cells[1]):
            rows[cells[1].strip("`")] = cells[2]
    return rows


def as_cell(value):
    """How a default is written in the README: `value` in backticks, JSON-ish for lists."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif value == []:
        value = "[]"
    elif value == "":
        value = '""'
    return "`%s`" % " ".join(str(value).split()).replace("|", "\\|")


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_spec_have_the_same_keys(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    assert sorted(defaults) == sorted(spec_options(role))


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_equal_role_defaults(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    for name, option in spec_options(role).items():
        want = defaults[name]
        have = option.get("default")
        if isinstance(want, str):
            want, have = " ".join(want.split()), " ".join(str(have).split())
        assert have == want, name


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described(role):
    for name, option in spec_options(role).items():
        assert option.get("description"), name
        assert option.get("type"), name


@pytest.mark.parametrize("role", ROLES)
def test_readme_lists_every_variable_with_its_default(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    rows = readme_rows(role)
    assert sorted(rows) == sorted(defaults)
    for name, value in defaults.items():
        assert rows[name] == as_cell(value), name
