# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Parsing of char-rnn's train.lua output (as logged by the train module).

th's print() (trepl) writes each argument followed by a TAB, then a newline,
so every printed line ends in a TAB.  Lines that went through a terminal
(screen) may also carry ANSI colour codes and CRLF.  The formats come from
train.lua at commit 6f9487a.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import re
import time

from shlex import quote

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import checkpoints as _checkpoints

# The marker the train module writes into the log before each run, so that the
# parsers can tell the current run from earlier ones appended to the same log.
RUN_MARKER = '[charrnn] run started'
# ... and the wrapper shell's last line when the trainer has exited.
RUN_END_PREFIX = '[charrnn] run ended: exit status'
RUN_END_RE = re.compile(r'^\[charrnn\] run ended: exit status (\d+)')

ANSI_RE = re.compile(r'\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHM])')
_NUM = r'[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf|infinity)'

ITER_RE = re.compile(
    r'^(?P<it>\d+)/(?P<total>\d+) \(epoch (?P<epoch>%s)\), train_loss = \s*(?P<loss>%s), '
    r'grad/param norm = \s*(?P<norm>%s), time/batch = \s*(?P<tpb>%s)s$' % (_NUM, _NUM, _NUM, _NUM),
    re.IGNORECASE)
EVAL_START_RE = re.compile(r'^evaluating loss over split index (\d+)$')
EVAL_PROGRESS_RE = re.compile(r'^(\d+)/(\d+)\.\.\.$')
SAVING_RE = re.compile(r'^saving checkpoint to (?P<path>.+)$')
VOCAB_RE = re.compile(r'^vocab size: (\d+)$')
PARAMS_RE = re.compile(r'^number of parameters in the model: (\d+)$')
BATCHES_RE = re.compile(r'^data load done\. Number of data batches in train: (\d+), val: (\d+), test: (\d+)$')
INIT_FROM_RE = re.compile(r'^loading a model from checkpoint (.+)$')
# The interruption notice watcher's line when the cloud announced it takes the machine (see _interruption_notice).
INTERRUPTION_RE = re.compile(r'^\[charrnn\] (?P<notice>.+ (?:interruption|preemption) notice(?: \(.*\))?): '
                             r'(?:stopping|cannot stop) the trainer')
# The train.lua prelude's last line when a signal stopped the trainer (see lua/charrnn_requested_checkpoints.lua).
STOPPED_RE = re.compile(r'^\[charrnn\] stopped on (?P<signal>SIG[A-Z]+) (?:after saving (?P<path>.+) at|without a '
                        r'checkpoint: train\.lua saved none at) iteration (?P<iteration>\d+)$')
# The train.lua prelude's line when a stop signal makes train.lua save at the end of the iteration under way.
STOP_REQUEST_RE = re.compile(r'^\[charrnn\] (?P<signal>SIG[A-Z]+) received: saving a checkpoint at the end of iteration '
                             r'(?P<iteration>\d+), then stopping$')
# The early-stopping watcher's line when the validations ran out of patience (see _run/early_stopping.py).
EARLY_STOP_PREFIX = '[charrnn] early stop at iteration'
EARLY_STOP_RE = re.compile(r'^\[charrnn\] early stop at iteration (?P<iteration>\d+), best checkpoint (?P<best>.+?\.t7): '
                           r'(?P<reason>.+)$')
# The train.lua prelude's line when a resumed run goes on with the count of its checkpoint (see lua/charrnn_prelude.lua).
COUNT_BEFORE_RE = re.compile(r'^\[charrnn\] continuing the count of (?P<path>.+): (?P<iterations>\d+) iterations and '
                             r'(?P<epochs>%s) epochs before this run$' % _NUM)
# Job-status lines a shell prints when the trainer dies of a signal; not trainer output.
SHELL_STATUS_RE = re.compile(
    r'^(?:\S+: (?:line \d+: )?)?(?:\d+:? )?(?:\d+ )?(?:Terminated|Killed|Hangup|Segmentation fault|Aborted|'
    r'Bus error|Illegal instruction|Floating point exception)(?: \(core dumped\))?(?:\s{2,}.*)?$')
