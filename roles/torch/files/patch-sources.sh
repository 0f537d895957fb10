#!/usr/bin/env bash
# The changes build-torch.sh makes to torch/distro's sources, run in the checkout after its submodules:
# each spreads over every core what upstream's build leaves to one, and none changes the code
# compiled. Each is checked against the layout at the pinned commit and skipped, with a note, where the
# sources differ.
#
# From the environment (as build-torch.sh gets them):
#   CHARRNN_TORCH_LUA    LUAJIT21, LUAJIT20, LUA51, LUA52 or LUA53
#   CHARRNN_TORCH_ROCKS  the packages built, space-separated name:path:rockspec
set -euo pipefail

lua=${CHARRNN_TORCH_LUA:?}
rocks=" ${CHARRNN_TORCH_ROCKS:?} "

# torch7 compiles all its tensor code as one file, THTensor.c: one core works on it for most of the
# build while the others wait. Its math and convolution parts become one file per element type, so that
# make -j spreads them over every core; the code compiled is the same.
split_tensor_unit() {
  local th=pkg/torch/lib/TH part type unit units="" head
  # The longest units first, so that make -j ends with short ones on every core.
  local types=(Double Float Byte Char Short Int Long)
  for part in Math Conv; do
    if [ "$(grep -A1 -x "#include \"generic/THTensor$part.c\"" "$th/THTensor.c" | tail -n 1)" != '#include "THGenerateAllTypes.h"' ] \
       || ! grep -q ' THTensor\.c ' "$th/CMakeLists.txt"; then
      echo "== THTensor.c is not laid out as expected: compiled as one file"
      return 0
    fi
  done
  head=$(awk '/^#include "generic\/TH/ { exit } { print }' "$th/THTensor.c")
  for part in Math Conv; do
    for type in "${types[@]}"; do
      unit=THTensor$part$type.c
      # isTransposed is defined with the tensor basics but declared in no header.
      printf '%s\nint TH%sTensor_isTransposed(const TH%sTensor *self);\n#include "generic/THTensor%s.c"\n#include "THGenerate%sType.h"\n' \
        "$head" "$type" "$type" "$part" "$type" > "$th/$unit"
      units="$units $unit"
    done
    sed -i "/^#include \"generic\/THTensor$part.c\"\$/{N;d}" "$th/THTensor.c"
  done
  sed -i "s/ THTensor\.c / $units THTensor.c /" "$th/CMakeLists.txt"
  # char-rnn computes in float tensors (the train module's default precision) or double ones: the
  # maths of both keeps CFLAGS' optimisation. Convolutions are not on char-rnn's path: float's
  # compiles at -O1, in far less time; integer tensors only hold indices, and theirs compiles
  # unoptimised. What is left in THTensor.c (views, copies, random fills) is bookkeeping, at -O1.
  cat >> "$th/CMakeLists.txt" <<'CMAKE'
SET_SOURCE_FILES_PROPERTIES(THTensorMathByte.c THTensorMathChar.c THTensorMathShort.c THTensorMathInt.c THTensorMathLong.c THTensorConvByte.c THTensorConvChar.c THTensorConvShort.c THTensorConvInt.c THTensorConvLong.c PROPERTIES COMPILE_FLAGS -O0)
SET_SOURCE_FILES_PROPERTIES(THTensorConvFloat.c THTensor.c PROPERTIES COMPILE_FLAGS -O1)
CMAKE
}

# nn's THNN is one file too, every layer for float and double; it becomes one file per type, so that
# make -j compiles the two side by side, both optimised: char-rnn trains with either.
split_thnn_unit() {
  local thnn=extra/nn/lib/THNN type
  if ! grep -qx 'ADD_LIBRARY(THNN MODULE init.c)' "$thnn/CMakeLists.txt" \
     || grep -v '^#include "THGenerateFloatTypes.h"$' "$thnn/init.c" | grep '^#include "THGenerate' >/dev/null; then
    echo "== THNN's init.c is not laid out as expected: compiled as one file"
    return 0
  fi
  for type in Float Double; do
    sed "s/^#include \"THGenerateFloatTypes.h\"\$/#include \"THGenerate${type}Type.h\"/" "$thnn/init.c" > "$thnn/init$type.c"
  done
  sed -i 's/^ADD_LIBRARY(THNN MODULE init.c)$/ADD_LIBRARY(THNN MODULE initDouble.c initFloat.c)/' "$thnn/CMakeLists.txt"
}

# torch's Lua bindings are one generated file, TensorMath.c, which only compiles once libTH is built:
# it comes first so that the other files share the second core, and unoptimised, in about half the time
# of -O2. It only checks arguments and calls into TH, a negligible share of a char-rnn batch.
bindings_first() {
  local cmakelists=pkg/torch/CMakeLists.txt
  if ! grep -q '^SET(src .* TensorMath\.c ' "$cmakelists"; then
    echo "== torch's CMakeLists.txt is not laid out as expected: bindings compiled as they are"
    return 0
  fi
  sed -i 's/^SET(src \(.*\) TensorMath\.c /SET(src TensorMath.c \1 /' "$cmakelists"
  echo 'SET_SOURCE_FILES_PROPERTIES(TensorMath.c PROPERTIES COMPILE_FLAGS -O0)' >> "$cmakelists"
}

# LuaJIT's shared library and its executable each compile the amalgamated source. Both targets list the
# same generated headers, which make -j would write twice at once; a target that generates them first
# lets the two compile side by side. build-torch.sh builds charrnn_luajit_binaries where it exists.
luajit_targets_side_by_side() {
  local cmakelists=exe/luajit-rocks/$1/CMakeLists.txt
  if ! grep -q '^SET(DEPS' "$cmakelists" || ! grep -q '^ *add_library(libluajit SHARED' "$cmakelists" \
     || ! grep -q '^ *add_executable(luajit ' "$cmakelists"; then
    echo "== LuaJIT's CMakeLists.txt is not laid out as expected: built one target after the other"
    return 0
  fi
  cat >> "$cmakelists" <<'CMAKE'
add_custom_target(charrnn_luajit_generated DEPENDS ${DEPS})
add_dependencies(libluajit charrnn_luajit_generated)
add_dependencies(luajit charrnn_luajit_generated)
add_custom_target(charrnn_luajit_binaries)
add_dependencies(charrnn_luajit_binaries libluajit luajit)
CMAKE
}

split_tensor_unit
if [[ "$rocks" == *" nn:"* ]]; then
  split_thnn_unit
fi
bindings_first
case "$lua" in
  LUAJIT21) luajit_targets_side_by_side luajit-2.1 ;;
  LUAJIT20) luajit_targets_side_by_side luajit-2.0 ;;
esac
