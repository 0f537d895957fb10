"""The proof a Torch build or an unpacked shared build must pass before the torch role stamps it.

prove-torch.sh runs as the role runs it, with its settings in the environment, against a fake prefix
whose th, luajit and ldd are scripts: the real ones would need a whole Torch build. The role writes the
stamp only after the script succeeds, so a failed proof is one that exits non-zero.
"""
import os
import pathlib
import subprocess
import textwrap
import time

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = pathlib.Path(repo_paths.REPO)
SCRIPT = REPO / "roles" / "torch" / "files" / "prove-torch.sh"
COMMON_VARS = yaml.safe_load((REPO / "roles" / "common" / "vars" / "main.yml").read_text())

PASS = "Completed 1175 asserts in 164 tests with 0 failures and 0 errors"


def fail_line(name):
    # What torch.Tester prints for a failed test: a [WAIT] line overwritten by the result.
    return f"  5/164 {name} ........ [WAIT]  5/164 {name} ........ [FAIL]\n" \
           f"Completed 1175 asserts in 164 tests with 1 failure and 0 errors"


def write_script(path, body):
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


@pytest.fixture
def prefix(tmp_path):
    """A fake install: libTH linked to OpenBLAS as ldd reports it, luajit that loads everything."""
    root = tmp_path / "torch"
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "lib" / "libTH.so.0").write_text("")
    write_script(root / "bin" / "luajit", f'echo "TERM=$TERM $*" >> {root}/luajit-calls\necho "torch ok"\n')
    shims = tmp_path / "shims"
    shims.mkdir()
    write_script(shims / "ldd", 'echo "\tlibopenblas.so.0 => /usr/lib/libopenblas.so.0"\n')
    return root


def th_answering(prefix, answers):
    """th prints answers[n] on its n-th call (the last one from then on) and logs its arguments."""
    log = prefix / "th-calls"
    for i, text in enumerate(answers):
        (prefix / f"answer{i}").write_text(text + "\n")
    last = len(answers) - 1
    write_script(prefix / "bin" / "th", f"""\
        n=$(cat {log} 2>/dev/null | wc -l)
        echo "$*" >> {log}
        [ "$n" -le {last} ] || n={last}
        cat {prefix}/answer$n
        """)
    return log


def stamp_seconds(line, text):
    """The seconds of a log line "== [<seconds>s] <text>"."""
    stamp, rest = line.split("] ", 1)
    assert stamp.startswith("== [") and stamp.endswith("s") and rest == text, line
    return int(stamp[len("== ["):-1])


def assert_clock(result, start):
    """The first and last lines carry the clock from start: bash's SECONDS may tick over while the
    proof runs, so the last one may be a second or more later, never earlier and never reset."""
    lines = result.stdout.splitlines()
    first, last = stamp_seconds(lines[0], "proving the install"), stamp_seconds(lines[-1], "done")
    assert first == start and start <= last <= start + 1 + int(result.elapsed), result.stdout


def prove(prefix, clock=None):
    env = dict(os.environ, PATH=f"{prefix.parent / 'shims'}:{os.environ['PATH']}",
               CHARRNN_TORCH_PREFIX=str(prefix),
               CHARRNN_TORCH_VERIFY_MODULES=" ".join(COMMON_VARS["_charrnn_torch_modules"]))
    if clock is not None:
        env["CHARRNN_TORCH_CLOCK"] = clock
    began = time.monotonic()
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, check=False)
    result.elapsed = time.monotonic() - began
    return result


def test_a_sound_build_is_stamped(prefix):
    calls = th_answering(prefix, [PASS])
    result = prove(prefix)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["-e torch.test()"]
    # Last, th's dependencies load as char-rnn loads them (without tput's complaint in the log).
    assert (prefix / "luajit-calls").read_text() == \
        "TERM=dumb -e require 'torch'; require 'nn'; require 'nngraph'; require 'optim'; require 'lfs'; print('torch ok')\n"
    assert_clock(result, 0)


