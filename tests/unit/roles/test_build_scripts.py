"""The torch role's build and unpack scripts, run as the role runs them: settings in the environment.

patch-sources.sh works on files laid out as torch/distro's are at the pinned commit (only the parts it
changes). build-torch.sh clones real git repositories made here, laid out like a GitHub mirror, and
meets stand-ins for cmake, make and luarocks that record how they were called: the real ones would
need a whole Torch build (the molecule scenario and the benchmarks do that).
"""
import os
import pathlib
import subprocess
import tarfile
import textwrap

import pytest
import yaml

import repo_paths  # tests/, on the path through tests/unit/conftest.py

REPO = pathlib.Path(repo_paths.REPO)
FILES = REPO / "roles" / "torch" / "files"
MISSING_COMMIT = "0123456789abcdef0123456789abcdef01234567"

THTENSOR_C = """\
#include "THAtomic.h"
#include "THTensor.h"

#include "generic/THTensor.c"
#include "THGenerateAllTypes.h"

#include "generic/THTensorMath.c"
#include "THGenerateAllTypes.h"

#include "generic/THTensorConv.c"
#include "THGenerateAllTypes.h"

#include "generic/THTensorLapack.c"
#include "THGenerateFloatTypes.h"
"""

# What patch-sources.sh changes, per submodule, as it stands at the pinned commit.
UPSTREAM = {
    "pkg/torch": {
        "lib/TH/THTensor.c": THTENSOR_C,
        "lib/TH/CMakeLists.txt": "SET(src\n  THGeneral.c THStorage.c THTensor.c THBlas.c\n  THVector.c)\n",
        "CMakeLists.txt": "SET(src DiskFile.c init.c TensorMath.c random.c)\n",
    },
    "extra/nn": {
        "lib/THNN/CMakeLists.txt": "ADD_LIBRARY(THNN MODULE init.c)\n",
        "lib/THNN/init.c": '#include "THNN.h"\n#include "generic/Abs.c"\n#include "THGenerateFloatTypes.h"\n',
    },
    "exe/luajit-rocks": {
        "luajit-2.1/CMakeLists.txt": "SET(DEPS lj_ffdef.h lj_bcdef.h)\n"
                                     "  add_library(libluajit SHARED ljamalg.c ${DEPS})\n"
                                     "  add_executable(luajit luajit.c ${DEPS})\n",
    },
}
ROCKS = "torch:pkg/torch:rocks/torch-scm-1.rockspec nn:extra/nn:rocks/nn-scm-1.rockspec"
TYPES = ["Double", "Float", "Byte", "Char", "Short", "Int", "Long"]


def write_script(path, body):
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


def write_tree(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def run(script, env, cwd=None):
    return subprocess.run(["bash", str(FILES / script)], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, **env), check=False)


# patch-sources.sh

@pytest.fixture
def sources(tmp_path):
    root = tmp_path / "src"
    for submodule, files in UPSTREAM.items():
        write_tree(root / submodule, files)
    return root


def patch(sources, lua="LUAJIT21", rocks=ROCKS):
    return run("patch-sources.sh", {"CHARRNN_TORCH_LUA": lua, "CHARRNN_TORCH_ROCKS": rocks}, cwd=sources)


def test_tensor_maths_become_one_file_per_type(sources):
    result = patch(sources)
    assert result.returncode == 0, result.stderr
    th = sources / "pkg/torch/lib/TH"
    units = [f"THTensor{part}{kind}.c" for part in ("Math", "Conv") for kind in TYPES]
    for unit in units:
        part, kind = ("Math" if "Math" in unit else "Conv"), unit[len("THTensorMath"):-2]
        assert (th / unit).read_text() == (
            '#include "THAtomic.h"\n#include "THTensor.h"\n'
            f"int TH{kind}Tensor_isTransposed(const TH{kind}Tensor *self);\n"
            f'#include "generic/THTensor{part}.c"\n#include "THGenerate{kind}Type.h"\n')
    left = (th / "THTensor.c").read_text()
    assert "THTensorMath.c" not in left and "THTensorConv.c" not in left
    assert '#include "generic/THTensor.c"\n#include "THGenerateAllTypes.h"' in left
    assert '#include "generic/THTensorLapack.c"\n#include "THGenerateFloatTypes.h"' in left
    cmake = (th / "CMakeLists.txt").read_text().splitlines()
    # The longest units first, THTensor.c itself after them.
    assert cmake[1] == "  THGeneral.c THStorage.c  " + " ".join(units) + " THTensor.c THBlas.c"
    assert cmake[-2].startswith("SET_SOURCE_FILES_PROPERTIES(THTensorMathByte.c ") and cmake[-2].endswith("-O0)")
    assert "THTensorMathFloat.c" not in cmake[-2] and "THTensorMathDouble.c" not in cmake[-2]
    assert cmake[-1] == "SET_SOURCE_FILES_PROPERTIES(THTensorConvFloat.c THTensor.c PROPERTIES COMPILE_FLAGS -O1)"


