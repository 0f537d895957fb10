# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The artifact check of the build stage fails on what must not ship and on what is missing."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json
import os
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'build'))

import check_artifact  # noqa: E402

ENTRIES = check_artifact.read_allowlist(check_artifact.ALLOWLIST)
RELEASED = "ancestor: null\nreleases:\n  1.0.0:\n    changes:\n      release_summary: First release.\n"


def tarball(tmp_path, files):
    path = str(tmp_path / 'rnn_bootstrap-charrnn-1.0.0.tar.gz')
    with tarfile.open(path, 'w:gz') as tar:
        for name, text in files.items():
            data = text.encode('utf-8')
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def complete(changelog="ancestor: null\nreleases: {}\n"):
    """One file for every required pattern of the allow-list."""
    files = {}
    for pattern, required in ENTRIES:
        if required:
            files[pattern.replace('*', 'x')] = ''
    files['MANIFEST.json'] = json.dumps({'collection_info': {'version': '1.0.0'}})
    files['changelogs/changelog.yaml'] = changelog
    files.pop('CHANGELOG.rst', None)
    return files


def test_a_complete_unreleased_artifact_passes(tmp_path):
    dummy, unexpected, missing = check_artifact.check(tarball(tmp_path, complete()), ENTRIES)
    assert (unexpected, missing) == ([], [])


@pytest.mark.parametrize('name', ['tests/stand_in_trainer/th', 'inventory/hosts.yml', 'benchmarks/run.sh',
                                  'molecule/default/molecule.yml', '.config/molecule/config.yml',
                                  'changelogs/fragments/x.yml', 'ansible.cfg', 'plugins/modules/sub/x.py'])
def test_development_files_are_named_as_unexpected(tmp_path, name):
    files = complete()
    files[name] = ''
    dummy, unexpected, missing = check_artifact.check(tarball(tmp_path, files), ENTRIES)
    assert (unexpected, missing) == ([name], [])


def test_a_missing_required_file_is_named(tmp_path):
    files = complete()
    del files['README.md']
    dummy, unexpected, missing = check_artifact.check(tarball(tmp_path, files), ENTRIES)
    assert (unexpected, missing) == ([], ['README.md'])


def test_a_release_must_ship_its_changelog(tmp_path):
    files = complete(changelog=RELEASED)
    dummy, dummy, missing = check_artifact.check(tarball(tmp_path, files), ENTRIES)
    assert missing == ['CHANGELOG.rst']
    files['CHANGELOG.rst'] = ''
    dummy, unexpected, missing = check_artifact.check(tarball(tmp_path, files), ENTRIES)
    assert (unexpected, missing) == ([], [])
