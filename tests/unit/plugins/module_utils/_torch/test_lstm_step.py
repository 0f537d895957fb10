# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The fused LSTM step's decisions: which networks it takes over, and how it hooks clone_many_times.

Run with LuaJIT (or any Lua 5.1+) against stand-ins for nngraph networks built like char-rnn's
model/LSTM.lua (nodes, annotations, module types, weight shapes). The arithmetic needs real Torch:
tests/hand-run/real-lstm-step.sh compares the fused step's outputs and gradients with char-rnn's own
clones, and trains with both.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess

import pytest

# The step is loaded from its source file, as th would require it (the file equals what the prelude preloads:
# test_generate_lua.py).
LUA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..', 'lua', '?.lua') + ';;'

# Stand-ins: torch.type, tensors that know their type and size, classes, and a network of nodes the
# way nngraph lists them in forwardnodes.
STAND_INS = r"""
torch, nn = {}, {}
function torch.type(x)
  if type(x) == 'table' and x.__type then return x.__type end
  return type(x)
end
local Tensor = {}
Tensor.__index = Tensor
function torch.isTensor(x) return getmetatable(x) == Tensor end
function Tensor:size(d) return self.sizes[d] end
function Tensor:t() return setmetatable({__type = self.__type, sizes = {self.sizes[2], self.sizes[1]}}, Tensor) end
function Tensor:type(t) return setmetatable({__type = t, sizes = self.sizes}, Tensor) end
function tensor(t, ...) return setmetatable({__type = t, sizes = {...}}, Tensor) end
function torch.Tensor() return tensor('torch.DoubleTensor') end
function torch.class(name, parent)
  local class = {}
  class.__index = class
  local short = name:match('^nn%.(.*)$')
  nn[short] = setmetatable({}, {__call = function(_, ...)
    local obj = setmetatable({}, class)
    obj:__init(...)
    return obj
  end})
  return class
end
nn.Module = {__init = function() end}

-- A network shaped like model/LSTM.lua's: n layers of H units over V characters, tensors of type t.
function lstm(n, H, V, t, extra)
  local nodes = {}
  local function add(typ, fields, name)
    local m = fields or {}
    m.__type = typ
    nodes[#nodes + 1] = {data = {module = m, annotations = {name = name}}}
  end
  local function linear(inputs, outputs, name)
    add('nn.Linear', {weight = tensor(t, outputs, inputs), gradWeight = tensor(t, outputs, inputs),
                      bias = tensor(t, outputs), gradBias = tensor(t, outputs)}, name)
  end
  for _ = 1, 2 * n + 1 do add('nn.Identity') end
  add('OneHot')
  for L = 1, n do
    linear(L == 1 and V or H, 4 * H, 'i2h_' .. L)
    linear(H, 4 * H, 'h2h_' .. L)
    for _, m in ipairs({'nn.CAddTable', 'nn.CAddTable', 'nn.Reshape', 'nn.SplitTable', 'nn.Sigmoid',
                        'nn.Sigmoid', 'nn.Sigmoid', 'nn.Tanh', 'nn.Tanh', 'nn.CMulTable', 'nn.CMulTable',
                        'nn.CMulTable'}) do
      add(m)
    end
  end
  linear(H, V, 'decoder')
  add('nn.LogSoftMax')
  nodes[#nodes + 1] = {data = {annotations = {}}}  -- nngraph's nodes without a module
  for _, m in ipairs(extra or {}) do add(m) end
  return {__type = 'nn.gModule', forwardnodes = nodes}
end

function node_module(net, name)
  for _, node in ipairs(net.forwardnodes) do
    if node.data.annotations.name == name then return node.data.module end
  end
end
"""