def test_thnn_becomes_one_file_per_type_and_bindings_come_first(sources):
    assert patch(sources).returncode == 0
    thnn = sources / "extra/nn/lib/THNN"
    for kind in ("Float", "Double"):
        assert (thnn / f"init{kind}.c").read_text() == \
            f'#include "THNN.h"\n#include "generic/Abs.c"\n#include "THGenerate{kind}Type.h"\n'
    assert (thnn / "CMakeLists.txt").read_text() == "ADD_LIBRARY(THNN MODULE initDouble.c initFloat.c)\n"
    assert (sources / "pkg/torch/CMakeLists.txt").read_text() == (
        "SET(src TensorMath.c DiskFile.c init.c random.c)\n"
        "SET_SOURCE_FILES_PROPERTIES(TensorMath.c PROPERTIES COMPILE_FLAGS -O0)\n")


def test_luajit_library_and_executable_build_side_by_side(sources):
    assert patch(sources).returncode == 0
    cmake = (sources / "exe/luajit-rocks/luajit-2.1/CMakeLists.txt").read_text()
    assert cmake.startswith(UPSTREAM["exe/luajit-rocks"]["luajit-2.1/CMakeLists.txt"])
    assert "add_custom_target(charrnn_luajit_generated DEPENDS ${DEPS})\n" in cmake
    assert cmake.endswith("add_dependencies(charrnn_luajit_binaries libluajit luajit)\n")


def test_sources_laid_out_otherwise_are_left_as_they_are_with_a_note(sources):
    changed = {
        "pkg/torch/lib/TH/THTensor.c": THTENSOR_C.replace('Math.c"\n#include "THGenerateAllTypes.h"',
                                                          'Math.c"\n#include "THGenerateFloatTypes.h"'),
        "pkg/torch/CMakeLists.txt": "SET(src DiskFile.c TensorMath.c)\n",
        "extra/nn/lib/THNN/CMakeLists.txt": "ADD_LIBRARY(THNN SHARED init.c)\n",
        "exe/luajit-rocks/luajit-2.1/CMakeLists.txt": "add_library(libluajit SHARED ljamalg.c)\n",
    }
    write_tree(sources, changed)
    before = {path: path.read_text() for path in sources.rglob("*") if path.is_file()}
    result = patch(sources)
    assert result.returncode == 0, result.stderr
    assert {path: path.read_text() for path in sources.rglob("*") if path.is_file()} == before
    assert result.stdout.splitlines() == [
        "== THTensor.c is not laid out as expected: compiled as one file",
        "== THNN's init.c is not laid out as expected: compiled as one file",
        "== torch's CMakeLists.txt is not laid out as expected: bindings compiled as they are",
        "== LuaJIT's CMakeLists.txt is not laid out as expected: built one target after the other",
    ]


def test_only_what_is_built_is_changed(sources):
    """Without nn among the rocks its sources stay as they are; PUC Lua builds no LuaJIT."""
    luajit = sources / "exe/luajit-rocks/luajit-2.1/CMakeLists.txt"
    result = patch(sources, lua="LUA51", rocks="torch:pkg/torch:rocks/torch-scm-1.rockspec")
    assert result.returncode == 0 and result.stdout == ""
    assert not (sources / "extra/nn/lib/THNN/initFloat.c").exists()
    assert luajit.read_text() == UPSTREAM["exe/luajit-rocks"]["luajit-2.1/CMakeLists.txt"]
    assert (sources / "pkg/torch/lib/TH/THTensorMathFloat.c").exists()


# build-torch.sh

