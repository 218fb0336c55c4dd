#!/usr/bin/env bash
# End-to-end exporter tests on real components: a private PipeWire with the ghostrec node,
# gr-signal playing a deterministic signal through it (and capturing the node's output), the
# exporter driven by OSC sent from other processes (oscsend, python), delivery to a private smbd
# on a loopback port. Every delivered take is checked bit-exact against the played signal and
# its marker offset against the frame the node marked in its output (gr-check-take).
#   chain-test.sh takes|long-take|kill|smb-outage|smb-ahead|bad-input|ring-change|two-nodes|node-restart|
#                 late-marker|export|fault-matrix
set -euo pipefail
scenario=${1:?scenario}
: "${GHOSTREC_BUILD_DIR:?}" "${GHOSTREC_SOURCE_DIR:?}"
B=$GHOSTREC_BUILD_DIR
S=$GHOSTREC_SOURCE_DIR
EXPORTER=$B/exporter/ghostrec-exporter
CTL=$B/exporter/ghostrec-ctl
SIGNAL=$B/tests/exporter/gr-signal
CHECK=$B/tests/exporter/gr-check-take
ZSEND=$B/tests/exporter/gr-zmq-send
RINGCHECK=$B/tests/exporter/gr-ring-check
SMBD=$S/tests/exporter/smbd.sh

ring=4 preroll=0.5 postroll=0.25
[ "$scenario" = long-take ] && ring=0.25 preroll=0.1 postroll=0.1
[ "$scenario" = late-marker ] && ring=30 # the ring still holds the take when it is checked
[ "$scenario" = export ] && ring=30 # the ring still holds the exported range when it is checked
[ "$scenario" = fault-matrix ] && ring=2 # faults longer than the ring lose audio: exact gaps
rate=48000
preroll_frames=$(python3 -c "print(round($preroll*$rate))")
postroll_frames=$(python3 -c "print(round($postroll*$rate))")

# shellcheck source=../lib/pw-env.sh
. "$S/tests/lib/pw-env.sh"
# The graph: freewheeling, paced at real time by gr-pace. A cycle late on a busy machine is
# late, never an xrun, so the test's own player and capture (the truth every take is checked
# against) miss nothing, and every frame missing from a take is one the exporter did not keep.
# (Under a real-time driver an overloaded machine makes the player and the capture skip cycles
# at different moments, and the capture stops being a record of what the node put out.)
# Under a real-time driver: late-marker (it freezes the daemon and checks against the node's
# own ring), node-restart (a restarted freewheel graph runs unpaced until its pacer is back)
# and two-nodes (marks time out when a second node joins a paced freewheel graph).
paced=1
case $scenario in late-marker|node-restart|two-nodes) paced=0 ;; esac
SIGNAL_ARGS=()
if [ $paced = 1 ]; then
	export PW_ENV_GHOSTREC_ARGS="node.group = pipewire.freewheel"
	SIGNAL_ARGS=(--group pipewire.freewheel)
fi
if [ "$scenario" = two-nodes ]; then
	# a second ghostrec node (another input group) beside the one pw-env loads
	NODE_B=ghostrec-b$$
	dropin_dir=$(mktemp -d)
	sed "s/^\( *node.name *= *\)ghostrec *$/\1$NODE_B/" "$S/pipewire.conf.d/60-ghostrec.conf" \
		> "$dropin_dir/61-ghostrec-b.conf"
	export PW_ENV_DROPINS="$dropin_dir/61-ghostrec-b.conf"
fi
PW_ENV_QUANTUM=${CHAIN_QUANTUM:-1024} pw_env_start
[ -n "${dropin_dir:-}" ] && rm -rf "$dropin_dir"
NODE=$PW_ENV_NODE
T=$PW_ENV_DIR/chain
mkdir -p "$T"
SIG_PID= EXP_PID=

cleanup() {
	# (each line must not fail: this runs under set -e from the EXIT trap)
	if [ -n "${REAPER_PID:-}" ]; then kill "$REAPER_PID" 2>/dev/null || true; fi
	if [ -n "$EXP_PID" ]; then kill "$EXP_PID" 2>/dev/null || true; wait "$EXP_PID" 2>/dev/null || true; fi
	if [ -n "$SIG_PID" ]; then kill "$SIG_PID" 2>/dev/null || true; wait "$SIG_PID" 2>/dev/null || true; fi
	if [ -n "${SIG_B_PID:-}" ]; then kill "$SIG_B_PID" 2>/dev/null || true; fi
	if [ -n "${PACE_PID:-}" ]; then kill "$PACE_PID" 2>/dev/null || true; fi
	"$SMBD" stop "$T/smb" 2>/dev/null || true
	if [ -n "${FAULT_MNT:-}" ]; then umount -l "$FAULT_MNT" 2>/dev/null || true; fi
}
on_exit() {
	local st=$?
	set +e # "(exit $st)" below must not end the trap before pw_env_stop stops PipeWire
	cleanup
	if [ "$st" -ne 0 ] && [ -f "$T/exporter.log" ]; then
		echo "---- exporter log ----" >&2
		tail -n 60 "$T/exporter.log" >&2
	fi
	(exit "$st")
	pw_env_stop
}
trap on_exit EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

pw_env_wait_node "$NODE"
# the ring length, set over the node's control channel (recreates the ring)
r=$(printf '{"ghostrec":1,"req":"set","ring_seconds":%s}' "$ring" |
	"$ZSEND" "ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/$NODE.ctl")
echo "$r" | jq -e --argjson want "$ring" '.ok == true and .ring_seconds == $want' >/dev/null ||
	fail "node did not take ring_seconds $ring: $r"

start_pace() {
	"$GHOSTREC_BUILD_DIR/tests/exporter/gr-pace" 1 >/dev/null 2>&1 &
	PACE_PID=$!
	pw_env_wait_node gr-pace
}
[ $paced = 1 ] && start_pace
# deterministic player + capture of the node's output
"$SIGNAL" "${SIGNAL_ARGS[@]}" --capture "$T/capture.raw" --max-seconds 100 >"$T/signal.out" 2>&1 &
SIG_PID=$!
pw_env_wait_node gr-player
pw_env_wait_node gr-capture
pw_env_wait_for pw-link gr-player:output_0 "$NODE:input_FL" || fail "cannot link player"
pw_env_wait_for pw-link gr-player:output_1 "$NODE:input_FR" || fail "cannot link player"
pw_env_wait_for pw-link "$NODE:output_FL" gr-capture:input_0 || fail "cannot link capture"
pw_env_wait_for pw-link "$NODE:output_FR" gr-capture:input_1 || fail "cannot link capture"
# (event, not sleep) the graph runs and the ring holds a whole preroll of the player's signal
# before the first /record: a mark asked of a graph that does not run yet times out
"$B/tests/exporter/gr-ring-wait" "$NODE" $((preroll_frames + 4096)) 30 >/dev/null || fail "the graph does not run"

