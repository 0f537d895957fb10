#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Write what the documentation and the roles' metadata repeat from the one place each fact lives.

    hacking/generate_docs.py          rewrite the generated blocks and roles/*/meta/main.yml
    hacking/generate_docs.py --check  change nothing; name each file that differs and exit 1

- Each role's variable table, between <!-- BEGIN role-variables ROLE --> and
  <!-- END role-variables ROLE --> in roles/ROLE/README.md, comes from every entry point of
  roles/ROLE/meta/argument_specs.yml (what ansible-doc shows and what Ansible validates role input
  against). A role with argument specs and no README.md gets one holding just its title and that block.
- The "Supported systems" table in README.md, between <!-- BEGIN supported-systems --> and
  <!-- END supported-systems -->, and galaxy_info.platforms of every roles/*/meta/main.yml come from
  _charrnn_deps_support in roles/deps/vars/main.yml (what the deps role's support check reads).
- The launcher's table in the fresh-box guide (an RST list-table between the comments
  ".. BEGIN launcher-systems" and ".. END launcher-systems"), comes from LAUNCHER_SYSTEMS below and the
  ansible-core release each lock in requirements/ installs on the Python the launcher picks.

Only those parts are rewritten; everything around them stays as written by hand.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import sys

import yaml

import generated_files  # hacking/, beside this script

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMAND = 'hacking/generate_docs.py'
SUPPORT_FILE = 'roles/deps/vars/main.yml'

# What each value of a support entry's "checked" key says in the README: (table cell, legend).
CHECKED = {
    'run': ('runs', 'the collection ran on it here, in containers (the molecule `offline` scenario and '
                    'the `freshbox` stage)'),
    'published': ('published lists', "the distribution's published package lists and repository "
                                     'instructions; its decisions are tested against fixtures (os-release '
                                     'files, facts, a stand-in package manager), not on the system itself'),
}

# Ansible's documentation markup (as ansible-doc renders it) -> Markdown.
MARKUP = [
    (re.compile(r'\bL\(([^)]*?),\s*([^)]*)\)'), r'[\1](\2)'),
    (re.compile(r'\bR\(([^)]*?),\s*([^)]*)\)'), r'\1'),
    (re.compile(r'\bU\(([^)]*)\)'), r'<\1>'),
    (re.compile(r'\bI\(([^)]*)\)'), r'*\1*'),
    (re.compile(r'\bB\(([^)]*)\)'), r'**\1**'),
    # an option of another role's entry point or of a module, as antsibull-docs links it: the name alone
    (re.compile(r'\b(?:O|RV)\([\w.]+#(?:role:[\w-]+|module):([^)]*)\)'), r'`\1`'),
    (re.compile(r'\b(?:C|V|O|E|M|P|RV)\(([^)]*)\)'), r'`\1`'),
    (re.compile(r'\bHORIZONTALLINE\b'), ''),
]


GenerateError = generated_files.GenerateError


def read(repo, path):
    with open(os.path.join(repo, path)) as f:
        return f.read()


def load_yaml(repo, path):
    return yaml.safe_load(read(repo, path))


def markdown(text):
    """A description (a string or a list of paragraphs) as one Markdown table cell."""
    if isinstance(text, list):
        text = ' '.join(text)
    text = ' '.join(str(text).split())
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    return cell(text)


def cell(text):
    """Text that stays inside one cell of a Markdown table."""
    return ' '.join(text.split()).replace('|', '\\|')


def default_cell(option):
    if option.get('required'):
        return 'required'
    if 'default' not in option:
        return ''
    value = option['default']
    if isinstance(value, bool):
        text = 'true' if value else 'false'
    elif isinstance(value, (list, dict)):
        text = json.dumps(value)
    elif value is None:
        text = 'null'
    elif value == '':
        text = '""'
    else:
        text = str(value)
    return '`%s`' % cell(text)


def type_cell(option):
    kind = option.get('type', 'str')
    if kind == 'list' and option.get('elements'):
        kind = 'list of %s' % option['elements']
    return kind


def description_cell(option):
    text = markdown(option.get('description', ''))
    if option.get('choices'):
        text += ' Choices: %s.' % ', '.join('`%s`' % cell(str(choice)) for choice in option['choices'])
    return text.strip()


def entry_points(specs):
    """(name, spec) of a role's entry points, main first, the others as the file orders them."""
    names = sorted(specs, key=lambda name: name != 'main')
    return [(name, specs[name] or {}) for name in names]