def git(*args, cwd=None):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    "-c", "protocol.file.allow=always", "-c", "init.defaultBranch=master", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def mirror(tmp_path):
    """Bare repositories laid out like GitHub: torch/distro.git with submodules named by their GitHub
    URLs, as torch/distro's .gitmodules names them, and a submodule no rock needs."""
    root = tmp_path / "mirror"
    work = tmp_path / "work"
    submodules = {"exe/luajit-rocks": "torch/luajit-rocks", "pkg/torch": "torch/torch7", "extra/nn": "torch/nn",
                  "extra/cutorch": "torch/cutorch"}
    for path, name in submodules.items():
        write_tree(work / name, UPSTREAM.get(path, {"README": name + "\n"}))
        git("init", "-q", str(work / name))
        git("add", "-A", cwd=work / name)
        git("commit", "-q", "-m", name, cwd=work / name)
        git("clone", "-q", "--bare", str(work / name), str(root / (name + ".git")))
    distro = work / "torch/distro"
    git("init", "-q", str(distro))
    for path, name in submodules.items():
        git("submodule", "add", "-q", f"file://{root}/{name}.git", path, cwd=distro)
        git("config", "-f", ".gitmodules", f"submodule.{path}.url", f"https://github.com/{name}.git", cwd=distro)
    git("add", "-A", cwd=distro)
    git("commit", "-q", "-m", "distro", cwd=distro)
    git("clone", "-q", "--bare", str(distro), str(root / "torch/distro.git"))
    commit = subprocess.check_output(["git", "-C", str(distro), "rev-parse", "HEAD"], text=True).strip()
    return root, commit


