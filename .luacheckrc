-- luacheck's settings for the Lua sources in lua/, run by the lint stage of tests/run.sh.
-- th is LuaJIT with Torch7 loaded: torch and nn are globals char-rnn's code and ours use as it does.
std = 'luajit'
read_globals = {'torch', 'nn'}

-- The train.lua prelude wraps Torch's save and load, hands train.lua its own arg table and hooks require,
-- all in place, as train.lua sees them.
files['lua/charrnn_prelude.lua'] = {globals = {'torch', 'arg', 'require'}}
