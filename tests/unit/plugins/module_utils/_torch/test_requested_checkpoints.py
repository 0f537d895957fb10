# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Checkpoints the train.lua prelude has train.lua write on request: on SIGTERM or SIGINT, then a clean exit, and
after a stretch of wall time.

The prelude runs here with LuaJIT (whose ffi blocks and reads the signals) around a train.lua stand-in
whose loop is char-rnn's: optim.rmsprop, then `i % opt.eval_val_every == 0 or i == iterations` to save,
then the progress line. The signals are real: the stand-in's feval sends them to its own process while
the optimiser step of a chosen iteration runs. tests/hand-run/real-precision.sh does the same with real
Torch and char-rnn.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import subprocess
import sys

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import requested_checkpoints as _requested_checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import log as _log


FAKE_TORCH = r"""
local torch = {}
_G.torch = torch
FILES = {}
local default = 'torch.DoubleTensor'
function torch.isTensor(x) return false end
function torch.typename(x) return nil end
function torch.setdefaulttensortype(t) default = t end
function torch.save(filename, object) FILES[filename] = object end
function torch.load(filename) return FILES[filename] end
return torch
"""

FAKE_OPTIM = r"""
optim = {}  -- torch's optim is a global, as its init.lua makes it
optim[os.getenv('STEP') or 'rmsprop'] = function(feval, x, state)
  local loss = feval(x)
  return x, {loss}
end
return optim
"""

# char-rnn's train.lua loop (lines 304-373 at 6f9487a), with what the test needs around it.
FAKE_TRAIN = r"""
require 'torch'
require 'optim'
local ffi = require 'ffi'
ffi.cdef('int getpid(void); int kill(int pid, int sig);')
opt = {eval_val_every = tonumber(os.getenv('EVAL_EVERY')), checkpoint_dir = 'cv', savefile = 'lstm'}
local iterations = tonumber(os.getenv('ITERATIONS'))
local signal_at, signum = tonumber(os.getenv('SIGNAL_AT') or '0'), tonumber(os.getenv('SIGNUM') or '15')
local slow_at = tonumber(os.getenv('SLOW_AT') or '0')
local step = 0
if os.getenv('SIGNAL_WHILE_LOADING') then ffi.C.kill(ffi.C.getpid(), signum) end
local function feval()
  step = step + 1
  if step == signal_at then ffi.C.kill(ffi.C.getpid(), signum) end
  if step == slow_at then os.execute('sleep 2.2') end
  return 2.0 - step / 100
end
for i = 1, iterations do
  local epoch = i / 10
  local _, loss = optim[os.getenv('STEP') or 'rmsprop'](feval, {}, {})
  local due = i % opt.eval_val_every == 0
  if os.getenv('SAVE_ONLY_AT_END') then due = false end
  if due or i == iterations then
    local savefile = string.format('%s/lm_%s_epoch%.2f_%.4f.t7', opt.checkpoint_dir, opt.savefile, epoch, 1.5)
    print('saving checkpoint to ' .. savefile)
    torch.save(savefile, {protos = {}, opt = opt, i = i})
    print('saved with eval_val_every ' .. FILES[savefile].opt.eval_val_every)
    if os.getenv('SIGNAL_WHILE_SAVING') then ffi.C.kill(ffi.C.getpid(), signum) end
  end
  print(string.format('%d/%d (epoch %.3f), train_loss = %6.8f', i, iterations, epoch, loss[1]))
end
print('END')
"""