@pytest.fixture
def tools(tmp_path):
    """cmake 3 and make stand-ins on PATH; make install puts a luarocks stand-in into the prefix."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    write_script(bin_dir / "cmake", f"""\
        [ "$1" != --version ] || {{ echo "cmake version 3.25.1"; exit 0; }}
        echo "cmake $*" >> {calls}
        echo "env CFLAGS=$CFLAGS CXXFLAGS=$CXXFLAGS MAKEFLAGS=$MAKEFLAGS" >> {calls}
        echo "env CMAKE_BUILD_PARALLEL_LEVEL=$CMAKE_BUILD_PARALLEL_LEVEL CMAKE_TOOLCHAIN_FILE=$CMAKE_TOOLCHAIN_FILE" >> {calls}
        """)
    write_script(bin_dir / "make", f"""\
        echo "make $*" >> {calls}
        [ "$1" = install ] || exit 0
        mkdir -p "$CHARRNN_TORCH_PREFIX/bin" "$CHARRNN_TORCH_PREFIX/etc/luarocks"
        echo "-- luarocks" > "$CHARRNN_TORCH_PREFIX/etc/luarocks/config.lua"
        printf '#!/bin/sh\\necho "luarocks $* in $(pwd)" >> {calls}\\n' > "$CHARRNN_TORCH_PREFIX/bin/luarocks"
        chmod +x "$CHARRNN_TORCH_PREFIX/bin/luarocks"
        """)
    return bin_dir, calls


def build_env(tmp_path, mirror, tools, **settings):
    root, commit = mirror
    env = {
        "PATH": f"{tools[0]}:{os.environ['PATH']}",
        "CHARRNN_TORCH_PREFIX": str(tmp_path / "prefix"),
        "CHARRNN_TORCH_BUILD_DIR": str(tmp_path / "build"),
        "CHARRNN_TORCH_REPO": "https://github.com/torch/distro.git",
        "CHARRNN_TORCH_VERSION": commit,
        "CHARRNN_GIT_MIRROR": f"file://{root}/",
        "CHARRNN_TORCH_LUA": "LUAJIT21",
        "CHARRNN_TORCH_ROCKS": ROCKS,
        "CHARRNN_TORCH_BUILD_JOBS": "3",
        "CHARRNN_TORCH_CFLAGS": "-O2 -Wno-error=int-conversion",
        "CHARRNN_TORCH_CXXFLAGS": "-O2",
        "CHARRNN_TORCH_CMAKE_PIP_SPEC": "cmake>=3.10,<4",
    }
    env.update(settings)
    return env


def test_a_build_through_the_mirror(tmp_path, mirror, tools):
    result = run("build-torch.sh", build_env(tmp_path, mirror, tools))
    assert result.returncode == 0, result.stdout + result.stderr
    src = tmp_path / "build" / "src"
    # Only the submodules of the rocks asked for, and LuaJIT's, come from the mirror; patched.
    assert (src / "pkg/torch/lib/TH/THTensorMathFloat.c").exists()
    assert (src / "extra/nn/lib/THNN/initFloat.c").exists()
    assert not (src / "extra/cutorch/README").exists()
    prefix = tmp_path / "prefix"
    flags = tmp_path / "build" / "release-flags.cmake"
    assert 'set(CMAKE_C_FLAGS_RELEASE "-DNDEBUG"' in flags.read_text()
    assert tools[1].read_text().splitlines() == [
        f"cmake .. -DCMAKE_INSTALL_PREFIX={prefix} -DCMAKE_BUILD_TYPE=Release -DWITH_LUAJIT21=ON "
        "-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON",
        "env CFLAGS=-O2 -Wno-error=int-conversion CXXFLAGS=-O2 MAKEFLAGS=-j3",
        f"env CMAKE_BUILD_PARALLEL_LEVEL=3 CMAKE_TOOLCHAIN_FILE={flags}",
        "make charrnn_luajit_binaries",
        "make install",
        f"luarocks make --deps-mode=none rocks/torch-scm-1.rockspec in {src}/pkg/torch",
        f"luarocks make --deps-mode=none rocks/nn-scm-1.rockspec in {src}/extra/nn",
    ]
    # nn asks for luaffi, which LuaJIT has built in.
    assert (prefix / "etc/luarocks/config.lua").read_text().endswith('\nrocks_provided = { luaffi = "scm-1" }\n')
    steps = [line.split("] ", 1)[1] for line in result.stdout.splitlines() if line.startswith("== [")]
    assert steps == ["cmake: %s/cmake (cmake version 3.25.1)" % tools[0],
                     "source: https://github.com/torch/distro.git @ " + mirror[1],
                     f"luajit + luarocks into {prefix}", "torch", "nn"]


def test_a_second_build_starts_from_clean_sources(tmp_path, mirror, tools):
    env = build_env(tmp_path, mirror, tools)
    assert run("build-torch.sh", env).returncode == 0
    (tmp_path / "prefix" / "left-over").write_text("")
    result = run("build-torch.sh", env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "prefix" / "left-over").exists()
    cmake = (tmp_path / "build/src/pkg/torch/lib/TH/CMakeLists.txt").read_text()
    assert cmake.count("THTensorMathFloat.c") == 1  # patched once, not twice


def test_puc_lua_builds_everything_and_gets_no_luaffi_stand_in(tmp_path, mirror, tools):
    result = run("build-torch.sh", build_env(tmp_path, mirror, tools, CHARRNN_TORCH_LUA="LUA51"))
    assert result.returncode == 0, result.stderr
    calls = tools[1].read_text().splitlines()
    assert "-DWITH_LUA51=ON" in calls[0]
    assert [call.rstrip() for call in calls[3:5]] == ["make", "make install"]
    assert "rocks_provided" not in (tmp_path / "prefix/etc/luarocks/config.lua").read_text()


def test_a_missing_commit_names_the_setting_and_leaves_the_prefix(tmp_path, mirror, tools):
    (tmp_path / "prefix").mkdir()
    (tmp_path / "prefix" / "keep-me").write_text("an earlier install")
    result = run("build-torch.sh", build_env(tmp_path, mirror, tools, CHARRNN_TORCH_VERSION=MISSING_COMMIT))
    assert result.returncode == 1
    assert (f"commit {MISSING_COMMIT} does not exist in https://github.com/torch/distro.git "
            "(charrnn_torch_version)") in result.stderr
    assert (tmp_path / "prefix" / "keep-me").exists()


def test_an_unreachable_mirror_names_the_setting(tmp_path, mirror, tools):
    result = run("build-torch.sh", build_env(tmp_path, mirror, tools,
                                             CHARRNN_GIT_MIRROR=f"file://{tmp_path}/nowhere/"))
    assert result.returncode == 1
    assert "cannot clone https://github.com/torch/distro.git: check charrnn_git_mirror" in result.stderr


def test_cmake_4_without_a_pypi_cmake_names_the_setting(tmp_path, mirror, tools):
    write_script(tools[0] / "cmake", 'echo "cmake version 4.0.3"\n')
    write_script(tools[0] / "python3", "exit 1\n")
    result = run("build-torch.sh", build_env(tmp_path, mirror, tools))
    assert result.returncode == 1
    assert "the host's CMake is 'cmake version 4.0.3': cmake>=3.10,<4 from PyPI" in result.stdout
    assert "pip could not install 'cmake>=3.10,<4' (charrnn_torch_cmake_pip_spec, charrnn_torch_cmake_pip_hashes)" in result.stderr


def test_the_pypi_cmake_is_installed_only_with_the_hashes_it_is_pinned_to(tmp_path, mirror, tools):
    write_script(tools[0] / "cmake", 'echo "cmake version 4.0.3"\n')
    # python3 -m venv DIR: a venv whose pip records how it was called and "installs" a CMake 3
    calls = tmp_path / "pip-calls"
    write_script(tools[0] / "python3", f"""\
        [ "$1 $2" = "-m venv" ] || exit 1
        mkdir -p "$3/bin"
        printf '#!/bin/sh\\necho "$*" >> {calls}; cat "$5" >> {calls} 2>/dev/null\\n' > "$3/bin/pip"
        printf '#!/bin/sh\\necho "cmake version 3.31.10"\\n' > "$3/bin/cmake"
        chmod +x "$3/bin/pip" "$3/bin/cmake"
        """)
    env = build_env(tmp_path, mirror, tools, CHARRNN_TORCH_CMAKE_PIP_SPEC="cmake==3.31.10",
                    CHARRNN_TORCH_CMAKE_PIP_HASHES="sha256:aaaa sha256:bbbb")
    run("build-torch.sh", env)
    requirements = tmp_path / "build" / "cmake3-requirements.txt"
    assert calls.read_text().splitlines() == [
        f"install --quiet --require-hashes --requirement {requirements}",
        "cmake==3.31.10 --hash=sha256:aaaa --hash=sha256:bbbb"]


def test_a_missing_setting_stops_the_build_before_anything_changes(tmp_path, mirror, tools):
    env = build_env(tmp_path, mirror, tools)
    del env["CHARRNN_TORCH_PREFIX"]
    result = run("build-torch.sh", env)
    assert result.returncode == 1 and "CHARRNN_TORCH_PREFIX" in result.stderr
    assert not (tmp_path / "build").exists()


# restore-torch.sh

def test_a_shared_build_replaces_the_prefix(tmp_path):
    built = tmp_path / "built"
    write_tree(built, {"bin/th": "th", "lib/libTH.so": "lib"})
    archive = tmp_path / "torch.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(built, arcname=".")
    prefix = tmp_path / "prefix"
    write_tree(prefix, {"stale": "from an earlier build", ".charrnn-build.json": "{}"})
    result = run("restore-torch.sh", {"CHARRNN_TORCH_PREFIX": str(prefix), "CHARRNN_TORCH_ARCHIVE": str(archive)})
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file()) == [
        ".charrnn-prefix", "bin/th", "lib/libTH.so"]
    assert result.stdout == f"== [0s] unpacking {archive} into {prefix}\n"


# empty-prefix.sh

def empty_prefix(prefix):
    return subprocess.run(["bash", str(FILES / "empty-prefix.sh"), str(prefix)], capture_output=True, text=True,
                          check=False)


@pytest.mark.parametrize("present", [{}, {".charrnn-prefix": ""}, {".charrnn-build.json": "{}", "bin/th": "old"}])
def test_the_prefix_is_emptied_when_empty_or_the_collections(tmp_path, present):
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    write_tree(prefix, present)
    result = empty_prefix(prefix)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in prefix.iterdir()] == [".charrnn-prefix"]


def test_a_prefix_of_someone_elses_is_never_emptied(tmp_path):
    prefix = tmp_path / "usr-lib"
    write_tree(prefix, {"libc.so.6": "the system's"})
    result = empty_prefix(prefix)
    assert result.returncode == 1
    assert f"{prefix} holds files this collection did not install" in result.stderr
    assert (prefix / "libc.so.6").read_text() == "the system's"


def test_the_stamp_empty_prefix_knows_is_the_roles(tmp_path):
    stamp = yaml.safe_load((FILES.parent / "vars" / "main.yml").read_text())["_charrnn_torch_stamp_name"]
    assert f"stamp={stamp}\n" in (FILES / "empty-prefix.sh").read_text()


def test_a_shared_build_is_unpacked_without_its_modes(tmp_path):
    built = tmp_path / "built"
    write_tree(built, {"bin/th": "th", "bin/setuid": "root shell", "share/open": "anyone writes"})
    (built / "bin" / "th").chmod(0o755)
    (built / "bin" / "setuid").chmod(0o4755)
    (built / "share" / "open").chmod(0o666)
    archive = tmp_path / "torch.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(built, arcname=".")
    prefix = tmp_path / "prefix"
    result = run("restore-torch.sh", {"CHARRNN_TORCH_PREFIX": str(prefix), "CHARRNN_TORCH_ARCHIVE": str(archive)})
    assert result.returncode == 0, result.stderr
    modes = {p: (prefix / p).stat().st_mode & 0o7777 for p in ("bin/th", "bin/setuid", "share/open")}
    assert modes == {"bin/th": 0o755, "bin/setuid": 0o755, "share/open": 0o644}