SMB_PORT=$("$SMBD" start "$T/smb")
OSC_PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SHARE=$T/smb/share/in
SPOOL=$T/spool

start_exporter() {
	# CHAIN_EXPORTER_WRAPPER: e.g. "valgrind --leak-check=full" to check the daemon itself
	${CHAIN_EXPORTER_WRAPPER:-} "$EXPORTER" --node "$NODE" --osc-port "$OSC_PORT" --spool-dir "$SPOOL" \
		--smb-url "smb://127.0.0.1:$SMB_PORT/takes/in" --smb-credentials "$T/smb/cred" \
		--preroll "$preroll" --postroll "$postroll" --split-channels --retry-max 1 "$@" \
		>>"$T/exporter.log" 2>&1 &
	EXP_PID=$!
	pw_env_wait_for test -S "$XDG_RUNTIME_DIR/pw-ghost-rec/exporter.ctl" || fail "exporter did not start"
	wait_json '.nodes[0].attached == true' || fail "exporter did not attach to the node"
}

status() { "$CTL" status --json; }
# waits until the jq expression holds on `ghostrec-ctl status --json` (default 15 s)
wait_json() {
	local deadline=$((SECONDS + ${2:-15}))
	until status 2>/dev/null | jq -e "$1" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && { echo "timeout waiting for: $1" >&2; status >&2 || true; return 1; }
		sleep 0.1
	done
}
osc() { oscsend 127.0.0.1 "$OSC_PORT" "$@"; }

# checks every delivered take on the share; $1 = expected count, rest = extra gr-check-take args
check_share() {
	local want=$1 n=0 f
	shift
	for f in "$SHARE"/ghostrec-*.wav; do
		case $f in *-ch[0-9]*.wav) continue ;; esac
		"$CHECK" "$f" --capture "$T/capture.raw" --channels 2 --postroll-frames "$postroll_frames" "$@" ||
			fail "take $f is not what was played"
		n=$((n + 1))
	done
	[ "$n" -eq "$want" ] || fail "$n takes on the share, want $want"
}

stop_signal() {
	kill "$SIG_PID"
	wait "$SIG_PID" || fail "gr-signal failed"
	SIG_PID=
	cat "$T/signal.out"
}

take_seconds() { # frames between marker and the end minus postroll, in seconds, from the sidecar
	jq -r --argjson post "$postroll_frames" '(.frames - .marker_frame - $post) / .rate' "$SHARE/ghostrec-$1.json"
}

