# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import sampling as _sampling


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
