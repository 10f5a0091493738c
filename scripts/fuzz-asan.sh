#!/usr/bin/env bash
# `npm run fuzz -- --asan [run.ts options]` (or `bash scripts/fuzz-asan.sh [run.ts options]`):
# the fuzz runner (test/fuzz/run.ts) on the addon built with AddressSanitizer + UBSan.
#
# 1. Builds the sanitized addon into build-asan/ (the build of scripts/test-asan.sh: a copy of
#    binding.gyp and native/, node-gyp with -Dgamewire_sanitize=1; NODE_PATH lets a build outside
#    the package find node-addon-api) when it is missing or its
#    source stamp differs from the sources; build/ and prebuilds/ are never touched.
# 2. Runs the fuzzer with the sanitizer runtime preloaded (node itself is not instrumented, so
#    libasan must come first), GAMEWIRE_NATIVE=1 (a load failure is loud) and GAMEWIRE_PREBUILD
#    pointing at the sanitized build. Every report is fatal: ASan halts and aborts on the first
#    error, and the addon is compiled with -fno-sanitize-recover=all so UBSan aborts too.
#    The fuzzer's stderr is copied to a temporary file (kept on failure), and a report found
#    there fails the run even if the process somehow exited 0. Leak detection is off: node keeps its heap at exit, so every
#    run would report the isolate's allocations (not the addon's).
# 3. Exits with the fuzzer's status (1 on any failure, difference or sanitizer report).
#
#   GAMEWIRE_ASAN_SRC=dir   where binding.gyp and native/ are copied from (default: the package
#                           root). Used to prove the setup on a patched throwaway copy.
#   GAMEWIRE_ASAN_OUT=dir   the sanitized build (default: build-asan/, shared with test:asan)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=$(cd "${GAMEWIRE_ASAN_SRC:-$root}" && pwd)
out=${GAMEWIRE_ASAN_OUT:-$root/build-asan}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ! command -v "${CXX:-c++}" >/dev/null; then
  echo "fuzz:asan: no C++ compiler" >&2
  exit 1
fi
libasan=$("${CC:-gcc}" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "fuzz:asan: libasan not found (install the compiler's sanitizer runtime)" >&2
  exit 1
fi

# --- 1. the sanitized addon, rebuilt when missing or stale -------------------------------------
bash scripts/build-asan.sh "$out" --src "$src" >/dev/null

# --- 2. the fuzzer on it -------------------------------------------------------------------------
# stderr is copied to a temporary file and searched for reports afterwards (belt and braces: a
# report also makes the process exit non-zero). Not under $out: `npm run test:asan` may rebuild
# that directory meanwhile (the running fuzzer keeps the addon it mapped).
log=$(mktemp "${TMPDIR:-/tmp}/gamewire-fuzz-asan.XXXXXX")
echo "fuzz:asan: LD_PRELOAD=$libasan GAMEWIRE_PREBUILD=$out GAMEWIRE_NATIVE=1"
exec 3>&1
set +e
LD_PRELOAD=$libasan \
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  GAMEWIRE_PREBUILD=$out \
  GAMEWIRE_NATIVE=1 \
  GAMEWIRE_FUZZ_ASAN=1 \
  node --import tsx test/fuzz/run.ts "$@" 2>&1 1>&3 3>&- | tee "$log" >&2
status=${PIPESTATUS[0]}
set -e
exec 3>&-

# --- 3. the verdict --------------------------------------------------------------------------------
pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
set +e
grep -Eq "$pattern" "$log"
found=$?
set -e
if [ $found -eq 0 ]; then
  echo "fuzz:asan: FAILED, sanitizer report (exit status $status; stderr kept in $log)" >&2
  exit 1
fi
if [ $found -ne 1 ]; then
  echo "fuzz:asan: FAILED, cannot read the fuzzer's stderr copy $log" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz:asan: FAILED (exit status $status; stderr kept in $log)" >&2
  exit "$status"
fi
rm -f "$log"
echo "fuzz:asan: clean, no sanitizer report"
