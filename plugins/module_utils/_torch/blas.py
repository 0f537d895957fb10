# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""Which OpenBLAS kernels char-rnn's trainer and sampler run on this CPU.

A DYNAMIC_ARCH OpenBLAS picks its kernels for the CPU when it loads. An OpenBLAS older than the CPU does
not know the model, and on x86_64 it then falls back to the oldest kernels it has (Prescott's SSE3, or
Barcelona's for an unknown AMD family), which leaves AVX2 and AVX-512 unused: newer cloud CPUs on a
distribution's OpenBLAS meet exactly this. OPENBLAS_CORETYPE makes it load the kernels of a named core
instead; this module names one only when OpenBLAS fell back although the CPU's flags show better.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import ctypes
import os
import platform

CORETYPE_VARIABLE = 'OPENBLAS_CORETYPE'

# OpenBLAS's x86 cores that predate AVX2 (OpenBLAS's own names).
PRE_AVX2_CORES = frozenset(name.lower() for name in (
    'Katmai', 'Coppermine', 'Northwood', 'Prescott', 'Banias', 'Atom', 'Core2', 'Penryn', 'Dunnington',
    'Nehalem', 'Athlon', 'Opteron', 'Opteron_SSE3', 'Barcelona', 'Nano', 'Sandybridge', 'Bobcat', 'Bulldozer',
    'Piledriver'))

# The best core the CPU's flags allow, first match wins.
CORES_BY_FLAGS = (
    ('SkylakeX', frozenset(['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'])),
    ('Haswell', frozenset(['avx2', 'fma'])),
)

X86_64_MACHINES = ('x86_64', 'amd64')

CPUINFO = '/proc/cpuinfo'


def core_to_force(picked, config, cpu_flags, machine):
    """The core to name in OPENBLAS_CORETYPE, or None to leave OpenBLAS's choice alone.

    picked: the core OpenBLAS chose (openblas_get_corename()); config: openblas_get_config(); cpu_flags:
    the CPU's flags; machine: platform.machine(). Only a DYNAMIC_ARCH build reads the variable, and only a
    fallback to a core older than AVX2 is replaced: a core OpenBLAS recognised is its best choice.
    """
    if (machine or '').lower() not in X86_64_MACHINES:
        return None
    if not picked or 'DYNAMIC_ARCH' not in (config or '').split():
        return None
    if picked.strip().lower() not in PRE_AVX2_CORES:
        return None
    flags = set(cpu_flags or ())
    for core, needs in CORES_BY_FLAGS:
        if needs <= flags:
            return core
    return None


def cpu_flags(cpuinfo=None):
    """The flags of the first CPU in cpuinfo (x86's `flags` line); an empty set when there is none."""
    try:
        with open(cpuinfo or CPUINFO) as f:
            for line in f:
                key, sep, value = line.partition(':')
                if sep and key.strip() == 'flags':
                    return set(value.split())
    except (IOError, OSError):
        pass
    return set()


def parse_ldd(out):
    """The resolved path of the OpenBLAS library in ldd's output, or None.

    The name is looked for in the resolved path too: Debian's alternatives can give libblas.so.3 from
    OpenBLAS's directory.
    """
    for line in (out or '').splitlines():
        name, sep, rest = line.strip().partition(' => ')
        if not sep:
            continue
        path = rest.rsplit(' (', 1)[0].strip()
        if not path.startswith('/'):  # "not found"
            continue
        resolved = os.path.realpath(path)
        if 'openblas' in name.lower() or 'openblas' in resolved.lower():
            return resolved
    return None


def openblas_library(th, runner, ldd):
    """The OpenBLAS library Torch's libTH links, for the th at `th` (Torch's prefix is two levels up
    from its real path: <prefix>/bin/th, <prefix>/lib/libTH.so); None when there is no libTH, no ldd,
    or libTH links another BLAS. runner: (argv) -> (rc, stdout, stderr), like AnsibleModule.run_command."""
    if not th or not ldd:
        return None
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(th)))
    libth = os.path.join(prefix, 'lib', 'libTH.so')
    if not os.path.isfile(libth):
        return None
    try:
        rc, out, err = runner([ldd, libth])
    except (IOError, OSError):
        return None
    if rc != 0:
        return None
    return parse_ldd(out)


@contextlib.contextmanager
def _environment(**values):
    old = dict((k, os.environ.get(k)) for k in values)
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def openblas_core(library):
    """(the core OpenBLAS picked, its config string), asked of the library itself; None on any failure."""
    # Loading OpenBLAS starts its thread pool, one thread per CPU, for a process that only asks a name.
    try:
        with _environment(OPENBLAS_NUM_THREADS='1'):
            lib = ctypes.CDLL(library)
        answers = []
        for name in ('openblas_get_corename', 'openblas_get_config'):
            function = getattr(lib, name)
            function.restype = ctypes.c_char_p
            function.argtypes = []
            answers.append((function() or b'').decode('ascii', 'replace'))
    except Exception:  # a library that cannot load or lacks the functions is not asked
        return None
    return tuple(answers)


def core_override(th, runner, ldd, environ=None, cpuinfo=None, machine=None):
    """The core to set in OPENBLAS_CORETYPE for the trainer and sampler of the th at `th`, or None.

    A value the task's environment already has wins: the trainer inherits it, and it is left alone.
    """
    environ = os.environ if environ is None else environ
    if CORETYPE_VARIABLE in environ:
        return None
    library = openblas_library(th, runner, ldd)
    if not library:
        return None
    answer = openblas_core(library)
    if answer is None:
        return None
    picked, config = answer
    return core_to_force(picked, config, cpu_flags(cpuinfo), machine or platform.machine())


def module_core_override(module, th):
    """core_override for an AnsibleModule's task (th: the path find_th gave, or None)."""
    if not th:
        return None
    return core_override(th, module.run_command, module.get_bin_path('ldd'))
