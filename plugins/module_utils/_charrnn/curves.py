# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""What a run's loss curves say: whether to stop early and which checkpoint is best, advice on the model
and the corpus, and when the run ends and what it costs.

Pure functions over what _charrnn.log parses (validations, summarize, parse_line); every answer carries a
plain sentence with the numbers it rests on.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import dataset as _dataset
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.flags import flag_value

# Overfitting: this many validations without a new best, the last higher than the first of them, while
# training loss falls. One worse validation is noise on char-rnn's small validation split; three are a trend
# (not each higher than the one before: real curves wobble on the way up).
OVERFIT_WINDOW = 3
# Underfitting: over this many validations...
UNDERFIT_WINDOW = 4
# ... validation loss fell by less than this fraction of itself (a plateau)...
UNDERFIT_FLAT = 0.01
# ... and stays within this fraction of the training loss (train and validation close)...
UNDERFIT_GAP = 0.05
# ... after it has fallen by at least this fraction of the first validation loss: a plateau before the
# model has learnt anything is the start of training, not a model too small for its data.
UNDERFIT_LEARNT = 0.1
# char-rnn's README ("Approximate number of parameters") says the number of parameters and the size of the
# dataset in characters "should be about the same order of magnitude": ten times more parameters than
# characters is out of that order.
TOO_LARGE_RATIO = 10
# char-rnn's loader warns below 50 batches in all ("Looks like very small dataset. You probably want to use
# smaller batch_size and/or seq_length"; util/CharSplitLMMinibatchLoader.lua).
MIN_BATCHES = 50
# char-rnn's README asks for "a decent amount of data in your validation set or otherwise the validation
# performance will be noisy": fewer validation batches than this make every early-stopping decision and
# every piece of advice above rest on noise.
MIN_VAL_BATCHES = 3


def _finite(value):
    return value is not None and not math.isnan(value) and not math.isinf(value)


def _loss(value):
    return '%.4f' % value if _finite(value) else str(value)


def _name(validation):
    return validation['path'].rsplit('/', 1)[-1]


def in_rhythm(validation, eval_val_every=None, iterations=None):
    """Whether train.lua validated on its own schedule (every eval_val_every iterations of its run, or at
    its last iteration), not because the prelude asked for a checkpoint on a stop signal or by time."""
    if validation['requested_by']:
        return False
    if not eval_val_every:
        return True
    return validation['run_iteration'] % eval_val_every == 0 or validation['run_iteration'] == iterations


def early_stop(validations, patience, min_delta=0.0, eval_val_every=None, iterations=None, counted_after=0):
    """The early-stopping decision over a run's validations (log.validations).

    A validation improves when its loss is finite and lower than the last improvement's by more than
    min_delta (equal is no improvement); the best checkpoint is the one of the lowest finite loss (the
    earliest of equal ones). The run stops once `patience` validations since the last improvement (or
    since the start, while there is none) have not improved. Validations the prelude asked for out of
    train.lua's rhythm (a stop signal, checkpoint_minutes; eval_val_every and iterations, train.lua's
    count of this run, tell them apart) can improve and be the best, but do not count against patience:
    how often they come depends on the wall clock, not on the training. Validations up to iteration
    counted_after (where an earlier early stop ended the run that this one resumes) do not count against
    patience either: a resume asked for after an early stop gets patience validations of its own.

    Returns a dict: stop, best (a validation or None), improved_at (the last improving validation or
    None), since (validations counted since it), due_at (the validation at which patience first ran out, or
    None: where a run that went on would have stopped), not_finite (validations with a nan or inf loss),
    reason (a sentence).
    """
    if patience < 1:
        raise ValueError('patience must be 1 or more, got %r' % (patience,))
    min_delta = float(min_delta or 0.0)
    best = improved_at = due_at = None
    since = 0
    not_finite = []
    for v in validations:
        loss = v['val_loss']
        if not _finite(loss):
            not_finite.append(v)
        elif best is None or loss < best['val_loss']:
            best = v
        if _finite(loss) and (improved_at is None or loss < improved_at['val_loss'] - min_delta):
            improved_at, since = v, 0
        elif v['iteration'] > counted_after and in_rhythm(v, eval_val_every, iterations):
            since += 1
            if since == patience and due_at is None:
                due_at = v
    stop = since >= patience
    if not validations:
        reason = 'no validation yet: train.lua validates every eval_val_every iterations'
    else:
        what = 'an improvement of more than %g' % min_delta if min_delta else 'a new best validation loss'
        if improved_at is None:
            reason = '%d validation(s) and none with a finite loss' % since
        else:
            reason = '%d validation(s) without %s since iteration %d (%s)' % (
                since, what, improved_at['iteration'], _loss(improved_at['val_loss']))
        reason = ('stop: ' if stop else 'go on: ') + reason + ', patience %d' % patience
        if best is not None:
            reason += '; best checkpoint %s (validation loss %s at iteration %d)' % (
                _name(best), _loss(best['val_loss']), best['iteration'])
        if not_finite:
            reason += '; %d validation loss(es) not finite, never a best (%s at iteration %d)' % (
                len(not_finite), not_finite[-1]['val_loss_text'], not_finite[-1]['iteration'])
    return {'stop': stop, 'best': best, 'improved_at': improved_at, 'since': since, 'due_at': due_at,
            'not_finite': not_finite,
            'reason': reason}


