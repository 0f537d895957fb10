"""The state a converged host must be in, whatever the scenario."""
import pytest
from conftest import family_packages, needs_sources, role_defaults

COMMON = role_defaults("common")
TORCH = role_defaults("torch")
CHARRNN = role_defaults("char_rnn")
TRAINING = role_defaults("training")
PREFIX = TORCH["charrnn_torch_prefix"]
USER = COMMON["charrnn_user"]
CHECKOUT = COMMON["charrnn_dir"]


def test_family_packages_installed(host):
    missing = [name for name in family_packages(host) if not host.package(name).is_installed]
    assert missing == []


def test_screen_runs(host):
    assert host.run("screen -v").stdout.startswith("Screen version")


def test_training_user_is_unprivileged(host):
    user = host.user(USER)
    assert user.exists
    assert user.uid != 0
    assert "sudo" not in user.groups and "wheel" not in user.groups


@needs_sources
def test_torch_prefix_is_root_owned_and_not_writable_by_the_training_user(host):
    prefix = host.file(PREFIX)
    assert prefix.is_directory
    assert prefix.user == "root"
    assert not prefix.mode & 0o022
    assert host.run(f"su -s /bin/sh -c 'test -w {PREFIX}/bin' {USER}").rc != 0


@needs_sources
def test_nothing_in_the_prefix_is_world_writable(host):
    found = host.check_output(f"find {PREFIX} -perm -o+w ! -type l")
    assert found == ""


@needs_sources
def test_build_stamp_names_the_pinned_commit(host):
    stamp = host.file(f"{PREFIX}/.charrnn-build.json")
    assert stamp.exists
    assert TORCH["charrnn_torch_version"] in stamp.content_string


@needs_sources
def test_th_on_path_loads_char_rnn_dependencies_as_training_user(host):
    cmd = host.run(
        "su - %s -c \"TERM=dumb th -e \\\"require 'torch'; require 'nn'; require 'nngraph'; require 'optim'; "
        "require 'lfs'; print('loaded')\\\"\"" % USER
    )
    assert cmd.rc == 0, cmd.stderr
    assert "loaded" in cmd.stdout, cmd.stdout + cmd.stderr


@needs_sources
def test_torch_built_once_per_kind_of_host(host):
    """A -fleet host unpacks the build its twin shared; every other host builds its own."""
    built = host.file(f"{TORCH['charrnn_torch_build_dir']}/build.log")
    unpacked = host.file(f"{TORCH['charrnn_torch_build_dir']}/restore.log")
    if host.backend.get_hostname().endswith("-fleet"):
        assert unpacked.exists and not built.exists
        assert "proving the install" in unpacked.content_string
    else:
        assert built.exists and not unpacked.exists


@needs_sources
def test_torch_built_with_cmake_3(host):
    """torch7 needs CMake 3: a host whose cmake is 4.x (charrnn_test_cmake4) builds with one from PyPI."""
    log = host.file(f"{TORCH['charrnn_torch_build_dir']}/build.log")
    if not log.exists:
        pytest.skip("this host unpacked a shared build")
    used = [line for line in log.content_string.splitlines() if line.startswith("== [") and "] cmake: " in line]
    assert len(used) == 1 and "(cmake version 3." in used[0], used
    cmake3 = f"{TORCH['charrnn_torch_build_dir']}/cmake3/bin/cmake"
    if host.run("cmake --version").stdout.startswith("cmake version 3."):
        assert cmake3 not in used[0]
    else:
        assert cmake3 in used[0]


@needs_sources
def test_torch_links_openblas(host):
    libs = host.check_output(f"ldd {PREFIX}/lib/libTH.so")
    assert "libopenblas" in libs


@needs_sources
def test_checkout_is_at_the_pinned_commit_and_owned_by_the_training_user(host):
    head = host.run(f"su -s /bin/sh -c 'git -C {CHECKOUT} rev-parse HEAD' {USER}")
    assert head.rc == 0, head.stderr
    assert head.stdout.strip() == CHARRNN["charrnn_version"]
    for path in (CHECKOUT, f"{CHECKOUT}/train.lua", f"{CHECKOUT}/cv"):
        assert host.file(path).user == USER


