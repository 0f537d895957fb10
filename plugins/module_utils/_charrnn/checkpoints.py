# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""char-rnn checkpoint names, their order, and whether they are complete.

train.lua names checkpoints
``string.format('%s/lm_%s_epoch%.2f_%.4f.t7', checkpoint_dir, savefile, epoch, val_loss)``
and writes them with torch.save after printing ``saving checkpoint to <path>``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import re
import time

NAME_RE = re.compile(
    r'^lm_(?P<savefile>.+)_epoch(?P<epoch>\d+(?:\.\d+)?)'
    r'_(?P<loss>[-+]?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|nan|inf|infinity))\.t7$',
    re.IGNORECASE)

# A run that starts where checkpoints of its savefile exist writes as <savefile>.run<N>.
RUN_SAVEFILE_RE = re.compile(r'^(?P<base>.+)\.run(?P<run>[0-9]+)$')

DEFAULT_SETTLE = 3.0
DEFAULT_STAT_PAUSE = 0.25


def parse_name(name):
    """Parse a checkpoint file name; None when it is not a char-rnn checkpoint.

    Returns {savefile, epoch, val_loss, val_loss_text}; val_loss is None when
    the logged loss is not finite (nan, -nan, inf).
    """
    m = NAME_RE.match(os.path.basename(name))
    if not m:
        return None
    text = m.group('loss')
    low = text.lower().lstrip('+')
    if low in ('nan', '-nan'):
        loss = None
    else:
        loss = float(low)
        if math.isinf(loss) or math.isnan(loss):
            loss = None
    return {
        'savefile': m.group('savefile'),
        'epoch': float(m.group('epoch')),
        'val_loss': loss,
        'val_loss_text': text,
    }


def file_problem(path):
    """What keeps path from being read as a checkpoint by this user, as a phrase that follows the path, or
    None."""
    if parse_name(path) is None:
        return 'is not a char-rnn checkpoint name (lm_<savefile>_epoch<E>_<loss>.t7)'
    if not os.path.exists(path):
        return 'does not exist'
    if not os.path.isfile(path):
        return 'is not a file'
    if not os.access(path, os.R_OK):
        return 'is not readable by this user (uid %d)' % os.getuid()
    return None


def run_number(checkpoint_savefile, savefile):
    """1 for <savefile> itself, N for a later run's <savefile>.run<N>, None for another savefile."""
    if checkpoint_savefile == savefile:
        return 1
    m = RUN_SAVEFILE_RE.match(checkpoint_savefile)
    if m and m.group('base') == savefile:
        return int(m.group('run'))
    return None


def base_savefile(checkpoint_savefile):
    """The savefile a run's checkpoints count under: <savefile> of <savefile>.run<N>."""
    m = RUN_SAVEFILE_RE.match(checkpoint_savefile)
    return m.group('base') if m else checkpoint_savefile


def run_savefile(checkpoint_dir, savefile, also=None):
    """The savefile a new run writes under, so that it never overwrites a checkpoint of an earlier run.

    char-rnn restarts its epoch count at 0 when it resumes with -init_from, and
    its fixed default seed makes a run from scratch repeat an earlier run's
    losses, so either can write a name an earlier run wrote. A run that starts
    where checkpoints of `savefile` exist writes as <savefile>.run<N>, N one
    more than the highest run present (also: paths of checkpoints to count as
    present); list_checkpoints(dir, savefile) lists all of them as `savefile`.
    """
    present = [e['savefile'] for e in list_checkpoints(checkpoint_dir, savefile)]
    present += [parse_name(path)['savefile'] for path in also or [] if parse_name(path)]
    runs = [n for n in (run_number(name, savefile) for name in present) if n is not None]
    if not runs:
        return savefile
    return '%s.run%d' % (savefile, max(runs) + 1)


def order_key(entry):
    """When a checkpoint was written: mtime (ns), then epoch as tie-break.

    Epoch alone is not age: a run resumed with -init_from restarts char-rnn's
    epoch count, and names do not sort as text (epoch11.82 < epoch9.46).
    """
    return (entry['mtime_ns'], entry['epoch'])


