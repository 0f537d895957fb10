#!/usr/bin/env python3
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Validation loss of char-rnn's default model trained in double and in float from the same seed.

Trains char-rnn's default model (LSTM, rnn_size 128, 2 layers, seq_length 50, batch_size 50) on a
corpus for --iterations iterations in each precision, from the same --seed (double is train.lua itself,
float runs it through the collection's train.lua prelude exactly as the train module does), with a
validation pass and a checkpoint every --every iterations. Prints the validation loss of both at each of
those iterations and float's relative difference to double, then whether the last one is within
--tolerance (the target: within 2% after 1000 iterations). With several --seeds, each seed's pair is
trained in turn and the table is printed per seed. Also prints each run's median time/batch.

The validation losses are the ones train.lua computes and writes into its checkpoint names (4 decimals);
the output is read with the collection's own parser (plugins/module_utils/_charrnn/log.py).

Needs Torch (th) and a char-rnn checkout; nothing of either is changed (data, checkpoints and the
prelude go to a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '.collections'))
sys.path.insert(0, HERE)
# pylint: disable=wrong-import-position
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision  # noqa: E402
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log  # noqa: E402
import collection_env  # noqa: E402

DEFAULT_MODEL = ['-model', 'lstm', '-rnn_size', '128', '-num_layers', '2',
                 '-seq_length', '50', '-batch_size', '50']
TOLERANCE = 0.02


def collection_env(args):
    """The threads, and the OpenBLAS core, the train module would run the trainer with here."""
    return collection_env.thread_env(args.th, args.threads)


def validation_losses(output):
    """iteration -> validation loss, from train.lua's output (the loss its checkpoint names carry, to 4
    decimals), read the way the collection's loss chart reads a log."""
    dummy, val = _log.loss_curves(output.splitlines())
    return dict(val)


def batch_times(output):
    return [p['time_per_batch'] for p in map(_log.parse_line, output.splitlines()) if p['kind'] == 'iteration']


def compare(double, single):
    """Rows (iteration, double loss, float loss, relative difference of float to double) at the
    iterations both evaluated."""
    rows = []
    for it in sorted(set(double) & set(single)):
        d, f = double[it], single[it]
        rows.append((it, d, f, (f - d) / d if d else float('nan')))
    return rows


def verdict(rows, iterations, tolerance=TOLERANCE):
    """(met, text) for the last compared iteration, which must be the run's last."""
    if not rows or rows[-1][0] != iterations:
        return False, 'no validation loss of both precisions at iteration %d' % iterations
    it, d, f, rel = rows[-1]
    met = abs(rel) <= tolerance
    return met, ('after %d iterations float %.4f, double %.4f: %+.2f%% (target: within %.0f%%, %s)'
                 % (it, f, d, 100 * rel, 100 * tolerance, 'met' if met else 'NOT met'))


def train(args, workdir, precision, seed):
    """One run; returns train.lua's output."""
    ntrain = args.ntrain
    flags = ['-gpuid', '-1', '-data_dir', os.path.join(workdir, 'data'),
             '-checkpoint_dir', os.path.join(workdir, 'cv-%s-%d' % (precision, seed)), '-print_every', '1',
             '-eval_val_every', str(args.every), '-max_epochs', '%.6f' % ((args.iterations + 0.5) / ntrain),
             '-seed', str(seed), '-savefile', precision] + DEFAULT_MODEL
    cmd = _precision.trainer_argv([args.th, 'train.lua'] + flags, precision, os.path.join(workdir, 'train.log.prelude.lua'))
    env = dict(os.environ, TERM='dumb', **collection_env(args))
    proc = subprocess.run(cmd, cwd=args.char_rnn, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    if proc.returncode != 0:
        sys.exit('train.lua (%s, seed %d) exited %d:\n%s' % (precision, seed, proc.returncode, proc.stdout[-3000:]))
    shutil.rmtree(os.path.join(workdir, 'cv-%s-%d' % (precision, seed)), ignore_errors=True)
    return proc.stdout


def count_train_batches(args, workdir):
    """Runs one iteration to let char-rnn preprocess the corpus and learn its batch count."""
    cmd = [args.th, 'train.lua', '-gpuid', '-1', '-data_dir', os.path.join(workdir, 'data'),
           '-checkpoint_dir', os.path.join(workdir, 'cv'), '-max_epochs', '0.0001'] + DEFAULT_MODEL
    proc = subprocess.run(cmd, cwd=args.char_rnn, env=dict(os.environ, TERM='dumb'), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    for line in proc.stdout.splitlines():
        parsed = _log.parse_line(line)
        if parsed['kind'] == 'batches':
            return parsed['train']
    sys.exit('cannot read the batch count from train.lua:\n' + proc.stdout[-3000:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--th', default=shutil.which('th') or '/opt/torch/bin/th')
    parser.add_argument('--char-rnn', default='/opt/rnn-karpathy')
    parser.add_argument('--corpus', default=None, help='default: <char-rnn>/data/tinyshakespeare/input.txt')
    parser.add_argument('--iterations', type=int, default=1000)
    parser.add_argument('--every', type=int, default=100, help='iterations between validation passes')
    parser.add_argument('--seeds', default='123', help="comma-separated seeds (train.lua's default is 123)")
    parser.add_argument('--threads', type=int, default=None, help='OpenBLAS threads (default: as the train module)')
    parser.add_argument('--tolerance', type=float, default=TOLERANCE)
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(',') if s.strip()]
    if args.iterations % args.every:
        parser.error('--iterations must be a multiple of --every, so that both evaluate at the last one')
    corpus = args.corpus or os.path.join(args.char_rnn, 'data', 'tinyshakespeare', 'input.txt')

    workdir = tempfile.mkdtemp(prefix='charrnn-parity-')
    report = {'iterations': args.iterations, 'every': args.every, 'tolerance': args.tolerance, 'seeds': {}}
    all_met = True
    try:
        os.makedirs(os.path.join(workdir, 'data'))
        shutil.copy(corpus, os.path.join(workdir, 'data', 'input.txt'))
        _precision.install_prelude(os.path.join(workdir, 'train.log.prelude.lua'))
        args.ntrain = count_train_batches(args, workdir)
        print('# char-rnn default model, %d iterations, validation every %d, %s, threads %s'
              % (args.iterations, args.every, args.th, collection_env(args)), flush=True)
        for seed in seeds:
            outputs = dict((p, train(args, workdir, p, seed)) for p in ('double', 'float'))
            rows = compare(validation_losses(outputs['double']), validation_losses(outputs['float']))
            print('\nseed %d' % seed)
            print('%10s %10s %10s %10s' % ('iteration', 'double', 'float', 'float-dbl'))
            for it, d, f, rel in rows:
                print('%10d %10.4f %10.4f %+9.2f%%' % (it, d, f, 100 * rel))
            met, text = verdict(rows, args.iterations, args.tolerance)
            all_met = all_met and met
            print(text)
            times = dict((p, statistics.median(batch_times(outputs[p]))) for p in outputs)
            print('median time/batch: double %.4f s, float %.4f s (%.2fx)'
                  % (times['double'], times['float'], times['double'] / times['float']), flush=True)
            report['seeds'][seed] = {'rows': rows, 'met': met, 'median_time_per_batch': times}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report['met'] = all_met
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)


if __name__ == '__main__':
    main()
