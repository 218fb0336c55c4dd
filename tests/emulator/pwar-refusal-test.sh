#!/bin/bash
# PWAR's router refuses packets of more than 128 frames: with the graph at quantum 256 the
# emulator's Windows side gets every packet and REAPER records nothing (exit 3, empty take),
# while the same graph at quantum 128 records.
# usage: pwar-refusal-test.sh BUILD_DIR
set -uo pipefail
build=$1
export GHOSTREC_BUILD_DIR=$build
. "$(dirname "$0")/../lib/pw-env.sh"

PW_ENV_QUANTUM=256 pw_env_start || exit 1
pw_env_wait_node "$PW_ENV_NODE" || exit 1
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run() {
	"$build/tests/emulator/relay-emu" --node "$PW_ENV_NODE" --osc-port "$port" --out "$PW_ENV_DIR/$1" \
		--mode pwar --asio-block 512 --loss 0 --seconds 1.5 --warmup 0.5 --linger 0.2 > "$PW_ENV_DIR/$1.log" 2>&1
}
run q256
rc=$?
cat "$PW_ENV_DIR/q256.log"
frames=$(python3 -c 'import sys, wave; print(wave.open(sys.argv[1]).getnframes())' "$PW_ENV_DIR/q256/take.wav" 2>/dev/null || echo missing)
grep -q "refused every packet" "$PW_ENV_DIR/q256.log" || { echo "FAIL: no refusal reported" >&2; exit 1; }
[ "$rc" -eq 3 ] || { echo "FAIL: exit status $rc at quantum 256, expected 3" >&2; exit 1; }
[ "$frames" = 0 ] || { echo "FAIL: take has $frames frames at quantum 256, expected 0" >&2; exit 1; }
echo "ok: quantum 256: refused, take of 0 frames"

pw_env_set_quantum 128
run q128
rc=$?
tail -2 "$PW_ENV_DIR/q128.log"
frames=$(python3 -c 'import sys, wave; print(wave.open(sys.argv[1]).getnframes())' "$PW_ENV_DIR/q128/take.wav" 2>/dev/null || echo 0)
[ "$rc" -eq 0 ] && [ "$frames" -gt 48000 ] || { echo "FAIL: quantum 128: exit $rc, take $frames frames" >&2; exit 1; }
echo "ok: quantum 128: take of $frames frames"
echo PASSED
