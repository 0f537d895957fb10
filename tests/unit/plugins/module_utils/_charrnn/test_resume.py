# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Whether a checkpoint can be continued as asked: the rules of train.lua's -init_from."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import resume as _resume


def probe(vocab=b'abc', model='lstm', rnn_size=128, num_layers=2):
    return {'kind': 'vocab', 'vocab': set(bytearray(vocab)),
            'model': {'model': model, 'rnn_size': rnn_size, 'num_layers': num_layers}}


def test_input_vocabulary_is_the_set_of_bytes_across_chunks(tmp_path):
    data = b'hello\n' * 1000 + u'caf\u00e9'.encode('utf-8') + b'\x00\xff' + b'z'
    path = tmp_path / 'input.txt'
    path.write_bytes(data)
    assert _resume.input_vocabulary(str(path), chunk_bytes=7) == set(bytearray(data))
    assert _resume.input_vocabulary(str(path)) == set(bytearray(data))
    empty = tmp_path / 'empty.txt'
    empty.write_bytes(b'')
    assert _resume.input_vocabulary(str(empty)) == set()


def test_same_vocabulary_and_no_architecture_asked_is_compatible():
    assert _resume.differences(probe(b'abc'), set(bytearray(b'cab')), {}) == []
    # options that are not architecture flags never count
    assert _resume.differences(probe(b'abc'), set(bytearray(b'abc')), {'learning_rate': 1e-4, 'seq_length': 80}) == []


def test_vocabulary_difference_names_both_sides():
    found = _resume.differences(probe(b'abc\n'), set(bytearray(b'abdE')), {}, dataset_shown='data/poems/input.txt')
    assert len(found) == 1
    text = found[0]
    assert text == ("vocabulary: data/poems/input.txt has 4 characters, the checkpoint 4; the dataset has 2 the "
                    "checkpoint lacks ('E', 'd') and lacks 2 the checkpoint has ('\\n', 'c')")


def test_a_bigger_vocabulary_only_adds():
    text = _resume.differences(probe(b'ab'), set(bytearray(b'abc')), {})[0]
    assert "1 the checkpoint lacks ('c')" in text and 'lacks 0' not in text and 'the checkpoint has' not in text


def test_a_smaller_vocabulary_only_lacks():
    text = _resume.differences(probe(b'abc'), set(bytearray(b'ab')), {}, dataset_shown='data/poems/input.txt')[0]
    assert text == ("vocabulary: data/poems/input.txt has 2 characters, the checkpoint 3; the dataset lacks 1 the "
                    "checkpoint has ('c')")


def test_show_bytes_is_readable_and_bounded():
    assert _resume.show_bytes({ord('a'), 10, 0xc3}) == "'\\n', 'a', 0xc3"
    many = _resume.show_bytes(set(range(65, 65 + 20)), limit=3)
    assert many == "'A', 'B', 'C', and 17 more"


def test_architecture_flags_asked_for_differ():
    found = _resume.differences(probe(), set(bytearray(b'abc')), {'rnn_size': 256, 'model': 'gru', 'num_layers': 2})
    assert found == ['rnn_size: 256 asked, the checkpoint has 128', 'model: gru asked, the checkpoint has lstm']


def test_an_architecture_flag_left_out_asks_for_nothing():
    # train.lua's default rnn_size is 128; a checkpoint of 256 is continued when rnn_size is not given
    assert _resume.differences(probe(rnn_size=256), set(bytearray(b'abc')), {}) == []
    assert _resume.differences(probe(rnn_size=256), set(bytearray(b'abc')), {'rnn_size': 256}) == []


def test_unloadable_or_foreign_checkpoint_is_a_difference():
    assert _resume.differences({'kind': 'load_error', 'detail': 'read error'}, set(), {}) == \
        ['it cannot be loaded (read error)']
    assert _resume.differences({'kind': 'not_charrnn'}, set(), {}) == \
        ['it is a Torch file but not a char-rnn checkpoint']


def test_checkpoint_without_model_options_differs_only_when_asked():
    no_opt = dict(probe(), model=None)
    assert _resume.differences(no_opt, set(bytearray(b'abc')), {}) == []
    assert _resume.differences(no_opt, set(bytearray(b'abc')), {'num_layers': 3}) == \
        ['num_layers: 3 asked, the checkpoint has none']


def test_effective_model_is_the_checkpoints_when_resuming():
    assert _resume.effective_model({'rnn_size': 64}) == {'rnn_size': 64, 'num_layers': 2, 'model': 'lstm'}
    assert _resume.effective_model({'rnn_size': 64}, probe(rnn_size=512, num_layers=3, model='gru')) == \
        {'rnn_size': 512, 'num_layers': 3, 'model': 'gru'}
