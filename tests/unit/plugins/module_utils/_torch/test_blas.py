# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Choosing the OpenBLAS core, with fixtures for the CPU, the library and ldd: nothing here depends on
the host's CPU or BLAS."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes.util
import os

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import blas as _blas

AVX512_FLAGS = ('fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 '
                'ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid pni '
                'pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand '
                'hypervisor lahf_lm abm 3dnowprefetch fsgsbase bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq '
                'rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec '
                'xgetbv1 xsaves avx_vnni avx512_bf16 arat avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes '
                'vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq')
AVX2_FLAGS = ('fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 '
              'ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid '
              'extd_apicid aperfmperf pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx '
              'f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch '
              'osvw topoext perfctr_core bmi1 avx2 smep bmi2 rdseed adx smap clflushopt sha_ni xsaveopt '
              'xsavec xgetbv1 xsaves clzero')
AVX_FLAGS = ('fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 '
             'ss ht syscall nx rdtscp lm constant_tsc pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 x2apic popcnt aes '
             'xsave avx hypervisor lahf_lm')
# avx512f without the rest of Skylake-X's set (Knights Landing's)
AVX512F_ONLY_FLAGS = AVX2_FLAGS + ' avx512f avx512cd avx512er avx512pf'

DYNAMIC = 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64'
STATIC = 'OpenBLAS 0.3.21 NO_LAPACKE NO_AFFINITY Prescott MAX_THREADS=64'


def cpuinfo_text(flags, processors=2):
    """/proc/cpuinfo of an x86 host; each processor with its flags line."""
    blocks = []
    for n in range(processors):
        blocks.append('processor\t: %d\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n'
                      'flags\t\t: %s\nbugs\t\t: spectre_v1\n' % (n, flags))
    return '\n'.join(blocks)


def flags(text):
    return set(text.split())


@pytest.mark.parametrize('picked,cpu,expected', [
    ('Prescott', AVX512_FLAGS, 'SkylakeX'),
    ('Prescott', AVX2_FLAGS, 'Haswell'),
    ('Prescott', AVX_FLAGS, None),
    ('Prescott', AVX512F_ONLY_FLAGS, 'Haswell'),
    ('Barcelona', AVX2_FLAGS, 'Haswell'),  # an AMD family the OpenBLAS does not know
    ('Barcelona', AVX512_FLAGS, 'SkylakeX'),
    ('Nehalem', AVX512_FLAGS, 'SkylakeX'),
    ('Sandybridge', AVX2_FLAGS, 'Haswell'),
    ('prescott', AVX512_FLAGS, 'SkylakeX'),  # OpenBLAS's names in any case
    ('OPTERON_SSE3', AVX2_FLAGS, 'Haswell'),
    # OpenBLAS recognised the CPU: its choice stays
    ('Haswell', AVX512_FLAGS, None),
    ('SkylakeX', AVX512_FLAGS, None),
    ('Zen', AVX2_FLAGS, None),
    ('Zen', AVX512_FLAGS, None),
    ('Cooperlake', AVX512_FLAGS, None),
    ('SapphireRapids', AVX512_FLAGS, None),
    ('SomeFutureCore', AVX512_FLAGS, None),
    ('', AVX512_FLAGS, None),
    (None, AVX512_FLAGS, None),
])
def test_core_to_force_by_core_and_flags(picked, cpu, expected):
    assert _blas.core_to_force(picked, DYNAMIC, flags(cpu), 'x86_64') == expected


@pytest.mark.parametrize('config', [STATIC, '', None, 'OpenBLAS 0.3.21 NO_DYNAMIC_ARCH Prescott'])
def test_a_build_without_dynamic_arch_is_left_alone(config):
    # a static build ignores OPENBLAS_CORETYPE
    assert _blas.core_to_force('Prescott', config, flags(AVX512_FLAGS), 'x86_64') is None


@pytest.mark.parametrize('machine,expected', [
    ('x86_64', 'SkylakeX'), ('AMD64', 'SkylakeX'),
    ('aarch64', None), ('ppc64le', None), ('i686', None), ('', None), (None, None),
])
def test_only_x86_64_is_overridden(machine, expected):
    assert _blas.core_to_force('Prescott', DYNAMIC, flags(AVX512_FLAGS), machine) == expected


def test_no_flags_no_override():
    assert _blas.core_to_force('Prescott', DYNAMIC, set(), 'x86_64') is None
    assert _blas.core_to_force('Prescott', DYNAMIC, None, 'x86_64') is None


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(cpuinfo_text(AVX512_FLAGS) + '\n' + cpuinfo_text('fpu sse'))
    assert _blas.cpu_flags(str(cpuinfo)) == flags(AVX512_FLAGS)
    arm = tmp_path / 'arm'
    arm.write_text('processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n')
    assert _blas.cpu_flags(str(arm)) == set()
    assert _blas.cpu_flags(str(tmp_path / 'missing')) == set()


def test_cpu_flags_default_path_is_overridable(tmp_path, monkeypatch):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(cpuinfo_text(AVX2_FLAGS))
    monkeypatch.setattr(_blas, 'CPUINFO', str(cpuinfo))
    assert _blas.cpu_flags() == flags(AVX2_FLAGS)


