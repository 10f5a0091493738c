#!/usr/bin/env bash
# scripts/build-asan.sh <outdir> [--rev <commit>] [--src <dir>]
#
# Builds the addon with AddressSanitizer + UBSan (node-gyp, -Dgamewire_sanitize=1) into <outdir>,
# from a copy of binding.gyp and native/, when <outdir> has no build or its source stamp differs
# from the sources; otherwise does nothing. Prints the directory to load it from (the value for
# GAMEWIRE_PREBUILD) as its last line of stdout; everything else goes to stderr.
#
# Each user of a sanitized build keeps its own <outdir> (the soak: build-asan-soak/, the relay
# engine fuzz: build-asan-fuzz/; `npm run test:asan` keeps build-asan/), because a stale stamp
# makes this script rm -rf <outdir>: a shared directory would be rebuilt under a running process.
# build/ and prebuilds/ of the package are never touched.
#
# Sources (the stamp is computed on the copy, so the loader accepts the build for what it was
# built from):
#   default            the working tree (binding.gyp and native/ as they are now)
#   --rev <commit>     binding.gyp and native/ of that commit (git archive): a soak of committed
#                      code while someone edits native/ in the working tree
#   --src <dir>        binding.gyp and native/ under <dir> (a patched throwaway copy)
# GAMEWIRE_ASAN_REV and GAMEWIRE_ASAN_SRC set the same when the options are absent.
#
# Exits 1 when there is no C++ compiler, no libasan, or the build fails (its log tail on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  echo "usage: scripts/build-asan.sh <outdir> [--rev <commit>] [--src <dir>]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
out_arg=$1
shift
rev=${GAMEWIRE_ASAN_REV:-}
src=${GAMEWIRE_ASAN_SRC:-}
while [ $# -gt 0 ]; do
  case $1 in
    --rev) [ $# -ge 2 ] || usage; rev=$2; shift 2 ;;
    --src) [ $# -ge 2 ] || usage; src=$2; shift 2 ;;
    *) usage ;;
  esac
done
if [ -n "$rev" ] && [ -n "$src" ]; then
  echo "build-asan: --rev and --src exclude each other" >&2
  exit 2
fi
case $out_arg in
  "" | / | . | .. | "$root" | "$root/") echo "build-asan: refusing to build into '$out_arg'" >&2; exit 2 ;;
esac

if ! command -v "${CXX:-c++}" >/dev/null; then
  echo "build-asan: no C++ compiler" >&2
  exit 1
fi
libasan=$("${CC:-gcc}" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "build-asan: libasan not found (install the compiler's sanitizer runtime)" >&2
  exit 1
fi

mkdir -p "$out_arg"
out=$(cd "$out_arg" && pwd)

# The sources, as a directory holding binding.gyp and native/.
staged=""
# An if, not `[ ] && rm`: a false test as the trap's last command would become the exit status.
cleanup() { if [ -n "$staged" ]; then rm -rf "$staged"; fi; }
trap cleanup EXIT
if [ -n "$rev" ]; then
  commit=$(git rev-parse --verify "$rev^{commit}")
  staged=$(mktemp -d "${TMPDIR:-/tmp}/gamewire-asan-src.XXXXXX")
  git archive "$commit" binding.gyp native | tar -x -C "$staged"
  src=$staged
  echo "build-asan: sources of commit $commit" >&2
elif [ -n "$src" ]; then
  src=$(cd "$src" && pwd)
  echo "build-asan: sources of $src" >&2
else
  src=$root
fi

expected=$(node scripts/source-hash.mjs "$src")
current=""
if [ -f "$out/build/Release/gamewire.node" ] && [ -d "$out/native" ]; then
  current=$(LD_PRELOAD=$libasan ASAN_OPTIONS=detect_leaks=0 node -p "require('$out/build/Release/gamewire.node').sourceHash" 2>/dev/null || true)
fi
if [ "$current" = "$expected" ]; then
  echo "build-asan: $out is up to date (stamp $expected)" >&2
  echo "$out"
  exit 0
fi

echo "build-asan: building the sanitized addon in $out (stamp $expected; log: $out/build.log)" >&2
rm -rf "$out"
mkdir -p "$out/scripts"
cp "$src/binding.gyp" "$out/"
cp -r "$src/native" "$out/"
cp scripts/source-hash.mjs "$out/scripts/"
nodedir=$(node --input-type=module -e "import { findNodedir } from '$root/scripts/prebuild.mjs'; process.stdout.write(findNodedir() ?? '')")
# NODE_PATH: binding.gyp finds node-addon-api from a directory outside the package.
if ! (cd "$out" && NODE_PATH=$root/node_modules npm_config_nodedir=$nodedir "$root/node_modules/.bin/node-gyp" rebuild -- -Dgamewire_sanitize=1) >"$out/build.log" 2>&1; then
  tail -n 30 "$out/build.log" >&2
  echo "build-asan: the sanitized build failed" >&2
  exit 1
fi
built=$(LD_PRELOAD=$libasan ASAN_OPTIONS=detect_leaks=0 node -p "require('$out/build/Release/gamewire.node').sourceHash" 2>/dev/null || true)
if [ "$built" != "$expected" ]; then
  echo "build-asan: the build in $out has stamp '$built', expected $expected" >&2
  exit 1
fi
echo "build-asan: built (stamp $expected)" >&2
echo "$out"
exit 0