def run_lua(lua, body):
    chunk = "local lstm_step = require 'charrnn_lstm_step'\n"
    proc = subprocess.run([lua, '-e', STAND_INS + chunk + body], env=dict(os.environ, LUA_PATH=LUA_PATH),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def layout_of(lua, network):
    rc, out, err = run_lua(lua, """
local net = %s
local layout, why = lstm_step.layout(net)
if layout then
  print(string.format('FUSED n=%%d H=%%d V=%%d %%s', layout.n, layout.H, layout.V, layout.type))
else
  print('NOT ' .. why)
end
""" % network)
    assert rc == 0, err
    return out.strip()


@pytest.mark.parametrize('network,want', [
    ("lstm(2, 128, 65, 'torch.FloatTensor')", 'FUSED n=2 H=128 V=65 torch.FloatTensor'),
    ("lstm(3, 16, 90, 'torch.DoubleTensor')", 'FUSED n=3 H=16 V=90 torch.DoubleTensor'),
    ("lstm(1, 8, 5, 'torch.FloatTensor')", 'FUSED n=1 H=8 V=5 torch.FloatTensor'),
])
def test_char_rnn_lstm_on_the_cpu_is_fused(lua, network, want):
    assert layout_of(lua, network) == want


@pytest.mark.parametrize('network,want', [
    ("lstm(2, 128, 65, 'torch.FloatTensor', {'nn.Dropout', 'nn.Dropout'})", 'NOT dropout'),
    ("lstm(2, 128, 65, 'torch.CudaTensor')", 'NOT parameters are torch.CudaTensor, not on the CPU'),
    ("lstm(2, 128, 65, 'torch.ClTensor')", 'NOT parameters are torch.ClTensor, not on the CPU'),
    # GRU and RNN graphs have other modules, or other numbers of them
    ("lstm(2, 128, 65, 'torch.FloatTensor', {'nn.MulConstant'})",
     "NOT not char-rnn's LSTM (1 nn.MulConstant where it has 0)"),
    ("lstm(2, 128, 65, 'torch.FloatTensor', {'nn.Sigmoid'})",
     "NOT not char-rnn's LSTM (7 nn.Sigmoid where it has 6)"),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); node_module(n, 'i2h_2').weight = tensor("
     "'torch.FloatTensor', 32, 9); return n end)()", "NOT not char-rnn's LSTM (layer 2 shaped otherwise)"),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); node_module(n, 'h2h_1').gradWeight = tensor("
     "'torch.DoubleTensor', 32, 8); return n end)()", 'NOT parameters of mixed tensor types'),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); node_module(n, 'decoder').__type = 'nn.Identity'; "
     "return n end)()", "NOT not char-rnn's LSTM (6 nn.Identity where it has 5)"),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); for _, node in ipairs(n.forwardnodes) do "
     "if node.data.module and node.data.module.__type == 'OneHot' then node.data.module = nil end end; "
     "return n end)()", "NOT not char-rnn's LSTM (0 OneHot where it has 1)"),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); for _, node in ipairs(n.forwardnodes) do "
     "if node.data.annotations.name == 'decoder' then node.data.annotations.name = nil end end; "
     "return n end)()", "NOT not char-rnn's LSTM (no i2h_1 or decoder node)"),
    ("{__type = 'nn.Sequential'}", 'NOT not an nngraph network'),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); node_module(n, 'h2h_2').bias = nil; "
     "return n end)()", "NOT not char-rnn's LSTM (layer 2 without biases)"),
    ("(function() local n = lstm(2, 8, 5, 'torch.FloatTensor'); node_module(n, 'decoder').weight = nil; "
     "return n end)()", "NOT not char-rnn's LSTM (a decoder without weight or bias)"),
])
def test_anything_else_trains_through_char_rnns_clones(lua, network, want):
    assert layout_of(lua, network) == want


