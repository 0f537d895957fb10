# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The shell that runs train.lua inside screen: it records the trainer's pid, appends its output
to the log, logs its exit status and prunes old checkpoints."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from shlex import quote

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.log import RUN_END_PREFIX

# Keeps the `keep` most recently written checkpoints of one model and the one with the lowest validation
# loss; deletes the others. The newest file, which may still be being written, is always among those kept.
# Arguments: directory, keep, and an extended regular expression that matches the names of the model's
# checkpoints and no other (lineage_pattern). The list stays in the shell: sessions sharing the directory
# share no file.
PRUNE_FUNCTION = r"""prune() {
  ( cd "$1" 2>/dev/null || exit 0
    list=$(ls -1t -- . 2>/dev/null | grep -E -- "$3") || exit 0
    best=$(printf '%s\n' "$list" | sed -n 's/^\(.*_\([0-9][0-9.]*\)\.t7\)$/\2 \1/p' | sort -g | head -n 1 | cut -d' ' -f2-)
    printf '%s\n' "$list" | tail -n +"$(($2 + 1))" | while IFS= read -r name; do
      [ "$name" = "$best" ] || rm -f -- "$name"
    done )
}"""


def ere_escape(text):
    """text as a literal in a POSIX extended regular expression."""
    return ''.join('\\' + c if c in '.[]()*+?{}|^$\\' else c for c in text)


def lineage_pattern(savefiles):
    """The names of the checkpoints of these savefiles (a model's runs), exactly as train.lua names them:
    lm_<savefile>_epoch<epoch>_<validation loss>.t7."""
    return '^lm_(%s)_epoch[0-9]+\\.[0-9]+_[^_/]*\\.t7$' % '|'.join(ere_escape(s) for s in sorted(set(savefiles)))


# With an exec_prefix that gives the trainer its stop signals back (a shell cannot: what a shell ignores
# on entry it cannot reset), the wrapper, its tee and the exit line outlive a stop sent to every process of
# the session at once, as a shutdown sends it: only the trainer acts on it. screen's hangup when it quits
# reaches the wrapper alone, so the trainer goes on without screen. The helpers beside the trainer take the
# default again, so that the wrapper can end them.
IGNORE_STOPS = "trap '' HUP INT TERM;"
DEFAULT_STOPS = 'trap - HUP INT TERM;'


def build_wrapper(chdir, argv, env, log_path, pid_file, stdbuf=None, shell='/bin/sh', keep=0,
                  checkpoint_dir=None, lineage=None, prune_every=60, exec_prefix=None, helpers=None, after=None):
    """argv (for `screen -dmS <session> ...`) of the shell that runs the trainer.

    The inner shell writes its pid, then execs env/stdbuf/exec_prefix/th, so
    the pid in pid_file is the trainer's (exec_prefix: a command that execs
    the rest, such as _requested_checkpoints.trainer_exec, which gives the
    trainer back the stop signals the wrapper ignores, IGNORE_STOPS).
    Output (stdout and stderr, line-buffered via stdbuf when available) goes
    through tee: appended to the log and shown
    in the screen window.  When the trainer ends, a last line records its
    exit status.  With keep > 0, a background loop prunes the checkpoints of
    the model in checkpoint_dir (lineage: the savefiles of its runs) every
    prune_every seconds and once at the end (PRUNE_FUNCTION), so that a run
    of days cannot fill the disk. helpers,
    argvs, run in the background while the trainer does and are ended with it
    (the watcher of _interruption_notice, the notifier of _notifications);
    after, an argv, runs once the exit status is logged.
    """
    inner_cmd = ['exec', 'env'] + ['%s=%s' % (k, env[k]) for k in sorted(env)]
    if stdbuf:
        inner_cmd += [stdbuf, '-oL', '-eL']
    inner_cmd += list(exec_prefix or []) + list(argv)
    inner = 'echo $$ > %s; %s' % (quote(pid_file), ' '.join(quote(a) for a in inner_cmd))
    run = '{ %s -c %s; echo "%s $?"; } 2>&1 | tee -a %s >/dev/null' % (
        quote(shell), quote(inner), RUN_END_PREFIX, quote(log_path))
    if after:
        run = '%s; %s' % (run, ' '.join(quote(a) for a in after))
    for n, helper in enumerate(helpers or []):
        run = '( %s exec %s ) & helper%d=$!; %s; kill $helper%d 2>/dev/null' % (
            DEFAULT_STOPS, ' '.join(quote(a) for a in helper), n, run, n)
    if keep and keep > 0:
        prune_args = '%s %d %s' % (quote(checkpoint_dir), int(keep), quote(lineage_pattern(lineage)))
        run = ('%s; ( %s while sleep %d; do prune %s; done ) & pruner=$!; %s; kill $pruner 2>/dev/null; prune %s'
               % (PRUNE_FUNCTION, DEFAULT_STOPS, int(prune_every), prune_args, run, prune_args))
    outer = '%scd %s || exit 1; %s' % (IGNORE_STOPS + ' ' if exec_prefix else '', quote(chdir), run)
    return [shell, '-c', outer]