NAN_PREFIX = 'loss is NaN'
EXPLODING = 'loss is exploding, aborting.'
# Lua errors: "<...>/luajit: file.lua:12: message", "lua: ...", tracebacks,
# and the loader's "ERROR. Code requested a batch ..." (it then os.exit()s).
LUA_ERROR_RE = re.compile(r'^(?:\S*luajit|\S*lua(?:5\.\d)?|th): |^stack traceback:|^ERROR\. |^\S+\.lua:\d+: ')
TRACE_LINE_RE = re.compile(r'^\s*(?:\[C\]|\S+\.lua:\d+:|\.\.\.|\(tail call\))')

DEFAULT_TAIL_BYTES = 1024 * 1024
DEFAULT_HEAD_BYTES = 64 * 1024
MEDIAN_WINDOW = 20


def clean_line(line):
    """Strip ANSI codes, CR and th's trailing TAB/whitespace from one line."""
    if isinstance(line, bytes):
        line = line.decode('utf-8', 'replace')
    line = ANSI_RE.sub('', line)
    if '\r' in line:
        # a bare CR rewrites the line on a terminal: keep what was shown last
        parts = [p for p in line.split('\r') if p.strip()]
        line = parts[-1] if parts else ''
    return line.rstrip()


def to_float(text):
    """float() that understands C's printf spellings: nan, -nan, inf, -inf."""
    t = text.strip().lower()
    if t in ('nan', '-nan', '+nan'):
        return float('nan')
    return float(t)


def finite_or_none(value):
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value


def parse_line(line):
    """Classify one (raw or cleaned) log line: returns a dict with 'kind'."""
    text = clean_line(line)
    if not text:
        return {'kind': 'blank', 'text': text}
    if text.startswith(RUN_MARKER):
        return {'kind': 'marker', 'text': text}
    if text.startswith(RUN_END_PREFIX):
        return {'kind': 'run_end', 'text': text}
    if SHELL_STATUS_RE.match(text):
        return {'kind': 'shell', 'text': text}
    m = ITER_RE.match(text)
    if m:
        return {
            'kind': 'iteration', 'text': text,
            'iteration': int(m.group('it')), 'iterations': int(m.group('total')),
            'epoch': to_float(m.group('epoch')), 'train_loss': to_float(m.group('loss')),
            'grad_param_norm': to_float(m.group('norm')), 'time_per_batch': to_float(m.group('tpb')),
        }
    m = SAVING_RE.match(text)
    if m:
        return {'kind': 'saving', 'text': text, 'path': m.group('path').strip()}
    m = EVAL_START_RE.match(text)
    if m:
        return {'kind': 'eval_start', 'text': text, 'split': int(m.group(1))}
    m = EVAL_PROGRESS_RE.match(text)
    if m:
        return {'kind': 'eval_progress', 'text': text, 'batch': int(m.group(1)), 'batches': int(m.group(2))}
    if text.startswith(NAN_PREFIX):
        return {'kind': 'nan', 'text': text}
    if text == EXPLODING:
        return {'kind': 'exploding', 'text': text}
    m = VOCAB_RE.match(text)
    if m:
        return {'kind': 'vocab', 'text': text, 'vocab_size': int(m.group(1))}
    m = PARAMS_RE.match(text)
    if m:
        return {'kind': 'params', 'text': text, 'num_parameters': int(m.group(1))}
    m = BATCHES_RE.match(text)
    if m:
        return {'kind': 'batches', 'text': text, 'train': int(m.group(1)), 'val': int(m.group(2)),
                'test': int(m.group(3))}
    m = INIT_FROM_RE.match(text)
    if m:
        return {'kind': 'init_from', 'text': text, 'path': m.group(1).strip()}
    m = INTERRUPTION_RE.match(text)
    if m:
        return {'kind': 'interruption', 'text': text, 'notice': m.group('notice')}
    m = COUNT_BEFORE_RE.match(text)
    if m:
        return {'kind': 'count_before', 'text': text, 'iterations': int(m.group('iterations')),
                'epochs': float(m.group('epochs'))}
    m = STOP_REQUEST_RE.match(text)
    if m:
        return {'kind': 'stop_requested', 'text': text, 'signal': m.group('signal'),
                'iteration': int(m.group('iteration'))}
    m = EARLY_STOP_RE.match(text)
    if m:
        return {'kind': 'early_stop', 'text': text, 'iteration': int(m.group('iteration')), 'best': m.group('best'),
                'reason': m.group('reason')}
    m = STOPPED_RE.match(text)
    if m:
        return {'kind': 'stopped', 'text': text, 'signal': m.group('signal'), 'path': m.group('path'),
                'iteration': int(m.group('iteration'))}
    if LUA_ERROR_RE.match(text):
        return {'kind': 'error', 'text': text}
    return {'kind': 'other', 'text': text}


