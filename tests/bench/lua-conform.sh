#!/bin/sh
# Benchmark (not a test): the Lua conform engine (reascripts/ghostrec/core.lua, what REAPER
# runs) on a long stereo 24-bit take with glitches, against ghostrec-sync (C) and `cat` of
# both files in the same run. Prints wall seconds (and the CPU seconds of the Lua engine's
# phases) and checks both reports agree.
#   tests/bench/lua-conform.sh [BUILD_DIR] [SECONDS] [GLITCHES] [CLEAN_FORMAT]
# (defaults: build 600 20 float). CLEAN_FORMAT float: a float32 clean file (the exporter's
# default) against the 24-bit take, every sample decoded and compared; pcm24: a 24-bit clean
# file, where equal raw blocks decide most of the take at once.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
seconds=${2:-600}
glitches=${3:-20}
clean_format=${4:-float}
lua=${LUA:-lua5.4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

"$build/tests/lua/ghostrec-lua-bench-material" "$tmp" "$seconds" "$glitches" "$clean_format"
ls -l "$tmp"/take.wav "$tmp"/clean.wav | awk '{print $5, $9}'

t0=$(now); cat "$tmp/take.wav" "$tmp/clean.wav" > /dev/null; t1=$(now)
echo "cat both files:            $(elapsed "$t0" "$t1") s"

# wall seconds, and CPU seconds (user + system: less sensitive to a busy machine)
t0=$(now)
/usr/bin/time -f "%U %S %M" -o "$tmp/c.time" \
	"$build/exporter/ghostrec-sync" --take "$tmp/take.wav" --clean "$tmp/clean.wav" -o "$tmp/out.wav" \
	--join cut --report "$tmp/c.json" > /dev/null
t1=$(now)
echo "ghostrec-sync (C, incl. writing OUT): $(elapsed "$t0" "$t1") s wall, $(awk '{ printf "%.2f s CPU, max RSS %d KiB", $1 + $2, $3 }' "$tmp/c.time")"

t0=$(now)
GHOSTREC_SRC="$here" GHOSTREC_PHASES=1 /usr/bin/time -f "%U %S %M" -o "$tmp/lua.time" \
	"$lua" "$here/tests/lua/conform_file.lua" "$tmp/take.wav" "$tmp/clean.wav" > "$tmp/lua.json" 2> "$tmp/lua.err" ||
	{ cat "$tmp/lua.err" >&2; exit 1; }
t1=$(now)
echo "Lua conform ($lua):        $(elapsed "$t0" "$t1") s wall, $(awk '{ printf "%.2f s CPU, max RSS %d KiB", $1 + $2, $3 }' "$tmp/lua.time")"
sed 's/^/  /' "$tmp/lua.err"
# the floor for any Lua engine: both files read and decoded, nothing compared
GHOSTREC_SRC="$here" "$lua" "$here/tests/bench/lua-decode.lua" "$tmp/take.wav" "$tmp/clean.wav" | sed 's/^/  /'

GHOSTREC_SRC="$here" "$lua" "$here/tests/bench/lua-replace.lua" "$tmp/take.wav" "$tmp/clean.wav" 777 0

if cmp -s "$tmp/c.json" "$tmp/lua.json"; then
	echo "reports: identical ($(grep -c '"kind"' "$tmp/lua.json") glitches)"
else
	echo "reports DIFFER:"; diff "$tmp/c.json" "$tmp/lua.json" | head -20
	exit 1
fi
