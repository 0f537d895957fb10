-- Checkpoints the train.lua prelude has train.lua write on request: when the trainer is asked to stop, and
-- after a stretch of wall time without one. require gives a table with install(optim) and saving(checkpoint,
-- path).
--
-- char-rnn saves only every eval_val_every iterations and dies at once on SIGTERM, so a reboot, a shutdown,
-- `docker stop` or a stop of the run loses everything since the last checkpoint. The train module starts th
-- with SIGTERM, SIGINT and SIGHUP blocked, so that they stay pending in every thread of the trainer; this
-- looks for them (sigpending, through LuaJIT's ffi) after each iteration's optimiser step. A pending one
-- makes train.lua itself evaluate and save a checkpoint at the end of that iteration, in its own format and
-- naming with a validation loss, and the trainer then exits 0 before the next iteration. Until the first
-- optimiser step the prelude's thread takes them again, so a stop while the corpus loads (or under a
-- train.lua that never steps through optim.rmsprop) ends the trainer as it would without the prelude. When a
-- thread of the trainer does not block them (th started otherwise, or OpenMP threads started while loading),
-- they stay unblocked and the log says why.
--
-- Every CHARRNN_CHECKPOINT_SECONDS seconds of wall time since the last checkpoint (0 or unset: never) the
-- same happens without the exit, so that a power loss or a kill -9 loses at most that much.
--
-- train.lua saves when `i % opt.eval_val_every == 0`: this sets opt.eval_val_every to the iteration under
-- way for that one test, and puts it back before the checkpoint (which records opt) is written. Where there
-- is no ffi (PUC Lua) or train.lua does not use optim.rmsprop, nothing changes and the log says so.
local M = {}
local every = tonumber(os.getenv('CHARRNN_CHECKPOINT_SECONDS') or '') or 0
local SIGNALS = {[1] = 'SIGHUP', [2] = 'SIGINT', [15] = 'SIGTERM'}
local iteration = 0          -- optimiser steps taken, train.lua's i
local last_saved = os.time() -- a checkpoint, or the start of training
local requested = nil        -- {iteration, reason, eval_val_every} while train.lua is to save
local stop_after = nil       -- {signal, path} once the checkpoint a signal asked for is written
local saved_at = nil         -- {iteration, path} of the last checkpoint train.lua saved
local watch = nil            -- the blocked signals, once training has begun

