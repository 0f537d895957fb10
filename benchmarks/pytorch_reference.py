#!/usr/bin/env python3
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Seconds per batch of a PyTorch CPU model shaped like char-rnn's default, the reference a user would pick.

Same work per batch as char-rnn's train.lua with its defaults: one-hot characters into a 2-layer LSTM
of 128 units (dropout 0), a linear layer and softmax over the vocabulary, batch 50, sequence 50,
truncated back-propagation with the state carried between batches, gradients clipped at 5 and an
RMSprop step (lr 2e-3, alpha 0.95). Times each of --iterations batches after --warmup, for every
torch.set_num_threads value 1..nproc, --repeats runs each; prints median, min and max of the per-run
medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from torch import nn


class CharLSTM(nn.Module):
    def __init__(self, vocab, hidden=128, layers=2):
        super().__init__()
        self.vocab = vocab
        self.lstm = nn.LSTM(vocab, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        onehot = nn.functional.one_hot(x, self.vocab).float()
        y, state = self.lstm(onehot, state)
        return self.out(y), state


def batches(data, batch, seq):
    per_row = (len(data) - 1) // batch
    n = per_row // seq
    xs = data[:batch * per_row].view(batch, per_row)
    ys = data[1:batch * per_row + 1].view(batch, per_row)
    while True:
        for i in range(n):
            yield xs[:, i * seq:(i + 1) * seq], ys[:, i * seq:(i + 1) * seq]


def run_once(data, vocab, threads, iterations, warmup, batch, seq):
    torch.set_num_threads(threads)
    torch.manual_seed(123)
    model = CharLSTM(vocab)
    for p in model.parameters():
        nn.init.uniform_(p, -0.08, 0.08)
    opt = torch.optim.RMSprop(model.parameters(), lr=2e-3, alpha=0.95, eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    state = None
    times = []
    source = batches(data, batch, seq)
    for i in range(warmup + iterations):
        x, y = next(source)
        start = time.perf_counter()
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = model(x, state)
        loss = loss_fn(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 5.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    nproc = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--corpus', required=True)
    parser.add_argument('--iterations', type=int, default=100)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json')
    args = parser.parse_args()

    with open(args.corpus, encoding='utf-8') as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)

    print('# PyTorch %s CPU, 2-layer LSTM 128, batch 50, seq 50, vocab %d, %d timed batches per run, %d runs'
          % (torch.__version__, len(chars), args.iterations, args.repeats))
    results = []
    for threads in range(1, nproc + 1):
        runs = [run_once(data, len(chars), threads, args.iterations, args.warmup, 50, 50)
                for dummy in range(args.repeats)]
        row = {'setting': 'PyTorch, %d threads' % threads, 'median': statistics.median(runs),
               'min': min(runs), 'max': max(runs), 'runs': runs}
        results.append(row)
        print('%-60s %.4f s/batch (min %.4f, max %.4f)' % (row['setting'], row['median'], row['min'], row['max']),
              flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'torch': torch.__version__, 'results': results}, f, indent=2)


if __name__ == '__main__':
    main()