# ------------------------------------------------------------------ the library Torch links

LDD_OPENBLAS = '''\tlinux-vdso.so.1 (0x00007ffd6b3f1000)
\tlibopenblas.so.0 => %s (0x00007f3a2c600000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f3a2c521000)
\tlibgomp.so.1 => /lib/x86_64-linux-gnu/libgomp.so.1 (0x00007f3a2c4cb000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3a2c2ea000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3a2f0f4000)
'''
LDD_OTHER_BLAS = '''\tlinux-vdso.so.1 (0x00007ffd6b3f1000)
\tlibmkl_rt.so.2 => /opt/intel/lib/libmkl_rt.so.2 (0x00007f3a2c600000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f3a2c521000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3a2c2ea000)
'''


@pytest.fixture
def torch_prefix(tmp_path):
    """A Torch install: <prefix>/bin/th and <prefix>/lib/libTH.so, plus a th on PATH linking to it."""
    prefix = tmp_path / 'torch'
    (prefix / 'bin').mkdir(parents=True)
    (prefix / 'lib').mkdir()
    th = prefix / 'bin' / 'th'
    th.write_text('#!/bin/sh\n')
    th.chmod(0o755)
    (prefix / 'lib' / 'libTH.so.0').write_text('')
    os.symlink('libTH.so.0', str(prefix / 'lib' / 'libTH.so'))
    linked = tmp_path / 'usr-local-bin'
    linked.mkdir()
    os.symlink(str(th), str(linked / 'th'))
    return prefix


@pytest.fixture
def blas_dir(tmp_path):
    """Debian's layout: the library in openblas-pthread/, reached through a link with another name."""
    real = tmp_path / 'openblas-pthread' / 'libopenblasp-r0.3.21.so'
    real.parent.mkdir()
    real.write_text('')
    link = tmp_path / 'libopenblas.so.0'
    os.symlink(str(real), str(link))
    return {'real': str(real), 'link': str(link)}


class FakeRunner:
    def __init__(self, rc=0, out='', err='', raises=None):
        self.rc, self.out, self.err, self.raises = rc, out, err, raises
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if self.raises:
            raise self.raises
        return self.rc, self.out, self.err


def test_openblas_library_from_ldd(torch_prefix, blas_dir, tmp_path):
    runner = FakeRunner(out=LDD_OPENBLAS % blas_dir['link'])
    th = str(tmp_path / 'usr-local-bin' / 'th')  # Torch's prefix is found from the real path
    assert _blas.openblas_library(th, runner, '/usr/bin/ldd') == blas_dir['real']
    assert runner.calls == [['/usr/bin/ldd', str(torch_prefix / 'lib' / 'libTH.so')]]


def test_openblas_library_behind_a_generic_name(torch_prefix, tmp_path):
    # alternatives: libblas.so.3 resolving into OpenBLAS's directory
    real = tmp_path / 'openblas-pthread' / 'libblas.so.3'
    real.parent.mkdir()
    real.write_text('')
    link = tmp_path / 'libblas.so.3'
    os.symlink(str(real), str(link))
    out = LDD_OTHER_BLAS.replace('libmkl_rt.so.2 => /opt/intel/lib/libmkl_rt.so.2', 'libblas.so.3 => %s' % link)
    assert _blas.openblas_library(str(torch_prefix / 'bin' / 'th'), FakeRunner(out=out), 'ldd') == str(real)


@pytest.mark.parametrize('runner', [
    FakeRunner(out=LDD_OTHER_BLAS),
    FakeRunner(out=LDD_OPENBLAS.replace('%s (0x00007f3a2c600000)', 'not found')),
    FakeRunner(rc=1, out='', err='ldd: libTH.so: No such file or directory'),
    FakeRunner(raises=OSError(2, 'No such file or directory')),
    FakeRunner(out=''),
])
def test_no_openblas_library(torch_prefix, runner):
    assert _blas.openblas_library(str(torch_prefix / 'bin' / 'th'), runner, 'ldd') is None


def test_no_libth_or_no_ldd_asks_nothing(tmp_path, torch_prefix, blas_dir):
    runner = FakeRunner(out=LDD_OPENBLAS % blas_dir['link'])
    lonely = tmp_path / 'elsewhere' / 'bin'
    lonely.mkdir(parents=True)
    (lonely / 'th').write_text('#!/bin/sh\n')
    assert _blas.openblas_library(str(lonely / 'th'), runner, 'ldd') is None
    assert _blas.openblas_library(str(torch_prefix / 'bin' / 'th'), runner, None) is None
    assert _blas.openblas_library(None, runner, 'ldd') is None
    assert runner.calls == []


def test_openblas_core_of_something_else_is_none(tmp_path):
    not_a_library = tmp_path / 'libopenblas.so.0'
    not_a_library.write_text('not ELF')
    assert _blas.openblas_core(str(not_a_library)) is None
    assert _blas.openblas_core(str(tmp_path / 'missing.so')) is None