def split_runs(lines):
    """Return the lines of the last run (after the last run marker, marker excluded)."""
    last = -1
    for i, line in enumerate(lines):
        if clean_line(line).startswith(RUN_MARKER):
            last = i
    return lines[last + 1:], last >= 0


def _read_range(f, start, length):
    f.seek(start)
    return f.read(length)


def read_log(path, start_offset=None, head_bytes=DEFAULT_HEAD_BYTES, tail_bytes=DEFAULT_TAIL_BYTES):
    """Read the current run's lines of a train log cheaply.

    start_offset (from the train module's state file) is where the current
    run begins.  Long runs are read as head (first head_bytes, for vocab size
    and parameter count) plus tail (last tail_bytes).  Returns a dict:
    exists, lines (cleaned, of the current run), head (cleaned lines of the
    run's start, possibly overlapping lines), truncated, size.
    """
    result = {'exists': False, 'lines': [], 'head': [], 'truncated': False, 'size': 0, 'path': path}
    try:
        size = os.path.getsize(path)
        f = open(path, 'rb')
    except (IOError, OSError):
        return result
    result['exists'] = True
    result['size'] = size
    with f:
        start = start_offset if start_offset is not None and 0 <= start_offset <= size else 0
        head = []
        if size - start <= head_bytes + tail_bytes:
            lines = _read_range(f, start, size - start).decode('utf-8', 'replace').split('\n')
        else:
            result['truncated'] = True
            # drop the partial first line of the tail
            lines = _read_range(f, size - tail_bytes, tail_bytes).decode('utf-8', 'replace').split('\n')[1:]
            if start_offset is not None and start == start_offset:
                # the head of the current run: keep its complete lines only
                head = _read_range(f, start, head_bytes).decode('utf-8', 'replace').split('\n')[:-1]
    if lines and lines[-1] == '':
        lines = lines[:-1]
    lines, had_marker = split_runs(lines)
    if head and not had_marker:
        head = split_runs(head)[0]
    else:
        head = []
    result['lines'] = [clean_line(x) for x in lines]
    result['head'] = [clean_line(x) for x in head]
    return result


def tail(lines, n=20):
    """Last n non-blank lines."""
    out = [x for x in lines if x.strip()]
    return out[-n:] if n else out


def median(values):
    vals = sorted(values)
    if not vals:
        return None
    mid = len(vals) // 2
    if len(vals) % 2:
        return vals[mid]
    return (vals[mid - 1] + vals[mid]) / 2.0


def saved_checkpoints(lines):
    """Checkpoints announced by 'saving checkpoint to X' in these lines.

    Returns {path_as_logged: followed}, where followed is True when a later
    trainer line exists, i.e. torch.save returned and train.lua went on.
    """
    saves = {}
    pending = []
    for line in lines:
        info = parse_line(line)
        if info['kind'] in ('blank', 'marker', 'run_end', 'shell'):
            continue
        for p in pending:
            saves[p] = True
        pending = []
        if info['kind'] == 'saving':
            saves[info['path']] = False
            pending.append(info['path'])
    return saves


