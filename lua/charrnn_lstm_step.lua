-- The fused LSTM step the train.lua prelude trains char-rnn's LSTM with. require gives a table with
-- layout(proto) (the fusable shape of a network, or nil and why not) and install(model_utils, mode).
--
-- train.lua trains through seq_length clones of its nngraph network, one per time step, run node by node
-- from Lua: some thirty small tensor operations per layer and step, each matrix product of a single step
-- too small for OpenBLAS to run at speed, and the gradient of every weight taken step by step. install
-- replaces util/model_utils.clone_many_times so that, for the network char-rnn's model/LSTM.lua builds (and
-- only for it), train.lua gets seq_length step modules of one fused sequence instead: the same model, the
-- same parameters (views of the flattened tensor train.lua optimises, so rmsprop and clipping are
-- unchanged), the same inputs and outputs per step. Each step computes its gates with a few matrix
-- products and whole-tensor operations; the weight gradients of all steps are taken in one product per
-- weight once the first step's backward is done. protos.rnn stays char-rnn's nngraph network, so
-- checkpoints keep char-rnn's format and sample.lua, -init_from and older checkpoints are unaffected.
--
-- Anything else (GRU, RNN, dropout, a model on a GPU, a network shaped unlike model/LSTM.lua) trains through
-- char-rnn's clones, and the log says why. The step reads the previous state a caller hands it when its
-- backward runs, as nngraph's modules do, so it follows char-rnn's own arithmetic, including the state
-- train.lua carries between batches by reference.
local M = {}

-- The module of the node annotated `name` (model/LSTM.lua names i2h_<L>, h2h_<L> and decoder).
local function annotated(proto, name)
  for _, node in ipairs(proto.forwardnodes) do
    if node.data.annotations.name == name and node.data.module then return node.data.module end
  end
end

-- What model/LSTM.lua builds for n layers with dropout 0, module by module.
local function lstm_modules(n)
  return {['nn.Identity'] = 2 * n + 1, OneHot = 1, ['nn.Linear'] = 2 * n + 1, ['nn.CAddTable'] = 2 * n,
          ['nn.Reshape'] = n, ['nn.SplitTable'] = n, ['nn.Sigmoid'] = 3 * n, ['nn.Tanh'] = 2 * n,
          ['nn.CMulTable'] = 3 * n, ['nn.LogSoftMax'] = 1}
end

local function count_modules(proto)
  local counts = {}
  for _, node in ipairs(proto.forwardnodes) do
    local m = node.data.module
    if m then counts[torch.type(m)] = (counts[torch.type(m)] or 0) + 1 end
  end
  return counts
end