def _train_between(train, start, end):
    """Mean training loss of the iterations in (start, end]: one batch's loss is too noisy to compare."""
    losses = [loss for it, loss in train if start < it <= end]
    return sum(losses) / len(losses) if losses else None


def _advice(key, message, **numbers):
    return {'key': key, 'message': message, 'numbers': numbers}


def overfitting(val, train, flags):
    """Validation loss rising for OVERFIT_WINDOW validations (none a new best, the last above the first)
    while the training loss falls."""
    if len(val) < OVERFIT_WINDOW + 1:
        return None
    window = val[-OVERFIT_WINDOW:]
    best = min(val[:-OVERFIT_WINDOW], key=lambda v: v['val_loss'])
    first, last = window[0], window[-1]
    if any(v['val_loss'] <= best['val_loss'] for v in window) or last['val_loss'] <= first['val_loss']:
        return None
    train_first = _train_between(train, val[-OVERFIT_WINDOW - 1]['iteration'], first['iteration'])
    train_last = _train_between(train, window[-2]['iteration'], last['iteration'])
    if train_first is None or train_last is None or train_last >= train_first:
        return None
    return _advice(
        'overfitting',
        'validation loss rose over the last %d validations (%.4f at iteration %d to %.4f at iteration %d, the best '
        'was %.4f at iteration %d) while training loss fell (%.4f to %.4f): the model overfits; raise dropout '
        '(now %g) or lower rnn_size (now %d)'
        % (OVERFIT_WINDOW, first['val_loss'], first['iteration'], last['val_loss'], last['iteration'],
           best['val_loss'], best['iteration'], train_first, train_last, flag_value(flags, 'dropout'),
           flag_value(flags, 'rnn_size')),
        val_loss_from=first['val_loss'], val_loss_to=last['val_loss'], best_val_loss=best['val_loss'],
        train_loss_from=train_first, train_loss_to=train_last)