-- Why not every thread of this process blocks SIGTERM, SIGINT and SIGHUP (/proc/<pid>/task/*/status,
-- SigBlk), or nil: a signal is delivered to any thread that does not block it, and ends the process there.
local function threads_not_blocking(pid)
  local ls = io.popen('ls /proc/' .. pid .. '/task 2>/dev/null')
  local tids = ls and ls:read('*a') or ''
  if ls then ls:close() end
  if not tids:match('%d') then return 'cannot list the threads of the trainer in /proc' end
  for tid in tids:gmatch('%d+') do
    local f = io.open('/proc/' .. pid .. '/task/' .. tid .. '/status')
    local text = f and f:read('*a') or ''
    if f then f:close() end
    local mask = text:match('\nSigBlk:%s*(%x+)')
    -- bit 0 is SIGHUP (1), bit 1 SIGINT (2), bit 14 SIGTERM (15): the last four hex digits hold them
    local low = mask and tonumber(mask:sub(-4), 16)
    if low ~= nil and (math.floor(low / 0x4000) % 2 == 0 or math.floor(low / 2) % 2 == 0 or low % 2 == 0) then
      return 'thread ' .. tid .. ' of the trainer does not block them; the train module starts th with them '
             .. 'blocked, so that every thread Torch starts blocks them'
    end
  end
  return nil
end

-- The stop signals' mask of the calling thread, through the ffi: {block, unblock, pending}, or nil and why.
local function signal_mask()
  local ok, ffi = pcall(require, 'ffi')
  if not ok or type(ffi) ~= 'table' or (ffi.os ~= nil and ffi.os ~= 'Linux') then
    return nil, 'no ffi module on Linux'
  end
  -- each on its own: another piece of Lua in the trainer may have declared one already
  for _, declaration in ipairs({
    'typedef struct { uint64_t charrnn_bits[16]; } charrnn_sigset_t;', -- glibc's sigset_t: 1024 bits
    'int sigemptyset(charrnn_sigset_t *set);',
    'int sigaddset(charrnn_sigset_t *set, int signum);',
    'int sigismember(const charrnn_sigset_t *set, int signum);',
    'int sigprocmask(int how, const charrnn_sigset_t *set, charrnn_sigset_t *oldset);',
    'int sigpending(charrnn_sigset_t *set);',
  }) do
    pcall(ffi.cdef, declaration)
  end
  for _, name in ipairs({'sigemptyset', 'sigaddset', 'sigismember', 'sigprocmask', 'sigpending'}) do
    if not pcall(function() return ffi.C[name] end) then
      return nil, 'no ffi declaration of ' .. name
    end
  end
  local SIG_BLOCK, SIG_UNBLOCK = 0, 1 -- Linux on x86, ARM, POWER and s390; MIPS and Alpha differ
  if tostring(ffi.arch):find('^mips') then
    return nil, 'sigprocmask constants of ' .. tostring(ffi.arch) .. ' unknown'
  end
  local set, pending = ffi.new('charrnn_sigset_t'), ffi.new('charrnn_sigset_t')
  ffi.C.sigemptyset(set)
  for signum in pairs(SIGNALS) do ffi.C.sigaddset(set, signum) end
  return {
    block = function() return ffi.C.sigprocmask(SIG_BLOCK, set, nil) == 0 end,
    unblock = function() return ffi.C.sigprocmask(SIG_UNBLOCK, set, nil) == 0 end,
    pending = function()
      if ffi.C.sigpending(pending) ~= 0 then return nil end
      for _, signum in ipairs({15, 2, 1}) do
        if ffi.C.sigismember(pending, signum) == 1 then return SIGNALS[signum] end
      end
      return nil
    end,
  }
end

-- The train module starts th with the stop signals blocked in every thread. Until training begins they act as
-- they do without the prelude: this thread takes them again, so a stop while the corpus loads ends the
-- trainer at once (and so does any stop, where train.lua never takes an optimiser step through rmsprop).
local mask, no_mask = signal_mask()
if mask then
  mask.unblock()
else
  print('[charrnn] SIGTERM, SIGINT and SIGHUP cannot be watched (' .. no_mask .. '): a stop saves no checkpoint, '
        .. 'and started by the train module the trainer only ends when stop_timeout runs out')
end

-- Once training has begun: the stop signals held pending in every thread, or nil and why not.
local function watch_signals()
  if not mask then return nil, no_mask end
  if not mask.block() then return nil, 'sigprocmask failed' end
  local stat = io.open('/proc/self/stat')
  local pid = stat and stat:read('*l'):match('^%d+')
  if stat then stat:close() end
  local why = 'no /proc/self/stat'
  if pid then why = threads_not_blocking(pid) end
  if why then
    mask.unblock() -- as without the prelude: a stop ends the trainer
    return nil, why
  end
  return mask.pending
end

local function request(opt, reason)
  requested = {iteration = iteration, reason = reason, eval_val_every = opt.eval_val_every}
  opt.eval_val_every = iteration
end

local function stop(signal, path)
  print(string.format('[charrnn] stopped on %s after saving %s at iteration %d', signal, path, iteration))
  io.stdout:flush()
  os.exit(0)
end

-- Called as each optimiser step returns (iteration `iteration` of train.lua has just been computed).
local function after_step(opt)
  if watch == nil then
    local why
    watch, why = watch_signals()
    if watch == nil then
      watch = false
      print('[charrnn] no checkpoint on SIGTERM, SIGINT or SIGHUP (' .. why .. '): a stop loses the iterations since '
            .. 'the last checkpoint')
    end
  end
  -- requested is nil here: train.lua saved in the iteration asked for, or before_step gave up on it
  local signal = watch and watch()
  if signal then
    print(string.format('[charrnn] %s received: saving a checkpoint at the end of iteration %d, then stopping',
                        signal, iteration))
    request(opt, signal)
  elseif every > 0 and os.time() - last_saved >= every then
    request(opt, 'time')
  end
end

-- Called as each optimiser step begins: ends the trainer once its stop checkpoint is written, or when a stop
-- came while train.lua was saving the iteration just done anyway.
local function before_step(opt)
  if stop_after then
    stop(stop_after.signal, stop_after.path)
  end
  if requested then
    -- train.lua did not save at the iteration asked for (a train.lua unlike char-rnn's)
    opt.eval_val_every = requested.eval_val_every
    local reason = requested.reason
    requested = nil
    if reason ~= 'time' then
      print(string.format('[charrnn] stopped on %s without a checkpoint: train.lua saved none at iteration %d',
                          reason, iteration))
      io.stdout:flush()
      os.exit(0)
    end
  end
  local signal = watch and saved_at and saved_at.iteration == iteration and watch()
  if signal then
    stop(signal, saved_at.path)
  end
end

local function after(usable, opt, ...)
  if usable then after_step(opt) end
  return ...
end

-- Wraps optim.rmsprop, the step train.lua takes once per iteration.
function M.install(optim)
  if type(optim) ~= 'table' or optim.charrnn_requested_checkpoints then
    return
  end
  if type(optim.rmsprop) ~= 'function' then
    print('[charrnn] no checkpoint on a stop or by time: optim has no rmsprop to follow train.lua\'s iterations')
    io.stdout:flush()
    return
  end
  optim.charrnn_requested_checkpoints = true
  local rmsprop = optim.rmsprop
  optim.rmsprop = function(...)
    local opt = rawget(_G, 'opt')
    local usable = type(opt) == 'table' and type(opt.eval_val_every) == 'number'
    if usable then before_step(opt) end
    iteration = iteration + 1
    if iteration == 1 then last_saved = os.time() end
    return after(usable, opt, rmsprop(...))
  end
end

-- Called with every checkpoint train.lua saves, before it is written: puts opt back as it was asked for.
function M.saving(checkpoint, path)
  last_saved = os.time()
  saved_at = {iteration = iteration, path = tostring(path)}
  if requested then
    for _, opt in ipairs({rawget(_G, 'opt'), checkpoint.opt}) do
      if type(opt) == 'table' then opt.eval_val_every = requested.eval_val_every end
    end
    if requested.reason ~= 'time' then
      stop_after = {signal = requested.reason, path = tostring(path)}
    end
    requested = nil
  end
end

return M
