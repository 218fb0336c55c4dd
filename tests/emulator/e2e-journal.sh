#!/bin/bash
# OSC never sent: REAPER's /record never reaches the exporter (the emulator sends no OSC at all),
# so no marker is ever asked for and no take is ever started. The exporter journals what the node
# hears all the same; `ghostrec-sync --journal` finds the REAPER take's audio in that journal by
# content alone and conforms it. Checked against an independent truth: the emulator's log of
# which relayed frame every take frame holds, located in a clean file exported from the journal
# by frame range (`ghostrec-ctl export`, the exporter's own path, checked bit-exact elsewhere):
# every take frame of the fixed take (--join cut) equals the pristine audio, and the reported
# glitches are the true ones (frame, kind, size).
#
# usage: e2e-journal.sh BUILD_DIR QUANTUM [relay-emu options...]
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
	--ctl-socket "$work/exporter.ctl" --journal-min-free 0 || exit 1
ctl() { "$build/exporter/ghostrec-ctl" --socket "$work/exporter.ctl" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
w0=$(ctl --json status | jq '.nodes[0].write_frame')
[ -n "$w0" ] && [ "$w0" != null ] || fail "no status from the exporter"

echo "quantum $quantum; relay-emu --no-osc $*"
"$build/tests/emulator/relay-emu" --node "$PW_ENV_NODE" --no-osc --out "$work/emu" "$@" \
	|| fail "relay emulator failed"
st=$(ctl --json status)
echo "$st" | jq -e '.recorder.starts == 0 and .recorder.takes_started == 0 and (.takes | length) == 0 and .osc.counters.packets == 0' \
	>/dev/null || fail "the exporter was asked for a take: $(echo "$st" | jq -c '{recorder, osc}')"
echo "exporter: no /record received, no take started; journal $(echo "$st" | jq -c '.nodes[0].journal | {seconds, bytes, segments, gaps: (.gaps | length)}')"

# REAPER's take, the journal, nothing else
"$build/exporter/ghostrec-sync" --take "$work/emu/take.wav" --journal "$work/spool" -o "$work/fixed.wav" \
	--join cut --report "$work/report.json" --clean-out "$work/excerpt.wav" || fail "ghostrec-sync --journal failed"

# the truth: everything the node heard since before the emulator started, exported by frame range
w1=$(ctl --json status | jq '.nodes[0].write_frame')
ctl export --from "frame:$w0" --to "frame:$w1" -o "$work/clean.wav" >/dev/null || fail "export failed"
"$build/tests/emulator/relay-check" "$work/emu" "$work/clean.wav" "$work/fixed.wav" "$work/expected.json"
check=$?
python3 - "$work/report.json" "$work/expected.json" <<'PY'
import json, os, sys
rep = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
got = rep["glitches"]
print("ghostrec-sync --journal: %d glitches reported, %d true; alignment %s, take id %s" % (len(got), len(exp), rep["alignment"], rep["take_id"]))
kinds = {}
for g in exp:
    kinds[g["kind"]] = kinds.get(g["kind"], 0) + 1
print("true glitches by kind:", kinds)
if rep["alignment"] != "content" or rep["take_id"] is not None:
    print("the take was aligned by something else than its content")
    sys.exit(1)
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
	echo "RESULT: the take recovered from the journal equals the pristine audio at every take frame that has a clean counterpart"
else
	echo "RESULT: the fixed take differs from the pristine audio"
fi
[ $check -eq 0 ] && [ $report -eq 0 ]