def summarize(lines, head=None, median_window=MEDIAN_WINDOW):
    """Training progress from the current run's log lines.

    Returns a dict: iteration, iterations, epoch (counted on from the checkpoint a resumed run
    continues: iterations_before and epochs_before, which the prelude logs; run_iteration is
    train.lua's own count), train_loss, grad_param_norm,
    time_per_batch (last line), median_time_per_batch (over the last
    median_window iteration lines), eta_seconds, vocab_size, num_parameters,
    batches (train/val/test), last_checkpoint (as logged), resumed_from,
    phase (starting, training, evaluating, saving, nan, exploding, error),
    stopped_on (the signal the trainer stopped on after its checkpoint, or None), interruption (the
    cloud's notice that it takes the machine, or None), early_stop (the early-stopping watcher's decision
    to end the run: iteration, best checkpoint, reason; or None),
    errors (Lua error/traceback lines), saves ({path: followed}).
    """
    summary = {
        'iteration': None, 'iterations': None, 'epoch': None, 'train_loss': None,
        'grad_param_norm': None, 'time_per_batch': None, 'median_time_per_batch': None,
        'eta_seconds': None, 'vocab_size': None, 'num_parameters': None, 'batches': None,
        'last_checkpoint': None, 'resumed_from': None, 'phase': 'starting', 'stopped_on': None,
        'interruption': None, 'early_stop': None, 'errors': [], 'iterations_before': 0, 'epochs_before': 0.0, 'run_iteration': None,
    }
    recent = []
    phase = 'starting'
    for source in ([head] if head else []) + [lines]:
        for line in source:
            info = parse_line(line)
            kind = info['kind']
            if kind == 'vocab':
                summary['vocab_size'] = info['vocab_size']
            elif kind == 'params':
                summary['num_parameters'] = info['num_parameters']
            elif kind == 'batches':
                summary['batches'] = {'train': info['train'], 'val': info['val'], 'test': info['test']}
            elif kind == 'init_from':
                summary['resumed_from'] = info['path']
            elif kind == 'count_before':
                summary['iterations_before'], summary['epochs_before'] = info['iterations'], info['epochs']
            if source is head:
                continue
            if kind == 'iteration':
                recent.append(info['time_per_batch'])
                for k in ('iteration', 'iterations', 'epoch', 'grad_param_norm', 'time_per_batch'):
                    summary[k] = info[k]
                summary['train_loss'] = finite_or_none(info['train_loss'])
                summary['train_loss_text'] = info['text'].split('train_loss = ', 1)[1].split(',', 1)[0].strip()
                if phase not in ('nan', 'exploding', 'error'):
                    phase = 'training'
            elif kind in ('eval_start', 'eval_progress') and phase not in ('nan', 'exploding', 'error'):
                phase = 'evaluating'
            elif kind == 'saving':
                summary['last_checkpoint'] = info['path']
                if phase not in ('nan', 'exploding', 'error'):
                    phase = 'saving'
            elif kind == 'stopped':
                summary['stopped_on'] = info['signal']
            elif kind == 'interruption':
                summary['interruption'] = info['notice']
            elif kind == 'early_stop':
                summary['early_stop'] = dict((k, info[k]) for k in ('iteration', 'best', 'reason'))
            elif kind == 'nan':
                phase = 'nan'
            elif kind == 'exploding':
                phase = 'exploding'
            elif kind == 'error':
                phase = 'error'
                summary['errors'].append(info['text'])
            elif phase == 'error' and TRACE_LINE_RE.match(info['text']):
                summary['errors'].append(info['text'])
    if summary['iteration'] is not None:
        # a resumed run goes on with the count of its checkpoint; train.lua's own count is run_iteration
        summary['run_iteration'] = summary['iteration']
        summary['iteration'] += summary['iterations_before']
        summary['iterations'] += summary['iterations_before']
        if summary['epoch'] is not None:
            summary['epoch'] = round(summary['epoch'] + summary['epochs_before'], 3)
    recent = [t for t in recent[-median_window:] if not math.isnan(t)]
    summary['median_time_per_batch'] = median(recent)
    if summary['median_time_per_batch'] is not None:
        # train.lua prints time/batch with 4 decimals; the mean of two must not print 0.22010000000000002
        summary['median_time_per_batch'] = round(summary['median_time_per_batch'], 4)
    if summary['iteration'] is not None and summary['median_time_per_batch'] is not None:
        left = max(0, summary['iterations'] - summary['iteration'])
        summary['eta_seconds'] = round(left * summary['median_time_per_batch'], 1)
    if summary['epoch'] is not None and (math.isnan(summary['epoch']) or math.isinf(summary['epoch'])):
        summary['epoch'] = None
    if summary['iteration'] is not None and summary['iteration'] == summary['iterations'] \
            and phase in ('training', 'saving', 'evaluating'):
        phase = 'last_iteration'
    summary['phase'] = phase
    summary['saves'] = saved_checkpoints(lines)
    return summary