def option_rows(specs):
    """[name, [entry points], option] for every variable of a role: one row for a variable that every
    entry point declaring it declares alike, one row per different declaration otherwise."""
    rows = []
    for entry, spec in entry_points(specs):
        for name, option in (spec.get('options') or {}).items():
            same = [row for row in rows if row[0] == name and row[2] == option]
            if same:
                same[0][1].append(entry)
            else:
                rows.append([name, [entry], option])
    return rows


def role_table(role, specs):
    """The README block of one role: its entry points (where it has more than main) and its variables."""
    points = entry_points(specs)
    several = len(points) > 1
    lines = []
    if several:
        lines.append('Entry points (`tasks_from`), each validated against its own argument spec:')
        lines.append('')
        for entry, spec in points:
            if not spec.get('options'):
                note = ' Takes no variables.'
            else:
                note = ''
            lines.append('- `%s`: %s.%s' % (entry, markdown(spec.get('short_description', '')).rstrip('.'), note))
        lines.append('')
    rows = option_rows(specs)
    if not rows:
        lines.append('This role takes no variables.')
        return lines
    if several:
        lines.append('| Variable | Entry points | Type | Default | Description |')
        lines.append('|---|---|---|---|---|')
    else:
        lines.append('| Variable | Type | Default | Description |')
        lines.append('|---|---|---|---|')
    for name, entries, option in rows:
        cells = ['`%s`' % name]
        if several:
            cells.append(', '.join('`%s`' % entry for entry in entries))
        cells += [type_cell(option), default_cell(option), description_cell(option)]
        lines.append('| %s |' % ' | '.join(cells))
    return lines


def roles_with_specs(repo):
    roles_dir = os.path.join(repo, 'roles')
    return sorted(name for name in os.listdir(roles_dir)
                  if os.path.isfile(os.path.join(roles_dir, name, 'meta', 'argument_specs.yml')))


def role_specs(repo, role):
    specs = load_yaml(repo, 'roles/%s/meta/argument_specs.yml' % role)
    if not isinstance(specs, dict) or not isinstance(specs.get('argument_specs'), dict) \
            or 'main' not in specs['argument_specs']:
        raise GenerateError('roles/%s/meta/argument_specs.yml has no argument_specs.main' % role)
    return specs['argument_specs']


def support_list(repo):
    return load_yaml(repo, SUPPORT_FILE)['_charrnn_deps_support']


def galaxy_platforms(support):
    """The Galaxy platforms of the support list, merged by name in the list's order."""
    merged = {}
    for entry in support:
        versions = merged.setdefault(entry['galaxy']['name'], [])
        versions += [v for v in entry['galaxy']['versions'] if v not in versions]
    return [{'name': name, 'versions': versions} for name, versions in merged.items()]