case $scenario in
takes)
	# REAPER's OSC input stands in as a UDP listener: after each delivery the exporter must send
	# /action/str <id> there, and never /record
	REAPER_PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 - "$REAPER_PORT" "$T/reaper.txt" <<-'PY' &
	import socket, sys
	u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	u.bind(('127.0.0.1', int(sys.argv[1])))
	with open(sys.argv[2], 'w', buffering=1) as out:
	    while True:
	        d = u.recv(65536)
	        addr = d[:d.index(b'\0')].decode()
	        tags = d[(len(addr) // 4 + 1) * 4:]
	        arg = tags[(tags.index(b'\0') // 4 + 1) * 4:].split(b'\0')[0].decode(errors='replace')
	        out.write(addr + ' ' + arg + '\n')
	PY
	REAPER_PID=$!
	mkdir -p "$T/outbox"
	start_exporter --outbox "$T/outbox" --reaper-action _RSghostrec_replace_all --reaper-host 127.0.0.1 \
		--reaper-port "$REAPER_PORT"
	say "take 1: /record 1.0 ... /record 0.0 (floats, as REAPER sends them)"
	osc /record f 1.0
	osc /stop f 0.0 # REAPER's "transport not stopped" feedback: must not stop the take
	wait_json '.takes[0].state == "recording"' || fail "take 1 not recording"
	reply=$(python3 - "$OSC_PORT" <<-'PY'
	import socket, sys
	u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	u.settimeout(3)
	u.sendto(b'/ghostrec/status\0\0\0\0,\0\0\0', ('127.0.0.1', int(sys.argv[1])))
	d = u.recv(4096)
	parts = [p.decode(errors='replace') for p in d.split(b'\0') if p]
	print(' '.join(parts[:4]))
	PY
	)
	echo "/ghostrec/status -> $reply"
	"$CTL" status | tee "$T/ctl-recording.txt" | head -1
	grep -q '\*\* RECORDING \*\*' "$T/ctl-recording.txt" || fail "ghostrec-ctl status does not say RECORDING"
	"$CTL" takes | grep -E "take [0-9]+ +recording +node $NODE" || fail "ghostrec-ctl takes does not list the take"
	case $reply in "/ghostrec/status ,ssi recording "*) ;; *) fail "bad /ghostrec/status reply: $reply" ;; esac
	sleep 1
	osc /record f 0.0
	wait_json '.counters.delivered == 1' || fail "take 1 not delivered"
	say "take 2: int arguments"
	osc /record i 1
	sleep 0.8
	osc /record i 0
	wait_json '.counters.delivered == 2' || fail "take 2 not delivered"
	say "take 3: /record 1 repeated while recording (no new take)"
	osc /record f 1.0
	sleep 0.3
	osc /record f 1.0
	osc /record i 1
	sleep 0.5
	status | jq -e '(.takes | length) == 1 and .recorder.repeated_starts == 2' >/dev/null ||
		fail "a repeated /record 1 started another take"
	osc /record f 0.0
	osc /record f 0.0 # repeated stop: nothing to stop
	wait_json '.counters.delivered == 3' || fail "take 3 not delivered"
	say "take 4: stopped by /stop"
	osc /record f 1.0
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' 5 || fail "take 4 did not start"
	sleep 0.6
	say "take 5: starts at once, its preroll reaching back into take 4's postroll (overlapping ranges of the journal), stopped by a bundle"
	# /stop and the next /record 1 in one packet: the stop frame and the next mark request are
	# one exporter tick apart whatever the machine's load (separate packets may be seconds apart
	# on a starved machine, and then the takes do not overlap)
	python3 - "$OSC_PORT" <<-'PY'
	import socket, struct, sys
	def s(x):
	    b = x.encode() + b'\0'
	    return b + b'\0' * ((4 - len(b) % 4) % 4)
	els = [s('/stop') + s(','), s('/record') + s(',f') + struct.pack('>f', 1.0)]
	pkt = b'#bundle\0' + struct.pack('>Q', 1) + b''.join(struct.pack('>i', len(e)) + e for e in els)
	socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(pkt, ('127.0.0.1', int(sys.argv[1])))
	PY
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' 5 || fail "take 5 did not start"
	sleep 0.7
	python3 - "$OSC_PORT" <<-'PY'
	import socket, struct, sys
	def s(x):
	    b = x.encode() + b'\0'
	    return b + b'\0' * ((4 - len(b) % 4) % 4)
	def msg(a, t, *v):
	    out = s(a) + s(',' + t)
	    for k, x in zip(t, v):
	        out += struct.pack('>f', x) if k == 'f' else s(x)
	    return out
	els = [msg('/time', 'f', 3.5), msg('/beat/str', 's', '2.1.00'), msg('/record', 'f', 0.0)]
	pkt = b'#bundle\0' + struct.pack('>Q', 1) + b''.join(struct.pack('>i', len(e)) + e for e in els)
	socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(pkt, ('127.0.0.1', int(sys.argv[1])))
	PY
	wait_json '.counters.delivered == 5 and (.queue | length) == 0' || fail "take 5 not delivered"
	"$CTL" status
	status | jq -e '.recorder.takes_started == 5 and .recorder.lost_frames == 0 and .osc.counters.ignored >= 3' \
		>/dev/null || fail "counters do not match five clean takes"
	say "ghostrec-ctl mark: a marker without a take"
	markers=$(status | jq '.nodes[0].counters.markers')
	"$CTL" mark
	wait_json ".nodes[0].counters.markers == $((markers + 1))" || fail "ghostrec-ctl mark did not mark"
	"$CTL" takes
	say "REAPER got: $(sort "$T/reaper.txt" | uniq -c | tr '\n' ' ')"
	kill "$REAPER_PID"
	REAPER_PID=
	[ "$(grep -c '^/action/str _RSghostrec_replace_all$' "$T/reaper.txt")" -eq 5 ] || fail "not one /action/str per take"
	! grep -q '^/record' "$T/reaper.txt" || fail "the exporter sent /record to REAPER"
	for f in "$SHARE"/ghostrec-*; do
		cmp "$f" "$T/outbox/$(basename "$f")" || fail "outbox copy of $f differs"
	done
	[ -z "$(ls -A "$T/outbox" | grep -v '^ghostrec-[0-9]*\(-ch[01]\)\?\.\(wav\|json\)$' | grep -vx requests)" ] ||
		fail "stray files in the outbox: $(ls -A "$T/outbox")"
	stop_signal
	check_share 5 --preroll-frames "$preroll_frames" --min-frames $((preroll_frames + postroll_frames + rate / 2)) |
		tee "$T/check.txt"
	t4=$(status | jq -r '.delivered[3].take_id') t5=$(status | jq -r '.delivered[4].take_id')
	end4=$(sed -n "s/^take $t4: .*signal frames [0-9]*\.\.\([0-9]*\) .*/\1/p" "$T/check.txt")
	start5=$(sed -n "s/^take $t5: .*signal frames \([0-9]*\)\.\..*/\1/p" "$T/check.txt")
	echo "take 4 ends at signal frame $end4, take 5 starts at $start5"
	[ -n "$end4" ] && [ -n "$start5" ] && [ "$start5" -le "$end4" ] ||
		fail "takes 4 and 5 do not overlap (take 5 started too late to test overlapping takes)"
	say "the checker itself catches a changed sample and a marker off by one frame"
	first=$(status | jq -r '.delivered[0].take_id')
	mkdir -p "$T/bad1" "$T/bad2"
	cp "$SHARE/ghostrec-$first.wav" "$SHARE/ghostrec-$first.json" "$T/bad1/"
	python3 - "$T/bad1/ghostrec-$first.wav" <<-'PY'
	import sys
	b = bytearray(open(sys.argv[1], 'rb').read())
	i = b.index(b'data') + 8 + 4000 * 8      # frame 4000, channel 0
	b[i] ^= 0x01                             # one LSB of one sample
	open(sys.argv[1], 'wb').write(b)
	PY
	! "$CHECK" "$T/bad1/ghostrec-$first.wav" --capture "$T/capture.raw" --channels 2 2>/dev/null ||
		fail "checker missed a changed sample"
	cp "$SHARE/ghostrec-$first.wav" "$T/bad2/"
	jq -c '.marker_frame += 1' "$SHARE/ghostrec-$first.json" > "$T/bad2/ghostrec-$first.json"
	! "$CHECK" "$T/bad2/ghostrec-$first.wav" --capture "$T/capture.raw" --channels 2 2>/dev/null ||
		fail "checker missed a sidecar marker off by one"
	for id in $(status | jq -r '.delivered[].take_id'); do
		echo "take $id: $(take_seconds "$id") s between marker and stop"
	done
	[ -z "$(ls -A "$SPOOL/queue")" ] || fail "spool queue not empty after delivery"
	ls "$SPOOL"/take-* 2>/dev/null && fail "spool files left behind"
	;;
long-take)
	start_exporter --format pcm24
	cap=$(status | jq -r '.nodes[0].ring_seconds')
	say "ring holds $cap s; recording 3 s (12x the ring)"
	cpu_ticks() { awk '{print $14 + $15}' "/proc/$EXP_PID/stat"; }
	t0=$(cpu_ticks)
	osc /record f 1.0
	sleep 3
	osc /record f 0.0
	t1=$(cpu_ticks)
	echo "measured: exporter CPU while spooling 3 s of stereo audio: $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )) ms"
	wait_json '.counters.delivered == 1' || fail "long take not delivered"
	# the journal runs on after the take: what the take holds is what counts here
	id=$(status | jq -r '.delivered[0].take_id')
	jq -e '(.gaps // []) | length == 0' "$SHARE/ghostrec-$id.json" >/dev/null ||
		fail "frames were lost while spooling: $(jq -c .gaps "$SHARE/ghostrec-$id.json")"
	stop_signal
	check_share 1 --preroll-frames "$preroll_frames" --min-frames $((3 * rate))
	;;
kill)
	start_exporter
	osc /record f 1.0
	wait_json '.takes[0].state == "recording"' || fail "not recording"
	sleep 1
	say "SIGKILL the exporter mid-take"
	kill -9 "$EXP_PID"
	wait "$EXP_PID" 2>/dev/null || true
	EXP_PID=
	ls "$SPOOL"
	echo '{"take_id": "garbage' >"$SPOOL/take-1.state" # a damaged state file must not stop the restart
	sleep 0.5
	say "restart it"
	start_exporter
	wait_json '.recorder.recovered == 1 and .takes[0].state == "recording"' || fail "take not resumed"
	grep -q "take-1.state is unreadable" "$T/exporter.log" || fail "no log line about the damaged state file"
	[ -f "$SPOOL/take-1.state" ] || fail "the damaged state file was deleted"
	sleep 1
	osc /record f 0.0
	wait_json '.counters.delivered == 1' || fail "resumed take not delivered"
	status | jq -e '.recorder.lost_frames == 0' >/dev/null || fail "frames lost across the restart"
	stop_signal
	check_share 1 --preroll-frames "$preroll_frames" --min-frames $((2 * rate))
	id=$(status | jq -r '.delivered[0].take_id')
	echo "take $id: $(take_seconds "$id") s between marker and stop, across a SIGKILL"
	;;
