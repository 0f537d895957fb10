# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The deps role's repository steps for every system the README lists, and its refusal of the others.

Each system is a host of one play: gather_facts is off and ansible_facts come from the fixtures below,
with stand-ins for dnf, subscription-manager and SUSEConnect on PATH (fake_package_tools.py) that
answer from a state file per host, change it like the real tools and log every invocation. The play
runs the role with --tags charrnn_deps_repos: the support check, the repository steps and dnf's
availability check, never a package installation on this machine. Each system runs in check mode,
then for real, then again to prove the second run changes nothing."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from charrnn_it_helpers import ansible_playbook, collections_root  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EPEL_URL = 'https://dl.fedoraproject.org/pub/epel/epel-release-latest-%s.noarch.rpm'
# Where the role puts the signing keys it ships (its /etc/pki/rpm-gpg), for this test run.
KEY_DIR = os.path.join(tempfile.gettempdir(), 'charrnn-test-rpm-gpg-%d' % os.getpid())
SUSE_MODULES = ['SUSEConnect -p sle-module-desktop-applications/15.6/x86_64',
                'SUSEConnect -p sle-module-development-tools/15.6/x86_64']
# What the fake dnf's base repositories carry; openblas-devel and screen only come with CRB and EPEL.
EL_PACKAGES = yaml.safe_load(open(os.path.join(REPO, 'roles', 'deps', 'vars', 'RedHat.yml')))['_charrnn_deps_packages']
EL_BASE = [p for p in EL_PACKAGES if p not in ('openblas-devel', 'screen')]


def facts(distribution, version, family, pkg_mgr, major=None):
    return {'distribution': distribution, 'distribution_version': version, 'os_family': family,
            'distribution_major_version': major or version.split('.')[0], 'architecture': 'x86_64',
            'pkg_mgr': pkg_mgr}


def el_state(crb_ids, epel=None, config_manager=True, screen_in_epel=True, release=None):
    """dnf's repositories on a fresh EL host: base ones enabled, the given CRB ids disabled."""
    repos = {'baseos': {'status': 'enabled', 'packages': EL_BASE}, 'appstream': {'status': 'enabled', 'packages': []}}
    for repo_id in crb_ids:
        repos[repo_id] = {'status': 'disabled', 'packages': ['openblas-devel']}
    epel_repo = {'status': 'enabled', 'packages': ['screen'] if screen_in_epel else []}
    if epel:
        repos['epel'] = dict(epel_repo, status=epel)
    releases = {name: {'epel': epel_repo} for name in [release] if name}
    return {'repos': repos, 'config_manager': config_manager, 'release_packages': releases}


# CodeReady Builder's id on RHEL, by how the host gets Red Hat's repositories.
CRB_IDS = {
    'subscribed': 'codeready-builder-for-rhel-{0}-x86_64-rpms',
    'rhui': 'codeready-builder-for-rhel-{0}-rhui-rpms',                     # AWS
    'rhui-arch': 'codeready-builder-for-rhel-{0}-x86_64-rhui-rpms',         # Azure, older AWS images
    'rhui-prefixed': 'rhui-codeready-builder-for-rhel-{0}-x86_64-rhui-rpms',  # Azure
}
# Variants a RHUI image lists beside CodeReady Builder itself, never to be enabled for it.
CRB_VARIANTS = ['codeready-builder-for-rhel-{0}-x86_64-eus-rhui-rpms', 'codeready-builder-for-rhel-{0}-x86_64-debug-rhui-rpms',
                'codeready-builder-for-rhel-{0}-x86_64-source-rhui-rpms']


def rhel(major, how):
    """A RHEL host registered with subscription-manager, or a cloud image with RHUI repositories."""
    crb = CRB_IDS[how].format(major)
    enable = (['subscription-manager', 'repos', '--enable', crb] if how == 'subscribed'
              else ['dnf', 'config-manager', '--set-enabled', crb])
    variants = [] if how == 'subscribed' else [variant.format(major) for variant in CRB_VARIANTS]
    return {'facts': facts('RedHat', {'8': '8.10', '9': '9.5', '10': '10.0'}[major], 'RedHat', 'dnf'),
            'state': el_state(variants + [crb], release=EPEL_URL % major),
            'steps': [enable] + epel_from_url(EPEL_URL % major, major)}


