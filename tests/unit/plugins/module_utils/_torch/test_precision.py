# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The train.lua prelude: its command line, where it lives, how it is written, and what it does.

What it does is run here with LuaJIT (or any Lua 5.1+) against a small stand-in for torch: the
prelude's own logic (arguments handed on as th hands them, the default tensor type, a double copy
on save that leaves the live model alone, conversion on load, GPU models left alone). That Torch's
clone and type conversion do the same for char-rnn's real nngraph model is what
tests/hand-run/real-precision.sh checks with real Torch.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import stat
import subprocess

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import lua_sources as _lua_sources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import flags as _flags


TRAIN = ['/opt/torch/bin/th', 'train.lua', '-data_dir', 'data/x', '-checkpoint_dir', 'cv', '-gpuid', '-1']


def test_double_is_char_rnn_itself():
    assert _precision.trainer_argv(TRAIN, 'double', '/cv/l.log.prelude.lua') == TRAIN
    assert _precision.needs_prelude('double') is False
    assert _precision.precision_of(TRAIN) == 'double'


def test_float_runs_train_lua_through_the_prelude():
    argv = _precision.trainer_argv(TRAIN, 'float', '/cv/l.log.prelude.lua')
    assert argv == ['/opt/torch/bin/th', '/cv/l.log.prelude.lua', 'float'] + TRAIN[1:]
    assert _precision.precision_of(argv) == 'float'
    assert _precision.needs_prelude('float') is True
    # the trainer is still recognised by train.lua in its command line
    assert 'train.lua' in argv


def test_default_is_float():
    assert _precision.DEFAULT_PRECISION == 'float'


@pytest.mark.parametrize('bad', ['half', 'Float', '', None, 32])
def test_unknown_precision_is_refused_with_the_choices(bad):
    with pytest.raises(_precision.PrecisionError) as e:
        _precision.trainer_argv(TRAIN, bad, '/x.prelude.lua')
    assert 'precision must be one of float, double' in str(e.value)


def test_float_without_a_prelude_path_is_a_bug():
    with pytest.raises(_precision.PrecisionError):
        _precision.trainer_argv(TRAIN, 'float', None)


@pytest.mark.parametrize('argv,want', [
    (None, None), ([], None), (['th', 'sample.lua', 'x.t7'], None),
    (['th', '/a/train.lua'], 'double'),
    (['th', '/cv/x.log.prelude.lua', 'float', 'train.lua', '-gpuid', '-1'], 'float'),
    (['th', '/cv/x.log.prelude.lua', 'double', 'train.lua'], 'double'),
    (['th', '/cv/x.log.prelude.lua', 'half', 'train.lua'], None),
])
def test_precision_of_a_recorded_command(argv, want):
    assert _precision.precision_of(argv) == want


def test_difference_names_both_precisions():
    assert _precision.difference(TRAIN, 'float') == 'it computes in double, float was asked for'
    assert _precision.difference(_precision.trainer_argv(TRAIN, 'float', '/l.prelude.lua'), 'double') == \
        'it computes in float, double was asked for'
    assert _precision.difference(TRAIN, 'double') is None
    assert _precision.difference(['th', 'other.lua'], 'float') is None


def test_build_train_argv_applies_the_precision():
    flags = _flags.validate_options({'rnn_size': 64})
    double = _flags.build_train_argv('th', flags, 'data/x', 'cv', -1, init_from='/cv/a.t7')
    assert double[:2] == ['th', 'train.lua'] and double[-2:] == ['-init_from', '/cv/a.t7']
    single = _flags.build_train_argv('th', flags, 'data/x', 'cv', -1, init_from='/cv/a.t7', precision='float',
                                     prelude='/cv/t.log.prelude.lua')
    assert single == ['th', '/cv/t.log.prelude.lua', 'float'] + double[1:]


def test_prelude_lives_next_to_the_log():
    assert _precision.prelude_path('/opt/rnn-karpathy/cv/train-charrnn.log') == \
        '/opt/rnn-karpathy/cv/train-charrnn.log.prelude.lua'


