#!/bin/bash
# One ghostrec-exporter per control socket and per spool dir: a second one refuses with a clear
# message and leaves the first one's socket alone; --ctl-socket never removes what is not our own
# socket; a socket left behind by a SIGKILLed exporter is taken over; a clean stop removes only
# its own socket. No PipeWire needed (the exporter retries the node meanwhile).
# usage: instance-test.sh   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
EXP="$GHOSTREC_BUILD_DIR/exporter/ghostrec-exporter"
CTL="$GHOSTREC_BUILD_DIR/exporter/ghostrec-ctl"
T=$(mktemp -d "${TMPDIR:-/tmp}/gr-instance.XXXXXX")
pids=()
cleanup() {
	local status=$?
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ $status -eq 0 ] || { for f in "$T"/*.log; do echo "---- $f" >&2; tail -5 "$f" >&2; done; }
	rm -rf "$T"
	exit $status
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -m 700 "$T/run"
export XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/config" XDG_STATE_HOME="$T/state"
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # up to 10 s
	for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}
start() { # NAME args...: starts an exporter in the background, log $T/NAME.log
	local name=$1; shift
	"$EXP" --osc-bind 127.0.0.1 --osc-port "$(free_port)" --node gr-none$$ "$@" >"$T/$name.log" 2>&1 &
	pids+=($!)
	LAST=$!
}
sock="$XDG_RUNTIME_DIR/pw-ghost-rec/exporter.ctl"

# 1. the first exporter serves the default socket
start a --spool-dir "$T/spool-a"
a=$LAST
wait_for grep -q "listening osc_port" "$T/a.log" || fail "first exporter did not start"
wait_for test -S "$sock" || fail "no control socket"
ino=$(stat -c %i "$sock")
(( (0$(stat -c %a "$sock") & 077) == 0 )) || fail "control socket mode $(stat -c %a "$sock")"
"$CTL" status >/dev/null || fail "ghostrec-ctl cannot talk to the first exporter"

# 2. a second one on the same socket (own spool dir) refuses, touching nothing
rc=0; "$EXP" --osc-bind 127.0.0.1 --osc-port "$(free_port)" --node gr-none$$ --spool-dir "$T/spool-b" \
	>"$T/b.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a second exporter on the same control socket started"
grep -q "is served by another ghostrec-exporter (pid $a)" "$T/b.log" ||
	fail "second exporter's message: $(cat "$T/b.log")"
echo "second exporter: $(grep served "$T/b.log")"
[ "$(stat -c %i "$sock")" = "$ino" ] || fail "the second exporter replaced the first one's socket"
"$CTL" status >/dev/null || fail "the first exporter is unreachable after the second one gave up"

# 3. a second one on the same spool dir (own socket) refuses too
rc=0; "$EXP" --osc-bind 127.0.0.1 --osc-port "$(free_port)" --node gr-none$$ --spool-dir "$T/spool-a" \
	--ctl-socket "$T/other.ctl" >"$T/c.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "spool dir $T/spool-a is in use by another ghostrec-exporter (pid $a)" "$T/c.log" ||
	fail "same spool dir: rc $rc, $(cat "$T/c.log")"
[ ! -e "$T/other.ctl" ] || fail "the refused exporter left a socket behind"

# 4. --ctl-socket PATH that is a user's file (or a directory, or a symlink): refused, untouched
echo "a user's take" >"$T/take.wav"
ln -s "$T/take.wav" "$T/link.ctl"
mkdir "$T/dir.ctl"
for p in "$T/take.wav" "$T/link.ctl" "$T/dir.ctl"; do
	rc=0; "$EXP" --osc-bind 127.0.0.1 --osc-port "$(free_port)" --node gr-none$$ --spool-dir "$T/spool-d" \
		--ctl-socket "$p" >"$T/d.log" 2>&1 || rc=$?
	[ $rc -ne 0 ] && grep -q "exists and is not a socket: refusing to replace it" "$T/d.log" ||
		fail "--ctl-socket $p: rc $rc, $(cat "$T/d.log")"
done
echo "--ctl-socket on a file: $(grep refusing "$T/d.log")"
[ "$(cat "$T/take.wav")" = "a user's take" ] && [ -L "$T/link.ctl" ] && [ -d "$T/dir.ctl" ] ||
	fail "--ctl-socket damaged what was at the path"
[ ! -e "$T/take.wav.lock" ] || fail "a lock file was created beside a path that was refused"

# 5. SIGKILLed: its stale socket is taken over by the next exporter
kill -9 "$a"
wait "$a" 2>/dev/null || true
[ -S "$sock" ] || fail "no stale socket after SIGKILL (test premise)"
rc=0; "$CTL" status >"$T/ctl.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "not running" "$T/ctl.out" || fail "ghostrec-ctl on a stale socket: $(cat "$T/ctl.out")"
start e --spool-dir "$T/spool-a"
e=$LAST
wait_for grep -q "listening osc_port" "$T/e.log" || fail "exporter did not take over the stale socket"
wait_for "$CTL" status || fail "ghostrec-ctl cannot reach the new exporter"

# 6. a clean stop removes its own socket, and only when it is still its own
kill "$e"
wait "$e" 2>/dev/null || true
[ ! -e "$sock" ] || fail "socket left behind after a clean stop"
start f --spool-dir "$T/spool-a"
f=$LAST
wait_for test -S "$sock" || fail "no socket"
rm "$sock"
echo "not a socket" >"$sock" # someone else's file at the path meanwhile
kill "$f"
wait "$f" 2>/dev/null || true
[ "$(cat "$sock")" = "not a socket" ] || fail "the exporter removed a file that was not its socket on exit"
echo PASSED