def test_a_statistical_test_that_fails_once_runs_again_on_its_own(prefix):
    # What th prints for one test run alone: "1 test", singular.
    calls = th_answering(prefix, [fail_line("logNormal"), "Completed 2 asserts in 1 test with 0 failures and 0 errors"])
    result = prove(prefix)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["-e torch.test()", "-e torch.test({'logNormal'})"]
    assert "logNormal failed, running again on its own (retry 1 of 2)" in result.stdout


def test_a_test_that_keeps_failing_fails_the_build_without_a_stamp(prefix):
    calls = th_answering(prefix, [fail_line("mm")])
    result = prove(prefix)
    assert result.returncode == 1
    assert len(calls.read_text().splitlines()) == 3
    assert "torch.test() failed" in result.stderr and "mm" in result.stderr


def test_a_retry_that_crashes_fails_the_build_saying_so(prefix):
    calls = th_answering(prefix, [fail_line("logNormal"), "luajit: segmentation fault"])
    result = prove(prefix)
    assert result.returncode == 1
    assert len(calls.read_text().splitlines()) == 2
    assert "torch.test() failed" in result.stderr and "segmentation fault" in result.stderr


def test_a_crashing_test_run_fails_the_build_without_retries(prefix):
    calls = th_answering(prefix, ["luajit: segmentation fault"])
    result = prove(prefix)
    assert result.returncode == 1
    assert len(calls.read_text().splitlines()) == 1


def test_a_build_without_an_optimised_blas_fails_before_any_test(prefix):
    write_script(prefix.parent / "shims" / "ldd", 'echo "\tlibm.so.6 => /usr/lib/libm.so.6"\n')
    calls = th_answering(prefix, [PASS])
    result = prove(prefix)
    assert result.returncode == 1
    assert "not linked to an optimised BLAS" in result.stderr
    assert not calls.exists()


def test_the_blas_check_reads_all_of_ldd(prefix):
    """ldd still writing after the OpenBLAS line must not fail the check (grep -q under pipefail did)."""
    write_script(prefix.parent / "shims" / "ldd",
                 'echo "\tlibopenblas.so.0 => /usr/lib/libopenblas.so.0"\nsleep 0.3\nseq 1 100000\n')
    th_answering(prefix, [PASS])
    result = prove(prefix)
    assert result.returncode == 0, result.stderr


def test_th_failing_to_load_a_module_fails_the_proof(prefix):
    th_answering(prefix, [PASS])
    write_script(prefix / "bin" / "luajit", "echo \"module 'nngraph' not found\" >&2\nexit 1\n")
    result = prove(prefix)
    assert result.returncode == 1
    assert "module 'nngraph' not found" in result.stderr
    assert "done" not in result.stdout


def test_the_log_continues_the_clock_of_the_step_before(prefix):
    """The build log's last line, "== [<seconds since the build began>s] done", is the build time
    benchmarks/bootstrap.sh reports."""
    th_answering(prefix, [PASS])
    result = prove(prefix, clock="183")
    assert result.returncode == 0, result.stderr
    assert_clock(result, 183)


@pytest.mark.parametrize("tasks", ["build.yml", "archive-restore.yml"])
def test_the_stamp_is_written_only_after_the_proof_passed(tasks):
    """The stamp task follows the proof in the block whose failure reports the log, so a failed proof
    (a non-zero exit above) leaves no stamp, and the stamp holds what the role compares."""
    def steps(task_list):
        for task in task_list:
            yield task
            yield from steps(task.get("block", []))

    text = (REPO / "roles" / "torch" / "tasks" / tasks).read_text()
    block = next(task for task in steps(yaml.safe_load(text)) if "rescue" in task)["block"]
    modules = [next(key for key in task if key.startswith("ansible.builtin.")) for task in block]
    prove_at = next(i for i, task in enumerate(block) if "/prove-torch.sh'" in task[modules[i]].get("cmd", ""))
    stamp_at = next(i for i, task in enumerate(block)
                    if task[modules[i]].get("dest") == "{{ charrnn_torch_prefix }}/{{ _charrnn_torch_stamp_name }}")
    assert 0 < prove_at < stamp_at
    assert block[stamp_at][modules[stamp_at]]["content"] == "{{ _charrnn_torch_stamp | to_json }}\n"