def epel_from_url(url, major):
    """The steps that install EPEL's release package from a URL: its signing key (shipped with the role) first."""
    return [['rpm', '--import', '%s/RPM-GPG-KEY-EPEL-%s' % (KEY_DIR, major)],
            ['dnf', 'install', '-y', '--setopt=localpkg_gpgcheck=1', url]]


def clone(distribution, major):
    crb = 'powertools' if major == '8' else 'crb'
    return {'facts': facts(distribution, {'8': '8.10', '9': '9.5', '10': '10.0'}[major], 'RedHat', 'dnf'),
            'state': el_state([crb], release='epel-release'),
            'steps': [['dnf', 'config-manager', '--set-enabled', crb], ['dnf', 'install', '-y', 'epel-release']]}


def sles(registered):
    return {'facts': facts('SLES', '15.6', 'Suse', 'zypper'),
            'state': {'suse': {'registered': registered, 'version': '15.6', 'arch': 'x86_64'}},
            'steps': [module.split() for module in SUSE_MODULES]}


def nothing(distribution, version, family, pkg_mgr, major=None):
    """A system whose own repositories carry everything: no step, no tool asked."""
    return {'facts': facts(distribution, version, family, pkg_mgr, major), 'state': {}, 'steps': []}


SUPPORTED = {
    'rhel8-subscribed': rhel('8', 'subscribed'),
    'rhel9-subscribed': rhel('9', 'subscribed'),
    'rhel10-subscribed': rhel('10', 'subscribed'),
    'rhel8-rhui': rhel('8', 'rhui'),
    'rhel9-rhui': rhel('9', 'rhui'),
    'rhel10-rhui': rhel('10', 'rhui'),
    'rhel8-rhui-arch': rhel('8', 'rhui-arch'),
    'rhel9-rhui-prefixed': rhel('9', 'rhui-prefixed'),
    'rhel10-rhui-arch': rhel('10', 'rhui-arch'),
    'rocky8': clone('Rocky', '8'),
    'rocky9': clone('Rocky', '9'),
    'rocky10': clone('Rocky', '10'),
    'alma8': clone('AlmaLinux', '8'),
    'alma9': clone('AlmaLinux', '9'),
    'alma10': clone('AlmaLinux', '10'),
    'sles15-registered': sles(True),
    'sles15-desktop-active': dict(sles(True), steps=[SUSE_MODULES[1].split()], state={'suse': {
        'registered': True, 'version': '15.6', 'arch': 'x86_64', 'modules': ['sle-module-desktop-applications']}}),
    'al2023': dict(nothing('Amazon', '2023', 'RedHat', 'dnf'),
                   state={'repos': {'amazonlinux': {'status': 'enabled', 'packages': EL_PACKAGES}}}),
    'leap15.6': nothing('openSUSE Leap', '15.6', 'Suse', 'zypper'),
    'leap16.0': nothing('openSUSE Leap', '16.0', 'Suse', 'zypper'),
    'debian12': nothing('Debian', '12.8', 'Debian', 'apt'),
    'debian13': nothing('Debian', '13.1', 'Debian', 'apt'),
    'ubuntu22.04': nothing('Ubuntu', '22.04', 'Debian', 'apt'),
    'ubuntu24.04': nothing('Ubuntu', '24.04', 'Debian', 'apt'),
    'ubuntu26.04': nothing('Ubuntu', '26.04', 'Debian', 'apt'),
}

# Systems that are supported but whose state the role cannot fix by itself: each fails before
# changing anything, with a message that names the way out.
STUCK = {
    'sles15-unregistered': (sles(False), [
        'SLES 15.6 is not registered', 'nothing was installed',
        'the modules gcc-c++, cmake and the OpenBLAS devel packages need '
        '(sle-module-desktop-applications, then sle-module-development-tools)',
        'SUSEConnect -r <registration code>', 'then run %s;' % ' and '.join(SUSE_MODULES), 'charrnn_deps_enable_repos=false']),
    'rhel9-no-crb': (dict(rhel('9', 'subscribed'), state=el_state([], release=EPEL_URL % '9')), [
        'dnf knows none of its repositories on this host (codeready-builder-for-rhel-9-x86_64-rpms, '
        'codeready-builder-for-rhel-9-rhui-rpms, codeready-builder-for-rhel-9-x86_64-rhui-rpms, '
        'rhui-codeready-builder-for-rhel-9-x86_64-rhui-rpms)', 'Register the host with subscription-manager',
        'RHUI client package', 'charrnn_deps_enable_repos=false', 'Nothing was changed.']),
    'rocky9-no-crb': (dict(clone('Rocky', '9'), state=el_state([], release='epel-release')), [
        'dnf knows none of its repositories on this host (crb)', "Rocky Linux's release packages configure it",
        'Nothing was changed.']),
}