smb-outage)
	start_exporter --retry-max 30
	osc /record f 1.0
	sleep 0.8
	say "smbd goes away before the take ends"
	"$SMBD" stop "$T/smb"
	osc /record f 0.0
	wait_json '(.queue | length) == 1 and .queue[0].attempts >= 2 and (.queue[0].last_error | length) > 0' ||
		fail "take not queued with retries"
	"$CTL" status
	id=$(status | jq -r '.queue[0].take_id')
	[ -f "$SPOOL/queue/$id/ghostrec-$id.wav" ] || fail "queued take not kept in the spool"
	[ ! -e "$SHARE/ghostrec-$id.wav" ] || fail "take on the share although smbd is down"
	say "smbd is back; ghostrec-ctl retry skips the backoff"
	wait_json '.queue[0].attempts >= 3' || fail "no third attempt"
	status | jq -e '.queue[0].next_try_s > 2' >/dev/null || fail "backoff did not grow: $(status | jq -c .queue)"
	"$SMBD" restart "$T/smb" >/dev/null
	"$CTL" retry
	wait_json '.counters.delivered == 1 and (.queue | length) == 0' 2 || fail "not delivered right after retry"
	[ ! -e "$SPOOL/queue/$id" ] || fail "spool not cleaned after delivery"
	stop_signal
	check_share 1 --preroll-frames "$preroll_frames"
	;;
smb-ahead)
	# The take goes to the share while it is recorded (only synced bytes, under a temporary
	# name); at its end only the tail, the finished header and the cue chunks are sent. An smbd
	# outage in the middle of the take pauses that; it carries on from where it was.
	start_exporter --retry-max 1
	osc /record f 1.0
	wait_json '.takes[0].state == "recording"' || fail "take not recording"
	id=$(status | jq -r '.takes[0].take_id')
	part=$SHARE/.ghostrec-$id.wav.part
	part_bytes() { stat -c %s "$part" 2>/dev/null || echo 0; }
	part_over() { [ "$(part_bytes)" -gt "$1" ]; }
	# (the take's files are synced once a second: more than a second of stereo float32 there)
	PW_ENV_WAIT=15 pw_env_wait_for part_over $((702 + rate * 8)) ||
		fail "nothing of the take on the share while it is recorded ($(part_bytes) bytes)"
	# (the channel files follow the main file's step: on a loaded machine a moment later)
	for ch in 0 1; do
		PW_ENV_WAIT=15 pw_env_wait_for test -e "$SHARE/.ghostrec-$id-ch$ch.wav.part" ||
			fail "channel file $ch not sent ahead"
	done
	[ ! -e "$SHARE/ghostrec-$id.wav" ] || fail "the take has its final name before it ended"
	grep "sending it ahead" "$T/exporter.log" && fail "sending ahead failed with smbd up"
	say "smbd goes away during the take, and comes back"
	"$SMBD" stop "$T/smb"
	before=$(part_bytes)
	PW_ENV_WAIT=15 pw_env_wait_for grep -q "take $id: sending it ahead to smb.*failed" "$T/exporter.log" ||
		fail "no log line about the share going away"
	"$SMBD" restart "$T/smb" >/dev/null
	PW_ENV_WAIT=15 pw_env_wait_for grep -q "take $id: sending it ahead to smb.* again" "$T/exporter.log" ||
		fail "sending ahead did not resume"
	PW_ENV_WAIT=15 pw_env_wait_for part_over $((before + rate * 8)) ||
		fail "the copy on the share did not grow again after the outage"
	osc /record f 0.0
	wait_json '.counters.delivered == 1 and (.queue | length) == 0' || fail "take not delivered"
	grep "take $id: delivered to smb" "$T/exporter.log"
	grep -q "take $id: delivered to smb.*MB of it sent ahead" "$T/exporter.log" ||
		fail "the delivery sent the whole take again"
	ls -A "$SHARE" | grep -q '\.part$' && fail "temporary copies left on the share: $(ls -A "$SHARE")"
	stop_signal
	check_share 1 --preroll-frames "$preroll_frames" --min-frames $((3 * rate))
	for ch in 0 1; do # the channel files: the same bytes as the local ones would be
		python3 - "$SHARE/ghostrec-$id.wav" "$SHARE/ghostrec-$id-ch$ch.wav" "$ch" <<-'PY' || fail "channel file $ch differs"
		import struct, sys
		def data(p):
		    b = open(p, 'rb').read()
		    i = 12
		    while i < len(b):
		        cid, n = b[i:i + 4], struct.unpack('<I', b[i + 4:i + 8])[0]
		        if cid == b'data':
		            return b[i + 8:i + 8 + n]
		        i += 8 + n + (n & 1)
		    sys.exit("no data chunk in " + p)
		multi, mono, ch = data(sys.argv[1]), data(sys.argv[2]), int(sys.argv[3])
		want = b''.join(multi[k + 4 * ch:k + 4 * ch + 4] for k in range(0, len(multi), 8))
		sys.exit(0 if want == mono else "channel %d: %d bytes, %d expected or different" % (ch, len(mono), len(want)))
		PY
	done
	echo "take $id: $(take_seconds "$id") s, sent ahead across an smbd outage, delivered exact"
	;;
