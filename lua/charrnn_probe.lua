-- The checkpoint probe: run by th from char-rnn's directory with CHARRNN_CHECKPOINT set, it loads the
-- checkpoint the way sample.lua and train.lua's -init_from do and prints what it is: its vocabulary (byte
-- values) and the model train.lua would take from it on -init_from (model, rnn_size, num_layers). With
-- CHARRNN_VOCAB set it also prints the vocabulary of a dataset's vocab.t7, which train.lua compares with the
-- checkpoint's. sample.lua itself crashes with an index error on a primetext byte its vocabulary lacks, and
-- with a bare read error on a file that is no checkpoint. Every line it prints starts with CHARRNN_PROBE.
require 'torch'
require 'nn'
require 'nngraph'
pcall(require, 'util.OneHot')
pcall(require, 'util.misc')
local function bytes_of(vocab)
  local bytes = {}
  for char in pairs(vocab) do bytes[#bytes + 1] = string.format('%02x', string.byte(char)) end
  return table.concat(bytes, ' ')
end
local ok, checkpoint = pcall(torch.load, os.getenv('CHARRNN_CHECKPOINT'))
if not ok then
  print('CHARRNN_PROBE load_error ' .. tostring(checkpoint))
elseif type(checkpoint) ~= 'table' or type(checkpoint.vocab) ~= 'table' or checkpoint.protos == nil then
  print('CHARRNN_PROBE not_charrnn')
else
  local opt = type(checkpoint.opt) == 'table' and checkpoint.opt or {}
  print('CHARRNN_PROBE model ' .. tostring(opt.model) .. ' ' .. tostring(opt.rnn_size) .. ' '
        .. tostring(opt.num_layers))
  print('CHARRNN_PROBE vocab ' .. bytes_of(checkpoint.vocab))
end
local vocab_file = os.getenv('CHARRNN_VOCAB') or ''
if vocab_file ~= '' then
  local ok_vocab, mapping = pcall(torch.load, vocab_file)
  if ok_vocab and type(mapping) == 'table' then
    print('CHARRNN_PROBE dataset_vocab ' .. bytes_of(mapping))
  else
    print('CHARRNN_PROBE dataset_vocab_error ' .. tostring(mapping))
  end
end
