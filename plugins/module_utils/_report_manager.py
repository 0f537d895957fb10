# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The report module's work: a Markdown table of a fleet's training and a PNG of its loss curves,
written on the controller only when they changed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import pngplot as _pngplot
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log


def cell(value, fmt='%s'):
    if value is None or value == '':
        return '-'
    return fmt % value


def duration(seconds):
    if seconds is None:
        return '-'
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return '%ds' % seconds
    if seconds < 3600:
        return '%dm %02ds' % (seconds // 60, seconds % 60)
    return '%dh %02dm' % (seconds // 3600, seconds % 3600 // 60)


def markdown(title, hosts):
    lines = ['# %s' % title, '',
             '| Host | Distribution | Bootstrap | First checkpoint | Re-run | Training | Iteration | s/batch '
             '| Train loss | Best val loss | ETA | After a reboot |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for host in hosts:
        training = host.get('training') or {}
        iteration = '-'
        if training.get('iteration') is not None:
            iteration = '%s/%s' % (training['iteration'], cell(training.get('iterations')))
        lines.append('| %s |' % ' | '.join([
            host['name'],
            cell(host.get('distribution')),
            duration(host.get('bootstrap_seconds')),
            duration(host.get('first_checkpoint_seconds')),
            duration(host.get('rerun_seconds')),
            'running' if training.get('running') else cell(training.get('status'), '%s') if training else '-',
            iteration,
            cell(training.get('median_time_per_batch'), '%.3f'),
            cell(training.get('train_loss'), '%.4f'),
            cell(host.get('best_val_loss'), '%.4f'),
            duration(training.get('eta_seconds')) if training.get('running') else '-',
            after_reboot(host.get('supervision'), training),
        ]))
    lines += ['', '![training and validation loss](loss.png)', '']
    outlook = [(host['name'], line) for host in hosts for line in outlook_lines(host)]
    if outlook:
        lines += ['## How the runs stand: early stops, ETA and cost, advice', '']
        lines += ['- %s: %s' % (name, line) for name, line in outlook]
        lines.append('')
    history = [(host['name'], event) for host in hosts for event in host.get('events') or []]
    if history:
        lines += ['## Restarts and interruptions', '']
        lines += ['- %s %s: %s' % (event.get('at', '?'), name, describe_event(event)) for name, event in history]
        lines.append('')
    return '\n'.join(lines)


def outlook_lines(host):
    """What the host's status says beyond the table: why early stopping ended the run and which checkpoint is
    best, when the run ends and what it costs, and the advice of its curves."""
    lines = []
    early = (host.get('training') or {}).get('early_stop')
    if early:
        lines.append('stopped early at iteration %s, best checkpoint %s: %s'
                     % (early.get('iteration'), early.get('best'), early.get('reason')))
    eta = host.get('eta')
    if eta and eta.get('message'):
        lines.append('ETA: %s' % eta['message'])
    lines += ['advice: %s' % a['message'] for a in host.get('advice') or [] if a.get('message')]
    return lines


def after_reboot(supervision, training=None):
    """Whether the host's run comes back by itself after a reboot, and why not, for the report's table."""
    if not supervision:
        return '-'
    if (training or {}).get('status') == 'finished':
        return 'stays down: training finished'
    if supervision.get('result') == 'start-limit-hit' or supervision.get('active_state') == 'failed':
        return 'gave up after %s restarts; resumes at the next boot' % supervision.get('restarts')
    if supervision.get('comes_back_after_reboot'):
        return 'resumes (%s)' % supervision.get('unit')
    reason = supervision.get('reason') or ''
    prefix = 'the run will not come back after a restart of the host: '
    return 'no: %s' % (reason[len(prefix):] if reason.startswith(prefix) else reason or 'not supervised')


def describe_event(event):
    """One line of a run's record: a start by systemd, an end by a signal, the cloud or a failure."""
    what = event.get('event', '?')
    if what == 'ended':
        how = ('interrupted by the cloud (%s)' % event['interruption'] if event.get('interruption') else
               'stopped on %s' % event['stopped_on'] if event.get('stopped_on') else
               'exit status %s (%s)' % (event.get('exit_status'), event.get('phase')))
        by = ', by %s' % event['by'] if event.get('by') else ''
        return 'the trainer ended at iteration %s, %s%s' % (cell(event.get('iteration')), how, by)
    if what == 'not started':
        return 'systemd could not start the trainer: %s' % event.get('reason', '')
    return '%s by %s%s' % (what, event.get('by', '?'),
                           ', resuming from %s' % event['resumed_from'] if event.get('resumed_from') else '')


class ReportManager:
    """Reads each host's log, writes report.md and loss.png into dest, and exits the module."""

    def __init__(self, module):
        self.module = module

    def run(self):
        module = self.module
        dest = module.params['dest']
        hosts = module.params['hosts']

        panels, curves = [], {}
        for host in hosts:
            train, val = [], []
            if host.get('log'):
                try:
                    with open(host['log'], 'rb') as f:
                        lines = f.read().decode('utf-8', 'replace').splitlines()
                except (IOError, OSError) as e:
                    module.fail_json(msg='cannot read the training log of %s at %s: %s' % (host['name'], host['log'], e))
                train, val = _log.loss_curves(lines)
            curves[host['name']] = {'train': len(train), 'val': len(val)}
            panels.append((host['name'], train, val))

        text = markdown(module.params['title'], hosts)
        md_path = os.path.join(dest, 'report.md')
        png_path = os.path.join(dest, 'loss.png')
        if not module.check_mode:
            try:
                _files.makedirs(dest)
            except OSError as e:
                module.fail_json(msg='cannot create the report directory %s: %s' % (dest, e))
        changed = False
        for path, data in ((md_path, text.encode('utf-8')), (png_path, _pngplot.loss_chart(panels))):
            changed = _files.write_if_changed(path, data, module.check_mode)[0] or changed
        module.exit_json(changed=changed, markdown=text, markdown_path=md_path, png_path=png_path, curves=curves)
