# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Stand-ins for dnf, subscription-manager, SUSEConnect, rpm and zypper: they answer from a JSON state file, change it
the way the real tools change the host, and append each invocation (argv) to a log, one JSON line each.

    python fake_package_tools.py <tool> <args...>     (the tests put wrappers named after the tools on PATH)

Environment: CHARRNN_FAKE_STATE (the state file), CHARRNN_FAKE_LOG (the log).

State:
  repos            repo id -> {"status": "enabled" | "disabled", "packages": [names]}
  config_manager   whether dnf has its config-manager command (dnf-plugins-core is installed)
  installed        installed package names
  release_packages what `dnf install <name or URL>` of a release package configures: name -> {repo id: {...}}
  suse             {"registered": bool, "version": "15.6", "arch": "x86_64", "modules": [activated ids]}
  provides         capability -> the package that provides it (Leap 16: python3-pip -> python313-pip)
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import sys


def load():
    with open(os.environ['CHARRNN_FAKE_STATE']) as f:
        return json.load(f)


def save(state):
    with open(os.environ['CHARRNN_FAKE_STATE'], 'w') as f:
        json.dump(state, f)


def fail(message, rc=1):
    sys.stderr.write(message + '\n')
    return rc


def dnf(state, args):
    args = [a for a in args if a not in ('-q', '-y')]
    repos = state.setdefault('repos', {})
    if args[:2] == ['repolist', '--all']:
        print('repo id' + ' ' * 30 + 'repo name' + ' ' * 30 + 'status')
        for repo_id, repo in sorted(repos.items()):
            print('%-37s %-38s %s' % (repo_id, 'Fake repository ' + repo_id, repo['status']))
        return 0
    if args[:1] == ['config-manager']:
        if not state.get('config_manager'):
            return fail('No such command: config-manager. Please use /usr/bin/dnf --help', 1)
        if args[1:2] == ['--help']:
            print('usage: dnf config-manager [--set-enabled] ...')
            return 0
        if args[1:2] == ['--set-enabled'] and len(args) == 3:
            if args[2] not in repos:
                return fail('Error: No matching repo to modify: %s.' % args[2])
            repos[args[2]]['status'] = 'enabled'
            save(state)
            return 0
    if args[:2] == ['install', '--setopt=localpkg_gpgcheck=1'] and len(args) == 3:
        # a release package from a URL: dnf checks its signature against the keys rpm has imported
        name = args[2]
        if name not in state.get('release_packages', {}):
            return fail('Error: Unable to find a match: %s' % name)
        major = re.search(r'-latest-(\d+)\.', name).group(1)
        if 'RPM-GPG-KEY-EPEL-%s' % major not in state.get('keys', []):
            return fail('Public key for %s is not installed. Failing package is: epel-release' % os.path.basename(name))
        args = ['install', name]
    if args[:1] == ['install'] and len(args) == 2:
        name = args[1]
        if name == 'dnf-plugins-core':
            state['config_manager'] = True
        elif name in state.get('release_packages', {}):
            for repo_id, repo in state['release_packages'][name].items():
                repos[repo_id] = dict(repo)
        else:
            return fail('Error: Unable to find a match: %s' % name)
        state.setdefault('installed', []).append(name)
        save(state)
        return 0
    if args[:3] == ['repoquery', '--qf', '%{name}']:
        carried = set(state.get('installed', []))
        for repo in repos.values():
            if repo['status'] == 'enabled':
                carried.update(repo.get('packages', []))
        for name in args[3:]:
            if name in carried:
                print(name)
        return 0
    return fail('fake dnf: unexpected arguments %r' % (args,), 2)


def subscription_manager(state, args):
    repos = state.setdefault('repos', {})
    if args[:2] == ['repos', '--enable'] and len(args) == 3:
        if args[2] not in repos:
            return fail("Error: '%s' does not match a valid repository ID. "
                        "Use \"subscription-manager repos --list\" to see valid repositories." % args[2])
        repos[args[2]]['status'] = 'enabled'
        save(state)
        print('Repository \'%s\' is enabled for this system.' % args[2])
        return 0
    return fail('fake subscription-manager: unexpected arguments %r' % (args,), 2)


