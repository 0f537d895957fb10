# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""hacking/generate_docs.py: the roles' README.md variable tables, README.md's supported-systems table, the
fresh-box guide's launcher table and the roles' meta/main.yml platforms are what it writes from the argument
specs, the support list and the launcher's locks; and README.md stays short."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import sys

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = repo_paths.REPO
sys.path.insert(0, os.path.join(REPO, 'hacking'))

import generate_docs  # noqa: E402


def test_committed_files_are_what_the_generator_writes():
    stale = [path for path, (old, new) in sorted(generate_docs.generated(REPO).items()) if old != new]
    assert not stale, ('%s differ from what the argument specs and roles/deps/vars/main.yml say; '
                       'run: python3 hacking/generate_docs.py' % ', '.join(stale))


def test_every_role_readme_and_the_fresh_box_guide_are_among_the_generated_files():
    files = generate_docs.generated(REPO)
    roles = sorted(os.listdir(os.path.join(REPO, 'roles')))
    assert ['roles/%s/README.md' % role for role in roles] == sorted(p for p in files if p.endswith('/README.md'))
    assert generate_docs.LAUNCHER_GUIDE in files and 'README.md' in files


def test_the_readme_is_150_lines_at_most():
    """The README is the front door; the rest lives in docs/docsite/rst/, the roles' READMEs and CONTRIBUTING.md."""
    with open(os.path.join(REPO, 'README.md')) as f:
        lines = f.read().splitlines()
    assert len(lines) <= 150, 'README.md has %d lines; move detail into a guide under docs/docsite/rst/' % len(lines)


@pytest.fixture
def repo(tmp_path):
    """A copy of what the generator reads and writes."""
    shutil.copy(os.path.join(REPO, 'README.md'), str(tmp_path / 'README.md'))
    shutil.copytree(os.path.join(REPO, 'docs'), str(tmp_path / 'docs'))
    shutil.copytree(os.path.join(REPO, 'requirements'), str(tmp_path / 'requirements'))
    for role in os.listdir(os.path.join(REPO, 'roles')):
        for sub in ('meta', 'vars', 'defaults'):
            source = os.path.join(REPO, 'roles', role, sub)
            if os.path.isdir(source):
                shutil.copytree(source, str(tmp_path / 'roles' / role / sub))
        shutil.copy(os.path.join(REPO, 'roles', role, 'README.md'), str(tmp_path / 'roles' / role / 'README.md'))
    return tmp_path


def write_specs(repo, role, specs):
    (repo / 'roles' / role / 'meta' / 'argument_specs.yml').write_text(
        yaml.safe_dump({'argument_specs': specs}, sort_keys=False))


def readme_block(text, name):
    return text.split('<!-- BEGIN %s' % name, 1)[1].split('<!-- END %s -->' % name, 1)[0]


def rst_block(text, name):
    return text.split('.. BEGIN %s' % name, 1)[1].split('\n.. END %s\n' % name, 1)[0]


def test_ansible_markup_becomes_markdown():
    assert generate_docs.markdown(['C(th) and V(true) for O(charrnn_user);', 'I(see) B(this) U(https://x.example/)'
                                   ' L(the docs, https://docs.example/a) M(rnn_bootstrap.charrnn.train).']) == (
        '`th` and `true` for `charrnn_user`; *see* **this** <https://x.example/> [the docs](https://docs.example/a)'
        ' `rnn_bootstrap.charrnn.train`.')
    assert generate_docs.markdown('a | b') == 'a \\| b'


@pytest.mark.parametrize('option, cell', [
    ({'type': 'bool', 'default': False}, '`false`'),
    ({'type': 'list', 'default': []}, '`[]`'),
    ({'type': 'list', 'default': ['a', 'b']}, '`["a", "b"]`'),
    ({'type': 'dict', 'default': {}}, '`{}`'),
    ({'type': 'str', 'default': ''}, '`""`'),
    ({'type': 'float', 'default': 1.0}, '`1.0`'),
    ({'type': 'str', 'default': "{{ a | default('b') }}"}, "`{{ a \\| default('b') }}`"),
    ({'type': 'str', 'required': True}, 'required'),
    ({'type': 'str'}, ''),
])
def test_default_cells(option, cell):
    assert generate_docs.default_cell(option) == cell