def list_checkpoints(checkpoint_dir, savefile=None):
    """All checkpoint files of `savefile` and its later runs (all savefiles when None) in the directory."""
    entries = []
    try:
        names = os.listdir(checkpoint_dir)
    except OSError:
        return entries
    for name in names:
        info = parse_name(name)
        if info is None or (savefile is not None and run_number(info['savefile'], savefile) is None):
            continue
        path = os.path.join(checkpoint_dir, name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not os.path.isfile(path):
            continue
        entry = {
            'path': path,
            'name': name,
            'savefile': info['savefile'],
            'epoch': info['epoch'],
            'val_loss': info['val_loss'],
            'val_loss_text': info['val_loss_text'],
            'size': st.st_size,
            'mtime': st.st_mtime,
            'mtime_ns': st.st_mtime_ns,
        }
        entries.append(entry)
    entries.sort(key=order_key)
    return entries


def classify(entries, log_saves=None, trainer_running=False, now=None, settle=DEFAULT_SETTLE,
             stat_pause=DEFAULT_STAT_PAUSE, sleeper=time.sleep, stat=os.stat, abandoned=False):
    """Split entries into (complete, in_progress), both in write order.

    A checkpoint is complete when
    - the current run's log shows a later line after its "saving checkpoint
      to" line (torch.save returned), or
    - its saving line is the log's last line, the trainer is no longer
      running and its size is stable, or
    - the log does not mention it: the trainer is not running and its size is
      stable, or the trainer runs and it has not changed for `settle` seconds.
    log_saves maps logged paths (or names) to "followed by a later line".
    abandoned: the trainer died without exiting 0 (killed, crashed, host
    restarted), so a checkpoint whose saving line is the log's last one may
    be truncated: it is never complete.
    Size stability: unchanged for `settle` seconds, or the same size after a
    `stat_pause` second pause (one pause for all candidates).
    """
    if now is None:
        now = time.time()
    by_name = {}
    for path, followed in (log_saves or {}).items():
        by_name[os.path.basename(path)] = followed
    complete, in_progress, need_stable = [], [], []
    for e in entries:
        followed = by_name.get(e['name'])
        old = (now - e['mtime']) > settle
        if followed is True:
            complete.append(e)
        elif followed is False and abandoned and not trainer_running:
            in_progress.append(e)
        elif trainer_running:
            if followed is None and old:
                complete.append(e)
            else:
                in_progress.append(e)
        elif old:
            complete.append(e)
        else:
            need_stable.append(e)
    if need_stable:
        sleeper(stat_pause)
        for e in need_stable:
            try:
                st = stat(e['path'])
            except OSError:
                continue
            if st.st_size == e['size'] and st.st_mtime_ns == e['mtime_ns']:
                complete.append(e)
            else:
                e['size'] = st.st_size
                e['mtime'] = st.st_mtime
                e['mtime_ns'] = st.st_mtime_ns
                in_progress.append(e)
    complete.sort(key=order_key)
    in_progress.sort(key=order_key)
    return complete, in_progress


def latest(entries):
    return max(entries, key=order_key) if entries else None


def best(entries):
    """Lowest finite val_loss; the most recent one on ties."""
    cands = [e for e in entries if e['val_loss'] is not None]
    if not cands:
        return None
    low = min(e['val_loss'] for e in cands)
    return latest([e for e in cands if e['val_loss'] == low])


def newer_than(entries, ref):
    """Entries written after ref (an entry or a stat-like {mtime_ns, epoch, path})."""
    if ref is None:
        return list(entries)
    key = order_key(ref)
    return [e for e in entries if order_key(e) > key and e['path'] != ref.get('path')]


def public(entry):
    """The dict returned to the user (no internal keys)."""
    if entry is None:
        return None
    return {
        'path': entry['path'],
        'name': entry['name'],
        'epoch': entry['epoch'],
        'val_loss': entry['val_loss'],
        'val_loss_text': entry['val_loss_text'],
        'size': entry['size'],
        'mtime': entry['mtime'],
    }


def ref_from_path(path):
    """A reference point for newer_than() from a checkpoint path; None if absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    info = parse_name(path)
    return {'path': path, 'mtime_ns': st.st_mtime_ns, 'epoch': info['epoch'] if info else 0.0}
