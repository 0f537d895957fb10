"""Every entry point the playbooks call has an argument spec, no task file includes itself, and a playbook
gives a role its inputs through the role's declared variables, never through the role's private ones."""
import pathlib
import re

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = pathlib.Path(repo_paths.REPO)
PLAYBOOKS = sorted(REPO.glob("playbooks/**/*.yml"))
ROLE_FILES = sorted(p for p in (REPO / "roles").rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".j2"))
SET_FACT = ("ansible.builtin.set_fact", "set_fact")
# The project's naming rule: _charrnn_* internal variables, __charrnn_* registered ones.
PRIVATE = re.compile(r"^__?charrnn_\w+$")
INCLUDE_ROLE = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")
INCLUDE_TASKS = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks")


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def entry_points_called():
    for path in PLAYBOOKS:
        for task in walk(yaml.safe_load(path.read_text())):
            for key in INCLUDE_ROLE:
                if isinstance(task.get(key), dict) and "tasks_from" in task[key]:
                    role = task[key]["name"].rsplit(".", 1)[-1]
                    yield path.name, role, task[key]["tasks_from"].rsplit(".yml", 1)[0]


CALLED = sorted(set(entry_points_called()))


def test_the_playbooks_call_entry_points():
    assert {call[2] for call in CALLED} >= {"status", "report", "sample", "fetch", "stop"}


@pytest.mark.parametrize("playbook,role,entry", CALLED)
def test_every_entry_point_called_has_an_argument_spec(playbook, role, entry):
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert entry in specs, "%s calls %s with tasks_from %s, which has no argument spec" % (playbook, role, entry)
    assert specs[entry].get("short_description") and "options" in specs[entry]


@pytest.mark.parametrize("path", sorted(REPO.glob("roles/*/tasks/*.yml")), ids=lambda p: "%s/%s" % (p.parts[-3], p.name))
def test_no_task_file_includes_itself(path):
    for task in walk(yaml.safe_load(path.read_text()) or []):
        for key in INCLUDE_TASKS:
            target = task.get(key)
            target = target.get("file") if isinstance(target, dict) else target
            assert target != path.name, "%s includes itself" % path


def variables_set(node):
    """Names a playbook sets: set_fact keys, registers, and play, block, task or include vars."""
    for item in walk(node):
        for key in SET_FACT:
            if isinstance(item.get(key), dict):
                yield from item[key]
        if isinstance(item.get("register"), str):
            yield item["register"]
        if isinstance(item.get("vars"), dict):
            yield from item["vars"]


def read_in_roles(name):
    pattern = re.compile(r"(?<!\w)%s(?!\w)" % re.escape(name))
    return [str(p.relative_to(REPO)) for p in ROLE_FILES if pattern.search(p.read_text())]


def test_no_private_variable_a_playbook_sets_is_read_by_a_role():
    crossing = {}
    for path in PLAYBOOKS:
        for name in set(variables_set(yaml.safe_load(path.read_text()))):
            if PRIVATE.match(name) and read_in_roles(name):
                crossing["%s sets %s" % (path.name, name)] = read_in_roles(name)
    assert crossing == {}, "pass a declared variable of the role's argument spec instead: %s" % crossing


def test_no_playbook_reads_what_a_role_registers():
    """What a role registers (__charrnn_*) is its own: a result worth showing, the role shows."""
    readers = {p.name: sorted(set(re.findall(r"(?<!\w)__charrnn_\w+", p.read_text()))) for p in PLAYBOOKS}
    assert {name: found for name, found in readers.items() if found} == {}