bad-input)
	start_exporter --node ghostrec-missing$$ # a node that is not running: reported, never fatal
	status | jq -e '.nodes[1].attached == false and (.nodes[1].error | test("not available"))' >/dev/null ||
		fail "a missing node is not reported"
	say "junk OSC from another process"
	python3 - "$OSC_PORT" <<-'PY'
	import os, random, socket, struct, sys
	port = int(sys.argv[1])
	u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	send = lambda b: u.sendto(b, ('127.0.0.1', port))
	random.seed(7)
	for i in range(200):
	    send(bytes(random.getrandbits(8) for _ in range(random.randrange(1, 200))))
	send(b'/record\0')                            # no type tag
	send(b'/record\0,f\0\0')                      # float missing
	send(b'#bundle\0' + b'\0' * 8 + struct.pack('>i', 64) + b'/x\0\0')  # element overruns
	send(b'/record\0,s\0\0one\0')                 # wrong type
	send(b'/ghostrec/bogus\0,i\0\0' + struct.pack('>i', 1))  # unknown address in our namespace
	for i in range(500):
	    send(b'/vu\0,f\0\0' + struct.pack('>f', 0.5))
	send(b'/x' * 9000)                            # oversize (18 KB)
	PY
	osc /record s "yes"
	osc /unknown/address i 3
	other=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
	if [ -n "$other" ]; then
		say "OSC /record 1 from $other (not allowlisted)"
		python3 - "$OSC_PORT" "$other" <<-'PY'
		import socket, struct, sys
		u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		u.bind((sys.argv[2], 0))
		u.sendto(b'/record\0,f\0\0' + struct.pack('>f', 1.0), ('127.0.0.1', int(sys.argv[1])))
		PY
		wait_json '.osc.counters.not_allowed == 1' || fail "non-allowlisted sender not counted"
	else
		echo "SKIP non-allowlisted sender: this machine has no non-loopback IPv4 address"
	fi
	say "junk and oversize ZeroMQ messages to the exporter's and the node's control sockets"
	ectl="ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/exporter.ctl"
	nctl="ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/$NODE.ctl"
	r=$("$ZSEND" "$ectl" --junk 100); echo "exporter, 100 junk bytes: $r"
	echo "$r" | jq -e '.ok == false and .error == "parse"' >/dev/null || fail "exporter: junk not refused"
	r=$(printf '{"cmd":"format-disk"}' | "$ZSEND" "$ectl"); echo "exporter, unknown command: $r"
	echo "$r" | jq -e '.error == "unknown-command"' >/dev/null || fail "exporter: unknown command not refused"
	r=$(printf '{"cmd":' | "$ZSEND" "$ectl"); echo "exporter, truncated JSON: $r"
	r=$("$ZSEND" "$ectl" --junk 100000); echo "exporter, 100 KB: $r"
	echo "$r" | jq -e '.error == "too-large"' >/dev/null || fail "exporter: oversize not refused"
	r=$("$ZSEND" "$ectl" --junk 3000 --parts 3); echo "exporter, 3-part junk: $r"
	r=$("$ZSEND" "$nctl" --junk 100); echo "node, 100 junk bytes: $r"
	r=$(printf '{"ghostrec":1,"req":"mark","take_id":"x"}' | "$ZSEND" "$nctl"); echo "node, bad mark: $r"
	r=$("$ZSEND" "$nctl" --junk 100000); echo "node, 100 KB: $r"
	r=$(printf '{"ghostrec":1,"req":"status"}' | "$ZSEND" "$nctl"); echo "node, status after junk: ${r:0:200}"
	echo "$r" | jq -e '.ok == true and .bad_requests >= 2' >/dev/null ||
		fail "node does not answer after junk, or does not count it"
	wait_json '.osc.counters.malformed >= 3 and .osc.counters.wrong_type >= 2 and .osc.counters.oversize == 1
		and .ctl.bad_requests >= 4 and .ctl.oversize == 1 and .recorder.takes_started == 0' ||
		fail "counters do not show the bad input"
	for pat in 'malformed' 'wrong arguments' 'oversize' 'ctl: bad request'; do
		grep -q "$pat" "$T/exporter.log" || fail "no log line about '$pat'"
	done
	[ -z "$other" ] || grep -q 'outside the allowlist' "$T/exporter.log" || fail "no log line about the allowlist"
	say "a real take during more junk: nothing lost"
	osc /record f 1.0
	for i in 1 2 3; do "$ZSEND" "$ectl" --junk 500 >/dev/null; osc /record s bad; sleep 0.2; done
	osc /record f 0.0
	wait_json '.counters.delivered == 1' || fail "take not delivered"
	"$CTL" status
	status | jq -e '.recorder.takes_failed == 1' >/dev/null || fail "the missing node's take is not counted as failed"
	grep -q "node ghostrec-missing$$ is not attached" "$T/exporter.log" || fail "no log line about the missing node"
	stop_signal
	check_share 1 --preroll-frames "$preroll_frames"
	;;
two-nodes)
	pw_env_wait_node "$NODE_B"
	"$SIGNAL" "${SIGNAL_ARGS[@]}" --suffix -b --capture "$T/capture-b.raw" --max-seconds 100 >"$T/signal-b.out" 2>&1 &
	SIG_B_PID=$!
	pw_env_wait_node gr-player-b
	pw_env_wait_node gr-capture-b
	for c in 0:FL 1:FR; do
		pw_env_wait_for pw-link "gr-player-b:output_${c%%:*}" "$NODE_B:input_${c#*:}" || fail "cannot link player b"
		pw_env_wait_for pw-link "$NODE_B:output_${c#*:}" "gr-capture-b:input_${c%%:*}" || fail "cannot link capture b"
	done
	sleep 1 # node b's ring holds a whole preroll of the player's signal
	start_exporter --node "$NODE_B"
	wait_json '.nodes[1].attached == true' || fail "exporter did not attach to the second node"
	say "one /record 1 ... /record 0: a take on each node, each with its own take id"
	osc /record f 1.0
	wait_json '(.takes | length) == 2 and ([.takes[].state] | unique) == ["recording"]' || fail "not recording on both"
	sleep 1
	osc /record f 0.0
	wait_json '.counters.delivered == 2' || fail "not both takes delivered"
	"$CTL" status
	stop_signal
	kill "$SIG_B_PID"
	wait "$SIG_B_PID" || fail "gr-signal b failed"
	SIG_B_PID=
	n=0
	for f in "$SHARE"/ghostrec-*.wav; do
		case $f in *-ch[0-9]*.wav) continue ;; esac
		node=$(jq -r .node "${f%.wav}.json")
		cap=$T/capture.raw
		[ "$node" = "$NODE_B" ] && cap=$T/capture-b.raw
		"$CHECK" "$f" --capture "$cap" --channels 2 --preroll-frames "$preroll_frames" ||
			fail "take $f (node $node) is not what its node received"
		n=$((n + 1))
	done
	[ "$n" -eq 2 ] || fail "$n takes, want 2"
	[ "$(jq -s 'map(.node) | unique | length' "$SHARE"/ghostrec-*.json)" -eq 2 ] || fail "takes not from both nodes"
	;;
