# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import lua_sources as _lua_sources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import probe as _probe


def test_parse_probe_output_of_a_checkpoint_and_a_dataset():
    out = (b'CHARRNN_PROBE model lstm 128 2\t\nCHARRNN_PROBE vocab 0a 41 61\t\n'
           b'\x1b[0mCHARRNN_PROBE dataset_vocab 0a 41\t\n')
    info = _probe.parse_probe_output(out)
    assert info['kind'] == 'vocab' and info['vocab'] == {10, 0x41, 0x61}
    assert info['model'] == {'model': 'lstm', 'rnn_size': 128, 'num_layers': 2}
    assert info['dataset_vocab'] == {10, 0x41} and info['dataset_vocab_error'] is None
    assert _probe.parse_probe(out) == ('vocab', {10, 0x41, 0x61})


def test_parse_probe_output_failures():
    info = _probe.parse_probe_output('CHARRNN_PROBE load_error read error: x\t\n'
                                     'CHARRNN_PROBE dataset_vocab_error cannot open <v>\t\n')
    assert info['kind'] == 'load_error' and info['detail'] == 'read error: x'
    assert info['dataset_vocab'] is None and info['dataset_vocab_error'] == 'cannot open <v>'
    assert _probe.parse_probe('CHARRNN_PROBE not_charrnn\t\n') == ('not_charrnn', None)
    assert _probe.parse_probe('luajit: boom\n') == (None, None)
    # a checkpoint of a char-rnn without model options in opt
    info = _probe.parse_probe_output('CHARRNN_PROBE model nil nil nil\nCHARRNN_PROBE vocab 41\n')
    assert info['model'] == {'model': None, 'rnn_size': None, 'num_layers': None}


def test_probe_script_prints_what_the_parser_reads():
    for kind in ('load_error', 'not_charrnn', 'vocab', 'model', 'dataset_vocab', 'dataset_vocab_error'):
        assert "'CHARRNN_PROBE %s " % kind in _lua_sources.PROBE_LUA or \
            "'CHARRNN_PROBE %s'" % kind in _lua_sources.PROBE_LUA, kind
    assert "os.getenv('CHARRNN_VOCAB')" in _lua_sources.PROBE_LUA
