#!/bin/sh
# Benchmark (not a test): the replace action in REAPER (mock) on a 60-minute stereo 24-bit take
# with 100 glitches, "Replace all" in a project with 40 older recordings: total time and the
# longest uninterrupted UI slice (REAPER looks frozen from ~100 ms). Prints numbers only.
#   tests/bench/lua-replace.sh [BUILD_DIR] [SECONDS] [GLITCHES] [OLD_TAKES]   (build 3600 100 40)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
seconds=${2:-3600}
glitches=${3:-100}
old=${4:-40}
lua=${LUA:-lua5.4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# (the material generator holds the whole take several times in memory: ~2 GB per 1000 s)
/usr/bin/time -f "material: %e s, max RSS %M KiB" "$build/tests/lua/ghostrec-lua-bench-material" "$tmp" "$seconds" "$glitches"
GHOSTREC_SRC="$here" /usr/bin/time -f "Lua process (REAPER's side): %U s user + %S s system CPU, max RSS %M KiB" \
	"$lua" "$here/tests/bench/lua-replace.lua" "$tmp/take.wav" "$tmp/clean.wav" 777 "$old"