node-restart)
	start_exporter
	osc /record f 1.0
	wait_json '.takes[0].state == "recording"' || fail "not recording"
	sleep 1
	say "PipeWire (and with it the node) restarts mid-take"
	kill "$PW_ENV_PW_PID"
	wait "$PW_ENV_PW_PID" 2>/dev/null || true
	stop_signal # its capture holds what the node put out until the end
	wait_json '.nodes[0].attached == false' || fail "exporter did not notice the node going away"
	pipewire >>"$PW_ENV_DIR/pipewire.log" 2>&1 &
	PW_ENV_PW_PID=$!
	pw_env_wait_for pw_env_core_ready || fail "PipeWire did not come back"
	pw_env_wait_node "$NODE"
	mv "$T/capture.raw" "$T/capture-1.raw"
	"$SIGNAL" "${SIGNAL_ARGS[@]}" --capture "$T/capture.raw" --max-seconds 100 >"$T/signal.out" 2>&1 &
	SIG_PID=$!
	pw_env_wait_node gr-player
	pw_env_wait_node gr-capture
	for c in 0:FL 1:FR; do
		pw_env_wait_for pw-link "gr-player:output_${c%%:*}" "$NODE:input_${c#*:}" || fail "cannot relink player"
		pw_env_wait_for pw-link "$NODE:output_${c#*:}" "gr-capture:input_${c%%:*}" || fail "cannot relink capture"
	done
	say "the exporter ends the take where the old node's audio ended and delivers it"
	wait_json '.counters.delivered == 1 and .recording == false' || fail "cut take not delivered"
	grep -q "its node restarted\|its node is gone" "$T/exporter.log" ||
		fail "no log line saying why the take ended"
	cut=$(status | jq -r '.delivered[0].take_id')
	jq -c .gaps "$SHARE/ghostrec-$cut.json"
	jq -e '(.gaps | length) == 1 and .gaps[0].cause == "node-gone" and .gaps[0].frame + .gaps[0].frames == .frames' \
		"$SHARE/ghostrec-$cut.json" >/dev/null || fail "the cut take does not flag the time its node was gone as a gap"
	osc /record f 0.0
	wait_json '.nodes[0].attached == true' || fail "exporter did not re-attach to the restarted node"
	# the new take's preroll must lie after the relinks (before them the new ring holds no signal)
	linked_at=$(status | jq '.nodes[0].write_frame')
	wait_json ".nodes[0].write_frame >= $((linked_at + preroll_frames + 4096))" ||
		fail "the restarted node does not run"
	say "a new take on the restarted node"
	osc /record f 1.0
	wait_json '.recording == true' || fail "the new take is not recording"
	sleep 0.8
	osc /record f 0.0
	wait_json '.counters.delivered == 2' || fail "take on the restarted node not delivered"
	"$CTL" status
	stop_signal
	first=$(status | jq -r '.delivered[0].take_id')
	second=$(status | jq -r '.delivered[1].take_id')
	# (PipeWire, stopping, unlinks the player and the capture a few cycles before the node stops)
	"$CHECK" "$SHARE/ghostrec-$first.wav" --capture "$T/capture-1.raw" --channels 2 \
		--preroll-frames "$preroll_frames" --silent-tail || fail "the cut take is not what the old node received"
	"$CHECK" "$SHARE/ghostrec-$second.wav" --capture "$T/capture.raw" --channels 2 \
		--postroll-frames "$postroll_frames" || fail "the new take is not what the new node received"
	;;
late-marker)
	start_exporter
	say "the node is frozen when REAPER starts: no marker within the mark timeout"
	kill -STOP "$PW_ENV_PW_PID"
	osc /record f 1.0
	sleep 3.5
	status | jq -e '.takes[0].marker_missing == true and .recorder.marks_missing == 1' >/dev/null ||
		{ kill -CONT "$PW_ENV_PW_PID"; fail "no fallback to recording without a marker"; }
	say "the node wakes up and marks late: the clean take must point at that marker"
	kill -CONT "$PW_ENV_PW_PID"
	wait_json '.takes[0].marker_missing == false' || fail "the late marker was not taken"
	sleep 1
	osc /record f 0.0
	wait_json '.counters.delivered == 1' || fail "take not delivered"
	grep -q "marker came late" "$T/exporter.log" || fail "no log line about the late marker"
	# a frozen daemon upsets the test client's capture as well: check against the node's ring
	# and marker table instead (independent of the exporter)
	f=$(ls "$SHARE"/ghostrec-[0-9]*.wav | grep -v -- '-ch[0-9]*\.wav$')
	"$RINGCHECK" "$NODE" "$f" || fail "the take is not what the node's ring holds"
	stop_signal
	;;
ring-change)
	start_exporter
	osc /record f 1.0
	wait_json '.takes[0].state == "recording"' || fail "not recording"
	sleep 1
	say "the node's ring is recreated mid-take (new generation): the take ends there, delivered"
	r=$(printf '{"ghostrec":1,"req":"set","ring_seconds":2}' |
		"$ZSEND" "ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/$NODE.ctl")
	echo "$r" | jq -e '.ok == true' >/dev/null || fail "set ring_seconds: $r"
	wait_json '.counters.delivered == 1 and .recording == false' || fail "cut take not delivered"
	grep -q "format changed" "$T/exporter.log" || fail "no log line about the new generation"
	osc /record f 0.0 # REAPER's stop comes later: nothing left to stop
	sleep 1 # the new ring holds a whole preroll again
	say "the next take records from the new ring"
	osc /record f 1.0
	sleep 0.8
	osc /record f 0.0
	wait_json '.counters.delivered == 2 and .nodes[0].ring_seconds == 2' || fail "second take not delivered"
	stop_signal
	check_share 2 --preroll-frames "$preroll_frames"
	;;
