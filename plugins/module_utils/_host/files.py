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


def makedirs(path, mode=0o777):
    try:
        os.makedirs(path, mode)
    except OSError as e:
        if e.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def create_new(path, text=False):
    """Open path for writing as a file of its own: a leftover of an earlier attempt is removed first,
    and the file is created exclusively, so that nothing planted at path (a link, say) is written through."""
    try:
        os.unlink(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o666)
    return os.fdopen(fd, 'w' if text else 'wb')


def write_if_changed(path, data, check_mode=False, mode=None, replace=os.rename, opener=None):
    """Write the bytes `data` to path unless it already holds exactly them; returns whether it changed
    (in check mode, whether it would), and what path held before (None when it did not exist).

    The bytes go to a temporary file next to path that replace(tmp, path) then moves over it, so that a
    reader sees either the old content or the new, never half of one; on failure the temporary file is
    removed and the error raised. mode: the new file's permissions (default as open() creates them).
    """
    try:
        with (opener or open)(path, 'rb') as f:
            old = f.read()
    except (IOError, OSError):
        old = None
    if old == data:
        return False, old
    if not check_mode:
        tmp = '%s.%d.tmp' % (path, os.getpid())
        try:
            with (opener(tmp, 'wb') if opener else create_new(tmp)) as f:
                f.write(data)
            if mode is not None:
                os.chmod(tmp, mode)
            replace(tmp, path)
        except (IOError, OSError):
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    return True, old