def yaml_scalar(value):
    """A string as YAML writes it plainly where it can stay a string, quoted otherwise."""
    value = str(value)
    if re.match(r'^[A-Za-z][A-Za-z0-9 ._-]*$', value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def platforms_block(support):
    lines = ['  platforms:']
    for platform in galaxy_platforms(support):
        lines.append('    - name: %s' % yaml_scalar(platform['name']))
        lines.append('      versions: [%s]' % ', '.join(yaml_scalar(v) for v in platform['versions']))
    return '\n'.join(lines) + '\n'


def support_table(support):
    lines = ['| Distribution | Versions | Repositories the deps role enables first | Rests on |',
             '|---|---|---|---|']
    for entry in support:
        if entry.get('checked') not in CHECKED:
            raise GenerateError('%s: %s gives checked: %r; it must be one of %s'
                                % (SUPPORT_FILE, entry.get('label'), entry.get('checked'), ', '.join(CHECKED)))
        rests_on = CHECKED[entry['checked']][0]
        if entry.get('unconfirmed'):
            rests_on += '; not confirmed: ' + entry['unconfirmed']
        cells = [cell(entry['label']), cell(', '.join(entry['versions'])), cell(entry['repositories']),
                 cell(rests_on)]
        lines.append('| %s |' % ' | '.join(cells))
    lines.append('')
    used = [key for key in CHECKED if key in [entry['checked'] for entry in support]]
    lines += ['- *%s*: %s.' % CHECKED[key] for key in used]
    lines += ['', 'What each rests on, so that it can be checked again:', '']
    for entry in support:
        sources = entry.get('sources')
        if not sources or not all(isinstance(source, str) and source.strip() for source in sources):
            raise GenerateError('%s: %s needs sources: a list of where its claims can be checked again'
                                % (SUPPORT_FILE, entry.get('label')))
        lines.append('- **%s**: %s.' % (entry['label'], '; '.join(' '.join(source.split()) for source in sources)))
    return lines


# What bootstrap.sh does per system (tests/unit/test_launcher.py holds it to this): the systems, as
# (os-release ID, VERSION_ID or its major) pairs; their python3; what it installs for a newer Python; the
# Python it then runs Ansible on, one per system in order; and the lock it installs ansible-core from.
LAUNCHER_SYSTEMS = [
    ('Debian 12, 13', [('debian', '12'), ('debian', '13')], '3.11, 3.13', '`python3-venv` (apt)',
     ['3.11', '3.13'], 'bootstrap.txt'),
    ('Ubuntu 22.04, 24.04, 26.04', [('ubuntu', '22.04'), ('ubuntu', '24.04'), ('ubuntu', '26.04')],
     '3.10, 3.12, newer', '`python3-venv` (apt)', ['3.10', '3.12', '3.13'], 'bootstrap.txt'),
    ('RHEL, Rocky, AlmaLinux 8', [('rhel', '8'), ('rocky', '8'), ('almalinux', '8')], '3.6',
     '`python3.11` (dnf, AppStream)', ['3.11'] * 3, 'bootstrap-el8.txt'),
    ('RHEL, Rocky, AlmaLinux 9', [('rhel', '9'), ('rocky', '9'), ('almalinux', '9')], '3.9',
     '`python3.11` (dnf, AppStream)', ['3.11'] * 3, 'bootstrap.txt'),
    ('RHEL, Rocky, AlmaLinux 10', [('rhel', '10'), ('rocky', '10'), ('almalinux', '10')], '3.12', 'nothing',
     ['3.12'] * 3, 'bootstrap.txt'),
    ('Amazon Linux 2023', [('amzn', '2023')], '3.9', '`python3.11` (dnf)', ['3.11'], 'bootstrap.txt'),
    ('SLES 15 SP5 to SP7, openSUSE Leap 15.6', [('sles', '15.5'), ('sles', '15.6'), ('sles', '15.7'),
                                                ('opensuse-leap', '15.6')],
     '3.6', '`python311` (zypper)', ['3.11'] * 4, 'bootstrap.txt'),
    ('openSUSE Leap 16.0', [('opensuse-leap', '16.0')], '3.13', 'nothing', ['3.13'], 'bootstrap.txt'),
]
LOCKED_CORE = re.compile(r'^ansible-core==(\S+)(?:\s*;\s*(.*?))?\s*\\?$', re.M)


def locked_core(repo, lock, python):
    """The ansible-core release a lock file installs on Python major.minor."""
    from packaging.markers import Marker  # ansible-core's own dependency, in every venv that runs this
    environment = {'python_version': python, 'python_full_version': python + '.0'}
    for version, marker in LOCKED_CORE.findall(read(repo, 'requirements/' + lock)):
        if not marker or Marker(marker).evaluate(environment):
            return version
    raise GenerateError('requirements/%s installs no ansible-core on Python %s' % (lock, python))


def launcher_rows(repo):
    """[system, python3, installs, ansible-core releases] per row of LAUNCHER_SYSTEMS."""
    rows = []
    for label, _systems, python3, installs, pythons, lock in LAUNCHER_SYSTEMS:
        releases = []
        for python in pythons:
            release = '%s on %s' % (locked_core(repo, lock, python), python)
            if release not in releases:
                releases.append(release)
        rows.append([label, python3, installs, ', '.join(releases)])
    return rows


def rst_inline(text):
    """Markdown's `code` as RST's ``code``."""
    return re.sub(r'`([^`]+)`', r'``\1``', text)


def launcher_table(repo):
    """The launcher's table as an RST list-table."""
    lines = ['.. list-table::', '   :header-rows: 1', '']
    for row in [['System', 'python3', 'Installs', 'ansible-core it installs']] + launcher_rows(repo):
        lines.append('   * - %s' % rst_inline(row[0]))
        lines += ['     - %s' % rst_inline(value) for value in row[1:]]
    return lines


LAUNCHER_GUIDE = 'docs/docsite/rst/guide_fresh_boxes.rst'
NAMES = r'(role-variables [\w-]+|supported-systems|launcher-systems)'
# Where a generated block sits: between two HTML comments in Markdown, two comments in RST.
BLOCKS = {
    'md': (re.compile(r'^<!-- BEGIN ' + NAMES + r'\b[^\n]*-->\n(.*?)^<!-- END \1 -->$', re.M | re.S),
           '<!-- BEGIN %s -->', '<!-- END %s -->'),
    'rst': (re.compile(r'^\.\. BEGIN ' + NAMES + r'\b[^\n]*\n(.*?)^\.\. END \1$', re.M | re.S),
            '.. BEGIN %s', '.. END %s'),
}


def block_source(name):
    if name == 'supported-systems':
        return SUPPORT_FILE
    if name == 'launcher-systems':
        return 'its LAUNCHER_SYSTEMS and the locks in requirements/'
    return 'roles/%s/meta/argument_specs.yml' % name.split()[1]


def block_lines(repo, syntax, name, lines):
    begin, end = BLOCKS[syntax][1:]
    note = ': generated by %s from %s; edit that file, then run it' % (COMMAND, block_source(name))
    if syntax == 'md':
        return [begin.replace(' -->', note + ' -->') % name] + lines + [end % name]
    # An RST comment ends at a blank line; the table between the two must stand apart from both.
    return [begin % name + note, ''] + lines + ['', end % name]


def block_body(repo, name):
    if name == 'supported-systems':
        return support_table(support_list(repo))
    if name == 'launcher-systems':
        return launcher_table(repo)
    role = name.split()[1]
    return role_table(role, role_specs(repo, role))


def documents(repo):
    """{path: (syntax, [the names of the blocks it holds])} of every document with generated blocks;
    a role's README.md holds its variables, or none where the role has no argument specs."""
    docs = {'README.md': ('md', ['supported-systems']), LAUNCHER_GUIDE: ('rst', ['launcher-systems'])}
    with_specs = roles_with_specs(repo)
    for role in sorted(os.listdir(os.path.join(repo, 'roles'))):
        path = 'roles/%s/README.md' % role
        if role in with_specs:
            docs[path] = ('md', ['role-variables %s' % role])
        elif os.path.isfile(os.path.join(repo, path)):
            docs[path] = ('md', [])
    return docs


def document_text(repo, path, syntax, wanted, text):
    """A document with every generated block rewritten from its source."""
    pattern, begin, end = BLOCKS[syntax]
    found = [match.group(1) for match in pattern.finditer(text)]
    for name in wanted:
        if name not in found:
            raise GenerateError('%s has no block for %s: put "%s" and "%s", each on a line of its own, where the '
                                'table goes, then run %s' % (path, name, begin % name, end % name, COMMAND))
    for name in found:
        if name not in wanted:
            if name.startswith('role-variables '):
                raise GenerateError('%s has a block "%s" but there is no such role with meta/argument_specs.yml, '
                                    'or its variables belong in roles/%s/README.md' % (path, name, name.split()[1]))
            raise GenerateError('%s has a block "%s", which belongs elsewhere' % (path, name))
        if found.count(name) > 1:
            raise GenerateError('%s has more than one block "%s"' % (path, name))

    def body(match):
        return '\n'.join(block_lines(repo, syntax, match.group(1), block_body(repo, match.group(1))))

    return pattern.sub(body, text)


def new_role_readme(role):
    """The README.md a role with argument specs starts from: its title and its variables."""
    return '# Role rnn_bootstrap.charrnn.%s\n\n<!-- BEGIN role-variables %s -->\n<!-- END role-variables %s -->\n' % (
        role, role, role)


PLATFORMS = re.compile(r'^  platforms:\n(?:    [^\n]*\n)*', re.M)


def meta_text(path, text, support):
    """A role's meta/main.yml with galaxy_info.platforms written from the support list."""
    if len(PLATFORMS.findall(text)) != 1:
        raise GenerateError('%s needs one "  platforms:" key under galaxy_info for %s to fill' % (path, COMMAND))
    return PLATFORMS.sub(lambda match: platforms_block(support), text)


def generated(repo=REPO):
    """{path relative to repo: (committed text, generated text)} of every file this script writes; the
    committed text of a file that does not exist yet is None."""
    files = {}
    for path, (syntax, wanted) in sorted(documents(repo).items()):
        if os.path.isfile(os.path.join(repo, path)):
            text = read(repo, path)
        elif path.startswith('roles/'):
            text = None
        else:
            raise GenerateError('%s is missing; it holds the generated blocks %s' % (path, ', '.join(wanted)))
        new = document_text(repo, path, syntax, wanted, new_role_readme(path.split('/')[1]) if text is None else text)
        files[path] = (text, new)
    support = support_list(repo)
    for role in sorted(os.listdir(os.path.join(repo, 'roles'))):
        path = 'roles/%s/meta/main.yml' % role
        if os.path.isfile(os.path.join(repo, path)):
            text = read(repo, path)
            files[path] = (text, meta_text(path, text, support))
    return files


def main(argv, repo=REPO):
    return generated_files.main(argv, repo, __doc__, COMMAND, generated,
                                lambda path: '%s differs from what %s writes' % (path, COMMAND))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