UNSUPPORTED = {
    'ubuntu25.04': facts('Ubuntu', '25.04', 'Debian', 'apt'),
    'ubuntu23.10': facts('Ubuntu', '23.10', 'Debian', 'apt'),
    'debian11': facts('Debian', '11.11', 'Debian', 'apt'),
    'leap15.5': facts('openSUSE Leap', '15.5', 'Suse', 'zypper'),
    'leap16.1': facts('openSUSE Leap', '16.1', 'Suse', 'zypper'),
    'sles12': facts('SLES', '12.5', 'Suse', 'zypper'),
    'sles15.4': facts('SLES', '15.4', 'Suse', 'zypper'),
    'rhel7': facts('RedHat', '7.9', 'RedHat', 'yum'),
    'amazon2': facts('Amazon', '2', 'RedHat', 'yum'),
    'centos9': facts('CentOS', '9', 'RedHat', 'dnf'),
    'fedora41': facts('Fedora', '41', 'RedHat', 'dnf5'),
    'arch': facts('Archlinux', 'rolling', 'Archlinux', 'pacman', major='rolling'),
}

# The invocations that change a host; the others only read its state.
MUTATING = ({'config-manager', '--set-enabled'}, {'install'}, {'repos', '--enable'}, {'-p'}, {'--import'})


def supported_text():
    support = yaml.safe_load(open(os.path.join(REPO, 'roles', 'deps', 'vars', 'main.yml')))['_charrnn_deps_support']
    return '; '.join('%s %s' % (entry['label'], ', '.join(entry['versions'])) for entry in support)


