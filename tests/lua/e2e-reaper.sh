#!/bin/bash
# The REAPER side end to end, on files made by the real chain: signal -> ghostrec node (real
# PipeWire graph) -> PWAR relay emulator -> "REAPER take"; REAPER's OSC /record drives
# ghostrec-exporter, which delivers the clean take into an outbox = the scripts' inbox.
# Then ghostrec-sync fixes the take (--join cut), and the ReaScript replace action runs in
# the REAPER API mock on the same take with that inbox (test_e2e.lua): the Lua report must
# equal ghostrec-sync's, and the rendered REAPER timeline must equal the fixed take.
#
# usage: e2e-reaper.sh BUILD_DIR MODE FORMAT ASIO_BLOCK SEED LOSS TAKE_CHANNEL|stereo [SECONDS]
set -uo pipefail
build=$1 mode=$2 format=$3 block=$4 seed=$5 loss=$6 chan=$7 seconds=${8:-8}
src=$(cd "$(dirname "$0")/../.." && pwd)
lua=${LUA:-lua5.4}
for tool in "$build/tests/emulator/relay-emu" "$build/exporter/ghostrec-exporter" "$build/exporter/ghostrec-sync"; do
	[ -x "$tool" ] || { echo "skip: $tool not built"; exit 77; }
done
export GHOSTREC_BUILD_DIR=$build
. "$src/tests/lib/pw-env.sh"

PW_ENV_QUANTUM=256 pw_env_start || exit 1
work=$PW_ENV_DIR/e2e-reaper
mkdir -p "$work/inbox" "$work/spool"
EXP_PID=
cleanup() {
	local status=$?
	if [ -n "$EXP_PID" ]; then
		kill "$EXP_PID" 2>/dev/null
		wait "$EXP_PID" 2>/dev/null
	fi
	if [ $status -ne 0 ] && [ -f "$work/exporter.log" ]; then
		echo "---- exporter log ----" >&2
		tail -n 30 "$work/exporter.log" >&2
	fi
	(exit $status)
	pw_env_stop
}
trap cleanup EXIT
node=${PW_ENV_NODE:-ghostrec}
pw_env_wait_node "$node" || exit 1

port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/exporter/ghostrec-exporter" --osc-port "$port" --osc-bind 127.0.0.1 --node "$node" \
	--outbox "$work/inbox" --spool-dir "$work/spool" --preroll 2 --postroll 0.5 \
	--ctl-socket "$work/exporter.ctl" >"$work/exporter.log" 2>&1 &
EXP_PID=$!
PW_ENV_WAIT=15 pw_env_wait_for grep -q "attached" "$work/exporter.log" || { echo "exporter did not attach to the node" >&2; exit 1; }

if [ "$chan" = stereo ]; then chanarg=--stereo; else chanarg="--take-channel $chan"; fi
# shellcheck disable=SC2086
"$build/tests/emulator/relay-emu" --node "$node" --osc-port "$port" --out "$work/emu" --mode "$mode" \
	--asio-block "$block" --loss "$loss" --seed "$seed" --seconds "$seconds" --format "$format" $chanarg \
	|| { echo "relay emulator failed" >&2; exit 1; }

PW_ENV_WAIT=30 pw_env_wait_for sh -c "ls '$work/inbox'/ghostrec-*.json >/dev/null 2>&1 && ls '$work/inbox'/ghostrec-[0-9]*.wav >/dev/null 2>&1" \
	|| { echo "no clean take delivered" >&2; ls -la "$work/inbox" >&2; exit 1; }
clean=$(ls "$work/inbox"/ghostrec-[0-9]*.wav | grep -v -- '-ch[0-9]*\.wav$' | head -1)
echo "REAPER take: $work/emu/take.wav ($format, $chan), clean take: $(basename "$clean")"

"$build/exporter/ghostrec-sync" --take "$work/emu/take.wav" --clean "$clean" -o "$work/fixed.wav" \
	--join cut --report "$work/report.json" || { echo "ghostrec-sync failed" >&2; exit 1; }

# The emulator's true glitch log, when its checker can establish it for this run (it
# judges the relay and ghostrec-sync, which the emulator suite tests; here it only adds a
# third reference for the Lua glitch list).
expected=
if [ -x "$build/tests/emulator/relay-check" ]; then
	if "$build/tests/emulator/relay-check" "$work/emu" "$clean" "$work/fixed.wav" "$work/expected.json"; then
		expected=$work/expected.json
	else
		echo "relay-check did not confirm this run's true log; comparing with ghostrec-sync only"
	fi
fi

E2E_TAKE="$work/emu/take.wav" E2E_CLEAN="$clean" E2E_INBOX="$work/inbox" E2E_REPORT="$work/report.json" \
E2E_FIXED="$work/fixed.wav" E2E_EXPECTED="$expected" GHOSTREC_SRC="$src" GHOSTREC_BUILD="$build" \
	"$lua" "$src/tests/lua/run.lua" test_e2e.lua
