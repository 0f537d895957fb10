"""Static least-privilege rules over the collection's own files."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = pathlib.Path(repo_paths.REPO)
SHIPPED = [p for d in ("roles", "playbooks", "plugins", "benchmarks") for p in (REPO / d).rglob("*") if p.is_file()]
PIPE_TO_SHELL = re.compile(r"(curl|wget)\b[^\n|]*\|\s*(sudo\s+)?(ba|z|da)?sh\b")


def tasks_in(node):
    """Every task mapping in a list of plays, tasks or blocks."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_in(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            if key in node:
                yield from tasks_in(node[key])


def test_nothing_pipes_a_download_into_a_shell():
    offenders = [str(p.relative_to(REPO)) for p in SHIPPED
                 if p.suffix in (".yml", ".j2", ".sh", ".py", "") and PIPE_TO_SHELL.search(p.read_text(errors="replace"))]
    assert offenders == []
    assert PIPE_TO_SHELL.search("curl -fsSL https://x/install.sh | sudo bash")  # the rule itself works


def test_no_play_runs_everything_as_root():
    for path in (REPO / "playbooks").glob("*.yml"):
        for play in yaml.safe_load(path.read_text()):
            assert not play.get("become"), f"{path.name}: play '{play.get('name')}' sets become at play level"


def test_training_tasks_become_only_the_training_user():
    """Training, sampling, status and stop run as charrnn_user; nothing in the training role becomes root."""
    for path in (REPO / "roles" / "training" / "tasks").glob("*.yml"):
        for task in tasks_in(yaml.safe_load(path.read_text()) or []):
            if task.get("become") is True:
                assert task.get("become_user") == "{{ charrnn_user }}", f"{path.name}: {task.get('name')}"


def test_char_rnn_checkout_runs_as_the_training_user():
    tasks = list(tasks_in(yaml.safe_load((REPO / "roles" / "char_rnn" / "tasks" / "checkout.yml").read_text())))
    git = [t for t in tasks if "ansible.builtin.git" in t]
    assert git and all(t.get("become_user") == "{{ charrnn_user }}" for t in git)


def test_every_task_run_as_the_training_user_ignores_its_python_user_site():
    """The training user's usercustomize.py would otherwise forge the task's result (see
    tests/integration/test_forged_results.py): every such task takes _charrnn_user_env."""
    checked = []
    for path in (list((REPO / "roles").rglob("tasks/*.yml")) + list((REPO / "playbooks").rglob("*.yml"))
                 + list((REPO / "benchmarks").rglob("*.yml"))):
        for task in tasks_in(yaml.safe_load(path.read_text()) or []):
            if "become_user" in task:
                checked.append(task.get("name"))
                assert "_charrnn_user_env" in str(task.get("environment", "")), f"{path.name}: {task.get('name')}"
    assert len(checked) >= 10


@pytest.mark.parametrize("major,fingerprint", [
    ("8", "94E279EB8D8F25B21810ADF121EA45AB2F86D6A1"),
    ("9", "FF8AD1344597106ECE813B918A3872BF3228467C"),
    ("10", "7D8D15CBFC4E62688591FB2633D98517E37ED158"),
])
def test_the_shipped_epel_keys_are_epels_published_ones(tmp_path, major, fingerprint):
    """dnf checks EPEL's release package against these keys, so each must be the key EPEL publishes."""
    gpg = shutil.which("gpg")
    if not gpg:
        pytest.skip("gpg is not installed")
    key = REPO / "roles" / "deps" / "files" / f"RPM-GPG-KEY-EPEL-{major}"
    listing = subprocess.check_output([gpg, "--batch", "--show-keys", "--with-colons", str(key)],
                                      env=dict(os.environ, GNUPGHOME=str(tmp_path)), text=True)
    assert [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")][:1] == [fingerprint]