def test_a_role_with_several_entry_points_lists_them_and_where_each_variable_applies(repo):
    shared = {'type': 'str', 'default': 'charrnn', 'description': 'Session name.'}
    write_specs(repo, 'training', {
        'status': {'short_description': 'Report the run.', 'options': {
            'charrnn_train_session': shared,
            'charrnn_sample_checkpoint': {'type': 'str', 'default': 'latest', 'choices': ['latest', 'best'],
                                          'description': 'Which checkpoint.'}}},
        'main': {'short_description': 'Train', 'options': {
            'charrnn_train_session': shared,
            'charrnn_sample_checkpoint': {'type': 'str', 'default': 'latest', 'description': 'Sampled from.'}}},
        'stop': {'short_description': 'Stop the trainer'},
    })
    assert generate_docs.main(['generate_docs.py'], str(repo)) == 0
    block = readme_block((repo / 'roles' / 'training' / 'README.md').read_text(), 'role-variables training')
    lines = block.splitlines()
    assert '- `main`: Train.' in lines
    assert '- `status`: Report the run.' in lines
    assert '- `stop`: Stop the trainer. Takes no variables.' in lines
    assert lines.index('- `main`: Train.') < lines.index('- `status`: Report the run.')
    assert '| Variable | Entry points | Type | Default | Description |' in lines
    assert '| `charrnn_train_session` | `main`, `status` | str | `charrnn` | Session name. |' in lines
    # declared differently in two entry points: a row for each
    assert '| `charrnn_sample_checkpoint` | `main` | str | `latest` | Sampled from. |' in lines
    assert ('| `charrnn_sample_checkpoint` | `status` | str | `latest` | Which checkpoint.'
            ' Choices: `latest`, `best`. |') in lines
    # the text around the block stays as it was
    before, after = (repo / 'roles' / 'training' / 'README.md').read_text().split(block)
    original = open(os.path.join(REPO, 'roles', 'training', 'README.md')).read()
    assert original.startswith(before) and original.endswith(after.split('<!-- END role-variables training -->', 1)[1])


def test_a_role_readme_without_its_block_is_named(repo):
    shutil.copytree(str(repo / 'roles' / 'char_rnn'), str(repo / 'roles' / 'extra'))
    with pytest.raises(generate_docs.GenerateError, match='roles/extra/README.md has no block for role-variables extra'):
        generate_docs.generated(str(repo))


def test_a_new_role_without_a_readme_gets_one_with_its_variables(repo, capsys):
    shutil.copytree(str(repo / 'roles' / 'char_rnn'), str(repo / 'roles' / 'extra'))
    (repo / 'roles' / 'extra' / 'README.md').unlink()
    assert generate_docs.main(['generate_docs.py', '--check'], str(repo)) == 1
    assert 'roles/extra/README.md differs' in capsys.readouterr().out
    assert not (repo / 'roles' / 'extra' / 'README.md').exists()
    assert generate_docs.main(['generate_docs.py'], str(repo)) == 0
    text = (repo / 'roles' / 'extra' / 'README.md').read_text()
    assert text.startswith('# Role rnn_bootstrap.charrnn.extra\n')
    assert '| `charrnn_repo` | str |' in readme_block(text, 'role-variables extra')


def test_a_role_block_in_the_collection_readme_is_named(repo):
    readme = repo / 'README.md'
    readme.write_text(readme.read_text() + '\n<!-- BEGIN role-variables deps -->\n<!-- END role-variables deps -->\n')
    with pytest.raises(generate_docs.GenerateError, match='belong in roles/deps/README.md'):
        generate_docs.generated(str(repo))


def test_a_block_of_a_role_that_is_gone_is_named(repo):
    shutil.rmtree(str(repo / 'roles' / 'char_rnn' / 'meta'))
    with pytest.raises(generate_docs.GenerateError, match='no such role'):
        generate_docs.generated(str(repo))


