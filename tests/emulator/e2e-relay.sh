#!/bin/bash
# End to end on a real PipeWire graph: signal -> ghostrec node -> relay emulator (PWAR's Linux
# side, a seeded network, PWAR's Windows router; UDP on loopback) -> "REAPER take"; REAPER's
# OSC /record drives ghostrec-exporter, which writes the clean take; ghostrec-sync fixes the
# take. Checked: every take frame of the fixed take (--join cut) equals the pristine audio
# mapped through the emulator's true log, and ghostrec-sync reports every glitch at the
# exact frame with the exact kind and size. The single-offset alignment's error count is
# printed for contrast.
#
# usage: e2e-relay.sh BUILD_DIR QUANTUM [relay-emu options...]
#   e.g. e2e-relay.sh build 128 --mode pwar --asio-block 512 --loss 0.02 --seed 11
#   QUANTUM: the graph's fixed quantum (PWAR: at most 128). E2E_MIN_GLITCHES (default 12):
#   fewer true glitches than this is not a meaningful run.
set -uo pipefail
build=$1 quantum=$2
shift 2
export GHOSTREC_BUILD_DIR=$build
. "$(dirname "$0")/../lib/pw-env.sh"
. "$(dirname "$0")/../lib/exporter-env.sh"

PW_ENV_QUANTUM=$quantum pw_env_start || exit 1
work=$PW_ENV_DIR/e2e
mkdir -p "$work/outbox" "$work/spool"
trap exporter_env_stop EXIT
pw_env_wait_node "$PW_ENV_NODE" || exit 1

exporter_env_start "$work" "$PW_ENV_NODE" --outbox "$work/outbox" --spool-dir "$work/spool" \
	--preroll 2 --postroll 0.5 --ctl-socket "$work/exporter.ctl" || exit 1
port=$EXP_OSC_PORT

echo "quantum $quantum; relay-emu $*"
"$build/tests/emulator/relay-emu" --node "$PW_ENV_NODE" --osc-port "$port" --out "$work/emu" "$@" \
	|| { echo "relay emulator failed" >&2; exit 1; }

PW_ENV_WAIT=30 pw_env_wait_for sh -c "ls '$work/outbox'/ghostrec-*.json >/dev/null 2>&1 && ls '$work/outbox'/ghostrec-[0-9]*.wav >/dev/null 2>&1" \
	|| { echo "no clean take delivered" >&2; ls -la "$work/outbox" >&2; exit 1; }
clean=$(ls "$work/outbox"/ghostrec-[0-9]*.wav | grep -v -- '-ch[0-9]*\.wav$' | head -1)
echo "clean take: $(basename "$clean")"

"$build/exporter/ghostrec-sync" --take "$work/emu/take.wav" --clean "$clean" -o "$work/fixed.wav" \
	--join cut --report "$work/report.json" || { echo "ghostrec-sync failed" >&2; exit 1; }
"$build/tests/emulator/relay-check" "$work/emu" "$clean" "$work/fixed.wav" "$work/expected.json"
check=$?
python3 - "$work/report.json" "$work/expected.json" <<'PY'
import json, os, sys
rep = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
got = rep["glitches"]
print("ghostrec-sync: %d glitches reported, %d true; alignment %s, take id %s" % (len(got), len(exp), rep["alignment"], rep["take_id"]))
kinds = {}
for g in exp:
    kinds[g["kind"]] = kinds.get(g["kind"], 0) + 1
print("true glitches by kind:", kinds)
print("glitch list (kind@take_frame/frames):")
line = " "
for g in got:
    item = " %s@%d/%d" % (g["kind"], g["take_frame"], g["frames"])
    if len(line) + len(item) > 100:
        print(line)
        line = " "
    line += item
print(line)
if got != exp:
    print("MISMATCH between reported and true glitches:")
    for i in range(max(len(got), len(exp))):
        a = got[i] if i < len(got) else None
        b = exp[i] if i < len(exp) else None
        if a != b:
            print("  #%d reported %s, true %s" % (i, a, b))
    sys.exit(1)
if len(exp) < int(os.environ.get("E2E_MIN_GLITCHES", "12")):
    print("too few glitches for a meaningful run")
    sys.exit(1)
PY
report=$?
if [ $check -eq 0 ]; then
	echo "RESULT: the fixed take equals the pristine audio at every take frame that has a clean counterpart"
else
	echo "RESULT: the fixed take differs from the pristine audio"
fi
[ $check -eq 0 ] && [ $report -eq 0 ]
