-- The train.lua prelude: the script th runs in place of char-rnn's train.lua when the train module trains in
-- float (precision=float), in the same Lua state and before train.lua, which it then runs unchanged.
--
--   th <this file> float|double train.lua [train.lua flags]
--
-- th hands a script the arguments after its name as arg[1..n] and its own arg[0] and below unchanged; the
-- prelude hands train.lua the same table without its first two entries, then runs it with dofile as th does.
--
-- Runs char-rnn's train.lua unchanged with Torch's default tensor type set to the precision given.
-- train.lua never sets a tensor type, so every tensor and module it builds then takes that type.
-- Checkpoints keep char-rnn's CPU format (double) whatever the precision, so that sample.lua,
-- -init_from and older checkpoints all work: a float model is saved as a double copy, and a model
-- loaded with -init_from is converted to the precision trained in. torch.save writes a copy because
-- re-typing the live model would detach it from the flattened parameter tensors train.lua optimises
-- (train.lua keeps only views of them in its modules). Models on a GPU (CUDA, OpenCL) are left as
-- char-rnn leaves them.
--
-- The train module writes this file next to the run's log with charrnn_lstm_step and
-- charrnn_requested_checkpoints in package.preload above it; run as this file, require finds them as files
-- when LUA_PATH includes lua/?.lua.
require 'torch'

local TENSOR_TYPES = {float = 'torch.FloatTensor', double = 'torch.DoubleTensor'}
local CHECKPOINT_TYPE = 'torch.DoubleTensor'
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
    if name:find('^torch%.Cuda') or name:find('^torch%.Cl') then return false end
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
        print(string.format('[charrnn] %s: %s converted from %s to %s', tostring(filename), tostring(name),
                            other, compute))
      end
    end
  end
  return object
end

torch.setdefaulttensortype(compute)
print(string.format('[charrnn] precision %s: %s computes in %s; checkpoints are saved in %s', precision,
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

-- char-rnn's LSTM trains through one fused step instead of its seq_length nngraph clones (the same model,
-- parameters and checkpoints; see charrnn_lstm_step.lua): train.lua's own require of
-- util.model_utils gets its clone_many_times replaced.
local lstm_step = require 'charrnn_lstm_step'

-- A checkpoint when the trainer is asked to stop, and every CHARRNN_CHECKPOINT_SECONDS of wall time (see
-- charrnn_requested_checkpoints.lua): train.lua's own require of optim gets its rmsprop wrapped.
local requested_checkpoints = require 'charrnn_requested_checkpoints'

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