HOOK = r"""
-- the self-check runs the network with real Torch (tests/hand-run/real-lstm-step.sh); here it answers as told
lstm_step.self_check = function(net)
  if CHECK == 'error' then error('THNN.Sigmoid_updateOutput: bad argument') end
  return CHECK ~= 'differs', 'its self-check differs from the network (result 3 of 17 by 0.5)'
end
local calls = {}
local model_utils = {clone_many_times = function(net, T, flag)
  calls[#calls + 1] = torch.type(net) .. ' ' .. T .. ' ' .. tostring(flag)
  return 'clones of ' .. torch.type(net)
end}
lstm_step.install(model_utils, MODE)
lstm_step.install(model_utils, MODE)  -- a second require of util.model_utils changes nothing
local criterion = {__type = 'nn.ClassNLLCriterion'}
print('criterion: ' .. tostring(model_utils.clone_many_times(criterion, 3, true)))
local clones = model_utils.clone_many_times(NET, 3, false)
if type(clones) == 'table' then
  local seq = clones[1].sequence
  for t = 1, 3 do assert(clones[t].t == t and clones[t].sequence == seq, 'step ' .. t) end
  print('steps: ' .. #clones .. ' sharing one sequence of ' .. seq.T)
else
  print('rnn: ' .. clones)
end
print('original called: ' .. table.concat(calls, '; '))
"""


def hook(lua, mode, net="lstm(2, 16, 65, 'torch.FloatTensor')", check='same'):
    return run_lua(lua, 'MODE = %s\nNET = %s\nCHECK = %r\n%s' % (mode, net, check, HOOK))


def test_clone_many_times_gives_fused_steps_for_char_rnns_lstm(lua):
    rc, out, err = hook(lua, 'nil')
    assert rc == 0, err
    assert out.splitlines() == [
        'criterion: clones of nn.ClassNLLCriterion',
        '[charrnn] LSTM step fused: 2 layers of 16, 3 steps per sequence',
        'steps: 3 sharing one sequence of 3',
        'original called: nn.ClassNLLCriterion 3 true',
    ]
    for same in ("'fused'", "''"):
        rc, out2, err = hook(lua, same)
        assert (rc, out2) == (0, out)


@pytest.mark.parametrize('check,why', [
    ('differs', 'its self-check differs from the network (result 3 of 17 by 0.5)'),
    ('error', 'its self-check failed: '),
])
def test_a_network_the_self_check_refuses_trains_through_char_rnns_clones(lua, check, why):
    rc, out, err = hook(lua, 'nil', check=check)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[1].startswith('[charrnn] LSTM step not fused (' + why)
    assert check != 'error' or 'THNN.Sigmoid_updateOutput: bad argument)' in lines[1]
    assert lines[1].endswith("): training through char-rnn's clones")
    assert lines[2:] == ['rnn: clones of nn.gModule', 'original called: nn.ClassNLLCriterion 3 true; nn.gModule 3 false']


def test_graph_mode_keeps_char_rnns_clones_and_says_so(lua):
    rc, out, err = hook(lua, "'graph'")
    assert rc == 0, err
    assert out.splitlines() == [
        'criterion: clones of nn.ClassNLLCriterion',
        "[charrnn] LSTM step not fused (CHARRNN_LSTM_STEP=graph): training through char-rnn's clones",
        'rnn: clones of nn.gModule',
        'original called: nn.ClassNLLCriterion 3 true; nn.gModule 3 false',
    ]


def test_a_network_it_does_not_take_over_says_why_and_trains_as_before(lua):
    rc, out, err = hook(lua, 'nil', net="lstm(2, 16, 65, 'torch.FloatTensor', {'nn.Dropout'})")
    assert rc == 0, err
    assert out.splitlines()[1:] == [
        "[charrnn] LSTM step not fused (dropout): training through char-rnn's clones",
        'rnn: clones of nn.gModule',
        'original called: nn.ClassNLLCriterion 3 true; nn.gModule 3 false',
    ]


def test_an_unknown_mode_fails_naming_the_choices(lua):
    rc, out, err = hook(lua, "'fast'")
    assert rc != 0
    assert "CHARRNN_LSTM_STEP must be fused or graph (char-rnn's own clones), got fast" in err