class Fleet:
    """One play over many fixture hosts; results per host from a file the play writes and the fake tools' logs."""

    def __init__(self, tmp_path, hosts, variables=None, tags='charrnn_deps_repos'):
        if not ansible_playbook():
            pytest.skip('ansible-playbook not found')
        self.tmp = tmp_path
        self.hosts = hosts
        self.runs = 0
        self.tags = tags
        bin_dir = tmp_path / 'bin'
        bin_dir.mkdir()
        for tool in ('dnf', 'subscription-manager', 'SUSEConnect', 'rpm', 'zypper'):
            wrapper = bin_dir / tool
            wrapper.write_text('#!/bin/sh\nexec "%s" "%s" %s "$@"\n' % (
                sys.executable, os.path.join(HERE, 'fake_package_tools.py'), tool))
            wrapper.chmod(0o755)
        inventory = {'all': {'hosts': {}, 'vars': dict(variables or {}, ansible_connection='local',
                                                       ansible_python_interpreter=sys.executable)}}
        for name, host in hosts.items():
            (tmp_path / ('%s.state.json' % name)).write_text(json.dumps(host.get('state', {})))
            inventory['all']['hosts'][name] = {'fixture_facts': host['facts']}
        (tmp_path / 'inventory.json').write_text(json.dumps(inventory))
        env_vars = {'PATH': '%s:%s' % (bin_dir, os.environ['PATH']),
                    'CHARRNN_FAKE_STATE': '%s/{{ inventory_hostname }}.state.json' % tmp_path,
                    'CHARRNN_FAKE_LOG': '%s/{{ inventory_hostname }}.log' % tmp_path}
        dump_results = {
            'ansible.builtin.copy': {
                'dest': '%s/{{ inventory_hostname }}.result.json' % tmp_path,
                'content': '{{ {"steps": _charrnn_deps_repo_steps | default([]) | map(attribute="argv"),'
                           ' "failure": test_failure | default("")} | to_json }}'},
            'check_mode': False, 'changed_when': False, 'tags': ['always']}
        play = [{
            # play vars, because gathered facts (none here) would win over inventory variables
            'hosts': 'all', 'gather_facts': False, 'environment': env_vars,
            'vars': {'ansible_facts': '{{ fixture_facts }}'},
            # import_role, untagged, so that --tags picks the role's own tasks; the rest always runs
            'tasks': [{'block': [{'ansible.builtin.import_role': {'name': 'rnn_bootstrap.charrnn.deps'}}],
                       'rescue': [{'ansible.builtin.set_fact': {'test_failure': '{{ ansible_failed_result.msg }}'},
                                   'tags': ['always']}],
                       'always': [dump_results]}],
        }]
        (tmp_path / 'play.json').write_text(json.dumps(play))

    def run(self, check=False):
        self.runs += 1
        for name in self.hosts:
            for stale in (self.tmp / ('%s.log' % name), self.tmp / ('%s.result.json' % name)):
                if stale.exists():
                    stale.unlink()
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0',
                   ANSIBLE_LOCAL_TEMP=str(self.tmp / 'ansible-tmp'), ANSIBLE_DEPRECATION_WARNINGS='0')
        # one key directory per host, as each host has its own /etc/pki/rpm-gpg
        for name in self.hosts:
            if not os.path.isdir(os.path.join(KEY_DIR, name)):
                os.makedirs(os.path.join(KEY_DIR, name))
        cmd = [ansible_playbook(), '-i', str(self.tmp / 'inventory.json'), str(self.tmp / 'play.json'),
               '--tags', self.tags, '--forks', '8', '-e', '_charrnn_deps_key_dir=%s/{{ inventory_hostname }}' % KEY_DIR]
        if check:
            cmd.append('--check')
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(self.tmp),
                              check=False, timeout=600)
        output = proc.stdout.decode('utf-8', 'replace')
        recap = dict((m.group(1), int(m.group(2))) for m in re.finditer(
            r'(?m)^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', output))
        results = {}
        for name in self.hosts:
            assert name in recap, 'no clean recap for %s:\n%s' % (name, output[-6000:])
            with open(str(self.tmp / ('%s.result.json' % name))) as f:
                result = json.load(f)
            calls = []
            log = self.tmp / ('%s.log' % name)
            if log.exists():
                calls = [json.loads(line) for line in log.read_text().splitlines()]
            # the host's key directory reads as KEY_DIR in the expectations
            host_keys = '%s/%s/' % (KEY_DIR, name)
            result['steps'] = [[arg.replace(host_keys, KEY_DIR + '/') for arg in step] for step in result['steps']]
            calls = [[arg.replace(host_keys, KEY_DIR + '/') for arg in call] for call in calls]
            results[name] = {'steps': result['steps'], 'failure': result['failure'],
                             'changed': recap[name], 'calls': calls,
                             'changes': [c for c in calls if any(set(c[1:]) >= m for m in MUTATING)]}
        self.output = output
        return results


@pytest.fixture(scope='module', autouse=True)
def key_dir():
    yield KEY_DIR
    shutil.rmtree(KEY_DIR, ignore_errors=True)


@pytest.fixture(scope='module')
def supported(tmp_path_factory):
    fleet = Fleet(tmp_path_factory.mktemp('deps-supported'), SUPPORTED)
    return fleet.run(check=True), fleet.run(), fleet.run()


@pytest.mark.parametrize('name', sorted(SUPPORTED))
def test_check_mode_reports_the_steps_and_changes_nothing(supported, name):
    check = supported[0][name]
    assert check['failure'] == ''
    assert check['steps'] == SUPPORTED[name]['steps']
    assert check['changes'] == []
    assert check['changed'] == (1 if SUPPORTED[name]['steps'] else 0)


@pytest.mark.parametrize('name', sorted(SUPPORTED))
def test_a_real_run_takes_the_steps_once(supported, name):
    first, second = supported[1][name], supported[2][name]
    assert first['failure'] == '' and second['failure'] == ''
    assert first['changes'] == SUPPORTED[name]['steps']
    # the steps, and the copy of a key the role ships where one is imported
    ships_a_key = any(step[:2] == ['rpm', '--import'] for step in SUPPORTED[name]['steps'])
    assert first['changed'] == (1 if SUPPORTED[name]['steps'] else 0) + (1 if ships_a_key else 0)
    assert second['changes'] == [] and second['steps'] == [] and second['changed'] == 0


