# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""What the generators in hacking/ share: write the files they generate, or with --check only name the ones
that differ from what they would write."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys


class GenerateError(Exception):
    """A source a generator cannot write from; the message says which and why."""


def main(argv, repo, usage, command, generated, stale_line):
    """generated(repo): {path relative to repo: (its text now, the text to write)}; stale_line(path): what --check
    prints for a file that differs. Returns the exit status."""
    check = argv[1:] == ['--check']
    if argv[1:] and not check:
        sys.stderr.write(usage)
        return 2
    try:
        files = generated(repo)
    except GenerateError as error:
        sys.stderr.write('%s: %s\n' % (command, error))
        return 1
    stale = [path for path, (old, new) in sorted(files.items()) if old != new]
    for path in stale:
        if check:
            print(stale_line(path))
        else:
            with open(os.path.join(repo, path), 'w', encoding='utf-8') as f:
                f.write(files[path][1])
            print('wrote %s' % path)
    return 1 if check and stale else 0
