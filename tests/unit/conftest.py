# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Make ``ansible_collections.rnn_bootstrap.charrnn`` importable for plain pytest.

The repo either already sits in an ansible_collections/rnn_bootstrap/charrnn
layout (ansible-test units) or is reached through its own .collections/ link.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import json
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from repo_paths import STAND_IN_TH, collections_root  # noqa: E402

COLLECTIONS_ROOT = collections_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
if 'ansible_collections' in sys.modules:  # a namespace package imported before us: refresh its path
    try:
        import importlib
        importlib.invalidate_caches()
    except Exception:  # pragma: no cover
        pass


# ------------------------------------------------------------------ Lua

# The tests of lua/ run it with LuaJIT, th's Lua; the ones that use no ffi also run with PUC Lua. Without one
# they fail, so that a CI without it cannot pass them unseen; a contributor without one opts out with this.
LUA_OPT_OUT = 'CHARRNN_TESTS_WITHOUT_LUA'


def _interpreter(names, what):
    path = next((shutil.which(name) for name in names if shutil.which(name)), None)
    if path is None:
        why = 'no %s on PATH (apt-get install luajit)' % what
        if os.environ.get(LUA_OPT_OUT) == '1':
            pytest.skip('%s; %s=1 skips the tests of the Lua' % (why, LUA_OPT_OUT))
        pytest.fail('%s: this test runs the Lua of lua/; install it, or set %s=1 to skip such tests'
                    % (why, LUA_OPT_OUT), pytrace=False)
    return path


@pytest.fixture
def lua():
    """A Lua 5.1+ interpreter, LuaJIT first."""
    return _interpreter(('luajit', 'lua5.1', 'lua5.2', 'lua5.3', 'lua5.4', 'lua'), 'Lua interpreter')


@pytest.fixture
def luajit():
    """LuaJIT, for the tests that need its ffi."""
    return _interpreter(('luajit',), 'LuaJIT')


# ------------------------------------------------------------------ module args

try:
    from ansible.module_utils.testing import patch_module_args as _patch_module_args  # ansible-core >= 2.19
except ImportError:  # older ansible-core
    _patch_module_args = None


@contextlib.contextmanager
def module_args(args):
    """Expose `args` to AnsibleModule instances created in this context (any ansible-core)."""
    if _patch_module_args is not None:
        with _patch_module_args(args):
            yield
        return
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    old = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = old


class ModuleExit(Exception):
    def __init__(self, result):
        Exception.__init__(self, result)
        self.result = result


class ModuleFail(Exception):
    def __init__(self, result):
        Exception.__init__(self, result.get('msg'))
        self.result = result


def run_module(main, args, check_mode=False, diff=False, monkeypatch=None):
    """Run a module's main() with args; returns its result dict or raises ModuleFail."""
    from ansible.module_utils import basic

    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True

    def exit_json(self, **kwargs):
        kwargs.setdefault('changed', False)
        kwargs['warnings'] = list(getattr(self, '_test_warnings', []))
        raise ModuleExit(kwargs)

    def fail_json(self, msg=None, **kwargs):
        kwargs['msg'] = msg
        kwargs['failed'] = True
        raise ModuleFail(kwargs)

    def warn(self, warning):
        if not hasattr(self, '_test_warnings'):
            self._test_warnings = []
        self._test_warnings.append(warning)

    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(basic.AnsibleModule, 'exit_json', exit_json)
        mp.setattr(basic.AnsibleModule, 'fail_json', fail_json)
        mp.setattr(basic.AnsibleModule, 'warn', warn)
        with module_args(args):
            try:
                main()
            except ModuleExit as e:
                return e.result
    finally:
        mp.undo()
    raise AssertionError('module returned without exit_json/fail_json')


# How the stand-in th marks its checkpoint files (tests/stand_in_trainer/th).
STAND_IN_HEADER = b'STAND-IN char-rnn checkpoint (tests/stand_in_trainer/th, not a Torch file)\n'


def write_stand_in_checkpoint(path, text, rnn_size=128, num_layers=2, model='lstm', mtime=None):
    """A checkpoint the stand-in th reads (and the train module's probe through it): the vocabulary of
    `text` (str or bytes) and the model options train.lua keeps in checkpoint.opt."""
    data = text.encode('utf-8') if not isinstance(text, bytes) else text
    vocab = sorted(set(bytearray(data)))
    opt = {'rnn_size': rnn_size, 'num_layers': num_layers, 'model': model}
    body = {'opt': opt, 'vocab': vocab, 'counts': [data.count(bytes(bytearray([b]))) for b in vocab],
            'epoch': 1.0, 'i': 1, 'val_loss': 1.5}
    with open(str(path), 'wb') as f:
        f.write(STAND_IN_HEADER + json.dumps(body, sort_keys=True).encode('utf-8') + b'\n')
    if mtime is not None:
        os.utime(str(path), (mtime, mtime))
    return path


class FakeClock:
    """A clock that only moves when the fake sleep is called: waits are tested without waiting."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def stand_in_checkpoint():
    """write(path, text, rnn_size=128, num_layers=2, model='lstm', mtime=None): a stand-in checkpoint."""
    return write_stand_in_checkpoint


@pytest.fixture
def stand_in_th():
    return STAND_IN_TH


@pytest.fixture
def fake_openblas_fallback(monkeypatch, tmp_path):
    """fake(): from then on, Torch's OpenBLAS is a DYNAMIC_ARCH build that fell back to Prescott on an x86_64
    host whose CPU has AVX-512 (the modules then force SkylakeX), whatever th, CPU and BLAS the host has."""
    from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import blas as _blas

    def fake():
        cpuinfo = tmp_path / 'fake-cpuinfo'
        cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu sse sse2 pni ssse3 fma avx avx2 avx512f avx512dq '
                           'avx512cd avx512bw avx512vl\n')
        monkeypatch.delenv(_blas.CORETYPE_VARIABLE, raising=False)
        monkeypatch.setattr(_blas, 'CPUINFO', str(cpuinfo))
        monkeypatch.setattr(_blas.platform, 'machine', lambda: 'x86_64')
        monkeypatch.setattr(_blas, 'openblas_library', lambda th, runner, ldd: '/usr/lib/libopenblas.so.0')
        monkeypatch.setattr(_blas, 'openblas_core', lambda library: (
            'Prescott', 'OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64'))
    return fake


@pytest.fixture
def charrnn_dir(tmp_path):
    """A fake char-rnn checkout: train.lua, sample.lua, data/tiny/input.txt (20000 bytes)."""
    (tmp_path / 'train.lua').write_text('-- placeholder for char-rnn train.lua (tests)\n')
    (tmp_path / 'sample.lua').write_text('-- placeholder for char-rnn sample.lua (tests)\n')
    data = tmp_path / 'data' / 'tiny'
    data.mkdir(parents=True)
    text = ('First Citizen:\nBefore we proceed any further, hear me speak.\n\n'
            'All:\nSpeak, speak.\n\n') * 400
    (data / 'input.txt').write_text(text[:20000])
    return tmp_path


@pytest.fixture
def module_runner():
    """run(main, args, check_mode=False, diff=False) -> result; raises ModuleFail (with .result)."""
    return run_module


@pytest.fixture
def module_fail():
    return ModuleFail