def run_trainer(luajit, tmp_path, blocked=True, **env):
    """The prelude around the train.lua stand-in, started as the train module starts it (blocked: with
    SIGTERM and SIGINT blocked) or plainly."""
    (tmp_path / 'fake_torch.lua').write_text(FAKE_TORCH)
    (tmp_path / 'optim.lua').write_text(FAKE_OPTIM)
    (tmp_path / 'train.lua').write_text(FAKE_TRAIN)
    prelude = tmp_path / 'train-s.log.prelude.lua'
    _precision.install_prelude(str(prelude))
    preload = "package.preload.torch = function() return dofile('fake_torch.lua') end"
    environ = dict((k, v) for k, v in os.environ.items() if k != _requested_checkpoints.SECONDS_VARIABLE)
    environ.update(EVAL_EVERY='1000', ITERATIONS='20')
    environ.update(env)
    prefix = _requested_checkpoints.trainer_exec(sys.executable, block=True) if blocked else []
    proc = subprocess.run(prefix + [luajit, '-e', preload, str(prelude), 'float', 'train.lua'], cwd=str(tmp_path),
                          env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    return proc.returncode, proc.stdout.decode().splitlines(), proc.stderr.decode()


def test_seconds_env_counts_minutes():
    assert _requested_checkpoints.seconds_env(10) == {'CHARRNN_CHECKPOINT_SECONDS': '600'}
    assert _requested_checkpoints.seconds_env(0) == {'CHARRNN_CHECKPOINT_SECONDS': '0'}


@pytest.mark.parametrize('signum,name', [(signal.SIGTERM, 'SIGTERM'), (signal.SIGINT, 'SIGINT'),
                                         (signal.SIGHUP, 'SIGHUP')])
def test_a_stop_signal_saves_the_iteration_under_way_then_exits_0(luajit, tmp_path, signum, name):
    rc, out, err = run_trainer(luajit, tmp_path, SIGNAL_AT='7', SIGNUM=str(int(signum)))
    assert rc == 0, err
    saved = 'cv/lm_lstm_epoch0.70_1.5000.t7'
    assert out[-5:] == [
        '[charrnn] %s received: saving a checkpoint at the end of iteration 7, then stopping' % name,
        'saving checkpoint to ' + saved,
        'saved with eval_val_every 1000',
        '7/20 (epoch 0.700), train_loss = 1.93000000',
        '[charrnn] stopped on %s after saving %s at iteration 7' % (name, saved),
    ]
    assert _log.parse_line(out[-1]) == {'kind': 'stopped', 'text': out[-1], 'signal': name, 'path': saved,
                                        'iteration': 7}
    assert not any(line.startswith('8/20') for line in out)


def test_no_signal_no_time_leaves_train_lua_alone(luajit, tmp_path):
    rc, out, err = run_trainer(luajit, tmp_path, EVAL_EVERY='5', ITERATIONS='12')
    assert rc == 0, err
    saves = [line for line in out if line.startswith('saving checkpoint to')]
    assert saves == ['saving checkpoint to cv/lm_lstm_epoch%s_1.5000.t7' % e for e in ('0.50', '1.00', '1.20')]
    assert out[-1] == 'END'
    assert not any(line.startswith('[charrnn] SIG') or 'stopped on' in line for line in out)


def test_a_checkpoint_after_the_wall_time_given_and_training_goes_on(luajit, tmp_path):
    rc, out, err = run_trainer(luajit, tmp_path, CHARRNN_CHECKPOINT_SECONDS='2', SLOW_AT='4')
    assert rc == 0, err
    saves = [line for line in out if line.startswith('saving checkpoint to')]
    # the slow iteration 4 passes the 2 s; the last iteration saves as train.lua always does
    assert saves == ['saving checkpoint to cv/lm_lstm_epoch0.40_1.5000.t7',
                     'saving checkpoint to cv/lm_lstm_epoch2.00_1.5000.t7']
    assert out.count('saved with eval_val_every 1000') == 2
    assert out[-1] == 'END'


def test_a_wall_time_of_0_asks_for_nothing(luajit, tmp_path):
    rc, out, err = run_trainer(luajit, tmp_path, CHARRNN_CHECKPOINT_SECONDS='0', SLOW_AT='4')
    assert rc == 0, err
    assert [line for line in out if line.startswith('saving')] == ['saving checkpoint to cv/lm_lstm_epoch2.00_1.5000.t7']


@pytest.mark.parametrize('blocked', [True, False])
def test_a_signal_while_loading_ends_the_trainer_at_once(luajit, tmp_path, blocked):
    """Before the first optimiser step there is nothing to save: the prelude's thread takes the signals again."""
    rc, out, err = run_trainer(luajit, tmp_path, blocked=blocked, SIGNAL_WHILE_LOADING='1')
    assert rc == -signal.SIGTERM
    assert not any(line.startswith('1/20') for line in out)


def test_started_plainly_the_one_thread_blocks_once_training_has_begun(luajit, tmp_path):
    """luajit runs one thread: blocked once training has begun, it is every thread."""
    rc, out, err = run_trainer(luajit, tmp_path, blocked=False, SIGNAL_AT='7')
    assert rc == 0, err
    assert out[-1] == '[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch0.70_1.5000.t7 at iteration 7'


def test_a_signal_while_train_lua_saves_anyway_stops_with_that_checkpoint(luajit, tmp_path):
    """No second evaluation: the checkpoint of the iteration just done is the stop's."""
    rc, out, err = run_trainer(luajit, tmp_path, EVAL_EVERY='5', SIGNAL_WHILE_SAVING='1')
    assert rc == 0, err
    assert out[-4:] == ['saving checkpoint to cv/lm_lstm_epoch0.50_1.5000.t7', 'saved with eval_val_every 5',
                        '5/20 (epoch 0.500), train_loss = 1.95000000',
                        '[charrnn] stopped on SIGTERM after saving cv/lm_lstm_epoch0.50_1.5000.t7 at iteration 5']
    assert not any('received' in line for line in out)


def test_without_rmsprop_the_prelude_says_so_and_a_stop_acts_as_it_would(luajit, tmp_path):
    rc, out, err = run_trainer(luajit, tmp_path, STEP='adam', SIGNAL_AT='3')
    assert rc == -signal.SIGTERM
    # what train.lua printed after it was still buffered when SIGTERM ended it
    assert out[-1] == "[charrnn] no checkpoint on a stop or by time: optim has no rmsprop to follow train.lua's iterations"


@pytest.mark.parametrize('block,blocked', [(True, 0x4003), (False, 0)])
def test_the_trainer_exec_gives_the_stop_signals_back_and_blocks_them_for_the_prelude(block, blocked):
    """The wrapper ignores SIGHUP, SIGINT and SIGTERM; what the trainer exec runs has their default action,
    and with block has them blocked."""
    shell = "trap '' HUP INT TERM; exec \"$@\""
    argv = ['sh', '-c', shell, 'sh'] + _requested_checkpoints.trainer_exec(sys.executable, block) + [
        'grep', '^Sig\\(Blk\\|Ign\\)', '/proc/self/status']
    out = subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout.decode().split()
    masks = dict(zip(out[0::2], (int(m, 16) for m in out[1::2])))
    assert masks['SigIgn:'] & 0x1005003 == 0  # HUP, INT, TERM; PIPE and XFSZ, which Python ignores
    assert masks['SigBlk:'] & 0x4003 == blocked


def test_a_train_lua_that_does_not_save_when_asked_still_stops(luajit, tmp_path):
    rc, out, err = run_trainer(luajit, tmp_path, SIGNAL_AT='3', SAVE_ONLY_AT_END='1')
    assert rc == 0, err
    assert out[-2:] == ['3/20 (epoch 0.300), train_loss = 1.97000000',
                        '[charrnn] stopped on SIGTERM without a checkpoint: train.lua saved none at iteration 3']
    assert _log.parse_line(out[-1])['path'] is None