def loss_curves(lines):
    """Training and validation loss of the current run, as points for a chart.

    Returns (train, val): train is [(iteration, train_loss)], val is [(iteration, val_loss)] of the
    current run's validations (see validations). Non-finite values are left out.
    """
    run, dummy = split_runs(lines)
    train = []
    before = 0
    for line in run:
        info = parse_line(line)
        if info['kind'] == 'count_before':
            before = info['iterations']
        elif info['kind'] == 'iteration' and finite_or_none(info['train_loss']) is not None:
            train.append((before + info['iteration'], info['train_loss']))
    val = [(v['iteration'], v['val_loss']) for v in validations(run) if finite_or_none(v['val_loss']) is not None]
    return train, val


def validations(lines):
    """Every validation train.lua logged, with the checkpoint it saved, in the order logged.

    Each is a dict: iteration (counted on across resumed runs, as summarize counts), run_iteration
    (train.lua's own i), val_loss (a float, nan or inf as logged), val_loss_text, path, epoch (train.lua's
    own, from the name) and requested_by (the stop signal that asked for it, or None).

    train.lua validates during iteration i and announces the checkpoint before the line of iteration i, so
    a validation sits at the last logged iteration + 1, or where the prelude says a stop signal made it
    save. Over several runs (the train module's run markers between them), a run that continues the count
    of a checkpoint keeps the validations up to that checkpoint's iteration (those after it belong to a
    branch the resume left); a run from scratch starts a new history.
    """
    chain, run = [], []
    continues = True
    before = last = 0
    requested = None
    for line in lines:
        info = parse_line(line)
        kind = info['kind']
        if kind == 'marker':
            chain = (chain if continues else []) + run
            run, continues, before, last, requested = [], False, 0, 0, None
        elif kind == 'count_before':
            continues = True
            before = last = info['iterations']
            chain = [v for v in chain + run if v['iteration'] <= before]
            run = []
        elif kind == 'iteration':
            last = before + info['iteration']
        elif kind == 'stop_requested':
            requested = info
        elif kind == 'saving':
            parsed = _checkpoints.parse_name(info['path'])
            if parsed is None:
                continue
            run_iteration = last - before + 1
            by = None
            if requested is not None:
                run_iteration, by, requested = requested['iteration'], requested['signal'], None
            text = parsed['val_loss_text']
            run.append({
                'iteration': before + run_iteration, 'run_iteration': run_iteration,
                'val_loss': to_float(text), 'val_loss_text': text, 'path': info['path'],
                'epoch': parsed['epoch'], 'requested_by': by,
            })
    return (chain if continues else []) + run


def run_marker(session, argv):
    return '%s %s session=%s: %s' % (
        RUN_MARKER, time.strftime('%Y-%m-%dT%H:%M:%S%z'), session, ' '.join(quote(a) for a in argv))


def exit_status(lines):
    """The trainer's exit status from the wrapper's last line, or None."""
    for line in reversed(lines):
        m = RUN_END_RE.match(line)
        if m:
            return int(m.group(1))
    return None
