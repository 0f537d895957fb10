#!/usr/bin/env bash
# The proof a Torch7 install passes before the rnn_bootstrap.charrnn.torch role stamps it, whether
# build-torch.sh built it or restore-torch.sh unpacked a build another host shared: the stamp comes
# only after this, so that a broken or interrupted install is never taken for a finished one.
#
# From the environment:
#   CHARRNN_TORCH_PREFIX          the install to prove
#   CHARRNN_TORCH_VERIFY_MODULES  the Lua modules char-rnn loads, space-separated
#   CHARRNN_TORCH_CLOCK           seconds the log already shows: its timestamps continue the build's
set -euo pipefail

prefix=${CHARRNN_TORCH_PREFIX:?}
# th runs as root, and Lua looks in ./ first: run where only root writes, not wherever the play started.
cd "$prefix"
read -r -a modules <<<"${CHARRNN_TORCH_VERIFY_MODULES:?}"
SECONDS=${CHARRNN_TORCH_CLOCK:-0}

echo "== [${SECONDS}s] proving the install"
# torch7 quietly falls back to its own unoptimised loops when CMake finds no BLAS library, and char-rnn's
# matrix products, nearly all of its work, become far slower.
th_lib=$(find "$prefix/lib" -name 'libTH.so*' -type f -print -quit)
# (Captured first: under pipefail, grep -q leaving early can kill ldd with SIGPIPE and fail the test.)
th_lib_links=$(ldd "$th_lib")
if ! grep -Eq 'lib(openblas|flexiblas|mkl_rt|blis)' <<<"$th_lib_links"; then
  echo "charrnn torch build: $th_lib is not linked to an optimised BLAS (OpenBLAS); install the OpenBLAS development package (role deps) and build again" >&2
  exit 1
fi
# torch7's own tensor test suite, so that a compiler or flag that breaks the maths fails here rather
# than in training.
torch_tests() { TERM=dumb "$prefix/bin/th" -e "torch.test($1)" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' || true; }
# One test alone ends in "in 1 test with", the whole suite in "in 164 tests with".
tests_passed() { grep -Eq 'in [0-9]+ tests? with 0 failures and 0 errors' <<<"$1"; }
tests=$(torch_tests "")
# Some tests are statistical on an unseeded generator (logNormal checks the mean of 100 draws within
# two standard errors or so) and fail now and then on a sound build: the ones that failed run twice
# more on their own, where a broken build fails again.
for retry in 1 2; do
  tests_passed "$tests" && break
  # No FAIL line (a crash) is no statistical failure: no retry, and the report below says why.
  mapfile -t failed < <(grep -Eo '[0-9]+/[0-9]+ [A-Za-z_][A-Za-z0-9_]* \.+ *\[(FAIL|ERROR)\]' <<<"$tests" \
    | awk '{ print $2 }' | sort -u || true)
  [ ${#failed[@]} -gt 0 ] || break
  echo "== torch.test(): ${failed[*]} failed, running again on its own (retry $retry of 2)"
  names=$(printf "'%s'," "${failed[@]}")
  tests=$(torch_tests "{${names%,}}")
done
if ! tests_passed "$tests"; then
  echo "charrnn torch build: torch.test() failed:" >&2
  { grep -E 'FAIL|ERROR|tests? with' <<<"$tests" || cat <<<"$tests"; } | tail -n 20 >&2
  exit 1
fi
requires=$(printf "require '%s'; " "${modules[@]}")
# Like th above: without a terminal type, loading asks tput for colours and complains in the log.
TERM=dumb "$prefix/bin/luajit" -e "${requires}print('torch ok')"
echo "== [${SECONDS}s] done"
