# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The options the train, checkpoint and sample modules share: one argument spec, documented by the
doc fragment rnn_bootstrap.charrnn.training_run, and one check of their values."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pwd

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import flags as _flags


def argument_spec(savefile=False, torch=False, **own):
    """The argument spec of a module working on a training run: chdir, session and log_path (doc
    fragment training_run); savefile (training_run.savefile) when the module reads a savefile's
    checkpoints; th, gpuid and threads (training_run.torch) when it runs Torch; then the module's own
    options."""
    spec = dict(
        chdir=dict(type='path', default=_paths.DEFAULT_CHDIR),
        session=dict(type='str', default=_screen.DEFAULT_SESSION),
        log_path=dict(type='path'),
    )
    if savefile:
        spec['savefile'] = dict(type='str', default=_flags.FLAG_DEFAULTS['savefile'])
    if torch:
        spec.update(
            th=dict(type='path'),
            gpuid=dict(type='int', default=-1),
            threads=dict(type='int'),
        )
    spec.update(own)
    return spec


def check(params, *own):
    """What is wrong with the options' values (the first problem, naming the fix), or None: the shared
    options first, then the module's own checks, pairs of (a condition that is a problem, its message)."""
    err = _screen.check_session_name(params['session'])
    if err:
        return err
    if 'savefile' in params and not _flags.SAVEFILE_RE.match(params['savefile']):
        return "savefile %r is not a valid char-rnn savefile name" % params['savefile']
    if 'gpuid' in params and params['gpuid'] < -1:
        return 'gpuid must be -1 (CPU) or a GPU index >= 0, got %d' % params['gpuid']
    if params.get('threads') is not None and params['threads'] < 1:
        return 'threads must be >= 1, got %d' % params['threads']
    for problem, message in own:
        if problem:
            return message
    return _root_on_a_users_checkout(params.get('chdir'))


def _root_on_a_users_checkout(chdir):
    """Root working in a checkout another user owns would load that user's checkpoints and Lua (and write
    where that user can plant links) as root."""
    if not chdir or os.geteuid() != 0:
        return None
    try:
        owner = os.stat(chdir).st_uid
    except OSError:
        return None
    if owner == 0:
        return None
    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = 'uid %d' % owner
    return ('this module runs as root in %s, which %s owns: it would load that user\'s checkpoints and Lua as root. '
            'Run it as %s (become_user: %s), as the training role does' % (chdir, name, name, name))


def log_path(params, chdir, checkpoint_dir):
    """The run's log: log_path resolved against chdir, else the default next to the checkpoints."""
    if params['log_path']:
        return _paths.resolve(params['log_path'], chdir)
    return _paths.default_log_path(checkpoint_dir, params['session'])