def test_openblas_core_asks_a_real_openblas():
    library = ctypes.util.find_library('openblas')
    if not library:
        pytest.skip('no OpenBLAS on this host')
    picked, config = _blas.openblas_core(library)
    assert picked and config.startswith('OpenBLAS ')  # whichever core this host's CPU gets


def test_openblas_core_leaves_the_environment_as_it_was(tmp_path, monkeypatch):
    monkeypatch.delenv('OPENBLAS_NUM_THREADS', raising=False)
    _blas.openblas_core(str(tmp_path / 'missing.so'))
    assert 'OPENBLAS_NUM_THREADS' not in os.environ
    monkeypatch.setenv('OPENBLAS_NUM_THREADS', '7')
    _blas.openblas_core(str(tmp_path / 'missing.so'))
    assert os.environ['OPENBLAS_NUM_THREADS'] == '7'


# ------------------------------------------------------------------ the whole decision


@pytest.fixture
def host(torch_prefix, blas_dir, tmp_path, monkeypatch):
    """An x86_64 host with an AVX-512 CPU whose DYNAMIC_ARCH OpenBLAS fell back to Prescott."""
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(cpuinfo_text(AVX512_FLAGS))
    asked = []

    def openblas_core(library):
        asked.append(library)
        return 'Prescott', DYNAMIC
    monkeypatch.setattr(_blas, 'openblas_core', openblas_core)
    return {'th': str(torch_prefix / 'bin' / 'th'), 'runner': FakeRunner(out=LDD_OPENBLAS % blas_dir['link']),
            'cpuinfo': str(cpuinfo), 'asked': asked, 'library': blas_dir['real']}


def test_core_override_on_a_fallback(host):
    assert _blas.core_override(host['th'], host['runner'], 'ldd', environ={}, cpuinfo=host['cpuinfo'],
                               machine='x86_64') == 'SkylakeX'
    assert host['asked'] == [host['library']] and len(host['runner'].calls) == 1


def test_the_users_coretype_wins(host):
    for value in ('Haswell', ''):
        assert _blas.core_override(host['th'], host['runner'], 'ldd', environ={'OPENBLAS_CORETYPE': value},
                                   cpuinfo=host['cpuinfo'], machine='x86_64') is None
    assert host['runner'].calls == [] and host['asked'] == []


def test_core_override_reads_the_process_environment(host, monkeypatch):
    monkeypatch.setenv('OPENBLAS_CORETYPE', 'Zen')
    assert _blas.core_override(host['th'], host['runner'], 'ldd', cpuinfo=host['cpuinfo'], machine='x86_64') is None
    monkeypatch.delenv('OPENBLAS_CORETYPE')
    assert _blas.core_override(host['th'], host['runner'], 'ldd', cpuinfo=host['cpuinfo'],
                               machine='x86_64') == 'SkylakeX'


def test_core_override_when_the_library_cannot_be_asked(host, monkeypatch):
    monkeypatch.setattr(_blas, 'openblas_core', lambda library: None)
    assert _blas.core_override(host['th'], host['runner'], 'ldd', environ={}, cpuinfo=host['cpuinfo'],
                               machine='x86_64') is None


def test_core_override_elsewhere(host, tmp_path):
    assert _blas.core_override(host['th'], host['runner'], 'ldd', environ={}, cpuinfo=host['cpuinfo'],
                               machine='aarch64') is None
    assert _blas.core_override(host['th'], FakeRunner(out=LDD_OTHER_BLAS), 'ldd', environ={},
                               cpuinfo=host['cpuinfo'], machine='x86_64') is None
    old_cpu = tmp_path / 'old-cpuinfo'
    old_cpu.write_text(cpuinfo_text(AVX_FLAGS))
    assert _blas.core_override(host['th'], host['runner'], 'ldd', environ={}, cpuinfo=str(old_cpu),
                               machine='x86_64') is None


def test_stand_in_th_gets_no_override(stand_in_th):
    # the tests' stand-in trainer has no libTH beside it, whatever the host's CPU and BLAS
    runner = FakeRunner(out=LDD_OPENBLAS % '/nonexistent/libopenblas.so.0')
    assert _blas.core_override(stand_in_th, runner, 'ldd', environ={}) is None
    assert runner.calls == []


class FakeModule:
    def __init__(self, runner, ldd='/usr/bin/ldd'):
        self.run_command = runner
        self.ldd = ldd

    def get_bin_path(self, name):
        return self.ldd if name == 'ldd' else None


def test_module_core_override(host, monkeypatch):
    monkeypatch.delenv('OPENBLAS_CORETYPE', raising=False)
    monkeypatch.setattr(_blas, 'CPUINFO', host['cpuinfo'])
    monkeypatch.setattr(_blas.platform, 'machine', lambda: 'x86_64')
    module = FakeModule(host['runner'])
    assert _blas.module_core_override(module, host['th']) == 'SkylakeX'
    assert host['runner'].calls[0][0] == '/usr/bin/ldd'
    assert _blas.module_core_override(module, None) is None
    assert _blas.module_core_override(FakeModule(host['runner'], ldd=None), host['th']) is None
