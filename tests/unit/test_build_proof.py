"""The proof a Torch build or an unpacked shared build must pass before its stamp is written.

prove-and-stamp.sh.j2 is rendered as the torch role renders it and run against a fake prefix whose
th, luajit and ldd are scripts: the real ones would need a whole Torch build.
"""
import json
import os
import pathlib
import subprocess
import textwrap

import jinja2
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "roles" / "torch" / "templates" / "prove-and-stamp.sh.j2"
TORCH_VARS = yaml.safe_load((REPO / "roles" / "torch" / "vars" / "main.yml").read_text())

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
    write_script(root / "bin" / "luajit", 'echo "torch ok"\n')
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


def prove(prefix):
    script = jinja2.Template(TEMPLATE.read_text()).render(
        charrnn_torch_verify_modules=TORCH_VARS["charrnn_torch_verify_modules"])
    stamp = prefix / ".charrnn-build.json"
    wrapper = f"""set -euo pipefail
prefix={prefix}
stamp_file={stamp}
stamp_content='{json.dumps({"format": 0})}'
SECONDS=0
{script}"""
    env = dict(os.environ, PATH=f"{prefix.parent / 'shims'}:{os.environ['PATH']}")
    result = subprocess.run(["bash", "-c", wrapper], capture_output=True, text=True, env=env, check=False)
    return result, stamp


def test_a_sound_build_is_stamped(prefix):
    calls = th_answering(prefix, [PASS])
    result, stamp = prove(prefix)
    assert result.returncode == 0, result.stderr
    assert json.loads(stamp.read_text()) == {"format": 0}
    assert calls.read_text().splitlines() == ["-e torch.test()"]


def test_a_statistical_test_that_fails_once_runs_again_on_its_own(prefix):
    # What th prints for one test run alone: "1 test", singular.
    calls = th_answering(prefix, [fail_line("logNormal"), "Completed 2 asserts in 1 test with 0 failures and 0 errors"])
    result, stamp = prove(prefix)
    assert result.returncode == 0, result.stderr
    assert stamp.exists()
    assert calls.read_text().splitlines() == ["-e torch.test()", "-e torch.test({'logNormal'})"]
    assert "logNormal failed, running again on its own (retry 1 of 2)" in result.stdout


def test_a_test_that_keeps_failing_fails_the_build_without_a_stamp(prefix):
    calls = th_answering(prefix, [fail_line("mm")])
    result, stamp = prove(prefix)
    assert result.returncode == 1
    assert not stamp.exists()
    assert len(calls.read_text().splitlines()) == 3
    assert "torch.test() failed" in result.stderr and "mm" in result.stderr


def test_a_retry_that_crashes_fails_the_build_saying_so(prefix):
    calls = th_answering(prefix, [fail_line("logNormal"), "luajit: segmentation fault"])
    result, stamp = prove(prefix)
    assert result.returncode == 1
    assert not stamp.exists()
    assert len(calls.read_text().splitlines()) == 2
    assert "torch.test() failed" in result.stderr and "segmentation fault" in result.stderr


def test_a_crashing_test_run_fails_the_build_without_retries(prefix):
    calls = th_answering(prefix, ["luajit: segmentation fault"])
    result, stamp = prove(prefix)
    assert result.returncode == 1
    assert not stamp.exists()
    assert len(calls.read_text().splitlines()) == 1


def test_a_build_without_an_optimised_blas_fails_before_any_test(prefix):
    write_script(prefix.parent / "shims" / "ldd", 'echo "\tlibm.so.6 => /usr/lib/libm.so.6"\n')
    calls = th_answering(prefix, [PASS])
    result, stamp = prove(prefix)
    assert result.returncode == 1
    assert "not linked to an optimised BLAS" in result.stderr
    assert not stamp.exists() and not calls.exists()


def test_the_blas_check_reads_all_of_ldd(prefix):
    """ldd still writing after the OpenBLAS line must not fail the check (grep -q under pipefail did)."""
    write_script(prefix.parent / "shims" / "ldd",
                 'echo "\tlibopenblas.so.0 => /usr/lib/libopenblas.so.0"\nsleep 0.3\nseq 1 100000\n')
    th_answering(prefix, [PASS])
    result, stamp = prove(prefix)
    assert result.returncode == 0, result.stderr
    assert stamp.exists()
