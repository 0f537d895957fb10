# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The checkpoint module's action plugin, with a fake host and a fake clock: nothing waits."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

# Controller code: a target-only Python (tests/run.sh targets) has ansible.module_utils and nothing more.
pytest.importorskip('ansible.plugins.action')

from ansible.errors import AnsibleActionFail  # noqa: E402

from ansible_collections.rnn_bootstrap.charrnn.plugins.action import checkpoint as action  # noqa: E402

HOST = 'box1'
STARTED = 1000000.0  # when training started, on the fake clock
TRAINING = {'iteration': 40, 'iterations': 3800, 'epoch': 0.2105, 'train_loss': 2.83456,
            'median_time_per_batch': 0.1234, 'eta_seconds': 461.9, 'status': 'training',
            'log_path': '/opt/rnn-karpathy/cv/train-charrnn.log'}
FOUND = {'name': 'lm_lstm_epoch0.26_2.5000.t7', 'path': '/opt/rnn-karpathy/cv/lm_lstm_epoch0.26_2.5000.t7'}


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Shell:
    tmpdir = None


class Connection:
    _shell = Shell()


class Task:
    action = 'rnn_bootstrap.charrnn.checkpoint'

    def __init__(self, args, check_mode=False, async_val=0):
        self.args = args
        self.check_mode = check_mode
        self.async_val = async_val
        self.environment = []


class Display:
    def __init__(self):
        self.lines = []
        self.verbose = []

    def display(self, msg):
        self.lines.append(msg)

    def v(self, msg):
        self.verbose.append(msg)


def timed_out(training=None):
    return {'failed': True, 'timed_out': True, 'found': None, 'msg': 'Timed out after 25.0s waiting for ...',
            'training': dict(TRAINING, **(training or {})), 'elapsed': 25.0, 'changed': False}


def found():
    return {'changed': False, 'timed_out': False, 'found': FOUND, 'latest': FOUND, 'training': TRAINING,
            'elapsed': 3.0}


def died():
    return {'failed': True, 'timed_out': False, 'found': None,
            'msg': "Training session 'charrnn' has ended (status error) without writing the first checkpoint",
            'log_tail': ['stack traceback:', '[charrnn] run ended: exit status 1'],
            'training': dict(TRAINING, status='error', running=False), 'elapsed': 4.0}


class Host:
    """Answers each look with the next scripted result; a look that times out lasts its whole timeout,
    one that ends early lasts a second; running the module costs half a second on top."""

    def __init__(self, clock, answers):
        self.clock = clock
        self.answers = list(answers)
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, wrap_async=False, **kw):
        self.calls.append(module_args)
        answer = self.answers.pop(0)
        waited = module_args['timeout'] if module_args and answer.get('timed_out') else 1
        self.clock.now += waited + 0.5
        return answer


@pytest.fixture
def display(monkeypatch):
    fake = Display()
    monkeypatch.setattr(action, 'display', fake)
    return fake


def plugin(args, answers, now, check_mode=False, async_val=0):
    clock = Clock(now)
    host = Host(clock, answers)
    task = Task(args, check_mode=check_mode, async_val=async_val)
    # ansible-core 2.16 wants every argument; later versions default shared_loader_obj
    p = action.ActionModule(task, Connection(), None, None, None, None)
    p.clock = p.wall_clock = clock  # one fake for both: the host's looks move it
    p._execute_module = host
    return p, host, clock


def wait_args(**kw):
    args = {'chdir': '/opt/rnn-karpathy', 'checkpoint_dir': 'cv', 'savefile': 'lstm', 'session': 'charrnn',
            'wait': 'first', 'timeout': 3600, 'progress': {'interval': 25, 'since': STARTED}}
    args.update(kw)
    return args


def run(p):
    return p.run(task_vars={'inventory_hostname': HOST})


