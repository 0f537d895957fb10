#!/usr/bin/env bash
# Builds Torch7 from torch/distro at a pinned commit into CHARRNN_TORCH_PREFIX, for the
# rnn_bootstrap.charrnn.torch role, which runs it only when the build stamp differs from the wanted one
# and then proves the install (prove-torch.sh) before it writes the stamp: an interrupted build is never
# taken for a finished one, and the next run starts again from an empty prefix. Unlike torch/distro's
# install.sh, which turns into a CUDA build whenever it sees nvcc, it builds the CUDA packages only when
# they are among the rocks it is given.
#
# The role's settings arrive in the environment:
#   CHARRNN_TORCH_PREFIX          install prefix, emptied first
#   CHARRNN_TORCH_BUILD_DIR       sources (src/), a CMake 3 from PyPI (cmake3/) and the flags file
#   CHARRNN_TORCH_REPO            torch/distro's repository
#   CHARRNN_TORCH_VERSION         the commit to build
#   CHARRNN_GIT_MIRROR            stands in for https://github.com/ in every submodule; empty: GitHub
#   CHARRNN_TORCH_LUA             LUAJIT21, LUAJIT20, LUA51, LUA52 or LUA53
#   CHARRNN_TORCH_ROCKS           the packages in build order, space-separated name:path:rockspec
#   CHARRNN_TORCH_BUILD_JOBS      parallel compile jobs
#   CHARRNN_TORCH_CFLAGS          C flags of every package
#   CHARRNN_TORCH_CXXFLAGS        C++ flags of every package
#   CHARRNN_TORCH_CMAKE_PIP_SPEC  PyPI requirement of the CMake used where the host's is not 3.x
#   CHARRNN_TORCH_CMAKE_PIP_HASHES  its hashes (sha256:<hex>, space-separated); empty installs it unchecked
set -euo pipefail

prefix=${CHARRNN_TORCH_PREFIX:?}
build_dir=${CHARRNN_TORCH_BUILD_DIR:?}
repo=${CHARRNN_TORCH_REPO:?}
version=${CHARRNN_TORCH_VERSION:?}
mirror=${CHARRNN_GIT_MIRROR-}
lua=${CHARRNN_TORCH_LUA:?}
read -r -a rocks <<<"${CHARRNN_TORCH_ROCKS:?}"
jobs=${CHARRNN_TORCH_BUILD_JOBS:?}
cmake3_spec=${CHARRNN_TORCH_CMAKE_PIP_SPEC:?}
read -r -a cmake3_hashes <<<"${CHARRNN_TORCH_CMAKE_PIP_HASHES:-}"
src=$build_dir/src
cmake3_dir=$build_dir/cmake3
# The upstream changes live beside this script.
patch_sources=$(dirname "${BASH_SOURCE[0]}")/patch-sources.sh

fail() { echo "charrnn torch build: $*" >&2; exit 1; }

# Every GitHub URL torch/distro and its submodules name goes to the mirror when one is set, and
# git:// (dropped by GitHub in 2022) always becomes HTTPS or the mirror.
git_opts=(-c protocol.file.allow=always -c advice.detachedHead=false)
if [ -n "$mirror" ]; then
  git_opts+=(-c "url.$mirror.insteadOf=https://github.com/" -c "url.$mirror.insteadOf=git://github.com/")
