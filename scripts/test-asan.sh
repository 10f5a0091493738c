#!/usr/bin/env bash
# `npm run test:asan`: the addon rebuilt with AddressSanitizer + UBSan, and the component tests
# run on it (GAMEWIRE_NATIVE=1, so a load failure is loud). Must be clean.
#
# The sanitized addon is built in build-asan/ from a copy of binding.gyp and native/, so the
# normal build/ and prebuilds/ are never touched (nothing to restore afterwards); the tests find
# it through GAMEWIRE_PREBUILD, node-gyp-build's directory override, and the loader checks its
# source stamp against the copied sources as usual. node itself is not instrumented, so the
# ASan runtime is preloaded (it must come first); leak detection is off because node keeps its
# heap at exit. Any ASan or UBSan report aborts the test process and fails the run.
#
#   DIFF_RUNS=n   differential cases per component under ASan (default 1000)
#   ASAN_TESTS=s  only the test files whose path contains s (e.g. ASAN_TESTS=native-engine)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build-asan

if ! command -v "${CXX:-c++}" >/dev/null; then
  echo "test:asan: no C++ compiler" >&2
  exit 1
fi
libasan=$("${CC:-gcc}" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "test:asan: libasan not found (install the compiler's sanitizer runtime)" >&2
  exit 1
fi

# The sanitized addon, rebuilt when missing or stale (scripts/build-asan.sh; only this script uses
# build-asan/).
bash scripts/build-asan.sh "$out" >/dev/null

tests=()
for name in joint-parser frame-decoder chunk-assembler aead event-ring differential; do
  [ -f "test/core/$name.test.ts" ] && tests+=("test/core/$name.test.ts")
done
# The WebSocket codec of the native engine (native/ws-*.cc).
[ -f test/native/ws-codec.test.ts ] && tests+=(test/native/ws-codec.test.ts)
# The native relay engine (issue 19): its I/O thread, sockets and routing under the sanitizers.
for file in test/native-engine/*.test.ts; do
  [ -f "$file" ] && tests+=("$file")
done
# ASAN_TESTS=<substring>: run only the test files whose path contains it (e.g. native-engine).
if [ -n "${ASAN_TESTS:-}" ]; then
  filtered=()
  for file in "${tests[@]}"; do
    [[ "$file" == *"$ASAN_TESTS"* ]] && filtered+=("$file")
  done
  tests=("${filtered[@]}")
fi

echo "test:asan: running ${tests[*]}"
LD_PRELOAD=$libasan \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  GAMEWIRE_PREBUILD=$out \
  GAMEWIRE_NATIVE=1 \
  DIFF_RUNS=${DIFF_RUNS:-1000} \
  node_modules/.bin/vitest run "${tests[@]}"
echo "test:asan: clean (normal build/ and prebuilds/ untouched)"