-- The layers of a network built by char-rnn's model/LSTM.lua, or nil and why it is not one.
function M.layout(proto)
  if torch.type(proto) ~= 'nn.gModule' or type(proto.forwardnodes) ~= 'table' then
    return nil, 'not an nngraph network'
  end
  local n = 0
  while annotated(proto, 'i2h_' .. (n + 1)) do n = n + 1 end
  local decoder = annotated(proto, 'decoder')
  if n == 0 or not decoder then return nil, "not char-rnn's LSTM (no i2h_1 or decoder node)" end
  local counts = count_modules(proto)
  if counts['nn.Dropout'] then return nil, 'dropout' end
  local expected = lstm_modules(n)
  local names = {}
  for name in pairs(counts) do names[#names + 1] = name end
  for name in pairs(expected) do
    if not counts[name] then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    if expected[name] ~= counts[name] then
      return nil, string.format("not char-rnn's LSTM (%d %s where it has %d)", counts[name] or 0, name,
                                expected[name] or 0)
    end
  end
  if not (torch.isTensor(decoder.weight) and torch.isTensor(decoder.bias)) then
    return nil, "not char-rnn's LSTM (a decoder without weight or bias)"
  end
  local ttype = torch.type(decoder.weight)
  if ttype ~= 'torch.FloatTensor' and ttype ~= 'torch.DoubleTensor' then
    return nil, 'parameters are ' .. ttype .. ', not on the CPU'
  end
  local V, H = decoder.weight:size(1), decoder.weight:size(2)
  local layers = {}
  for L = 1, n do
    local i2h, h2h = annotated(proto, 'i2h_' .. L), annotated(proto, 'h2h_' .. L)
    if not h2h then return nil, "not char-rnn's LSTM (no h2h_" .. L .. ' node)' end
    for _, m in ipairs({i2h, h2h}) do
      if not (torch.isTensor(m.bias) and torch.isTensor(m.gradBias)) then
        return nil, "not char-rnn's LSTM (layer " .. L .. ' without biases)'
      end
      if torch.type(m.weight) ~= ttype or torch.type(m.gradWeight) ~= ttype then
        return nil, 'parameters of mixed tensor types'
      end
    end
    local inputs = L == 1 and V or H
    if i2h.weight:size(1) ~= 4 * H or i2h.weight:size(2) ~= inputs or h2h.weight:size(1) ~= 4 * H
        or h2h.weight:size(2) ~= H then
      return nil, "not char-rnn's LSTM (layer " .. L .. ' shaped otherwise)'
    end
    layers[L] = {i2h = i2h, h2h = h2h, i2h_wt = i2h.weight:t(), h2h_wt = h2h.weight:t()}
  end
  return {n = n, H = H, V = V, type = ttype, layers = layers, decoder = decoder, decoder_wt = decoder.weight:t()}
end

-- One sequence of T steps: every buffer the steps write, in blocks of rows per step, so that the weight
-- gradients of all steps are one matrix product each.
local Sequence = {}
Sequence.__index = Sequence

function M.sequence(layout, T)
  local S = setmetatable({layout = layout, T = T, B = 0, done = {}, pending = 0}, Sequence)
  S.w1t = torch.Tensor():type(layout.type)
  S.char_grad = torch.Tensor():type(layout.type)
  S.bias_sum = {}
  for L = 1, layout.n do S.bias_sum[L] = torch.Tensor():type(layout.type) end
  return S
end

local function rows(buf, t, B)
  return buf:narrow(1, (t - 1) * B + 1, B)
end

-- (Re)allocates the buffers for batches of B; the views handed out stay the same objects while B does.
function Sequence:ensure(B)
  if self.B == B then return end
  local lay, T = self.layout, self.T
  local H, V, n = lay.H, lay.V, lay.n
  local function new(...) return torch.Tensor(...):type(lay.type):zero() end
  self.B = B
  self.ones = new(B):fill(1)
  self.ones_all = new(T * B):fill(1)
  self.idx_all = torch.LongTensor(T * B):fill(1)
  self.G, self.dG, self.C, self.TC, self.Hout, self.Hprev = {}, {}, {}, {}, {}, {}
  for L = 1, n do
    self.G[L], self.dG[L] = new(T * B, 4 * H), new(T * B, 4 * H)
    self.C[L], self.TC[L], self.Hout[L], self.Hprev[L] = new(T * B, H), new(T * B, H), new(T * B, H), new(T * B, H)
  end
  self.logits, self.dlogits = new(T * B, V), new(T * B, V)
  self.steps = {}
  for t = 1, T do
    local s = {idx = rows(self.idx_all, t, B), layers = {}, dx = new(B)}
    for L = 1, n do
      local G, dG = rows(self.G[L], t, B), rows(self.dG[L], t, B)
      -- the gates are, in order, i, f, o, g (model/LSTM.lua's SplitTable)
      s.layers[L] = {
        G = G, i = G:narrow(2, 1, H), f = G:narrow(2, H + 1, H), o = G:narrow(2, 2 * H + 1, H),
        g = G:narrow(2, 3 * H + 1, H), sig = G:narrow(2, 1, 3 * H),
        dG = dG, di = dG:narrow(2, 1, H), df = dG:narrow(2, H + 1, H), ['do'] = dG:narrow(2, 2 * H + 1, H),
        dg = dG:narrow(2, 3 * H + 1, H), dsig = dG:narrow(2, 1, 3 * H),
        c = rows(self.C[L], t, B), tc = rows(self.TC[L], t, B), h = rows(self.Hout[L], t, B),
        hprev = rows(self.Hprev[L], t, B),
        dc = new(B, H), tmp = new(B, H), dh = new(B, H), dprev_c = new(B, H), dprev_h = new(B, H),
      }
    end
    s.logits, s.dlogits = rows(self.logits, t, B), rows(self.dlogits, t, B)
    s.logsoft = nn.LogSoftMax():type(lay.type)
    s.logsoft.gradInput = s.dlogits
    s.output, s.gradInput = {}, {s.dx}
    for L = 1, n do
      s.output[2 * L - 1], s.output[2 * L] = s.layers[L].c, s.layers[L].h
      s.gradInput[2 * L], s.gradInput[2 * L + 1] = s.layers[L].dprev_c, s.layers[L].dprev_h
    end
    self.steps[t] = s
  end
  self.done, self.pending = {}, 0
end

-- input = {x, prev_c[1], prev_h[1], ..., prev_c[n], prev_h[n]}; returns {c[1], h[1], ..., log-probabilities}.
function Sequence:forward(t, input)
  local lay = self.layout
  if self.pending > 0 then
    error('the fused LSTM step needs each backward pass to run down to step 1 before the next forward pass '
          .. '(as train.lua does); set CHARRNN_LSTM_STEP=graph to train through char-rnn\'s clones')
  end
  self:ensure(input[1]:size(1))
  local s = self.steps[t]
  local THNN = s.logits.THNN
  s.idx:copy(input[1])
  -- What the parameters give every step of a sequence, taken once at its first step: a contiguous copy
  -- of i2h_1 (the one-hot input times it is a row lookup) and each layer's two biases summed.
  if t == 1 then
    self.w1t:resize(lay.V, 4 * lay.H):copy(lay.layers[1].i2h_wt)
    for L = 1, lay.n do
      local W = lay.layers[L]
      self.bias_sum[L]:resizeAs(W.i2h.bias):add(W.i2h.bias, W.h2h.bias)
    end
  end
  local below
  for L = 1, lay.n do
    local W, x = lay.layers[L], s.layers[L]
    local prev_c, prev_h = input[2 * L], input[2 * L + 1]
    local bias = self.bias_sum[L]
    if L == 1 then
      x.G:index(self.w1t, 1, s.idx)
    else
      x.G:mm(below, W.i2h_wt)
    end
    x.G:addmm(prev_h, W.h2h_wt)
    x.G:addr(self.ones, bias)
    -- tanh(v) = 2 sigmoid(2v) - 1: one sigmoid over all four gates; Torch's sigmoid is the cheaper call
    x.g:mul(2)
    THNN.Sigmoid_updateOutput(x.G:cdata(), x.G:cdata())
    x.g:mul(2):add(-1)
    x.c:cmul(x.f, prev_c):addcmul(1, x.i, x.g)
    x.tc:mul(x.c, 2)
    THNN.Sigmoid_updateOutput(x.tc:cdata(), x.tc:cdata())
    x.tc:mul(2):add(-1)
    x.h:cmul(x.o, x.tc)
    below = x.h
  end
  s.logits:mm(below, lay.decoder_wt):addr(self.ones, lay.decoder.bias)
  s.output[2 * lay.n + 1] = s.logsoft:updateOutput(s.logits)
  return s.output
end

-- gradOutput = {dc[1], dh[1], ..., dc[n], dh[n], d log-probabilities}; returns the gradients of the
-- inputs ({dx (zero: train.lua never reads it), dprev_c[1], dprev_h[1], ...}) and leaves the weight
-- gradients for flush().
function Sequence:backward(t, input, gradOutput)
  local lay = self.layout
  local n = lay.n
  local s = self.steps[t]
  local THNN = s.logits.THNN
  s.logsoft:updateGradInput(s.logits, gradOutput[2 * n + 1])
  local dh = s.layers[n].dh
  dh:mm(s.dlogits, lay.decoder.weight):add(gradOutput[2 * n])
  for L = n, 1, -1 do
    local W, x = lay.layers[L], s.layers[L]
    local prev_c, prev_h = input[2 * L], input[2 * L + 1]
    x.tmp:cmul(dh, x.o)
    THNN.Tanh_updateGradInput(x.tc:cdata(), x.tmp:cdata(), x.tmp:cdata(), x.tc:cdata())
    x.dc:add(x.tmp, gradOutput[2 * L - 1])
    x['do']:cmul(dh, x.tc)
    x.di:cmul(x.dc, x.g)
    x.df:cmul(x.dc, prev_c)
    x.dg:cmul(x.dc, x.i)
    THNN.Sigmoid_updateGradInput(x.sig:cdata(), x.dsig:cdata(), x.dsig:cdata(), x.sig:cdata())
    THNN.Tanh_updateGradInput(x.g:cdata(), x.dg:cdata(), x.dg:cdata(), x.g:cdata())
    x.dprev_c:cmul(x.dc, x.f)
    x.dprev_h:mm(x.dG, W.h2h.weight)
    x.hprev:copy(prev_h)
    if L > 1 then
      local below = s.layers[L - 1].dh
      below:mm(x.dG, W.i2h.weight):add(gradOutput[2 * (L - 1)])
      dh = below
    end
  end
  if not self.done[t] then
    self.done[t] = true
    self.pending = self.pending + 1
  end
  if t == 1 then self:flush() end
  return s.gradInput
end

-- Adds the weight gradients of the steps whose backward ran since the last flush (step 1's backward
-- calls it): of all T at once in one product per weight (train.lua runs T down to 1), else step by step.
function Sequence:flush()
  local lay, B = self.layout, self.B
  local function accumulate(first, count)
    local N = count * B
    local ones = self.ones_all:narrow(1, 1, N)
    local function span(buf) return buf:narrow(1, (first - 1) * B + 1, N) end
    for L = 1, lay.n do
      local W = lay.layers[L]
      local dG = span(self.dG[L])
      local dGt = dG:t()
      W.h2h.gradWeight:addmm(dGt, span(self.Hprev[L]))
      if L == 1 then
        -- the one-hot input's gradient adds rows of dG per character: into a contiguous table first
        self.char_grad:resize(lay.V, 4 * lay.H):zero():indexAdd(1, span(self.idx_all), dG)
        W.i2h.gradWeight:add(self.char_grad:t())
      else
        W.i2h.gradWeight:addmm(dGt, span(self.Hout[L - 1]))
      end
      W.i2h.gradBias:addmv(dGt, ones)
      W.h2h.gradBias:addmv(dGt, ones)
    end
    local dlt = span(self.dlogits):t()
    lay.decoder.gradWeight:addmm(dlt, span(self.Hout[lay.n]))
    lay.decoder.gradBias:addmv(dlt, ones)
  end
  if self.pending == self.T then
    accumulate(1, self.T)
  else
    for t = 1, self.T do
      if self.done[t] then accumulate(t, 1) end
    end
  end
  self.done, self.pending = {}, 0
end

-- Whether the fused step computes what `net` computes: one step of a copy of `net` (the network train.lua
-- trains and saves is not run) and of the fused step on the copy's parameters, on a small batch of fixed
-- values, must give the same outputs, input gradients and parameter gradients. Catches a network shaped
-- like model/LSTM.lua but wired otherwise (a fork), and a Torch whose nn differs. true, or false and why.
function M.self_check(net)
  local copy = net:clone()
  local layout, why = M.layout(copy)
  if not layout then return false, why end
  local B, H, V, n = 2, layout.H, layout.V, layout.n
  local k = 0
  local function fixed(height, width)
    k = k + 1
    return torch.range(1, height * width):type(layout.type):mul(0.37):add(k):sin():view(height, width)
  end
  local input, gradOutput = {torch.Tensor({1, V}):type(layout.type)}, {}
  for i = 1, 2 * n do
    input[i + 1] = fixed(B, H)
    gradOutput[i] = fixed(B, H)
  end
  gradOutput[2 * n + 1] = fixed(B, V)
  local _, grads = copy:parameters()
  local function results(outputs, gradInputs)
    local all = {}
    for i = 1, 2 * n + 1 do all[#all + 1] = outputs[i]:clone() end
    for i = 2, 2 * n + 1 do all[#all + 1] = gradInputs[i]:clone() end
    for _, g in ipairs(grads) do
      all[#all + 1] = g:clone()
      g:zero()
    end
    return all
  end
  for _, g in ipairs(grads) do g:zero() end
  local want = results(copy:forward(input), copy:backward(input, gradOutput))
  local sequence = M.sequence(layout, 1)
  local got = results(sequence:forward(1, input), sequence:backward(1, input, gradOutput))
  for i = 1, #want do
    local scale = math.max(1, want[i]:clone():abs():max())
    local diff = want[i]:clone():add(-1, got[i]):abs():max() / scale
    if diff ~= diff or diff > 1e-4 then
      return false, string.format('its self-check differs from the network (result %d of %d by %.2g)', i, #want, diff)
    end
  end
  return true
end

-- The module train.lua drives each step through, as it drives a clone; defined once, with nn loaded.
function M.step_class()
  if not nn.CharRNNFusedLSTMStep then
    local Step = torch.class('nn.CharRNNFusedLSTMStep', 'nn.Module')
    function Step:__init(sequence, t)
      nn.Module.__init(self)
      self.sequence, self.t = sequence, t
    end
    function Step:updateOutput(input)
      self.output = self.sequence:forward(self.t, input)
      return self.output
    end
    Step.forward = Step.updateOutput
    function Step:backward(input, gradOutput)
      self.gradInput = self.sequence:backward(self.t, input, gradOutput)
      return self.gradInput
    end
  end
  return nn.CharRNNFusedLSTMStep
end

-- model_utils.clone_many_times, with the clones of char-rnn's LSTM on the CPU fused into one sequence;
-- mode 'graph' (CHARRNN_LSTM_STEP=graph) keeps char-rnn's clones, to compare or to rule the step out.
function M.install(model_utils, mode)
  if mode == nil or mode == '' then mode = 'fused' end
  if mode ~= 'fused' and mode ~= 'graph' then
    error('CHARRNN_LSTM_STEP must be fused or graph (char-rnn\'s own clones), got ' .. tostring(mode))
  end
  if model_utils.charrnn_lstm_step then return end
  model_utils.charrnn_lstm_step = mode
  local clone_many_times = model_utils.clone_many_times
  model_utils.clone_many_times = function(net, T, ...)
    if torch.type(net) ~= 'nn.gModule' then return clone_many_times(net, T, ...) end
    local layout, why = nil, 'CHARRNN_LSTM_STEP=graph'
    if mode == 'fused' then layout, why = M.layout(net) end
    if layout then
      local ran, same, differs = pcall(M.self_check, net)
      if not ran then
        layout, why = nil, 'its self-check failed: ' .. tostring(same)
      elseif not same then
        layout, why = nil, differs
      end
    end
    if not layout then
      print('[charrnn] LSTM step not fused (' .. why .. "): training through char-rnn's clones")
      return clone_many_times(net, T, ...)
    end
    local sequence = M.sequence(layout, T)
    local clones = {}
    local Step = M.step_class()
    for t = 1, T do clones[t] = Step(sequence, t) end
    print(string.format('[charrnn] LSTM step fused: %d layers of %d, %d steps per sequence', layout.n, layout.H, T))
    return clones
  end
end

return M