@pytest.mark.parametrize('name', ['debian12', 'debian13', 'ubuntu22.04', 'ubuntu24.04', 'ubuntu26.04',
                                  'leap15.6', 'leap16.0'])
def test_systems_without_repository_steps_ask_no_tool(supported, name):
    assert [run[name]['calls'] for run in supported] == [[], [], []]


def test_a_disabled_epel_is_enabled_and_dnf_config_manager_installed_first(tmp_path):
    host = rhel('9', 'rhui')
    host['state'] = el_state(['codeready-builder-for-rhel-9-rhui-rpms'], epel='disabled', config_manager=False)
    fleet = Fleet(tmp_path, {'rhel9-rhui-bare': host})
    want = [['dnf', 'install', '-y', 'dnf-plugins-core'],
            ['dnf', 'config-manager', '--set-enabled', 'codeready-builder-for-rhel-9-rhui-rpms'],
            ['dnf', 'config-manager', '--set-enabled', 'epel']]
    assert fleet.run(check=True)['rhel9-rhui-bare']['steps'] == want
    assert fleet.run()['rhel9-rhui-bare']['changes'] == want
    assert fleet.run()['rhel9-rhui-bare']['changes'] == []


def test_epel_release_url_can_point_at_a_mirror(tmp_path):
    mirror = 'https://mirror.example.com/epel/epel-release-latest-10.noarch.rpm'
    host = rhel('10', 'subscribed')
    host['state']['release_packages'] = {mirror: host['state']['release_packages'][EPEL_URL % '10']}
    fleet = Fleet(tmp_path, {'rhel10-mirror': host}, {'charrnn_deps_epel_release_url': mirror})
    assert fleet.run()['rhel10-mirror']['changes'][-2:] == epel_from_url(mirror, '10')


def test_epel_from_a_url_installs_only_with_the_shipped_key_imported(tmp_path):
    """The release package from a URL is checked against EPEL's key as the role ships it; a package that
    key did not sign (here: any, without the import) fails, and nothing comes from the same server."""
    host = rhel('9', 'rhui')
    fleet = Fleet(tmp_path, {'rhel9-epel': host})
    result = fleet.run()['rhel9-epel']
    assert result['failure'] == ''
    imported = os.path.join(KEY_DIR, 'RPM-GPG-KEY-EPEL-9')
    shipped = os.path.join(REPO, 'roles', 'deps', 'files', 'RPM-GPG-KEY-EPEL-9')
    with open(os.path.join(KEY_DIR, 'rhel9-epel', 'RPM-GPG-KEY-EPEL-9')) as placed, open(shipped) as original:
        assert placed.read() == original.read()
    order = [call[1:3] for call in result['changes']]
    assert order.index(['--import', imported]) < order.index(['install', '-y'])


def test_screen_missing_from_epel_fails_naming_it(tmp_path):
    host = clone('AlmaLinux', '10')
    host['state'] = el_state(['crb'], release='epel-release', screen_in_epel=False)
    result = Fleet(tmp_path, {'alma10-no-screen': host}).run()['alma10-no-screen']
    assert 'No repository enabled on this host carries screen.' in result['failure']
    assert 'That EPEL 10 ships screen is not confirmed' in result['failure']
    assert 'install a GNU screen package you trust' in ' '.join(result['failure'].split())
    assert 'Nothing was installed.' in result['failure']


@pytest.mark.parametrize('check', [True, False], ids=['check', 'real'])
def test_hosts_the_role_cannot_fix_fail_before_changing_anything(tmp_path, check):
    results = Fleet(tmp_path, dict((name, case[0]) for name, case in STUCK.items())).run(check=check)
    for name, (_host, phrases) in STUCK.items():
        for phrase in phrases:
            assert phrase in ' '.join(results[name]['failure'].split()), name
        assert results[name]['changes'] == [], name


