#!/usr/bin/env python3
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Seconds per batch of char-rnn's default model for every OpenMP x OpenBLAS thread setting.

Trains char-rnn's default model (LSTM, rnn_size 128, 2 layers, seq_length 50, batch_size 50) on a
corpus for a fixed number of iterations per run, --repeats runs per setting, and prints the median,
min and max of the per-run median time/batch that train.lua itself reports (the first --warmup
iterations of each run are left out). Settings: OMP_NUM_THREADS x OPENBLAS_NUM_THREADS over 1..nproc
with OMP_WAIT_POLICY=PASSIVE, and the environment nothing is set in (each library's own default); the
runs of all settings are taken in turn. Then names the setting the collection's train module picks on
this host and how far it is from the best.

Needs Torch (th) and a char-rnn checkout; nothing of either is changed (data and checkpoints go to a
temporary directory).
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
# pylint: disable-next=wrong-import-position
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import common  # noqa: E402

DEFAULT_MODEL = ['-model', 'lstm', '-rnn_size', '128', '-num_layers', '2',
                 '-seq_length', '50', '-batch_size', '50']
BATCH_RE = re.compile(r'^(\d+)/(\d+) \(epoch [0-9.]+\), train_loss = .*time/batch = ([0-9.]+)s')


def run_once(args, workdir, env_overrides):
    """One train.lua run; returns the per-iteration times after the warm-up."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'OMP_WAIT_POLICY')}
    env.update(env_overrides)
    env['TERM'] = 'dumb'
    ntrain = args.ntrain
    cmd = [args.th, 'train.lua', '-gpuid', '-1', '-data_dir', os.path.join(workdir, 'data'),
           '-checkpoint_dir', os.path.join(workdir, 'cv'), '-print_every', '1',
           '-eval_val_every', '1000000', '-max_epochs', '%.6f' % ((args.iterations + 0.5) / ntrain),
           '-seed', '123'] + DEFAULT_MODEL
    proc = subprocess.run(cmd, cwd=args.char_rnn, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    times = []
    for line in proc.stdout.splitlines():
        m = BATCH_RE.match(line.strip())
        if m and int(m.group(1)) > args.warmup:
            times.append(float(m.group(3)))
    if proc.returncode != 0 or len(times) < args.iterations - args.warmup:
        sys.exit('train.lua failed (exit %d, %d timed iterations) with %s:\n%s'
                 % (proc.returncode, len(times), env_overrides, proc.stdout[-3000:]))
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
    nproc = common.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--th', default=shutil.which('th') or '/opt/torch/bin/th')
    parser.add_argument('--char-rnn', default='/opt/rnn-karpathy')
    parser.add_argument('--corpus', default=None, help='default: <char-rnn>/data/tinyshakespeare/input.txt')
    parser.add_argument('--iterations', type=int, default=60)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--max-threads', type=int, default=nproc)
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args()
    corpus = args.corpus or os.path.join(args.char_rnn, 'data', 'tinyshakespeare', 'input.txt')

    picked = common.thread_env(None)
    settings = []
    for omp in range(1, args.max_threads + 1):
        for blas in range(1, args.max_threads + 1):
            settings.append(('OMP %d, OpenBLAS %d, passive' % (omp, blas),
                             {'OMP_NUM_THREADS': str(omp), 'OPENBLAS_NUM_THREADS': str(blas),
                              'OMP_WAIT_POLICY': 'PASSIVE'}))
    grid = len(settings)
    settings.append(('nothing set (library defaults)', {}))
    default_name = [name for name, env in settings if env == picked]
    if not default_name:
        settings.append(('collection default', picked))
        default_name = ['collection default']

    workdir = tempfile.mkdtemp(prefix='charrnn-throughput-')
    try:
        os.makedirs(os.path.join(workdir, 'data'))
        shutil.copy(corpus, os.path.join(workdir, 'data', 'input.txt'))
        args.ntrain = count_train_batches(args, workdir)
        print('# char-rnn default model, %d iterations per run (first %d left out), %d runs per setting taken in '
              'turn, nproc %d, %s' % (args.iterations, args.warmup, args.repeats, nproc, args.th))
        runs = dict((name, []) for name, env in settings)
        # Round robin, so that a slow spell of the machine falls on every setting alike.
        for dummy in range(args.repeats):
            for name, env in settings:
                runs[name].append(statistics.median(run_once(args, workdir, env)))
        results = []
        for name, env in settings:
            medians = runs[name]
            row = {'setting': name, 'env': env, 'median': statistics.median(medians),
                   'min': min(medians), 'max': max(medians), 'runs': medians}
            results.append(row)
            print('%-40s %.4f s/batch (min %.4f, max %.4f)' % (name, row['median'], row['min'], row['max']))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    best = min(results[:grid], key=lambda r: r['median'])
    ours = [r for r in results if r['setting'] == default_name[0]][0]
    print('best: %s at %.4f s/batch' % (best['setting'], best['median']))
    print('the collection picks on this host: %s (%s) at %.4f s/batch = %.2fx the best'
          % (default_name[0], ', '.join('%s=%s' % kv for kv in sorted(picked.items())), ours['median'],
             ours['median'] / best['median']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'nproc': nproc, 'iterations': args.iterations, 'results': results,
                       'best': best['setting'], 'default': default_name[0],
                       'default_over_best': ours['median'] / best['median']}, f, indent=2)


if __name__ == '__main__':
    main()