def test_found_at_the_first_look(display):
    p, host, clock = plugin(wait_args(), [found()], STARTED + 30)
    result = run(p)
    assert result['found'] == FOUND and not result.get('failed')
    assert len(host.calls) == 1
    assert host.calls[0]['timeout'] == 25 and 'progress' not in host.calls[0]
    assert host.calls[0]['checkpoint_dir'] == 'cv' and host.calls[0]['wait'] == 'first'
    assert display.lines == []
    assert result['elapsed'] == 1.5


def test_a_progress_line_after_each_look_until_found(display):
    p, host, clock = plugin(wait_args(), [timed_out(), timed_out({'iteration': 80}), found()], STARTED + 10)
    result = run(p)
    assert result['found'] == FOUND and not result.get('failed')
    assert [c['timeout'] for c in host.calls] == [25, 25, 25]
    assert display.lines == [
        'box1: waiting for the first checkpoint of savefile lstm, 35s since training started; iteration 40/3800, '
        'epoch 0.21, train_loss 2.8346, 0.123 s/batch, ETA 461s',
        'box1: waiting for the first checkpoint of savefile lstm, 61s since training started; iteration 80/3800, '
        'epoch 0.21, train_loss 2.8346, 0.123 s/batch, ETA 461s',
    ]
    # the task's own wait, not the last look's
    assert result['elapsed'] == 52.5


def test_the_last_look_lasts_what_is_left_of_the_timeout(display):
    # 50s of the 60s timeout went to starting the trainer
    p, host, clock = plugin(wait_args(timeout=60), [timed_out(), found()], STARTED + 50)
    result = run(p)
    assert [c['timeout'] for c in host.calls] == [10]
    assert result['failed'] is True and result['timed_out'] is True


def test_timeout_fails_with_what_to_do(display):
    p, host, clock = plugin(wait_args(timeout=60, session='s1'), [timed_out()] * 3, STARTED)
    result = run(p)
    assert [c['timeout'] for c in host.calls] == [25, 25, 9]
    assert len(display.lines) == 3
    assert result['failed'] is True and result['timed_out'] is True
    assert result['msg'] == (
        'Timed out after 60s waiting for the first checkpoint of savefile lstm; progress: iteration 40/3800, '
        'epoch 0.21, train_loss 2.8346, 0.123 s/batch, ETA 461s (status training). Training goes on in screen session '
        's1; its log is /opt/rnn-karpathy/cv/train-charrnn.log. Raise timeout, or lower eval_val_every in the training options.')
    assert result['training']['iteration'] == 40  # the last look's answer, besides the message


def test_a_timeout_from_the_controller_advises_in_the_callers_terms(display):
    hint = 'Raise charrnn_first_checkpoint_timeout, or lower eval_val_every in charrnn_train_options.'
    p, host, clock = plugin(wait_args(timeout=60, timeout_hint=hint), [timed_out()] * 3, STARTED)
    result = run(p)
    assert result['timed_out'] is True and result['msg'].endswith('. ' + hint)
    assert all(call['timeout_hint'] == hint for call in host.calls)  # and each look's module says the same


def test_timeout_already_passed_looks_once(display):
    p, host, clock = plugin(wait_args(timeout=60), [timed_out()], STARTED + 100)
    result = run(p)
    assert [c['timeout'] for c in host.calls] == [0]
    assert result['failed'] is True and result['msg'].startswith('Timed out after 60s waiting for the first checkpoint')


def test_the_trainer_dying_fails_at_once_with_the_log_tail(display):
    p, host, clock = plugin(wait_args(), [timed_out(), died(), found()], STARTED)
    result = run(p)
    assert len(host.calls) == 2
    assert result['failed'] is True and result['timed_out'] is False
    assert result['msg'].startswith("Training session 'charrnn' has ended (status error)")
    assert result['log_tail'][-1] == '[charrnn] run ended: exit status 1'
    assert len(display.lines) == 1


def test_check_mode_looks_once_without_progress_lines(display):
    p, host, clock = plugin(wait_args(timeout=600), [timed_out()], STARTED + 100, check_mode=True)
    result = run(p)
    assert len(host.calls) == 1 and host.calls[0]['timeout'] == 500 and 'progress' not in host.calls[0]
    assert display.lines == []
    assert result['failed'] is True and result['msg'].startswith('Timed out after')  # the module's own answer