def underfitting(val, train, flags, parameters=None, chars=None):
    """Training and validation loss close and flat, after the model has learnt something."""
    window = val[-UNDERFIT_WINDOW:]
    if len(window) < UNDERFIT_WINDOW:
        return None
    first, last = window[0], window[-1]
    fell = (first['val_loss'] - last['val_loss']) / first['val_loss']
    learnt = (val[0]['val_loss'] - last['val_loss']) / val[0]['val_loss']
    train_last = _train_between(train, window[-2]['iteration'], last['iteration'])
    if train_last is None or fell >= UNDERFIT_FLAT or learnt < UNDERFIT_LEARNT:
        return None
    gap = abs(last['val_loss'] - train_last) / last['val_loss']
    if gap >= UNDERFIT_GAP:
        return None
    size = ''
    if parameters and chars:
        size = ' (%d parameters for %d characters)' % (parameters, chars)
    return _advice(
        'underfitting',
        'validation loss fell by %.1f%% over the last %d validations (%.4f to %.4f at iteration %d) and is within '
        '%.1f%% of the training loss (%.4f): the model underfits; try a larger model%s: a larger rnn_size (now %d) '
        'or more layers (now %d)'
        % (100 * max(fell, 0), UNDERFIT_WINDOW, first['val_loss'], last['val_loss'], last['iteration'], 100 * gap,
           train_last, size, flag_value(flags, 'rnn_size'), flag_value(flags, 'num_layers')),
        val_loss=last['val_loss'], train_loss=train_last, fell=fell, gap=gap)


def too_large(parameters, chars, flags):
    """Many more parameters than characters to learn them from (char-rnn's README)."""
    if not parameters or not chars or parameters < TOO_LARGE_RATIO * chars:
        return None
    return _advice(
        'model_too_large',
        'the model has %d parameters for %d characters of text (%.0f times as many; char-rnn\'s README advises '
        'about the same order of magnitude): it can learn the corpus by heart; lower rnn_size (now %d) or '
        'num_layers (now %d), or train on more text'
        % (parameters, chars, parameters / float(chars), flag_value(flags, 'rnn_size'), flag_value(flags, 'num_layers')),
        parameters=parameters, chars=chars, ratio=parameters / float(chars))


def diverging(summary, validations, flags):
    """A loss that train.lua found NaN or exploding, or a validation loss that is not finite."""
    not_finite = [v for v in validations if not _finite(v['val_loss'])]
    if summary['phase'] == 'exploding':
        what = 'train.lua aborted: its training loss grew past 3 times the first one'
    elif summary['phase'] == 'nan':
        what = 'train.lua stopped: its training loss is NaN'
    elif not_finite:
        what = 'validation loss is %s at iteration %d' % (not_finite[-1]['val_loss_text'], not_finite[-1]['iteration'])
    else:
        return None
    if summary.get('train_loss_text') is not None:
        what += ' (training loss %s at iteration %d)' % (summary['train_loss_text'], summary['iteration'])
    return _advice('diverging', '%s: lower learning_rate (now %g)' % (what, flag_value(flags, 'learning_rate')),
                   learning_rate=flag_value(flags, 'learning_rate'))