def test_install_writes_once_and_repairs(tmp_path):
    path = str(tmp_path / 'train-x.log.prelude.lua')
    assert _precision.install_prelude(path) is True
    with open(path) as f:
        assert f.read() == _precision.PRELUDE_SCRIPT
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    mtime = os.stat(path).st_mtime_ns
    assert _precision.install_prelude(path) is False
    assert os.stat(path).st_mtime_ns == mtime
    with open(path, 'a') as f:
        f.write('-- edited\n')
    assert _precision.install_prelude(path) is True
    with open(path) as f:
        assert f.read() == _precision.PRELUDE_SCRIPT
    assert os.listdir(str(tmp_path)) == ['train-x.log.prelude.lua']


def test_install_failure_raises_and_leaves_nothing(tmp_path):
    def failing_open(name, mode='r'):
        if 'w' in mode:
            raise IOError(28, 'No space left on device')
        return open(name, mode)
    path = str(tmp_path / 'l.prelude.lua')
    with pytest.raises(IOError):
        _precision.install_prelude(path, opener=failing_open)
    assert os.listdir(str(tmp_path)) == []


def test_the_written_prelude_is_the_marker_its_preloaded_modules_then_the_prelude():
    text = _precision.PRELUDE_SCRIPT
    assert _precision.PRELUDE_MARKER in text.splitlines()[0]
    body = text.split('\n', 2)[2]
    for name, source in _precision.PRELOADED:
        preload = "package.preload['%s'] = function(...)\n" % name
        assert body.startswith(preload + source + 'end\n'), name
        body = body[len(preload + source + 'end\n'):]
    assert body == _lua_sources.PRELUDE_LUA
    # every module of lua/ the prelude requires travels with it, and only those
    assert sorted(re.findall(r"require '(charrnn_\w+)'", body)) == sorted(name for name, dummy in _precision.PRELOADED)
    assert '/opt/' not in text  # no host paths: th and train.lua come from the command line


def test_a_trainer_started_with_the_former_file_name_is_recognised():
    former = ['/opt/torch/bin/th', '/cv/l.log.launcher.lua', 'float'] + TRAIN[1:]
    assert _precision.precision_of(former) == 'float'
    assert _precision.native_argv(former) == TRAIN
    current = _precision.trainer_argv(TRAIN, 'float', '/cv/l.log.prelude.lua')
    assert _precision.native_argv(former) == _precision.native_argv(current)


def test_forget_former_removes_only_the_former_file(tmp_path):
    log = tmp_path / 'train-x.log'
    for suffix in ('', '.launcher.lua', '.prelude.lua'):
        (tmp_path / ('train-x.log' + suffix)).write_text('x')
    _precision.forget_former(str(log))
    assert sorted(os.listdir(str(tmp_path))) == ['train-x.log', 'train-x.log.prelude.lua']
    _precision.forget_former(str(log))  # nothing to remove: nothing happens


# A stand-in for what the prelude uses of torch: tensors (with storages shared between views), and
# modules and criteria with clone() and type() that behave like nn's (clone copies everything,
# keeping shared storages shared; type() converts every tensor, views of one storage to views of one
# new storage). torch.save and torch.load keep objects in FILES.
FAKE_TORCH = r"""
local torch = {}
_G.torch = torch
FILES, LOG = {}, {}
local default = 'torch.DoubleTensor'
local Tensor = {}
Tensor.__index = Tensor
local function new_tensor(t, storage) return setmetatable({t = t, storage = storage or {}}, Tensor) end
function torch.isTensor(x) return getmetatable(x) == Tensor end
function torch.typename(x) return x.t end
function torch.Tensor() return new_tensor(default) end
function torch.TypedTensor(t, storage) return new_tensor(t, storage) end
function torch.setdefaulttensortype(t) default = t end
function torch.getdefaulttensortype() return default end
function torch.save(filename, object) FILES[filename] = object; LOG[#LOG + 1] = 'save ' .. filename end
function torch.load(filename) LOG[#LOG + 1] = 'load ' .. filename; return FILES[filename] end

local function copy(x, memo)
  if type(x) ~= 'table' then return x end
  if memo[x] then return memo[x] end
  local c = setmetatable({}, getmetatable(x))
  memo[x] = c
  for k, v in pairs(x) do c[copy(k, memo)] = copy(v, memo) end
  return c
end
local function retype(x, t, cache, seen)
  if torch.isTensor(x) then
    if x.t == t then return x end
    cache[x.storage] = cache[x.storage] or {}
    return new_tensor(t, cache[x.storage])
  end
  if type(x) ~= 'table' or seen[x] then return x end
  seen[x] = true
  for k, v in pairs(x) do x[k] = retype(v, t, cache, seen) end
  return x
end
local Module = {}
Module.__index = Module
function Module:clone() CLONES = (CLONES or 0) + 1; return copy(self, {}) end
function Module:type(t) return retype(self, t, {}, {}) end
function torch.Module(fields) return setmetatable(fields, Module) end
return torch
"""

