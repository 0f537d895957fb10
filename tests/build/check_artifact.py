#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Compare a built collection tarball with the allow-list beside this script.

    check_artifact.py rnn_bootstrap-charrnn-1.0.0.tar.gz

Fails, naming them, on files no pattern allows and on required patterns no file matches.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import sys
import tarfile

ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'artifact-allowlist.txt')


def read_allowlist(path):
    """[(pattern, required)] from the allow-list file."""
    entries = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            required = not line.startswith('?')
            entries.append((line.lstrip('?'), required))
    return entries


def pattern_regex(pattern):
    """A glob whose '*' and '?' stay within one path component."""
    parts = []
    for char in pattern:
        parts.append({'*': '[^/]*', '?': '[^/]'}.get(char, re.escape(char)))
    return re.compile(''.join(parts) + r'\Z')


def released(tar, version):
    """Whether changelogs/changelog.yaml in the tarball holds a release of this version."""
    try:
        text = tar.extractfile('changelogs/changelog.yaml').read().decode('utf-8')
    except KeyError:
        return False
    # The file is YAML written by antsibull-changelog; releases are keys one level under releases:.
    body = text.split('\nreleases:', 1)[-1]
    return re.search(r'^\s+[\'"]?%s[\'"]?:\s*$' % re.escape(version), body, re.M) is not None


def check(tarball, entries):
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if not m.isdir()]
        names = sorted(m.name for m in members)
        manifest = json.load(tar.extractfile('MANIFEST.json')) if 'MANIFEST.json' in names else {}
        version = manifest.get('collection_info', {}).get('version', '')
        is_release = released(tar, version) if version else False
    compiled = [(pattern, required, pattern_regex(pattern)) for pattern, required in entries]
    unexpected = [name for name in names if not any(regex.match(name) for unused_pattern, unused_required, regex in compiled)]
    missing = []
    for pattern, required, regex in compiled:
        if pattern == 'CHANGELOG.rst':
            required = is_release
        if required and not any(regex.match(name) for name in names):
            missing.append(pattern)
    return names, unexpected, missing


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    names, unexpected, missing = check(argv[1], read_allowlist(ALLOWLIST))
    for name in unexpected:
        print('unexpected in the artifact: %s (build_ignore it in galaxy.yml, or allow it in %s)'
              % (name, os.path.relpath(ALLOWLIST)))
    for pattern in missing:
        print('missing from the artifact: nothing matches %s' % pattern)
    if unexpected or missing:
        return 1
    print('%s: %d files, all allowed, none missing' % (os.path.basename(argv[1]), len(names)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
