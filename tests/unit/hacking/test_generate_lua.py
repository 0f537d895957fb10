# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""hacking/generate_lua.py: plugins/module_utils/_torch/lua_sources.py carries the files of lua/ as they are."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import sys

import pytest

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = repo_paths.REPO
sys.path.insert(0, os.path.join(REPO, 'hacking'))

import generate_lua  # noqa: E402


def test_the_committed_module_util_is_what_the_generator_writes():
    assert generate_lua.main(['generate_lua.py', '--check']) == 0, \
        'plugins/module_utils/_torch/lua_sources.py differs from lua/; run: python3 hacking/generate_lua.py'


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(os.path.join(REPO, 'lua'), str(tmp_path / 'lua'))
    (tmp_path / 'plugins' / 'module_utils' / '_torch').mkdir(parents=True)
    shutil.copy(os.path.join(REPO, generate_lua.TARGET), str(tmp_path / generate_lua.TARGET))
    return tmp_path


def test_check_names_the_stale_file_and_the_command_then_the_generator_repairs_it(repo, capsys):
    with open(str(repo / 'lua' / 'charrnn_probe.lua'), 'a') as f:
        f.write("print('CHARRNN_PROBE one more line')\n")
    assert generate_lua.main(['generate_lua.py', '--check'], repo=str(repo)) == 1
    assert capsys.readouterr().out == ('plugins/module_utils/_torch/lua_sources.py differs from the Lua sources in lua/; '
                                       'run: python3 hacking/generate_lua.py\n')
    assert generate_lua.main(['generate_lua.py'], repo=str(repo)) == 0
    assert generate_lua.main(['generate_lua.py', '--check'], repo=str(repo)) == 0
    namespace = {}
    exec(compile((repo / generate_lua.TARGET).read_text(), generate_lua.TARGET, 'exec'), namespace)
    assert namespace['PROBE_LUA'] == (repo / 'lua' / 'charrnn_probe.lua').read_text()
    assert namespace['LSTM_STEP_LUA'] == (repo / 'lua' / 'charrnn_lstm_step.lua').read_text()


@pytest.mark.parametrize('name,text,why', [
    ('charrnn_quote.lua', 'local s = [["""]]\n', 'cannot be carried in a raw triple-quoted string'),
    ('charrnn_tail.lua', '-- no newline at the end', 'cannot be carried in a raw triple-quoted string'),
    ('other.lua', 'return {}\n', 'the Lua sources are named charrnn_NAME.lua'),
])
def test_a_source_it_cannot_carry_as_written_is_refused_by_name(repo, capsys, name, text, why):
    (repo / 'lua' / name).write_text(text)
    assert generate_lua.main(['generate_lua.py'], repo=str(repo)) == 1
    err = capsys.readouterr().err
    assert err.startswith('hacking/generate_lua.py: lua/' + name) and why in err