# SLES 15's product tree (SCC, as in SUSE/connect-ng's test data): each module's parent, which must be active
# before SUSEConnect activates it. Registration activates the recommended modules only.
SUSE_PARENTS = {
    'sle-module-basesystem': 'SLES',
    'sle-module-server-applications': 'sle-module-basesystem',
    'sle-module-desktop-applications': 'sle-module-basesystem',
    'sle-module-development-tools': 'sle-module-desktop-applications',
    'sle-module-python3': 'sle-module-basesystem',
}
SUSE_RECOMMENDED = ['sle-module-basesystem', 'sle-module-server-applications']


def suseconnect(state, args):
    suse = state['suse']
    if args == ['--status']:
        products = [{'identifier': 'SLES', 'version': suse['version'], 'arch': suse['arch'],
                     'status': 'Registered' if suse['registered'] else 'Not Registered'}]
        if suse['registered']:
            for module in SUSE_RECOMMENDED + suse.get('modules', []):
                products.append({'identifier': module, 'version': suse['version'], 'arch': suse['arch'],
                                 'status': 'Registered'})
        print(json.dumps(products))
        return 0
    if args[:1] in (['-p'], ['--product']) and len(args) == 2:
        if not suse['registered']:
            return fail('To activate a product, the system has to be registered first.', 67)
        module, version, arch = args[1].split('/')
        if (version, arch) != (suse['version'], suse['arch']) or module not in SUSE_PARENTS:
            return fail('Error: Product %s not found for this system.' % args[1], 67)
        parent = SUSE_PARENTS[module]
        if parent != 'SLES' and parent not in SUSE_RECOMMENDED + suse.get('modules', []):
            return fail('The product you are attempting to activate (%s) requires one of these products to be '
                        'activated first: %s/%s/%s' % (args[1], parent, version, arch), 67)
        suse.setdefault('modules', []).append(module)
        save(state)
        print('Activating %s ...\n-> Adding service to system ...\nSuccessfully registered system' % args[1])
        return 0
    return fail('fake SUSEConnect: unexpected arguments %r' % (args,), 2)


def rpm(state, args):
    if args[:1] == ['--import'] and len(args) == 2:
        with open(args[1]) as f:
            if 'BEGIN PGP PUBLIC KEY BLOCK' not in f.read():
                return fail('error: %s: import read failed(2).' % args[1])
        state.setdefault('keys', []).append(os.path.basename(args[1]))
        save(state)
        return 0
    if args[:1] != ['-q']:
        return fail('fake rpm: unexpected arguments %r' % (args,), 2)
    if args[1:2] != ['--whatprovides']:
        return fail('fake rpm: unexpected arguments %r' % (args,), 2)
    installed = state.get('installed', [])
    missing = 0
    for capability in args[2:]:
        package = state.get('provides', {}).get(capability, capability)
        if package in installed:
            print('%s-1.0-1.x86_64' % package)
        else:
            print('no package provides %s' % capability)
            missing += 1
    return missing


def zypper(state, args):
    args = [a for a in args if a not in ('--non-interactive', '--no-recommends')]
    if args[:1] != ['install'] or len(args) < 2:
        return fail('fake zypper: unexpected arguments %r' % (args,), 2)
    provides = state.get('provides', {})
    state.setdefault('installed', []).extend(provides.get(capability, capability) for capability in args[1:])
    save(state)
    return 0


TOOLS = {'dnf': dnf, 'subscription-manager': subscription_manager, 'SUSEConnect': suseconnect, 'rpm': rpm,
         'zypper': zypper}


def main(argv):
    tool, args = argv[1], argv[2:]
    with open(os.environ['CHARRNN_FAKE_LOG'], 'a') as log:
        log.write(json.dumps([tool] + args) + '\n')
    return TOOLS[tool](load(), args)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
