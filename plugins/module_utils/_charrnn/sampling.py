# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""char-rnn's sample.lua: command line, output cleaning, crash detection.

sample.lua (commit 6f9487a) takes the checkpoint as a positional argument and
the flags -seed, -sample, -primetext, -length, -temperature, -gpuid, -opencl
and -verbose.  It writes the primetext and the sampled characters with
io.write and ends with a newline; with -verbose 1 (its default) it first
prints diagnostics (through th's print, so ending in a TAB) up to a line of
26 dashes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn.log import ANSI_RE, LUA_ERROR_RE

SEPARATOR = '-' * 26
DIAGNOSTIC_PREFIXES = (
    'creating an ', 'seeding with ', 'missing seed text', 'package ', 'using CUDA', 'using OpenCL',
    'Make sure that', 'Falling back', 'Error: File ', SEPARATOR,
)
ERROR_HINT_RE = re.compile(r'stack traceback:|^\S*luajit: |^\S*lua: ', re.MULTILINE)


def missing_characters(primetext, vocab):
    """The characters of primetext with a byte the vocabulary lacks, in order, without repeats."""
    missing = []
    for char in primetext:
        if any(b not in vocab for b in char.encode('utf-8', 'surrogateescape')) and char not in missing:
            missing.append(char)
    return missing


def build_sample_argv(th, checkpoint, seed=123, sample=True, primetext=None, length=2000, temperature=1.0,
                      gpuid=-1):
    argv = [th, 'sample.lua', checkpoint, '-seed', str(int(seed)), '-sample', '1' if sample else '0',
            '-length', str(int(length)), '-temperature', _num(temperature), '-gpuid', str(int(gpuid)),
            '-verbose', '0']
    if primetext:
        argv.extend(['-primetext', primetext])
    return argv


def _num(value):
    value = float(value)
    if value == int(value):
        return str(int(value))
    return repr(value)


def clean_output(raw):
    """The generated text from sample.lua's stdout (bytes or str).

    Returns a str that may hold surrogate escapes for bytes that are not
    UTF-8 (char-rnn samples bytes, so it can split a multi-byte character);
    see to_text() and to_bytes().
    """
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'surrogateescape')
    text = ANSI_RE.sub('', raw)
    lines = text.split('\n')
    # Defensive: drop a verbose preamble (diagnostics up to the dashes line).
    for i, line in enumerate(lines[:12]):
        stripped = line.rstrip('\t\r ')
        if stripped == SEPARATOR:
            if all(x.rstrip('\t\r ').startswith(DIAGNOSTIC_PREFIXES) or not x.strip() for x in lines[:i]):
                text = '\n'.join(lines[i + 1:])
            break
    if text.endswith('\r\n'):
        text = text[:-2]
    elif text.endswith('\n'):
        text = text[:-1]
    return text


def to_text(text):
    """Printable/JSON-safe text: undecodable bytes become U+FFFD."""
    return text.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def to_bytes(text):
    """The exact bytes sample.lua produced."""
    return text.encode('utf-8', 'surrogateescape')


def find_error(rc, stdout, stderr):
    """A description of a sample.lua crash, or None.

    th may exit 0 after a Lua error in some setups, so the output is checked
    for error lines and tracebacks as well as the exit code.
    """
    if isinstance(stdout, bytes):
        stdout = stdout.decode('utf-8', 'replace')
    if isinstance(stderr, bytes):
        stderr = stderr.decode('utf-8', 'replace')
    err_lines = [ANSI_RE.sub('', x).rstrip() for x in stderr.splitlines() if x.strip()]
    out_lines = [ANSI_RE.sub('', x).rstrip() for x in stdout.splitlines()]
    errors = [x for x in err_lines if LUA_ERROR_RE.match(x) or ERROR_HINT_RE.search(x)]
    errors += [x for x in out_lines if x.startswith('stack traceback:') or re.match(r'^\S*luajit: ', x)]
    if rc != 0 or errors:
        detail = errors[:1] or err_lines[-5:] or out_lines[-5:]
        return {'rc': rc, 'errors': errors, 'stderr_lines': err_lines[-30:], 'summary': ' '.join(detail)}
    return None
