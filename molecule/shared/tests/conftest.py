"""What the verify step may expect from the scenario it runs in."""
import os
import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"


def sources_available():
    """Torch and char-rnn were built only where their sources were reachable."""
    if os.environ.get("MOLECULE_SCENARIO_NAME") == "default":
        return True
    return bool(os.environ.get("CHARRNN_GIT_MIRROR") or os.environ.get("CHARRNN_GIT_MIRROR_PATH"))


needs_sources = pytest.mark.skipif(
    not sources_available(),
    reason="LEFT OUT: no Torch/char-rnn sources (CHARRNN_GIT_MIRROR or CHARRNN_GIT_MIRROR_PATH unset)",
)


def role_defaults(role):
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def family_packages(host):
    """The package list the deps role installs on this host, read from the role's own vars files."""
    family = host.ansible("setup")["ansible_facts"]["ansible_os_family"]
    return yaml.safe_load((ROLES / "deps" / "vars" / f"{family}.yml").read_text())["_charrnn_deps_packages"]