def test_unsupported_systems_are_refused_with_the_supported_list(tmp_path):
    hosts = dict((name, {'facts': f}) for name, f in UNSUPPORTED.items())
    results = Fleet(tmp_path, hosts, {'charrnn_install_packages': False}).run(check=True)
    for name, f in UNSUPPORTED.items():
        failure = ' '.join(results[name]['failure'].split())
        assert failure.startswith('%s %s is not supported. Supported: %s.' % (
            f['distribution'], f['distribution_version'], supported_text())), name
        assert results[name]['calls'] == [], name
    assert 'Set charrnn_deps_allow_unsupported=true to try anyway.' in results['ubuntu25.04']['failure']
    assert 'no package list for the Archlinux family' in results['arch']['failure']


def test_suse_packages_are_installed_with_zypper_itself(tmp_path):
    """ansible-core alone (what bootstrap.sh installs) has no zypper module: the role runs zypper for
    what rpm does not know, once."""
    suse_packages = yaml.safe_load(open(os.path.join(REPO, 'roles', 'deps', 'vars', 'Suse.yml')))['_charrnn_deps_packages']
    host = nothing('openSUSE Leap', '15.6', 'Suse', 'zypper')
    host['state'] = {'installed': ['gcc', 'make']}
    fleet = Fleet(tmp_path, {'leap15.6-packages': host}, tags='charrnn_deps')
    assert fleet.run(check=True)['leap15.6-packages']['changes'] == []
    first = fleet.run()['leap15.6-packages']
    missing = [p for p in suse_packages if p not in ('gcc', 'make')]
    assert first['changes'] == [['zypper', '--non-interactive', 'install', '--no-recommends'] + missing]
    assert first['changed'] == 1
    second = fleet.run()['leap15.6-packages']
    assert second['changes'] == [] and second['changed'] == 0


def test_leap_16_packages_count_as_installed_by_what_they_provide(tmp_path):
    """On Leap 16 python3-pip is a capability of python313-pip: asking rpm for the name would find it
    missing and run zypper, reporting a change, on every run."""
    suse_packages = yaml.safe_load(open(os.path.join(REPO, 'roles', 'deps', 'vars', 'Suse.yml')))['_charrnn_deps_packages']
    host = nothing('openSUSE Leap', '16.0', 'Suse', 'zypper')
    host['state'] = {'installed': [p for p in suse_packages if p not in ('python3-pip', 'gcc')] + ['python313-pip'],
                     'provides': {'python3-pip': 'python313-pip'}}
    fleet = Fleet(tmp_path, {'leap16.0-packages': host}, tags='charrnn_deps')
    first = fleet.run()['leap16.0-packages']
    assert first['changes'] == [['zypper', '--non-interactive', 'install', '--no-recommends', 'gcc']]
    second = fleet.run()['leap16.0-packages']
    assert second['changes'] == [] and second['changed'] == 0


def test_without_installing_rpm_systems_ask_rpm_by_what_packages_provide(tmp_path):
    """charrnn_install_packages=false on SLES 15, Leap and EL: rpm answers (package_facts would need rpm's
    Python bindings), by what packages provide, and a missing one is named."""
    suse_packages = yaml.safe_load(open(os.path.join(REPO, 'roles', 'deps', 'vars', 'Suse.yml')))['_charrnn_deps_packages']
    complete = nothing('openSUSE Leap', '16.0', 'Suse', 'zypper')
    complete['state'] = {'installed': [p for p in suse_packages if p != 'python3-pip'] + ['python313-pip'],
                         'provides': {'python3-pip': 'python313-pip'}}
    lacking = nothing('SLES', '15.6', 'Suse', 'zypper')
    lacking['state'] = {'installed': [p for p in suse_packages if p not in ('screen', 'cmake')]}
    results = Fleet(tmp_path, {'leap16.0-complete': complete, 'sles15-lacking': lacking},
                    {'charrnn_install_packages': False}, tags='charrnn_deps').run(check=True)
    assert results['leap16.0-complete']['failure'] == ''
    assert results['sles15-lacking']['failure'] == (
        'charrnn_install_packages is false and these packages are missing: cmake, screen. '
        'Install them, or let the role install them with charrnn_install_packages=true.')
    for name in results:
        assert [call[:3] for call in results[name]['calls']] == [['rpm', '-q', '--whatprovides']], results[name]['calls']