fault-matrix)
	# Every fault into the real chain, each take checked by gr-check-gaps.py against the audio
	# itself (the test signal's frame counter is the truth of what the node heard).
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to mount a small tmpfs for the disk-full faults"; exit 77; }
	mkdir -p "$SPOOL" "$T/outbox"
	mount -t tmpfs -o size=40m,mode=0700 ghostrec-fault "$SPOOL" ||
		{ echo "SKIP: cannot mount a tmpfs here"; exit 77; }
	FAULT_MNT=$SPOOL
	GAPCHECK="python3 $S/tests/exporter/gr-check-gaps.py"
	# the journal keeps 8 MB in 2 s files: it rotates while the takes run, and never on its own
	# frees the space the disk-full faults take away
	export GHOSTREC_LOG_TIME=1
	FAULT_ARGS="--outbox $T/outbox --journal-max-bytes 8M --journal-segment-seconds 2 --journal-min-free 0 --destination="
	start_exporter $FAULT_ARGS
	# the first take must not start before the paced graph runs: its mark would time out (3 s)
	# and push the take's start into the disk-full window of the first fault
	wait_json '.nodes[0].write_frame >= 48000' || fail "the graph does not run"
	table=$T/table.txt
	printf '%-28s | %12s | %12s | %-44s | %-44s | %s\n' fault "frames heard" "in clean take" \
		"gaps reported (frame+frames cause)" "truth (from the audio)" verdict >"$table"
	ndeliv=0
	# row FAULT [want-gap-cause|none]: checks the take delivered last
	row() {
		local id res gaps truth verdict
		ndeliv=$((ndeliv + 1))
		# (the exporter's own counters start again when it restarts: count the outbox)
		local deadline=$((SECONDS + 30))
		until [ "$(ls "$T/outbox" | grep -c '^ghostrec-[0-9]*\.json$')" -ge "$ndeliv" ]; do
			[ $SECONDS -ge $deadline ] && fail "$1: take not delivered"
			sleep 0.1
		done
		id=$(ls "$T/outbox" | sed -n 's/^ghostrec-\([0-9]*\)\.json$/\1/p' | sort -n | tail -1)
		res=$($GAPCHECK "$T/outbox/ghostrec-$id.wav") || true
		echo "$1: $res"
		gaps=$(echo "$res" | jq -r '[.gaps[] | "\(.frame)+\(.frames) \(.cause)"] | join(", ") | if . == "" then "none" else . end')
		truth=$(echo "$res" | jq -r '[.true_gaps[] | "\(.frame)+\(.frames)"] | join(", ") | if . == "" then "none" else . end')
		verdict=$(echo "$res" | jq -r 'if .exact then "exact, 0 duplicated" else "WRONG (dup \(.duplicated), bad \(.bad_frames))" end')
		printf '%-28s | %12s | %12s | %-44s | %-44s | %s\n' "$1" "$(echo "$res" | jq .heard)" \
			"$(echo "$res" | jq .audio_frames)" "$gaps" "$truth" "$verdict" >>"$table"
		echo "$res" | jq -e '.exact' >/dev/null || fail "$1: the take's gaps are not exact: $res"
		case ${2:-none} in
		any) ;;
		none) echo "$res" | jq -e '(.gaps | length) == 0' >/dev/null || fail "$1: a gap where the ring still held the audio" ;;
		no-*) # the fault lost nothing (a loaded machine may still starve the exporter: reported exactly)
			echo "$res" | jq -e --arg c "${2#no-}" '[.gaps[].cause] | index($c) == null' >/dev/null ||
				fail "$1: a ${2#no-} gap although the ring still held the audio" ;;
		*) echo "$res" | jq -e --arg c "$2" '[.gaps[].cause] | index($c) != null' >/dev/null ||
			fail "$1: no $2 gap reported" ;;
		esac
	}
	fill_disk() {
		fallocate -l "$(df --output=avail -B1 "$SPOOL" | tail -1)" "$SPOOL/fill.bin" 2>/dev/null || true
		dd if=/dev/zero of="$SPOOL/fill2.bin" bs=4k 2>/dev/null || true
	}
	free_disk() { rm -f "$SPOOL/fill.bin" "$SPOOL/fill2.bin"; }
	take_fault() { # name, cause, command run mid-take
		local name=$1 cause=$2
		shift 2
		osc /record f 1.0
		wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "$name: not recording"
		sleep 0.5
		"$@"
		sleep 0.5
		osc /record f 0.0
		row "$name" "$cause"
	}
	say "disk full for less than the ring holds, freed at once: nothing lost"
	take_fault "disk full 1 s, freed" no-disk-full eval 'fill_disk; sleep 1; free_disk'
	say "disk full for longer than the ring, freed at once: exact disk-full gap"
	jgaps=$(grep -c "journal gap:" "$T/exporter.log" || true)
	take_fault "disk full 4 s, freed" disk-full eval 'fill_disk; sleep 4; free_disk'
	# one run of loss is one journal record and one log line, not one per graph cycle
	jgaps=$(( $(grep -c "journal gap:" "$T/exporter.log" || true) - jgaps ))
	echo "measured: journal gap records for the 4 s disk-full: $jgaps"
	[ "$jgaps" -le 3 ] || fail "disk full 4 s: $jgaps journal gap records for one run of loss"
	say "disk full, then space back in 40 KB steps every 0.1 s"
	steps() {
		fill_disk
		sleep 4 # longer than the ring, also when the graph runs a little slow
		rm -f "$SPOOL/fill2.bin"
		for i in $(seq 40); do truncate -s -40K "$SPOOL/fill.bin"; sleep 0.1; done
		free_disk
	}
	# (whether the steps come back before the ring wraps depends on how fast the journal's own
	# rotation frees room: a gap here may or may not exist, but it must be exact either way)
	take_fault "disk full, freed in steps" any steps
	grep -q "No space left on device" "$T/exporter.log" || fail "ENOSPC is not named in the log"
	say "disk already full when REAPER starts recording (no room for the take's state or files), freed 1 s later"
	fill_disk
	nerr=$(grep -c "No space left on device" "$T/exporter.log" || true)
	osc /record f 1.0
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "full disk: the take did not start"
	# the take could not save its state or create its files yet (the log says so)
	enospc_logged_since() { [ "$(grep -c "No space left on device" "$T/exporter.log" || true)" -gt "$1" ]; }
	pw_env_wait_for enospc_logged_since "$nerr" || fail "full disk at the start: nothing in the log"
	sleep 1
	free_disk
	sleep 0.5
	osc /record f 0.0
	row "disk full at /record 1" no-disk-full
	# the fault hit what it was meant to: the take's state and files waited for the space
	grep -q "its state is saved again" "$T/exporter.log" || fail "full disk at the start: the state was never retried"
	grep -q "its files are written again" "$T/exporter.log" || fail "full disk at the start: the files were never retried"
	say "disk full from before the stop until after the postroll, freed 1 s later"
	osc /record f 1.0
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "not recording"
	sleep 0.5
	fill_disk
	osc /record f 0.0
	sleep 1 # past the postroll (0.25 s), less than the ring (2 s)
	free_disk
	row "disk full across the stop" no-disk-full
	say "exporter SIGKILLed for longer than the ring, restarted mid-take: exact exporter-down gap"
	kill_exporter() {
		kill -9 "$EXP_PID"; wait "$EXP_PID" 2>/dev/null || true; EXP_PID=
		sleep 3
		start_exporter $FAULT_ARGS
	}
	take_fault "exporter SIGKILL 3 s" exporter-down kill_exporter
	say "exporter SIGKILLed while REAPER stops and starts again: two takes, never one merged"
	osc /record f 1.0
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "not recording"
	sleep 0.5
	kill -9 "$EXP_PID"; wait "$EXP_PID" 2>/dev/null || true; EXP_PID=
	osc /record f 0.0 # lost: nobody listens
	start_exporter $FAULT_ARGS
	wait_json '.takes[0].stop_unknown == true' || fail "the resumed take does not know it may be stopped"
	osc /record f 1.0 # REAPER's next take
	row "restart across /record 0 (1)" any
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "the next take did not start"
	sleep 0.5
	osc /record f 0.0
	row "restart across /record 0 (2)" none
	say "PipeWire kill -9 and restart mid-take"
	osc /record f 1.0
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "not recording"
	sleep 0.5
	old_pid=$(status | jq '.nodes[0].writer_pid')
	kill -9 "$PW_ENV_PW_PID"
	wait "$PW_ENV_PW_PID" 2>/dev/null || true
	kill "$SIG_PID" 2>/dev/null || true; wait "$SIG_PID" 2>/dev/null || true; SIG_PID=
	kill "$PACE_PID" 2>/dev/null || true; wait "$PACE_PID" 2>/dev/null || true; PACE_PID=
	wait_json '.nodes[0].attached == false' 5 || fail "the exporter stays attached to a dead ring"
	pipewire >>"$PW_ENV_DIR/pipewire.log" 2>&1 &
	PW_ENV_PW_PID=$!
	wait_json ".nodes[0].attached == true and .nodes[0].writer_pid != $old_pid" 10 || fail "no re-attach to the new ring"
	# the exporter's own log (GHOSTREC_LOG_TIME: monotonic seconds): detached from the dead ring ->
	# attached to the new one; the PipeWire restart is most of it (attach retries every 0.2 s)
	det=$(grep "node $NODE: detached from its ring" "$T/exporter.log" | tail -1 | sed 's/^\[\([0-9.]*\)\].*/\1/')
	att=$(grep "node $NODE: attached to" "$T/exporter.log" | tail -1 | sed 's/^\[\([0-9.]*\)\].*/\1/')
	echo "measured: detached from the dead ring -> attached to the new one: $(python3 -c "print(round($att - $det, 3))") s (includes PipeWire's restart)"
	# the node's return = the moment it published its new ring (the locator's mtime)
	ago=$(grep "node $NODE: attached to" "$T/exporter.log" | tail -1 | sed -n 's/.*published \([0-9.]*\) s ago.*/\1/p')
	echo "measured: re-attached $ago s after the restarted node published its ring"
	[ -n "$ago" ] && python3 -c "import sys; sys.exit(0 if $ago <= 1.0 else 1)" ||
		fail "re-attach took ${ago:-?} s after the node's return (want <= 1 s)"
	pw_env_wait_for pw_env_core_ready || fail "PipeWire did not come back"
	pw_env_wait_node "$NODE"
	start_pace
	"$SIGNAL" "${SIGNAL_ARGS[@]}" --capture "$T/capture-2.raw" --max-seconds 100 >"$T/signal.out" 2>&1 &
	SIG_PID=$!
	pw_env_wait_node gr-player
	for c in 0:FL 1:FR; do
		pw_env_wait_for pw-link "gr-player:output_${c%%:*}" "$NODE:input_${c#*:}" || fail "cannot relink player"
	done
	row "PipeWire kill -9 + restart" node-gone
	osc /record f 0.0
	linked_at=$(status | jq '.nodes[0].write_frame')
	wait_json ".nodes[0].write_frame >= $((linked_at + preroll_frames + 4096))" || fail "the restarted node does not run"
	osc /record f 1.0
	sleep 1
	osc /record f 0.0
	row "next take after the restart" none
	say "the node is destroyed mid-take: delivered after a bounded wait"
	osc /record f 1.0
	wait_json '[.takes[] | select(.state == "recording")] | length == 1' || fail "not recording"
	sleep 0.5
	pw-cli destroy "$(pw_env_node_id "$NODE")" >/dev/null
	t0=$SECONDS
	row "node destroyed" node-gone
	echo "measured: take delivered $((SECONDS - t0)) s after the node was destroyed"
	osc /record f 0.0
	echo "measured: exporter RssAnon $(awk '/RssAnon/ {print $2, $3}' "/proc/$EXP_PID/status")"
	echo
	cat "$table"
	;;