# A train.lua stand-in: checks what it was given and does what train.lua does with checkpoints.
FAKE_TRAIN = r"""
local want = os.getenv('WANT_TYPE')
assert(torch.getdefaulttensortype() == want, 'default type ' .. torch.getdefaulttensortype())
assert(#arg == 4 and arg[1] == '-rnn_size' and arg[2] == '64' and arg[3] == '-savefile' and arg[4] == 'x y',
       'arguments: ' .. table.concat(arg, ' '))
assert(arg[0] ~= nil, 'arg[0] handed on')

-- a model built under the default type, its parameters views of one flat storage
local flat, grads = {}, {}
local rnn = torch.Module({weight = torch.TypedTensor(want, flat), bias = torch.TypedTensor(want, flat),
                          gradWeight = torch.TypedTensor(want, grads),
                          nodes = {{data = {}}}, index = torch.TypedTensor('torch.LongTensor')})
rnn.nodes[1].data.owner = rnn.nodes[1]   -- a cycle, as nngraph's graphs have
local criterion = torch.Module({output_tensor = torch.Tensor()})
local protos = {rnn = rnn, criterion = criterion}
local opt = {rnn_size = 64}
local checkpoint = {protos = protos, opt = opt, i = 10, val_losses = {[10] = 1.5}}
torch.save('cv/ck.t7', checkpoint)
local saved = FILES['cv/ck.t7']
-- the live model is untouched
assert(checkpoint.protos == protos and protos.rnn == rnn and rnn.weight.t == want and rnn.weight.storage == flat,
       'live model changed')
assert(torch.typename(saved.protos.rnn.weight) == 'torch.DoubleTensor', 'saved weight type')
assert(torch.typename(saved.protos.criterion.output_tensor) == 'torch.DoubleTensor', 'saved criterion type')
assert(saved.protos.rnn.weight.storage == saved.protos.rnn.bias.storage, 'saved views share one storage')
assert(saved.opt == opt and saved.i == 10 and saved.val_losses[10] == 1.5, 'the rest saved unchanged')
if want == 'torch.DoubleTensor' then
  assert(saved == checkpoint and saved.protos.rnn == rnn and CLONES == nil, 'double: saved as it is')
else
  assert(saved ~= checkpoint and saved.protos.rnn ~= rnn and CLONES == 2, 'float: a converted copy')
end

-- anything else is saved as it is
local vocab = {a = 1}
torch.save('data/vocab.t7', vocab)
assert(FILES['data/vocab.t7'] == vocab, 'vocab saved as it is')

-- -init_from a checkpoint of either type gives a model of the default type
for _, t in ipairs({'torch.DoubleTensor', 'torch.FloatTensor'}) do
  local s = {}
  FILES['old.t7'] = {protos = {rnn = torch.Module({weight = torch.TypedTensor(t, s), bias = torch.TypedTensor(t, s)})},
                     opt = {rnn_size = 64}}
  local loaded = torch.load('old.t7')
  assert(torch.typename(loaded.protos.rnn.weight) == want, 'loaded ' .. t .. ' as ' .. torch.typename(loaded.protos.rnn.weight))
  assert(loaded.protos.rnn.weight.storage == loaded.protos.rnn.bias.storage, 'loaded views share one storage')
end

-- a model on a GPU is left as it is, saved and loaded
local gpu = torch.Module({weight = torch.TypedTensor('torch.CudaTensor'), onehot = torch.TypedTensor(want)})
torch.save('cv/gpu.t7', {protos = {rnn = gpu}})
assert(FILES['cv/gpu.t7'].protos.rnn == gpu, 'GPU model saved as it is')
FILES['gpu.t7'] = {protos = {rnn = gpu}}
assert(torch.load('gpu.t7').protos.rnn == gpu and gpu.weight.t == 'torch.CudaTensor', 'GPU model loaded as it is')
print('FAKE TRAIN OK ' .. want)
"""


