#!/bin/bash
# The REAPER side end to end, on files made by the real chain: signal -> ghostrec node (real
# PipeWire graph) -> PWAR relay emulator -> "REAPER take"; REAPER's OSC /record drives
# ghostrec-exporter, which delivers the clean take into an outbox = the scripts' inbox.
# Then ghostrec-sync fixes the take (--join cut), and the ReaScript replace action runs in
# the REAPER API mock on the same take with that inbox (test_e2e.lua): the Lua report must
# equal ghostrec-sync's, and the rendered REAPER timeline must equal the fixed take.
#
# usage: e2e-reaper.sh BUILD_DIR MODE FORMAT ASIO_BLOCK SEED LOSS TAKE_CHANNEL|stereo [SECONDS [QUANTUM]]
set -uo pipefail
build=$1 mode=$2 format=$3 block=$4 seed=$5 loss=$6 chan=$7 seconds=${8:-8} quantum=${9:-128}
src=$(cd "$(dirname "$0")/../.." && pwd)
lua=${LUA:-lua5.4}
for tool in "$build/tests/emulator/relay-emu" "$build/exporter/ghostrec-exporter" "$build/exporter/ghostrec-sync"; do
	[ -x "$tool" ] || { echo "skip: $tool not built"; exit 77; }
done
export GHOSTREC_BUILD_DIR=$build
. "$src/tests/lib/pw-env.sh"
. "$src/tests/lib/exporter-env.sh"

PW_ENV_QUANTUM=$quantum pw_env_start || exit 1
work=$PW_ENV_DIR/e2e-reaper
mkdir -p "$work/inbox" "$work/spool"
trap exporter_env_stop EXIT
node=${PW_ENV_NODE:-ghostrec}
pw_env_wait_node "$node" || exit 1

exporter_env_start "$work" "$node" --outbox "$work/inbox" --spool-dir "$work/spool" \
	--preroll 2 --postroll 0.5 --ctl-socket "$work/exporter.ctl" || exit 1
port=$EXP_OSC_PORT

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