def test_without_progress_the_module_runs_once_as_given(display):
    args = wait_args()
    del args['progress']
    p, host, clock = plugin(args, [found()], STARTED)
    result = run(p)
    assert host.calls == [None]  # the task's own arguments, untouched
    assert result['found'] == FOUND
    assert display.lines == []


def test_without_since_the_wait_counts_from_the_task(display):
    p, host, clock = plugin(wait_args(timeout=40, progress={'interval': 25}), [timed_out()] * 2, STARTED)
    result = run(p)
    assert [c['timeout'] for c in host.calls] == [25, 15]
    assert display.lines[0].startswith('box1: waiting for the first checkpoint of savefile lstm, 25s since the '
                                       'wait started;')
    assert result['failed'] is True


def test_wait_new_names_the_reference(display):
    answer = dict(timed_out(), newer_than='/opt/rnn-karpathy/cv/lm_lstm_epoch0.26_2.5000.t7')
    p, host, clock = plugin(wait_args(wait='new', timeout=20), [answer], STARTED)
    result = run(p)
    assert 'waiting for a checkpoint of savefile lstm newer than /opt/rnn-karpathy/cv/lm_lstm_epoch0.26' \
        in display.lines[0]
    assert result['msg'].startswith('Timed out after 20s waiting for a checkpoint of savefile lstm newer than '
                                    '/opt/rnn-karpathy/cv/lm_lstm_epoch0.26_2.5000.t7; progress: ')


def test_each_look_shows_with_verbose(display):
    p, host, clock = plugin(wait_args(), [timed_out(), found()], STARTED)
    run(p)
    assert len(display.verbose) == 1
    assert display.verbose[0].startswith('box1: look of 25s: {')
    assert '"timed_out": true' in display.verbose[0] and '"iteration": 40' in display.verbose[0]


def test_strings_from_templates_are_converted(display):
    p, host, clock = plugin(wait_args(timeout='60', progress={'interval': '25', 'since': str(STARTED)}),
                            [timed_out(), found()], STARTED)
    result = run(p)
    assert [c['timeout'] for c in host.calls] == [25, 25] and result['found'] == FOUND


@pytest.mark.parametrize('progress,fragment', [
    ({'interval': 0}, 'progress.interval must be >= 1, got 0'),
    ({'interval': 'often'}, 'interval'),
    ({'since': 5}, 'interval'),
    ({'interval': 5, 'until': 5}, 'until'),
])
def test_bad_progress_fails_before_any_look(display, progress, fragment):
    p, host, clock = plugin(wait_args(progress=progress), [], STARTED)
    result = run(p)
    assert result['failed'] is True and fragment in result['msg'], result['msg']
    assert host.calls == []


def test_progress_cannot_run_async(display):
    p, host, clock = plugin(wait_args(), [], STARTED, async_val=60)
    with pytest.raises(AnsibleActionFail, match='cannot run async'):
        run(p)
    assert host.calls == []


@pytest.mark.parametrize('interval,remaining,expected', [
    (25, 3600, 25), (25, 10, 10), (25, 0.4, 1), (25, 0, 0), (25, -5, 0), (25, 9.2, 10), (3, 2.5, 3),
])
def test_look_timeout(interval, remaining, expected):
    assert action.look_timeout(interval, remaining) == expected


def test_the_wall_clock_only_says_how_much_went_before_the_task(display):
    # the looks run on the monotonic clock; the wall clock is read once, and jumping later changes nothing
    p, host, clock = plugin(wait_args(timeout=60), [timed_out(), timed_out(), found()], 0.0)
    p.wall_clock = Clock(STARTED + 20)
    result = run(p)
    assert [c['timeout'] for c in host.calls] == [25, 15]
    assert result['failed'] is True and result['timed_out'] is True
    assert display.lines[0].startswith('box1: waiting for the first checkpoint of savefile lstm, 45s since training '
                                       'started;')
