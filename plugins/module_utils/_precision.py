# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The precision char-rnn's train.lua computes in, and the Lua launcher that sets it.

train.lua never sets a tensor type, so on the CPU it computes in Torch's default, double. The
launcher sets the default tensor type before it runs train.lua unchanged; every tensor and module
train.lua builds then takes that type. Checkpoints stay in char-rnn's CPU format (double) whatever
the precision, because sample.lua builds its state with :double() and -init_from mixes tensor types
otherwise. The launcher also trains char-rnn's LSTM through the fused step of _lstm_step, and has train.lua
save a checkpoint when asked to stop and every so often (_requested_checkpoints). Kept here as a string,
the launcher ships inside the module that writes it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _lstm_step
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _requested_checkpoints

PRECISIONS = ('float', 'double')
DEFAULT_PRECISION = 'float'
TENSOR_TYPES = {'float': 'torch.FloatTensor', 'double': 'torch.DoubleTensor'}
# What char-rnn's CPU checkpoints hold, and what sample.lua expects.
CHECKPOINT_TENSOR_TYPE = 'torch.DoubleTensor'
# char-rnn's own behaviour needs no launcher: train.lua runs as it always did.
NATIVE_PRECISION = 'double'

LAUNCHER_SUFFIX = '.launcher.lua'
LAUNCHER_MARKER = 'rnn_bootstrap.charrnn precision launcher'

# th <launcher> float|double <train.lua> [train.lua flags]
# th hands a script the arguments after its name as arg[1..n] and its own arg[0] and below unchanged;
# the launcher hands train.lua the same table without its first two entries, then runs it with
# dofile as th does. torch.save writes a double copy of a float model: re-typing the live model
# would detach it from the flattened parameter tensors train.lua optimises (train.lua keeps only
# views of them in its modules). Models on a GPU (CUDA, OpenCL) are left as char-rnn leaves them.
LAUNCHER_SCRIPT = r"""-- %(marker)s: written by the rnn_bootstrap.charrnn.train module, which
-- rewrites it when it differs; edits are lost.
--
--   th <this file> float|double train.lua [train.lua flags]
--
-- Runs char-rnn's train.lua unchanged with Torch's default tensor type set to the precision given.
-- Checkpoints keep char-rnn's CPU format (double) whatever the precision, so that sample.lua,
-- -init_from and older checkpoints all work: a float model is saved as a double copy, and a model
-- loaded with -init_from is converted to the precision trained in.
require 'torch'

local TENSOR_TYPES = {float = 'torch.FloatTensor', double = 'torch.DoubleTensor'}
local CHECKPOINT_TYPE = '%(checkpoint_type)s'
local precision, script = arg[1], arg[2]
local compute = TENSOR_TYPES[precision]
if compute == nil or script == nil then
  error('usage: th <this file> float|double train.lua [train.lua flags]; got precision '
        .. tostring(precision) .. ' and script ' .. tostring(script))
end
local other = compute == 'torch.FloatTensor' and 'torch.DoubleTensor' or 'torch.FloatTensor'

-- The tensor types reachable from obj (a module, a criterion, any table), each table looked at once.
local function tensor_types(obj)
  local found, seen, todo = {}, {}, {obj}
  while #todo > 0 do
    local x = table.remove(todo)
    if torch.isTensor(x) then
      found[torch.typename(x)] = true
    elseif type(x) == 'table' and not seen[x] then
      seen[x] = true
      for k, v in pairs(x) do
        todo[#todo + 1] = k
        todo[#todo + 1] = v
      end
    end
  end
  return found
end

-- Whether proto holds tensors of type t and lives on the CPU (no CUDA or OpenCL tensor).
local function cpu_model_of(proto, t)
  local types = tensor_types(proto)
  if not types[t] then return false end
  for name in pairs(types) do
    if name:find('^torch%%.Cuda') or name:find('^torch%%.Cl') then return false end
  end
  return true
end

local function is_checkpoint(obj)
  return type(obj) == 'table' and type(obj.protos) == 'table'
end

local torch_save, torch_load = torch.save, torch.load

function torch.save(filename, object, ...)
  if is_checkpoint(object) and compute ~= CHECKPOINT_TYPE then
    local protos, copied = {}, false
    for name, proto in pairs(object.protos) do
      if cpu_model_of(proto, compute) then
        protos[name] = proto:clone():type(CHECKPOINT_TYPE)
        copied = true
      else
        protos[name] = proto
      end
    end
    if copied then
      local checkpoint = {}
      for k, v in pairs(object) do checkpoint[k] = v end
      checkpoint.protos = protos
      object = checkpoint
    end
  end
  return torch_save(filename, object, ...)
end

function torch.load(filename, ...)
  local object = torch_load(filename, ...)
  if is_checkpoint(object) then
    for name, proto in pairs(object.protos) do
      if cpu_model_of(proto, other) then
        object.protos[name] = proto:type(compute)
        print(string.format('[charrnn] %%s: %%s converted from %%s to %%s', tostring(filename), tostring(name),
                            other, compute))
      end
    end
  end
  return object
end

torch.setdefaulttensortype(compute)
print(string.format('[charrnn] precision %%s: %%s computes in %%s; checkpoints are saved in %%s', precision,
                    script, compute, CHECKPOINT_TYPE))

local script_arg = {}
for k, v in pairs(arg) do
  if k <= 0 then
    script_arg[k] = v
  elseif k > 2 then
    script_arg[k - 2] = v
  end
end
arg = script_arg
""" % {'marker': LAUNCHER_MARKER, 'checkpoint_type': CHECKPOINT_TENSOR_TYPE} + r"""
-- char-rnn's LSTM trains through one fused step instead of its seq_length nngraph clones (the same model,
-- parameters and checkpoints; see rnn_bootstrap.charrnn's _lstm_step): train.lua's own require of
-- util.model_utils gets its clone_many_times replaced.
local lstm_step = (function()
""" + _lstm_step.LSTM_STEP_LUA + r"""
end)()

-- A checkpoint when the trainer is asked to stop, and every CHARRNN_CHECKPOINT_SECONDS of wall time (see
-- rnn_bootstrap.charrnn's _requested_checkpoints): train.lua's own require of optim gets its rmsprop wrapped.
local requested_checkpoints = (function()
""" + _requested_checkpoints.REQUESTED_CHECKPOINTS_LUA + r"""
end)()

-- A run resumed with -init_from goes on with the count of the checkpoint it starts from: train.lua counts
-- its iterations and epochs from 1 again, so each checkpoint also records the count before its run
-- (iterations_before, epochs_before) beside char-rnn's own i and epoch, which stay the run's.
local init_from
for k = 1, #arg - 1 do
  if arg[k] == '-init_from' then init_from = arg[k + 1] end
end
local count_before = {iterations = 0, epochs = 0}
local load_in_compute_type = torch.load
function torch.load(filename, ...)
  local object = load_in_compute_type(filename, ...)
  if init_from ~= nil and filename == init_from and is_checkpoint(object) then
    count_before.iterations = (tonumber(object.iterations_before) or 0) + (tonumber(object.i) or 0)
    count_before.epochs = (tonumber(object.epochs_before) or 0) + (tonumber(object.epoch) or 0)
    print(string.format('[charrnn] continuing the count of %s: %d iterations and %.3f epochs before this run',
                        tostring(filename), count_before.iterations, count_before.epochs))
  end
  return object
end

local save_in_checkpoint_type = torch.save
function torch.save(filename, object, ...)
  if is_checkpoint(object) then
    requested_checkpoints.saving(object, filename)
    object.iterations_before = count_before.iterations
    object.epochs_before = count_before.epochs
  end
  return save_in_checkpoint_type(filename, object, ...)
end

local plain_require = require
function require(name, ...)
  local loaded = plain_require(name, ...)
  if name == 'util.model_utils' and type(loaded) == 'table' then
    lstm_step.install(loaded, os.getenv('CHARRNN_LSTM_STEP'))
  elseif name == 'optim' then
    requested_checkpoints.install(loaded)
  end
  return loaded
end

dofile(script)
"""


