#!/bin/bash
# ghostrec-sync as a user runs it: the shared vectors (take/clean pairs with a known glitch
# log), the report checked against the truth, OUT checked bit-exact, and bad input refused
# with one clear line on stderr and no OUT left behind.
# usage: test-sync-cli.sh GHOSTREC_SYNC GHOSTREC_MAKE_VECTORS
set -u
SYNC=$1
MAKE=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

"$MAKE" "$tmp/v" >/dev/null || { echo "FAIL: cannot make vectors" >&2; exit 1; }

# One clear line on stderr, non-zero exit, no output file.
expect_error() {
	local what=$1; shift
	rm -f "$tmp/err.wav" "$tmp/err.wav.part"
	"$SYNC" "$@" -o "$tmp/err.wav" 2>"$tmp/stderr" >/dev/null
	local rc=$?
	local lines
	lines=$(wc -l <"$tmp/stderr")
	if [ $rc -eq 0 ]; then bad "$what: exit 0"; fi
	if [ $rc -ge 128 ]; then bad "$what: crashed (status $rc)"; fi
	if [ "$lines" -ne 1 ]; then bad "$what: $lines stderr lines"; cat "$tmp/stderr" >&2; fi
	if [ -e "$tmp/err.wav" ] || [ -e "$tmp/err.wav.part" ]; then bad "$what: left an output file"; fi
	echo "$what -> $(cat "$tmp/stderr")"
}

for truth in "$tmp"/v/*/truth.json; do
	d=$(dirname "$truth")
	name=$(basename "$d")
	expect=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expect"])' "$truth")
	if [ "$expect" = error ]; then
		expect_error "$name" --take "$d/take.wav" --clean "$d/clean.wav"
		continue
	fi
	if ! "$SYNC" --take "$d/take.wav" --clean "$d/clean.wav" -o "$d/out.wav" --join cut \
		--report "$d/report.json" >"$tmp/stdout" 2>"$tmp/stderr"; then
		bad "$name: ghostrec-sync failed: $(cat "$tmp/stderr")"
		continue
	fi
	[ -s "$tmp/stderr" ] && bad "$name: stderr not empty when not a terminal: $(cat "$tmp/stderr")"
	python3 - "$truth" "$d/report.json" <<'PY' || bad "$name: report differs from the truth"
import json, sys
truth = json.load(open(sys.argv[1]))
rep = json.load(open(sys.argv[2]))
ok = True
for key in ("take_frames", "rate"):
    if rep[key] != truth[key]:
        print(f"  {key}: {rep[key]} != {truth[key]}", file=sys.stderr); ok = False
if rep["glitches"] != truth["glitches"]:
    print("  glitches differ:\n  report %s\n  truth  %s" % (rep["glitches"], truth["glitches"]), file=sys.stderr)
    ok = False
if rep["clean_channel"] != truth["clean_channel"]:
    print("  clean_channel %s != %s" % (rep["clean_channel"], truth["clean_channel"]), file=sys.stderr); ok = False
# Segments cover the take in order, never overlap, never map before the clean start.
end = 0
for s in rep["segments"]:
    if s["take_start"] < end or s["take_end"] <= s["take_start"] or s["clean_start"] < 0:
        print("  bad segment", s, file=sys.stderr); ok = False
    end = s["take_end"]
print("%-26s %2d glitches, alignment %s, %d segments" % (truth["name"], len(rep["glitches"]), rep["alignment"], len(rep["segments"])))
sys.exit(0 if ok else 1)
PY
	"$MAKE" --check "$name" "$d/out.wav" >/dev/null || bad "$name: OUT is not the pristine audio mapped through the true log"
done

# Default join (crossfade) and a W64 output path both work.
v="$tmp/v/drops-pcm24-mono"
"$SYNC" --take "$v/take.wav" --clean "$v/clean.wav" -o "$tmp/xf.wav" >/dev/null 2>&1 || bad "crossfade join failed"
cmp -s "$tmp/xf.wav" "$v/out.wav" && bad "crossfade output identical to cut output"
"$SYNC" --take "$v/take.wav" --clean "$v/clean.wav" -o "$tmp/xf2.wav" --xfade-ms 20 --report - >"$tmp/rep" 2>/dev/null || bad "--report - failed"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/rep" || bad "--report - is not JSON"

# Bad input.
expect_error "missing file" --take "$tmp/nope.wav" --clean "$v/clean.wav"
echo "not audio at all" >"$tmp/text.wav"
expect_error "text file" --take "$tmp/text.wav" --clean "$v/clean.wav"
head -c 44 "$v/take.wav" >"$tmp/header-only.wav"
expect_error "header-only WAV" --take "$tmp/header-only.wav" --clean "$v/clean.wav"
head -c 30 "$v/clean.wav" >"$tmp/cut-header.wav"
expect_error "truncated header" --take "$v/take.wav" --clean "$tmp/cut-header.wav"
head -c 3000 "$v/take.wav" >"$tmp/tiny.wav"
expect_error "truncated to 3000 bytes" --take "$tmp/tiny.wav" --clean "$v/clean.wav"
expect_error "bad join" --take "$v/take.wav" --clean "$v/clean.wav" --join wobble
expect_error "no args"
size=$(stat -c %s "$v/take.wav")
head -c $((size / 2)) "$v/take.wav" >"$tmp/half.wav"
expect_error "take truncated halfway" --take "$tmp/half.wav" --clean "$v/clean.wav"
size=$(stat -c %s "$tmp/v/mixed-rf64-clean24/clean.wav")
head -c $((size / 3)) "$tmp/v/mixed-rf64-clean24/clean.wav" >"$tmp/rf64-third.wav"
expect_error "RF64 clean truncated" --take "$tmp/v/mixed-rf64-clean24/take.wav" --clean "$tmp/rf64-third.wav"

# A --report that cannot be written is refused before OUT is written.
rc=0
"$SYNC" --take "$v/take.wav" --clean "$v/clean.wav" -o "$tmp/unwritten.wav" \
	--report "$tmp/no-such-dir/report.json" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc -ne 0 ] || bad "unwritable --report: exit 0"
grep -q -- "--report $tmp/no-such-dir/report.json: No such file or directory (nothing written)" "$tmp/err" ||
	bad "unwritable --report: $(cat "$tmp/err")"
[ ! -e "$tmp/unwritten.wav" ] && [ ! -e "$tmp/unwritten.wav.part" ] || bad "unwritable --report: OUT was written"
# ... and a run that fails does not leave an empty report it created behind.
rc=0
"$SYNC" --take "$tmp/text.wav" --clean "$v/clean.wav" -o "$tmp/unwritten.wav" --report "$tmp/r.json" \
	>/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] && [ ! -e "$tmp/r.json" ] || bad "a failed run left its report file behind"

"$SYNC" --help | grep -q -- "--join" || bad "--help"
exit $fail
