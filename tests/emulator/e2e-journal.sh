#!/bin/bash
# OSC never sent: REAPER's /record never reaches the exporter (the emulator sends no OSC at all),
# so no marker is ever asked for and no take is ever started. The exporter journals what the node
# hears all the same; `ghostrec-sync --journal` finds the REAPER take's audio in that journal by
# content alone and conforms it. Checked against an independent truth: the emulator's log of
# which relayed frame every take frame holds, located in a clean file exported from the journal
# by frame range (`ghostrec-ctl export`, the exporter's own path, checked bit-exact elsewhere):
# every take frame of the fixed take (--join cut) equals the pristine audio, and the reported
# glitches are the true ones (frame, kind, size). Then REAPER's way: the ReaScript's request file
# (probes of the take) is answered by the exporter with a clean take of that journal range.
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

# REAPER's side of the same: the ReaScript's request (reascripts/ghostrec/request.lua under Lua)
# goes into the inbox; the exporter answers with a clean take of the journal range, delivered
# like any take; conformed against it (no marker: by content) the take is exact again.
req_ok=1
src=$(cd "$(dirname "$0")/../.." && pwd)
lua5.4 -e "package.path = '$src/reascripts/?.lua;' .. package.path" -e "
	local request = require('ghostrec.request')
	local p, err = request.write('$work/outbox', '$work/emu/take.wav', 'take-1')
	if not p then io.stderr:write(err .. '\n') os.exit(1) end
	print('request written: ' .. p)" || fail "the ReaScript could not write its request"
PW_ENV_WAIT=30 pw_env_wait_for test -f "$work/outbox/requests/ghostrec-answer-take-1.json" || fail "no answer to the request"
answer=$(cat "$work/outbox/requests/ghostrec-answer-take-1.json")
echo "answer: $answer"
echo "$answer" | jq -e '.status == "found"' >/dev/null || fail "the exporter did not find the take: $answer"
ans_file=$(echo "$answer" | jq -r .file) ans_sidecar=$(echo "$answer" | jq -r .sidecar)
PW_ENV_WAIT=30 pw_env_wait_for test -f "$work/outbox/$ans_sidecar" || fail "the answered take was not delivered"
[ -e "$work/outbox/requests/ghostrec-request-take-1.json" ] && fail "the request was left to be served again"
"$build/exporter/ghostrec-sync" --take "$work/emu/take.wav" --clean "$work/outbox/$ans_file" -o "$work/fixed-answer.wav" \
	--join cut --report "$work/report-answer.json" || fail "ghostrec-sync on the answered clean take failed"
"$build/tests/emulator/relay-check" "$work/emu" "$work/outbox/$ans_file" "$work/fixed-answer.wav" "$work/expected-answer.json" \
	>"$work/check-answer.txt" || req_ok=0
grep -E "differ|true glitches" "$work/check-answer.txt"
jq -e --slurpfile e "$work/expected-answer.json" '.glitches == $e[0]' "$work/report-answer.json" >/dev/null || {
	echo "the glitches conformed against the answered take are not the true ones"; req_ok=0; }
cmp -s <(jq -c .glitches "$work/report-answer.json") <(jq -c .glitches "$work/report.json") || {
	echo "the answered take and --journal disagree"; req_ok=0; }
# bad requests get a clear answer and are not served again; audio never heard is not found
printf '{"ghostrec_request": 1, "rate": 48000, "take_frames": 10, "probes": [{"take_frame": "x"}]}' \
	>"$work/outbox/requests/ghostrec-request-bad.json"
python3 -c "
import random, struct, wave
random.seed(5)
w = wave.open('$work/noise.wav', 'wb'); w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b''.join(struct.pack('<h', random.randint(-12000, 12000)) for _ in range(48000 * 3))); w.close()"
lua5.4 -e "package.path = '$src/reascripts/?.lua;' .. package.path" \
	-e "assert(require('ghostrec.request').write('$work/outbox', '$work/noise.wav', 'noise'))" || fail "request for noise"
PW_ENV_WAIT=30 pw_env_wait_for test -f "$work/outbox/requests/ghostrec-answer-noise.json" || fail "no answer to the noise request"
for r in bad noise; do echo "answer ($r): $(cat "$work/outbox/requests/ghostrec-answer-$r.json")"; done
jq -e '.status == "error" and (.reason | test("take_frame"))' "$work/outbox/requests/ghostrec-answer-bad.json" >/dev/null ||
	{ echo "a malformed request did not get a clear error"; req_ok=0; }
jq -e '.status == "not-found"' "$work/outbox/requests/ghostrec-answer-noise.json" >/dev/null ||
	{ echo "audio never heard was found"; req_ok=0; }
ls "$work/outbox/requests" | grep -q request && { echo "a request was left behind"; req_ok=0; }
[ $req_ok = 1 ] && echo "REAPER request: answered with take $(echo "$answer" | jq .take_id), fixed take exact, glitches == truth"

if [ $check -eq 0 ]; then
	echo "RESULT: the take recovered from the journal equals the pristine audio at every take frame that has a clean counterpart"
else
	echo "RESULT: the fixed take differs from the pristine audio"
fi
[ $check -eq 0 ] && [ $report -eq 0 ] && [ $req_ok = 1 ]