class PrecisionError(ValueError):
    """An unknown precision; the message says what to use."""


def check_precision(precision):
    """The precision, or PrecisionError naming the choices."""
    if precision not in PRECISIONS:
        raise PrecisionError("precision must be one of %s (float computes faster; checkpoints are char-rnn's "
                             "double format either way), got %r" % (', '.join(PRECISIONS), precision))
    return precision


def launcher_path(log_path):
    """Where the train module keeps the launcher of a run: next to the run's log, state and pid files."""
    return log_path + LAUNCHER_SUFFIX


def needs_launcher(precision):
    return check_precision(precision) != NATIVE_PRECISION


def trainer_argv(train_argv, precision, launcher):
    """The argv that runs `th train.lua <flags>` (train_argv) in this precision.

    double is char-rnn's own behaviour: train_argv unchanged. float puts the launcher and the precision
    between th and train.lua; train.lua still appears by name, so the trainer is recognised as before.
    """
    if not needs_launcher(precision):
        return list(train_argv)
    if not launcher:
        raise PrecisionError('precision %s needs the launcher path' % precision)
    return [train_argv[0], launcher, precision] + list(train_argv[1:])


def precision_of(argv):
    """The precision a recorded trainer argv computes in (None when it is not a train.lua command)."""
    argv = list(argv or [])
    if (len(argv) >= 4 and argv[1].endswith(LAUNCHER_SUFFIX) and argv[2] in PRECISIONS
            and os.path.basename(argv[3]) == 'train.lua'):
        return argv[2]
    if len(argv) >= 2 and os.path.basename(argv[1]) == 'train.lua':
        return NATIVE_PRECISION
    return None


def install_launcher(path, opener=None):
    """Write the launcher to path unless it already holds exactly this text; returns whether it wrote.

    Replaced whole (see _files.write_if_changed), so that a trainer starting meanwhile reads either the
    old text or the new, never half of one. World-readable: the training user may differ from whoever
    reads the command later.
    """
    changed, dummy = _files.write_if_changed(path, LAUNCHER_SCRIPT.encode('utf-8'), mode=0o644, opener=opener)
    return changed


def native_argv(argv):
    """A trainer argv without the launcher: `th train.lua <flags>` whatever the precision."""
    argv = list(argv or [])
    if precision_of(argv) is not None and argv[1].endswith(LAUNCHER_SUFFIX):
        return [argv[0]] + argv[3:]
    return argv


def difference(recorded_argv, precision):
    """A phrase saying how the precision of a recorded trainer differs from the one asked for, or None."""
    recorded = precision_of(recorded_argv)
    if recorded is None or recorded == precision:
        return None
    return 'it computes in %s, %s was asked for' % (recorded, precision)
