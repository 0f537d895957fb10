# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Directories and files the modules create or write."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os


def nearest_existing_dir(path):
    """Nearest existing ancestor directory of path (path itself if it exists)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def dir_writable_error(path, what):
    """Message when directory `path` cannot be created or written, else None."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            return "%s %s exists but is not a directory: remove it or choose another path" % (what, path)
        if not os.access(path, os.W_OK | os.X_OK):
            return ("%s %s is not writable by this user (uid %d): fix its ownership/permissions "
                    "or choose another directory" % (what, path, os.getuid()))
        return None
    anc = nearest_existing_dir(path)
    if not os.path.isdir(anc):
        return "%s %s cannot be created: %s is not a directory" % (what, path, anc)
    if not os.access(anc, os.W_OK | os.X_OK):
        return ("%s %s does not exist and cannot be created: %s is not writable by this user "
                "(uid %d)" % (what, path, anc, os.getuid()))
    return None


def makedirs(path):
    try:
        os.makedirs(path)
    except OSError as e:
        if e.errno != errno.EEXIST or not os.path.isdir(path):
            raise
