#!/bin/bash
# ghostrec-sync when another program cuts an input file shorter while it is read (a take still
# being copied over, a clean file rewritten): its inputs are read through mapped windows, where
# that raises SIGBUS. It must end with one clear line and exit 1, and leave nothing behind (no
# OUT, no OUT.part, no report it created). Deterministic: gdb stops the run where the thread
# that writes OUT starts (beside the engine's walk, which has read little or nothing yet),
# both inputs are truncated there, then the run goes on.
# usage: test-sync-truncated.sh GHOSTREC_SYNC GHOSTREC_MAKE_VECTORS
set -u
SYNC=$1
MAKE=$2
command -v gdb >/dev/null || { echo "SKIP: gdb not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MAKE" "$tmp/v" >/dev/null || { echo "FAIL: cannot make vectors" >&2; exit 1; }
fail=0
for v in drops-pcm24-mono inserts-float-stereo; do
	d=$tmp/v/$v
	[ -f "$d/take.wav" ] || { echo "FAIL: no vector $v" >&2; exit 1; }
	gdb -batch -nx -q \
		-ex 'handle SIGBUS nostop noprint pass' \
		-ex 'set breakpoint pending on' \
		-ex 'break ghostrec_conform_render_feed' \
		-ex "run --take $d/take.wav --clean $d/clean.wav -o $d/out.wav --join cut --report $d/report.json >/dev/null 2>$d/stderr" \
		-ex "shell truncate -s 4096 $d/take.wav $d/clean.wav" \
		-ex 'continue' \
		--args "$SYNC" >"$d/gdb.log" 2>&1
	msg=$(cat "$d/stderr")
	echo "$v: $(grep -E 'exited|terminated|signal' "$d/gdb.log" | tail -1) / stderr: $msg"
	grep -q "Breakpoint 1, ghostrec_conform_render_feed" "$d/gdb.log" ||
		{ echo "FAIL: $v: the run never reached the render"; cat "$d/gdb.log"; fail=1; continue; }
	grep -q "exited with code 01" "$d/gdb.log" || { echo "FAIL: $v: did not exit 1"; cat "$d/gdb.log"; fail=1; }
	echo "$msg" | grep -q "an input file got shorter while it was read" ||
		{ echo "FAIL: $v: no clear message"; fail=1; }
	[ "$(grep -c . "$d/stderr")" -eq 1 ] || { echo "FAIL: $v: more than one line on stderr"; fail=1; }
	for f in out.wav out.wav.part report.json; do
		[ -e "$d/$f" ] && { echo "FAIL: $v: $f left behind"; fail=1; }
	done
done
[ $fail = 0 ] && echo "PASS: a truncated input ends the run with one clear line, nothing left behind"
exit $fail