def run_prelude(lua, tmp_path, *args, **env):
    (tmp_path / 'fake_torch.lua').write_text(FAKE_TORCH)
    (tmp_path / 'train.lua').write_text(FAKE_TRAIN)
    prelude = tmp_path / 'train-s.log.prelude.lua'
    _precision.install_prelude(str(prelude))
    preload = "package.preload.torch = function() return dofile('fake_torch.lua') end"
    proc = subprocess.run([lua, '-e', preload, str(prelude)] + list(args), cwd=str(tmp_path),
                          env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.mark.parametrize('precision,tensor_type', [('float', 'torch.FloatTensor'), ('double', 'torch.DoubleTensor')])
def test_prelude_runs_train_lua_in_the_precision(lua, tmp_path, precision, tensor_type):
    rc, out, err = run_prelude(lua, tmp_path, precision, 'train.lua', '-rnn_size', '64', '-savefile', 'x y',
                               WANT_TYPE=tensor_type)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == ('[charrnn] precision %s: train.lua computes in %s; checkpoints are saved in '
                        'torch.DoubleTensor' % (precision, tensor_type))
    assert lines[-1] == 'FAKE TRAIN OK ' + tensor_type
    other = 'torch.DoubleTensor' if precision == 'float' else 'torch.FloatTensor'
    assert '[charrnn] old.t7: rnn converted from %s to %s' % (other, tensor_type) in lines
    assert sum('converted' in line for line in lines) == 1


@pytest.mark.parametrize('args', [(), ('half', 'train.lua'), ('float',)])
def test_prelude_refuses_a_bad_command_line(lua, tmp_path, args):
    rc, out, err = run_prelude(lua, tmp_path, *args, WANT_TYPE='torch.FloatTensor')
    assert rc != 0
    assert 'usage: th <this file> float|double train.lua' in err
    assert 'FAKE TRAIN' not in out


def test_prelude_reports_train_lua_errors_as_th_does(lua, tmp_path):
    rc, out, err = run_prelude(lua, tmp_path, 'float', 'train.lua', '-rnn_size', '65', WANT_TYPE='torch.FloatTensor')
    assert rc != 0
    assert re.search(r'train\.lua:\d+: arguments: -rnn_size 65', err)


def test_native_argv_drops_only_the_prelude():
    single = _precision.trainer_argv(TRAIN, 'float', '/cv/l.log.prelude.lua')
    assert _precision.native_argv(single) == TRAIN
    assert _precision.native_argv(TRAIN) == TRAIN
    assert _precision.native_argv(None) == []
    other = ['th', 'sample.lua', 'x.t7']
    assert _precision.native_argv(other) == other


# train.lua's own `require 'util.model_utils'`, through the prelude: the LSTM step's hook is installed on
# the table char-rnn's module returns, once, in the mode CHARRNN_LSTM_STEP names.
HOOKED_TRAIN = r"""
local model_utils = require 'util.model_utils'
assert(require 'util.model_utils' == model_utils, 'require returns the same table')
assert(model_utils.clone_many_times ~= ORIGINAL_CLONE, 'clone_many_times replaced')
print('LSTM STEP ' .. tostring(model_utils.charrnn_lstm_step))
local other = require 'other'
print('OTHER ' .. tostring(other.charrnn_lstm_step))
"""


def run_hooked(lua, tmp_path, **env):
    (tmp_path / 'fake_torch.lua').write_text(FAKE_TORCH)
    (tmp_path / 'util').mkdir()
    (tmp_path / 'util' / 'model_utils.lua').write_text(
        'ORIGINAL_CLONE = function() end\nreturn {clone_many_times = ORIGINAL_CLONE}\n')
    (tmp_path / 'other.lua').write_text('return {clone_many_times = function() end}\n')
    (tmp_path / 'train.lua').write_text(HOOKED_TRAIN)
    prelude = tmp_path / 'train-s.log.prelude.lua'
    _precision.install_prelude(str(prelude))
    preload = "package.preload.torch = function() return dofile('fake_torch.lua') end"
    environ = dict((k, v) for k, v in os.environ.items() if k != 'CHARRNN_LSTM_STEP')
    environ.update(env)
    proc = subprocess.run([lua, '-e', preload, str(prelude), 'float', 'train.lua'], cwd=str(tmp_path),
                          env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.mark.parametrize('env,mode', [({}, 'fused'), ({'CHARRNN_LSTM_STEP': 'graph'}, 'graph'),
                                      ({'CHARRNN_LSTM_STEP': 'fused'}, 'fused')])
def test_prelude_hooks_char_rnns_model_utils_only(lua, tmp_path, env, mode):
    rc, out, err = run_hooked(lua, tmp_path, **env)
    assert rc == 0, err
    assert out.splitlines()[1:] == ['LSTM STEP ' + mode, 'OTHER nil']


def test_prelude_refuses_an_unknown_lstm_step(lua, tmp_path):
    rc, out, err = run_hooked(lua, tmp_path, CHARRNN_LSTM_STEP='fast')
    assert rc != 0
    assert "CHARRNN_LSTM_STEP must be fused or graph (char-rnn's own clones), got fast" in err
    assert 'LSTM STEP' not in out


# train.lua resuming with -init_from, as far as the count goes: it loads the checkpoint (and another file),
# then saves a checkpoint with its own i and epoch.
FAKE_RESUMING_TRAIN = r"""
local init_from = arg[2]
if init_from then
  FILES[init_from] = {protos = {}, i = 300, epoch = 1.5, iterations_before = tonumber(os.getenv('BEFORE')),
                      epochs_before = tonumber(os.getenv('EPOCHS_BEFORE'))}
  FILES['other.t7'] = {protos = {}, i = 7, epoch = 9}
  torch.load(init_from)
  torch.load('other.t7')
end
torch.save('cv/new.t7', {protos = {}, i = 20, epoch = 0.1})
local saved = FILES['cv/new.t7']
print(string.format('SAVED i=%d epoch=%.1f before=%d epochs_before=%.3f', saved.i, saved.epoch,
                    saved.iterations_before, saved.epochs_before))
"""


@pytest.mark.parametrize('args,env,count_line,saved', [
    (('-init_from', 'cv/a.t7'), {}, '[charrnn] continuing the count of cv/a.t7: 300 iterations and 1.500 epochs '
     'before this run', 'SAVED i=20 epoch=0.1 before=300 epochs_before=1.500'),
    (('-init_from', 'cv/b.t7'), {'BEFORE': '1000', 'EPOCHS_BEFORE': '5.25'}, '[charrnn] continuing the count of '
     'cv/b.t7: 1300 iterations and 6.750 epochs before this run', 'SAVED i=20 epoch=0.1 before=1300 epochs_before=6.750'),
    ((), {}, None, 'SAVED i=20 epoch=0.1 before=0 epochs_before=0.000'),
])
def test_a_resumed_run_goes_on_with_the_count_of_its_checkpoint(lua, tmp_path, args, env, count_line, saved):
    (tmp_path / 'fake_torch.lua').write_text(FAKE_TORCH)
    (tmp_path / 'train.lua').write_text(FAKE_RESUMING_TRAIN)
    prelude = tmp_path / 'train-s.log.prelude.lua'
    _precision.install_prelude(str(prelude))
    preload = "package.preload.torch = function() return dofile('fake_torch.lua') end"
    proc = subprocess.run([lua, '-e', preload, str(prelude), 'float', 'train.lua'] + list(args), cwd=str(tmp_path),
                          env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert [line for line in lines if 'continuing the count' in line] == ([count_line] if count_line else [])
    assert lines[-1] == saved