@needs_sources
def test_dataset_in_place(host):
    # no charrnn_dataset_src in the scenario: char-rnn's own corpus, and its checkout stays clean
    data = host.file(f"{CHECKOUT}/data/{COMMON['charrnn_dataset_name'] or 'tinyshakespeare'}/input.txt")
    assert data.is_file
    assert data.size > 0


@needs_sources
def test_torch_shadows_no_program_of_the_system_or_of_an_admin(host):
    own = host.file("/usr/local/bin/luarocks")  # prepare.yml put it there
    assert not own.is_symlink and "the admin's own luarocks" in own.content_string
    assert host.file("/usr/local/bin/th").linked_to == f"{PREFIX}/bin/th"
    path = host.run("bash -lc 'echo $PATH'").stdout.strip().split(":")
    assert path.index(f"{PREFIX}/bin") > path.index("/usr/bin")


@pytest.mark.parametrize("path", ["/opt", "/usr/local/bin", "/etc/profile.d"])
def test_system_dirs_not_world_writable(host, path):
    assert not host.file(path).mode & 0o002


@needs_sources
def test_trainer_runs_under_screen_as_the_training_user(host):
    sessions = host.run(f"su -s /bin/sh -c 'screen -ls' {USER}")
    assert ".charrnn\t" in sessions.stdout, sessions.stdout
    trainers = [p for p in host.process.filter(comm="luajit") if "train.lua" in p.args]
    assert trainers, "no train.lua process"
    assert {p.user for p in trainers} == {USER}


@needs_sources
def test_trainer_computes_in_the_precision_of_the_role(host):
    """float runs train.lua through the prelude next to the log; its checkpoints are char-rnn's own
    (the sample the converge took from the first one is checked by the sample tests)."""
    trainers = [p.args for p in host.process.filter(comm="luajit") if "train.lua" in p.args]
    assert trainers, "no train.lua process"
    prelude = f"{CHECKOUT}/{TRAINING['charrnn_checkpoint_dir']}/train-{TRAINING['charrnn_train_session']}.log.prelude.lua"
    if TRAINING["charrnn_train_precision"] == "float":
        assert all(f"{prelude} float train.lua " in args for args in trainers), trainers
        assert host.run(f"su -s /bin/sh -c 'test -r {prelude}' {USER}").rc == 0
    else:
        assert not any(".prelude.lua" in args for args in trainers), trainers


@needs_sources
def test_nothing_of_charrnn_runs_as_root(host):
    assert [p.args for p in host.process.filter(user="root") if "train.lua" in p.args or "SCREEN" in p.args] == []


@needs_sources
def test_nothing_of_the_checkout_or_the_build_is_world_writable(host):
    found = host.check_output(
        f"find {CHECKOUT} {TORCH['charrnn_torch_build_dir']} -perm -o+w ! -type l 2>/dev/null || true")
    assert found == ""


@needs_sources
def test_checkpoints_and_logs_belong_to_the_training_user(host):
    owners = host.check_output(f"find {CHECKOUT}/cv -mindepth 1 -printf '%u\\n' | sort -u").split()
    assert owners == [USER]


@needs_sources
def test_a_checkpoint_is_in_cv(host):
    found = host.check_output(f"find {CHECKOUT}/cv -name 'lm_lstm_epoch*.t7' -size +1k")
    assert found.strip(), "no checkpoint in cv/"


@needs_sources
def test_the_latest_checkpoint_samples_text(host):
    latest = host.check_output(f"ls -t {CHECKOUT}/cv/lm_lstm_epoch*.t7 | head -n 1")
    text = host.run(
        f"su - {USER} -c 'cd {CHECKOUT} && TERM=dumb th sample.lua {latest} -length 100 -verbose 0 -gpuid -1'"
    )
    assert text.rc == 0, text.stderr
    assert len(text.stdout.strip()) >= 50, text.stdout