else
  git_opts+=(-c url.https://github.com/.insteadOf=git://github.com/)
fi

export MAKEFLAGS="-j$jobs"
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
export CFLAGS="${CHARRNN_TORCH_CFLAGS?}"
export CXXFLAGS="${CHARRNN_TORCH_CXXFLAGS?}"
# Every package builds as CMake's Release, whose -O3 comes after CFLAGS and wins, and makes torch7's
# tensor code compile for far longer than at -O2. Emptying the Release flags leaves the optimisation to
# CFLAGS (CMake 3.21+ reads CMAKE_TOOLCHAIN_FILE from the environment); the vector kernels keep the -O3
# their own CMake files give them.
flags_file=$build_dir/release-flags.cmake
mkdir -p "$build_dir"
cat > "$flags_file" <<'CMAKE'
set(CMAKE_C_FLAGS_RELEASE "-DNDEBUG" CACHE STRING "Release C flags; optimisation comes from CFLAGS")
set(CMAKE_CXX_FLAGS_RELEASE "-DNDEBUG" CACHE STRING "Release C++ flags; optimisation comes from CXXFLAGS")
CMAKE
export CMAKE_TOOLCHAIN_FILE="$flags_file"
export CMAKE_PREFIX_PATH="$prefix"
export CMAKE_LIBRARY_PATH="$prefix/lib${CMAKE_LIBRARY_PATH:+:$CMAKE_LIBRARY_PATH}"
# SUSE keeps libopenblas.so in a directory of its own per threading flavour.
for blas_dir in /usr/lib64/openblas-pthreads /usr/lib64/openblas-openmp; do
  [ ! -d "$blas_dir" ] || CMAKE_LIBRARY_PATH="$CMAKE_LIBRARY_PATH:$blas_dir"
done

# torch7 sets CMake policies that CMake 4 no longer has; where the host's CMake is not 3.x, one from
# PyPI goes into a virtualenv of the build directory (a plain venv and pip: minimal hosts lack
# setuptools).
cmake_version() { { "$1" --version 2>/dev/null || true; } | sed -n 1p; }
if [[ "$(cmake_version cmake)" != "cmake version 3."* ]]; then
  if [[ "$(cmake_version "$cmake3_dir/bin/cmake")" != "cmake version 3."* ]]; then
    echo "== [${SECONDS}s] the host's CMake is '$(cmake_version cmake)': $cmake3_spec from PyPI into $cmake3_dir"
    rm -rf "$cmake3_dir"
    # pip runs as root here: with hashes it installs only the files they name.
    requirement=("$cmake3_spec")
    if [ ${#cmake3_hashes[@]} -gt 0 ]; then
      printf '%s%s\n' "$cmake3_spec" "$(printf ' --hash=%s' "${cmake3_hashes[@]}")" >"$build_dir/cmake3-requirements.txt"
      requirement=(--require-hashes --requirement "$build_dir/cmake3-requirements.txt")
    fi
    if ! { python3 -m venv "$cmake3_dir" && "$cmake3_dir/bin/pip" install --quiet "${requirement[@]}"; }; then
      fail "no CMake 3.x on the host and pip could not install '$cmake3_spec' (charrnn_torch_cmake_pip_spec, charrnn_torch_cmake_pip_hashes)"
    fi
  fi
  export PATH="$cmake3_dir/bin:$PATH"
fi
echo "== [${SECONDS}s] cmake: $(command -v cmake) ($(cmake_version cmake))"
case "$(cmake_version cmake)" in
  "cmake version 3."*) ;;
  *) fail "torch7 needs CMake 3.x, found '$(cmake_version cmake)' at $(command -v cmake)" ;;
esac

echo "== [${SECONDS}s] source: $repo @ $version"
if [ ! -d "$src/.git" ]; then
  rm -rf "$src"
  git "${git_opts[@]}" clone --no-checkout "$repo" "$src" \
    || fail "cannot clone $repo: check charrnn_git_mirror / charrnn_torch_repo and that the host can reach it"
fi
cd "$src"
git "${git_opts[@]}" remote set-url origin "$repo"
if ! git cat-file -e "$version^{commit}" 2>/dev/null; then
  git "${git_opts[@]}" fetch --tags origin \
    || fail "cannot fetch $repo: check charrnn_git_mirror / charrnn_torch_repo"
fi
git cat-file -e "$version^{commit}" 2>/dev/null \
  || fail "commit $version does not exist in $repo (charrnn_torch_version)"
git "${git_opts[@]}" checkout --force --quiet "$version"
git clean -ffdxq
[ "$(git rev-parse HEAD)" = "$(git rev-parse "$version^{commit}")" ] || fail "checkout of $version did not land"

submodules=(exe/luajit-rocks)
for rock in "${rocks[@]}"; do
  IFS=: read -r _ path _ <<<"$rock"
  submodules+=("$path")
done
git "${git_opts[@]}" submodule sync --quiet
git "${git_opts[@]}" submodule update --init --force --checkout "${submodules[@]}" \
  || fail "cannot fetch torch/distro submodules (${submodules[*]}): check charrnn_git_mirror"
git submodule foreach --quiet 'git clean -ffdxq'

bash "$patch_sources"

case "$lua" in
  LUAJIT21) luajit_dir=luajit-2.1 ;;
  LUAJIT20) luajit_dir=luajit-2.0 ;;
  *) luajit_dir= ;;
esac

echo "== [${SECONDS}s] luajit + luarocks into $prefix"
bash "$(dirname "${BASH_SOURCE[0]}")/empty-prefix.sh" "$prefix"
rm -rf build && mkdir build && cd build
cmake .. -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=Release "-DWITH_$lua=ON" \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
if [ -z "$luajit_dir" ]; then
  make
# Only the installed targets: the default one also compiles LuaJIT's amalgamated source a third time, for
# a static library nothing uses. patch-sources.sh adds a target that builds both side by side.
elif grep -qx 'add_custom_target(charrnn_luajit_binaries)' "../exe/luajit-rocks/$luajit_dir/CMakeLists.txt"; then
  make charrnn_luajit_binaries
else
  make libluajit
  make luajit
fi
make install >/dev/null
cd ..
if [ -n "$luajit_dir" ] && [[ " ${rocks[*]} " != *" luaffi:"* ]]; then
  cat >> "$prefix/etc/luarocks/config.lua" <<'LUA'

-- LuaJIT has the ffi module built in: rocks that ask for luaffi (nn) take it as installed.
rocks_provided = { luaffi = "scm-1" }
LUA
fi

luarocks="$prefix/bin/luarocks"
# Each rock comes after the rocks it needs, all from the pinned sources: LuaRocks is never to fetch a
# dependency it misses from the network (that would run unpinned code as root). The proof finds one missing.
for rock in "${rocks[@]}"; do
  IFS=: read -r name path rockspec <<<"$rock"
  echo "== [${SECONDS}s] $name"
  (cd "$path" && "$luarocks" make --deps-mode=none "$rockspec")
done