@pytest.mark.parametrize('path, old, new', [
    ('roles/char_rnn/README.md', '| `charrnn_repo` | str |', '| `charrnn_repo` | path |'),
    ('README.md', '| Debian | 12, 13 |', '| Debian | 12 |'),
    (generate_docs.LAUNCHER_GUIDE, '   * - Debian 12, 13\n', '   * - Debian 12\n'),
])
def test_check_names_the_stale_file_and_changes_nothing(repo, capsys, path, old, new):
    document = repo / path
    assert old in document.read_text()
    document.write_text(document.read_text().replace(old, new))
    stale = document.read_text()
    assert generate_docs.main(['generate_docs.py', '--check'], str(repo)) == 1
    assert capsys.readouterr().out == '%s differs from what hacking/generate_docs.py writes\n' % path
    assert document.read_text() == stale
    assert generate_docs.main(['generate_docs.py'], str(repo)) == 0
    assert generate_docs.main(['generate_docs.py', '--check'], str(repo)) == 0


def test_meta_platforms_are_written_from_the_support_list(repo):
    vars_file = repo / 'roles' / 'deps' / 'vars' / 'main.yml'
    text = vars_file.read_text()
    vars_file.write_text(text.replace('galaxy: {name: Ubuntu, versions: [jammy, noble, resolute]}',
                                      'galaxy: {name: Ubuntu, versions: [noble]}'))
    files = generate_docs.generated(str(repo))
    for role in os.listdir(str(repo / 'roles')):
        old, new = files['roles/%s/meta/main.yml' % role]
        platforms = yaml.safe_load(new)['galaxy_info']['platforms']
        assert {'name': 'Ubuntu', 'versions': ['noble']} in platforms
        assert {'name': 'EL', 'versions': ['8', '9', '10']} in platforms
        # nothing else in the file changes
        assert yaml.safe_load(new)['dependencies'] == yaml.safe_load(old)['dependencies']
        assert old.split('  platforms:')[0] == new.split('  platforms:')[0]


def test_an_unknown_checked_value_is_named(repo):
    vars_file = repo / 'roles' / 'deps' / 'vars' / 'main.yml'
    vars_file.write_text(vars_file.read_text().replace('checked: run', 'checked: tested', 1))
    with pytest.raises(generate_docs.GenerateError, match="Debian gives checked: 'tested'"):
        generate_docs.generated(str(repo))


def test_the_supported_systems_table_says_what_rests_on_runs():
    block = readme_block(open(os.path.join(REPO, 'README.md')).read(), 'supported-systems')
    support = yaml.safe_load(open(os.path.join(REPO, 'roles', 'deps', 'vars', 'main.yml')))['_charrnn_deps_support']
    for entry in support:
        word = generate_docs.CHECKED[entry['checked']][0]
        if entry.get('unconfirmed'):
            word += '; not confirmed: ' + entry['unconfirmed']
        assert '| %s | %s |' % (entry['label'], ', '.join(entry['versions'])) in block
        assert block.split('| %s |' % entry['label'], 1)[1].split('\n', 1)[0].endswith('| %s |' % word)
    assert '- *published lists*: ' in block
    assert '| published lists; not confirmed: that EPEL 10 ships GNU screen (RHEL 10 has none) |' in block
    for entry in support:
        assert '\n- **%s**: %s.' % (entry['label'], '; '.join(' '.join(s.split()) for s in entry['sources'])) in block


def test_an_entry_without_sources_is_named(repo):
    path = repo / 'roles' / 'deps' / 'vars' / 'main.yml'
    data = yaml.safe_load(path.read_text())
    del data['_charrnn_deps_support'][1]['sources']
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(generate_docs.GenerateError, match='Ubuntu needs sources: a list of where its claims can be checked again'):
        generate_docs.generated(str(repo))


def test_the_launcher_table_is_an_rst_list_table_of_every_system():
    with open(os.path.join(REPO, generate_docs.LAUNCHER_GUIDE)) as f:
        block = rst_block(f.read(), 'launcher-systems')
    lines = block.splitlines()
    assert '.. list-table::' in lines and '   :header-rows: 1' in lines
    labels = [line[len('   * - '):] for line in lines if line.startswith('   * - ')]
    assert labels == ['System'] + [system[0] for system in generate_docs.LAUNCHER_SYSTEMS]
    assert '     - ``python3-venv`` (apt)' in lines
    # a blank line on each side, or RST takes the table for part of the comment
    assert block.split('\n')[1] == '' and block.endswith('\n')
