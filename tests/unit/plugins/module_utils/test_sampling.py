# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _lua_sources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _sampling


def test_build_sample_argv():
    argv = _sampling.build_sample_argv('th', '/cv/c.t7', seed=7, sample=False, primetext='-ROMEO', length=10,
                                       temperature=0.5, gpuid=-1)
    assert argv == ['th', 'sample.lua', '/cv/c.t7', '-seed', '7', '-sample', '0', '-length', '10',
                    '-temperature', '0.5', '-gpuid', '-1', '-verbose', '0', '-primetext', '-ROMEO']
    argv = _sampling.build_sample_argv('th', 'c.t7', temperature=1.0)
    assert '-primetext' not in argv and argv[argv.index('-temperature') + 1] == '1'


def test_clean_output_quiet():
    assert _sampling.clean_output(b'ROMEO:\nHello\tthere\n') == 'ROMEO:\nHello\tthere'
    assert _sampling.clean_output(b'text\r\n') == 'text'
    assert _sampling.clean_output(b'\n\n') == '\n'  # sampled newlines are text


def test_clean_output_strips_verbose_preamble_and_ansi():
    raw = (b'\x1b[0;33mcreating an lstm...\x1b[0m\t\nseeding with ROMEO\t\n--------------------------\t\n'
           b'ROMEO: hi\n')
    assert _sampling.clean_output(raw) == 'ROMEO: hi'
    raw = b'missing seed text, using uniform probability over first character\t\n' + b'-' * 26 + b'\t\nabc\n'
    assert _sampling.clean_output(raw) == 'abc'


def test_clean_output_keeps_dashes_in_text():
    raw = b'First line\n--------------------------\nmore\n'
    assert _sampling.clean_output(raw) == 'First line\n--------------------------\nmore'


def test_non_utf8_bytes_round_trip():
    raw = b'caf\xc3' + b'\n'  # a split multi-byte character
    text = _sampling.clean_output(raw)
    assert _sampling.to_bytes(text) == b'caf\xc3'
    assert _sampling.to_text(text) == u'caf\ufffd'


def test_find_error():
    assert _sampling.find_error(0, b'some text\n', b'') is None
    tb = (b"/opt/torch/install/bin/luajit: bad argument #1 to '?' (index out of bound)\nstack traceback:\n"
          b"\t[C]: at 0x7f\n\tsample.lua:125: in main chunk\n")
    e = _sampling.find_error(0, b'ROM', tb)  # th exiting 0 after an error still counts
    assert e and 'index out of bound' in e['summary'] and e['rc'] == 0
    e = _sampling.find_error(1, b'', b'')
    assert e and e['rc'] == 1
    e = _sampling.find_error(0, b'/opt/torch/install/bin/luajit: boom\nstack traceback:\n', b'')
    assert e is not None


def test_parse_probe_output_of_a_checkpoint_and_a_dataset():
    out = (b'CHARRNN_PROBE model lstm 128 2\t\nCHARRNN_PROBE vocab 0a 41 61\t\n'
           b'\x1b[0mCHARRNN_PROBE dataset_vocab 0a 41\t\n')
    info = _sampling.parse_probe_output(out)
    assert info['kind'] == 'vocab' and info['vocab'] == {10, 0x41, 0x61}
    assert info['model'] == {'model': 'lstm', 'rnn_size': 128, 'num_layers': 2}
    assert info['dataset_vocab'] == {10, 0x41} and info['dataset_vocab_error'] is None
    assert _sampling.parse_probe(out) == ('vocab', {10, 0x41, 0x61})


def test_parse_probe_output_failures():
    info = _sampling.parse_probe_output('CHARRNN_PROBE load_error read error: x\t\n'
                                        'CHARRNN_PROBE dataset_vocab_error cannot open <v>\t\n')
    assert info['kind'] == 'load_error' and info['detail'] == 'read error: x'
    assert info['dataset_vocab'] is None and info['dataset_vocab_error'] == 'cannot open <v>'
    assert _sampling.parse_probe('CHARRNN_PROBE not_charrnn\t\n') == ('not_charrnn', None)
    assert _sampling.parse_probe('luajit: boom\n') == (None, None)
    # a checkpoint of a char-rnn without model options in opt
    info = _sampling.parse_probe_output('CHARRNN_PROBE model nil nil nil\nCHARRNN_PROBE vocab 41\n')
    assert info['model'] == {'model': None, 'rnn_size': None, 'num_layers': None}


def test_probe_script_prints_what_the_parser_reads():
    for kind in ('load_error', 'not_charrnn', 'vocab', 'model', 'dataset_vocab', 'dataset_vocab_error'):
        assert "'CHARRNN_PROBE %s " % kind in _lua_sources.PROBE_LUA or \
            "'CHARRNN_PROBE %s'" % kind in _lua_sources.PROBE_LUA, kind
    assert "os.getenv('CHARRNN_VOCAB')" in _lua_sources.PROBE_LUA