def corpus_too_small(batches, flags):
    """Too few batches of batch_size x seq_length characters: char-rnn's warning, a noisy validation."""
    if not batches:
        return None
    total = batches['train'] + batches['val'] + batches['test']
    if total >= MIN_BATCHES and batches['val'] >= MIN_VAL_BATCHES:
        return None
    batch_size, seq_length = flag_value(flags, 'batch_size'), flag_value(flags, 'seq_length')
    per_batch = batch_size * seq_length
    chars = total * per_batch
    return _advice(
        'corpus_too_small',
        'the corpus makes %d batches of batch_size %d x seq_length %d = %d characters (%d for training, %d for '
        'validation; char-rnn warns below %d in all, and fewer than %d validation batches make the validation '
        'loss noisy): lower batch_size or seq_length so that batch_size x seq_length is at most %d, or train on '
        'more text'
        % (total, batch_size, seq_length, per_batch, batches['train'], batches['val'], MIN_BATCHES,
           MIN_VAL_BATCHES, max(1, chars // MIN_BATCHES)),
        batches=total, train_batches=batches['train'], val_batches=batches['val'], per_batch=per_batch)


def advise(lines, flags, corpus_chars=None, head=None):
    """Advice from the current run's log lines and its train.lua flags: a list of {key, message, numbers}.

    corpus_chars is the size of input.txt when known; otherwise the batches the loader made stand for it
    (it drops the remainder of a batch). The keys: overfitting, underfitting, model_too_large, diverging,
    corpus_too_small.
    """
    summary = _log.summarize(lines, head=head)
    train, dummy = _log.loss_curves(lines)
    run, dummy = _log.split_runs(lines)
    history = _log.validations(run)
    # The trends rest on train.lua's own validations: one a stop signal asked for sits a few iterations past
    # the last of them and would break a trend it does not belong to.
    run_iterations = summary['iterations'] - summary['iterations_before'] if summary['iterations'] else None
    finite = [v for v in history if _finite(v['val_loss'])
              and in_rhythm(v, flag_value(flags, 'eval_val_every'), run_iterations)]
    batches = summary['batches']
    chars = corpus_chars
    if chars is None and batches:
        chars = sum(batches.values()) * flag_value(flags, 'batch_size') * flag_value(flags, 'seq_length')
    if corpus_chars is not None and batches is None:
        dummy, ntrain, nval, ntest = _dataset.split_sizes(corpus_chars, flag_value(flags, 'batch_size'),
                                                          flag_value(flags, 'seq_length'),
                                                          flag_value(flags, 'train_frac'), flag_value(flags, 'val_frac'))
        batches = {'train': ntrain, 'val': nval, 'test': ntest}
    found = [
        diverging(summary, history, flags),
        overfitting(finite, train, flags),
        underfitting(finite, train, flags, summary['num_parameters'], chars),
        too_large(summary['num_parameters'], chars, flags),
        corpus_too_small(batches, flags),
    ]
    return [a for a in found if a is not None]


def _money(amount):
    """An amount as prices are written, with the digits a small one needs to be more than 0.00."""
    return '%.2f' % amount if amount == 0 or abs(amount) >= 0.01 else '%.2g' % amount


def _duration(seconds):
    minutes = int(round(seconds / 60.0))
    if minutes < 1:
        return 'under a minute'
    if minutes < 60:
        return '%d min' % minutes
    return '%d h %02d min' % (minutes // 60, minutes % 60)


def eta_and_cost(summary, elapsed_seconds=None, hourly_price=None, early_stopping=False, ended=None):
    """When the run ends and what it costs, from summarize's eta_seconds.

    elapsed_seconds: the run's wall time so far; hourly_price: what an hour of the machine costs (no
    default: None leaves the cost out). With early stopping on, the end may come sooner than the ETA,
    which counts to max_epochs: the result says so rather than guessing when. ended: how a run that no
    longer trains ended (a status word), for which there is nothing left to wait for or pay.
    Returns a dict: eta_seconds, may_end_sooner, cost_so_far, cost_to_end, message.
    """
    eta = 0 if ended else summary.get('eta_seconds')
    early_stopping = early_stopping and not ended
    out = {'eta_seconds': eta, 'may_end_sooner': bool(early_stopping), 'cost_so_far': None, 'cost_to_end': None}
    parts = []
    if ended:
        parts.append('the run has ended (%s)' % ended)
    elif eta is None:
        parts.append('no ETA yet: no iteration timed')
    else:
        left = _duration(eta)
        parts.append('%s left to iteration %d' % (left if left.startswith('under') else 'about ' + left,
                                                  summary['iterations']))
    if hourly_price is not None:
        if elapsed_seconds is not None:
            spent = out['cost_so_far'] = round(elapsed_seconds / 3600.0 * hourly_price, 4)
            parts.append('%s spent in %s at %g an hour' % (_money(spent), _duration(elapsed_seconds), hourly_price))
        if ended:
            out['cost_to_end'] = 0.0
        elif eta is not None:
            more = out['cost_to_end'] = round(eta / 3600.0 * hourly_price, 4)
            parts.append('%s more to the end' % _money(more))
    message = ', '.join(parts)
    if early_stopping:
        message += '; early stopping is on, so the run may end sooner'
    out['message'] = message
    return out
