# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Compile and import every module and module_util of the collection with the running Python.

    python import_plugins.py COLLECTIONS_ROOT

COLLECTIONS_ROOT holds ansible_collections/rnn_bootstrap/charrnn; ansible.module_utils must be
importable (on PYTHONPATH), as it is inside a module's AnsiballZ payload on a target. Kept to the
Python of the oldest target the collection supports.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import os
import sys
import traceback


def python_files(directory):
    """Paths of the Python files under directory, relative to it: module_utils has a directory per layer."""
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        found.extend(os.path.relpath(os.path.join(root, n), directory) for n in sorted(names)
                     if n.endswith('.py') and n != '__init__.py')
    return found


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    root = os.path.abspath(argv[1])
    sys.path.insert(0, root)
    plugins = os.path.join(root, 'ansible_collections', 'rnn_bootstrap', 'charrnn', 'plugins')
    failures = []
    count = 0
    for kind in ('module_utils', 'modules'):
        for name in python_files(os.path.join(plugins, kind)):
            count += 1
            path = os.path.join(plugins, kind, name)
            dotted = 'ansible_collections.rnn_bootstrap.charrnn.plugins.%s.%s' % (kind, name[:-3].replace(os.sep, '.'))
            try:
                with open(path, 'rb') as source:
                    compile(source.read(), path, 'exec')
                importlib.import_module(dotted)
            except Exception:  # pylint: disable=broad-except
                failures.append('%s/%s:\n%s' % (kind, name, traceback.format_exc()))
    version = '%d.%d.%d' % sys.version_info[:3]
    for failure in failures:
        print('FAILED on Python %s: %s' % (version, failure))
    if failures:
        return 1
    import ansible.module_utils.basic  # pylint: disable=unused-import
    print('Python %s: %d modules and module_utils compile and import (module_utils from %s)'
          % (version, count, os.path.dirname(os.path.dirname(ansible.module_utils.basic.__file__))))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
