#!/usr/bin/env python3
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Seconds per batch of char-rnn's default model for every OpenMP x OpenBLAS thread setting and precision.

Trains char-rnn's default model (LSTM, rnn_size 128, 2 layers, seq_length 50, batch_size 50) on a
corpus for a fixed number of iterations per run, --repeats runs per setting, and prints the median,
min and max of the per-run median time/batch that train.lua itself reports (the first --warmup
iterations of each run are left out). Settings: OMP_NUM_THREADS x OPENBLAS_NUM_THREADS over 1..nproc
with OMP_WAIT_POLICY=PASSIVE, and the environment nothing is set in (each library's own default), each
in every --precision: double is train.lua itself, float runs it through the collection's train.lua
prelude exactly as the train module does (char-rnn's LSTM through the fused step), float-clones the same
with CHARRNN_LSTM_STEP=graph (through char-rnn's own clones). The runs of all settings and precisions are
taken in turn (the precisions of one thread setting one after the other). Then names the setting the
collection's train module picks on this host, how far it is from the best, how much faster float trains
than double on each setting, and what the fused step adds.

Needs Torch (th) and a char-rnn checkout; nothing of either is changed (data, checkpoints and the
prelude go to a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '.collections'))
sys.path.insert(0, HERE)
# pylint: disable-next=wrong-import-position
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision  # noqa: E402
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads  # noqa: E402
# pylint: disable-next=wrong-import-position
import collection_env  # noqa: E402

DEFAULT_MODEL = ['-model', 'lstm', '-rnn_size', '128', '-num_layers', '2',
                 '-seq_length', '50', '-batch_size', '50']
BATCH_RE = re.compile(r'^(\d+)/(\d+) \(epoch [0-9.]+\), train_loss = .*time/batch = ([0-9.]+)s')
# The target: float at least this much faster than double on the collection's setting.
FLOAT_SPEEDUP_TARGET = 1.3


def batch_times(output, warmup):
    """train.lua's own time/batch of each iteration after the first `warmup` ones, in order."""
    times = []
    for line in output.splitlines():
        m = BATCH_RE.match(line.strip())
        if m and int(m.group(1)) > warmup:
            times.append(float(m.group(3)))
    return times


def trainer_argv(args, workdir, flags, precision):
    """th train.lua <flags>, through the train.lua prelude the way the train module runs it."""
    return _precision.trainer_argv([args.th, 'train.lua'] + flags, precision, os.path.join(workdir, 'train.log.prelude.lua'))


# --precision names: the precision each trains in, and what it sets besides.
VARIANTS = {'double': ('double', {}), 'float': ('float', {}),
            'float-clones': ('float', {'CHARRNN_LSTM_STEP': 'graph'})}
# What each variant's log must say, lest a silent fallback be measured as the fused step.
LSTM_STEP_LINES = {'float': '[charrnn] LSTM step fused', 'float-clones': '[charrnn] LSTM step not fused (CHARRNN_LSTM_STEP=graph)'}
# Left out of the environment the runs inherit: each run's setting and variant decide them.
CONTROLLED = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'OMP_WAIT_POLICY', 'OPENBLAS_CORETYPE', 'CHARRNN_LSTM_STEP')


def parse_precisions(text):
    names = [p.strip() for p in text.split(',') if p.strip()]
    for name in names:
        if name not in VARIANTS:
            raise ValueError('unknown %r: choose from %s' % (name, ', '.join(sorted(VARIANTS))))
    if not names or len(set(names)) != len(names):
        raise ValueError('give each of %s at most once, comma-separated' % ', '.join(sorted(VARIANTS)))
    return names


def speedups(results, precisions, slower='double', faster='float'):
    """setting -> the `slower` variant's median / the `faster` one's, for settings measured in both."""
    if not (faster in precisions and slower in precisions):
        return {}
    by = dict(((r['setting'], r['precision']), r['median']) for r in results)
    return dict((setting, by[(setting, slower)] / by[(setting, faster)])
                for setting, precision in by if precision == faster and (setting, slower) in by)


def run_once(args, workdir, env_overrides, variant=_precision.NATIVE_PRECISION):
    """One train.lua run; returns the per-iteration times after the warm-up."""
    precision, variant_env = VARIANTS[variant]
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(env_overrides)
    env.update(variant_env)
    env['TERM'] = 'dumb'
    ntrain = args.ntrain
    cmd = trainer_argv(args, workdir, [
        '-gpuid', '-1', '-data_dir', os.path.join(workdir, 'data'),
        '-checkpoint_dir', os.path.join(workdir, 'cv'), '-print_every', '1',
        '-eval_val_every', '1000000', '-max_epochs', '%.6f' % ((args.iterations + 0.5) / ntrain),
        '-seed', '123'] + DEFAULT_MODEL, precision)
    proc = subprocess.run(cmd, cwd=args.char_rnn, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    times = batch_times(proc.stdout, args.warmup)
    if proc.returncode != 0 or len(times) < args.iterations - args.warmup:
        sys.exit('train.lua failed (exit %d, %d timed iterations) in %s with %s:\n%s'
                 % (proc.returncode, len(times), variant, env_overrides, proc.stdout[-3000:]))
    path = LSTM_STEP_LINES.get(variant)
    if path and path not in proc.stdout:
        sys.exit('%s did not train the way it names (no %r in its output):\n%s' % (variant, path, proc.stdout[-3000:]))
    return times


def count_train_batches(args, workdir):
    """Runs one iteration to let char-rnn preprocess the corpus and learn its batch count."""
    env = dict(os.environ, TERM='dumb')
    cmd = [args.th, 'train.lua', '-gpuid', '-1', '-data_dir', os.path.join(workdir, 'data'),
           '-checkpoint_dir', os.path.join(workdir, 'cv'), '-max_epochs', '0.0001'] + DEFAULT_MODEL
    proc = subprocess.run(cmd, cwd=args.char_rnn, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    m = re.search(r'data load done\. Number of data batches in train: (\d+)', proc.stdout)
    if not m:
        sys.exit('cannot read the batch count from train.lua:\n' + proc.stdout[-3000:])
    return int(m.group(1))


def main():
    nproc = _threads.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--th', default=shutil.which('th') or '/opt/torch/bin/th')
    parser.add_argument('--char-rnn', default='/opt/rnn-karpathy')
    parser.add_argument('--corpus', default=None, help='default: <char-rnn>/data/tinyshakespeare/input.txt')
    parser.add_argument('--iterations', type=int, default=60)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--max-threads', type=int, default=nproc)
    parser.add_argument('--precision', default='double,float,float-clones',
                        help='comma-separated precisions to measure each setting in: double, float (the fused '
                             'LSTM step), float-clones (char-rnn\'s clones); default: all three')
    parser.add_argument('--collection-setting-only', action='store_true',
                        help="measure only the threads the train module picks here, not the whole sweep")
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args()
    try:
        precisions = parse_precisions(args.precision)
    except ValueError as e:
        parser.error('--precision: %s' % e)
    corpus = args.corpus or os.path.join(args.char_rnn, 'data', 'tinyshakespeare', 'input.txt')

    # The OpenBLAS core the train module would force here (none when OpenBLAS knows this CPU): every
    # thread setting runs on it, so that the sweep compares threads alone.
    core = collection_env.core_override(args.th, environ={})
    picked = _threads.thread_env(None, core=core)
    settings = []
    if not args.collection_setting_only:
        for omp in range(1, args.max_threads + 1):
            for blas in range(1, args.max_threads + 1):
                settings.append(('OMP %d, OpenBLAS %d, passive' % (omp, blas),
                                 _threads.thread_env(blas, omp, core=core)))
    grid = len(settings)
    if not args.collection_setting_only:
        settings.append(('nothing set (library defaults)', {}))
    if core:
        settings.append(("the collection's threads, OpenBLAS's own core choice", _threads.thread_env(None)))
    default_name = [name for name, env in settings if env == picked]
    if not default_name:
        settings.append(('collection default', picked))
        default_name = ['collection default']
        if args.collection_setting_only:
            grid = len(settings)

    workdir = tempfile.mkdtemp(prefix='charrnn-throughput-')
    try:
        os.makedirs(os.path.join(workdir, 'data'))
        shutil.copy(corpus, os.path.join(workdir, 'data', 'input.txt'))
        if any(VARIANTS[p][0] != _precision.NATIVE_PRECISION for p in precisions):
            _precision.install_prelude(os.path.join(workdir, 'train.log.prelude.lua'))
        args.ntrain = count_train_batches(args, workdir)
        print('# char-rnn default model, %d iterations per run (first %d left out), %d runs per setting and '
              'precision taken in turn, precisions %s, nproc %d, %s'
              % (args.iterations, args.warmup, args.repeats, '/'.join(precisions), nproc, args.th), flush=True)
        runs = dict(((name, p), []) for name, env in settings for p in precisions)
        # Round robin, so that a slow spell of the machine falls on every setting and precision alike;
        # the precisions of one setting run back to back, in alternating order from one round to the next.
        for round_ in range(args.repeats):
            for name, env in settings:
                for p in (precisions if round_ % 2 == 0 else precisions[::-1]):
                    runs[(name, p)].append(statistics.median(run_once(args, workdir, env, p)))
        results = []
        for name, env in settings:
            for p in precisions:
                medians = runs[(name, p)]
                row = {'setting': name, 'precision': p, 'env': env, 'median': statistics.median(medians),
                       'min': min(medians), 'max': max(medians), 'runs': medians}
                results.append(row)
                print('%-40s %-6s %.4f s/batch (min %.4f, max %.4f)'
                      % (name, p, row['median'], row['min'], row['max']))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    summary = {'nproc': nproc, 'iterations': args.iterations, 'repeats': args.repeats, 'precisions': precisions,
               'results': results, 'default': default_name[0]}
    for p in precisions:
        rows = [r for r in results if r['precision'] == p]
        best = min(rows[:grid] if not args.collection_setting_only else rows, key=lambda r: r['median'])
        ours = [r for r in rows if r['setting'] == default_name[0]][0]
        print('%s: best %s at %.4f s/batch; the collection picks on this host %s (%s) at %.4f s/batch = %.2fx the best'
              % (p, best['setting'], best['median'], default_name[0],
                 ', '.join('%s=%s' % kv for kv in sorted(picked.items())), ours['median'],
                 ours['median'] / best['median']))
        summary.setdefault('best', {})[p] = best['setting']
        summary.setdefault('default_over_best', {})[p] = ours['median'] / best['median']
        summary.setdefault('default_median', {})[p] = ours['median']
    faster = speedups(results, precisions)
    for name, env in settings:
        if name in faster:
            print('float against double, %s: %.2fx faster' % (name, faster[name]))
    if default_name[0] in faster:
        got = faster[default_name[0]]
        print('float against double on the collection\'s setting: %.2fx faster (target: at least %.1fx, %s)'
              % (got, FLOAT_SPEEDUP_TARGET, 'met' if got >= FLOAT_SPEEDUP_TARGET else 'NOT met'))
        summary['float_speedup'] = faster
    fused = speedups(results, precisions, slower='float-clones', faster='float')
    if default_name[0] in fused:
        print('float, the fused LSTM step against char-rnn\'s clones on the collection\'s setting: %.2fx faster'
              % fused[default_name[0]])
        summary['fused_speedup'] = fused
    own_choice = "the collection's threads, OpenBLAS's own core choice"
    for p in precisions:
        by = dict((r['setting'], r['median']) for r in results if r['precision'] == p)
        if own_choice in by:
            print('%s: OPENBLAS_CORETYPE=%s against OpenBLAS\'s own choice, the collection\'s threads: %.2fx faster'
                  % (p, core, by[own_choice] / by[default_name[0]]))
            summary.setdefault('core_speedup', {})[p] = by[own_choice] / by[default_name[0]]
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=2)


if __name__ == '__main__':
    main()
