#!/bin/bash
# ghostrec-sync when another program cuts an input file shorter while it is read (a take still
# being copied over, a clean file rewritten): its inputs are read through mapped windows, where
# that raises SIGBUS. It must end with one clear line and exit 1, and leave nothing behind (no
# OUT, no OUT.part, no report it created). Deterministic: both inputs are cut where the run
# starts the thread that writes OUT (both open, their audio not yet read: fault-at-thread.c,
# preloaded), then the run goes on.
# Also the run without its render thread (the shim refuses it): the same OUT, rendered after;
# and a full disk under OUT.
# usage: test-sync-faults.sh GHOSTREC_SYNC GHOSTREC_MAKE_VECTORS FAULT_SHIM
set -u
SYNC=$1
MAKE=$2
SHIM=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MAKE" "$tmp/v" >/dev/null || { echo "FAIL: cannot make vectors" >&2; exit 1; }
fail=0
for v in drops-pcm24-mono inserts-float-stereo; do
	d=$tmp/v/$v
	[ -f "$d/take.wav" ] || { echo "FAIL: no vector $v" >&2; exit 1; }
	GHOSTREC_TEST_TRUNCATE="$d/take.wav:$d/clean.wav" LD_PRELOAD="$SHIM" "$SYNC" --take "$d/take.wav" \
		--clean "$d/clean.wav" -o "$d/out.wav" --join cut --report "$d/report.json" >/dev/null 2>"$d/stderr"
	rc=$?
	msg=$(cat "$d/stderr")
	echo "$v: exit $rc, take now $(stat -c %s "$d/take.wav") bytes / stderr: $msg"
	[ "$(stat -c %s "$d/take.wav")" = 4096 ] || { echo "FAIL: $v: the inputs were not cut (shim not loaded?)"; fail=1; continue; }
	[ $rc = 1 ] || { echo "FAIL: $v: exit $rc, not 1"; fail=1; }
	echo "$msg" | grep -q "an input file got shorter while it was read" ||
		{ echo "FAIL: $v: no clear message"; fail=1; }
	[ "$(grep -c . "$d/stderr")" -eq 1 ] || { echo "FAIL: $v: more than one line on stderr"; fail=1; }
	for f in out.wav out.wav.part report.json; do
		[ -e "$d/$f" ] && { echo "FAIL: $v: $f left behind"; fail=1; }
	done
done
# Without the render thread (pthread_create refused): OUT rendered after the engine, the same
# report and the same samples as with it.
"$MAKE" "$tmp/w" >/dev/null || { echo "FAIL: cannot make vectors" >&2; exit 1; }
w=$tmp/w/drops-pcm24-mono
"$SYNC" --take "$w/take.wav" --clean "$w/clean.wav" -o "$w/beside.wav" --report "$w/beside.json" >/dev/null 2>&1 ||
	{ echo "FAIL: the normal run failed"; fail=1; }
GHOSTREC_TEST_NO_THREAD=1 LD_PRELOAD="$SHIM" "$SYNC" --take "$w/take.wav" --clean "$w/clean.wav" -o "$w/after.wav" \
	--report "$w/after.json" >/dev/null 2>"$w/after.err"
rc=$?
echo "no render thread: exit $rc $(cat "$w/after.err")"
[ $rc = 0 ] || { echo "FAIL: without the render thread: exit $rc"; fail=1; }
cmp -s "$w/beside.json" "$w/after.json" || { echo "FAIL: without the render thread: another report"; fail=1; }
cmp -s "$w/beside.wav" "$w/after.wav" || { echo "FAIL: without the render thread: another OUT"; fail=1; }
# A full disk (a 128 KiB tmpfs in a private mount namespace; needs root, as CI runs): one line
# with OUT's path and the reason, exit 1, nothing left there (no OUT, no OUT.part, no report).
mkdir -p "$tmp/tiny"
if unshare -m true 2>/dev/null; then
	unshare -m sh -c 'mount -t tmpfs -o size=128k tmpfs "$1" || exit 77
		"$2" --take "$3/take.wav" --clean "$3/clean.wav" -o "$1/out.wav" --report "$1/report.json" \
			>/dev/null 2>"$4"
		echo $? >"$5"; ls -A "$1" >"$6"' sh "$tmp/tiny" "$SYNC" "$w" "$tmp/full.err" "$tmp/full.rc" "$tmp/full.ls"
	echo "disk full: exit $(cat "$tmp/full.rc") $(cat "$tmp/full.err") / left: $(cat "$tmp/full.ls")"
	[ "$(cat "$tmp/full.rc")" = 1 ] || { echo "FAIL: disk full: exit $(cat "$tmp/full.rc")"; fail=1; }
	grep -q "out.wav: cannot write it: No space left on device" "$tmp/full.err" ||
		{ echo "FAIL: disk full: no clear message"; fail=1; }
	[ "$(grep -c . "$tmp/full.err")" -eq 1 ] || { echo "FAIL: disk full: more than one line on stderr"; fail=1; }
	[ -s "$tmp/full.ls" ] && { echo "FAIL: disk full: left behind: $(cat "$tmp/full.ls")"; fail=1; }
else
	echo "disk full: not checked (no private mount namespace here: needs root)"
fi
[ $fail = 0 ] && echo "PASS: a truncated input ends the run with one clear line, nothing left behind; without the render thread OUT is the same; a full disk says so"
exit $fail