export)
	mkdir -p "$T/outbox"
	start_exporter --outbox "$T/outbox"
	say "no /record at all: the journal holds what the node heard"
	wait_json '.nodes[0].journal.seconds >= 3' || fail "the journal does not grow"
	"$CTL" status | grep -i journal || fail "ghostrec-ctl status does not show the journal"
	status | jq -e '.nodes[0].journal | .from_utc != null and .to_utc != null and .bytes > 0 and (.gaps | length) == 0' \
		>/dev/null || fail "status does not show the journal's span, size and gaps"
	wf=$(status | jq '.nodes[0].write_frame')
	from=$((wf - 2 * rate)) to=$((wf - rate / 2))
	say "ghostrec-ctl export --from frame:$from --to frame:$to -o export.wav (a range recorded before any /record)"
	"$CTL" export --from "frame:$from" --to "frame:$to" -o "$T/export.wav" || fail "export failed"
	"$RINGCHECK" "$NODE" "$T/export.wav" --start "$from" || fail "the export is not what the node's ring holds"
	[ "$(jq .frames "$T/export.json" 2>/dev/null || true)" = "" ] # -o writes the WAV only
	got=$(python3 "$S/tests/exporter/gr-check-gaps.py" "$T/outbox/$(ls "$T/outbox" | grep -m1 '^ghostrec-[0-9]*\.wav$')") ||
		fail "the delivered export is not exact: $got"
	echo "$got" | jq -e --argjson n $((to - from)) '.frames == $n and (.gaps | length) == 0' >/dev/null ||
		fail "the delivered export does not hold frames $from..$to: $got"
	say "by wall clock: the last 3 s up to 1 s ago"
	"$CTL" export --from -3 --to -1 -o "$T/export-time.wav" || fail "export by time failed"
	n=$(python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(); i=b.index(b'data'); print(struct.unpack('<I', b[i+4:i+8])[0] // 8)" "$T/export-time.wav")
	echo "export by time: $n frames"
	[ "$n" -ge $((2 * rate - rate / 10)) ] && [ "$n" -le $((2 * rate + rate / 10)) ] || fail "2 s by the clock gave $n frames"
	say "bad ranges: one clear line each"
	! "$CTL" export --from frame:5 --to frame:4 -o "$T/x.wav" 2>"$T/err1" || fail "an empty range was exported"
	cat "$T/err1"
	! "$CTL" export --from yesterday --to now 2>"$T/err2" || fail "a bad time was accepted"
	cat "$T/err2"
	grep -q "not a time" "$T/err2" || fail "no clear message for a bad time"
	stop_signal
	;;
*)
	fail "unknown scenario $scenario"
	;;
esac
say "$scenario: OK"
