#!/usr/bin/env bash
# Exporter SIGKILL at random moments during 5 minutes of journaling, restarted each time, on the
# real chain (private PipeWire, the ghostrec node, gr-signal playing the deterministic signal, the
# real exporter). The graph freewheels paced at SOAK_SPEED times real time (gr-pace), so five
# minutes of audio take about half a minute; no xruns, so every frame the journal lacks is one
# the exporter did not keep. Kill moments and down times are seeded (the seed is printed;
# SOAK_SEED=N repeats a run) and measured in frames of the graph (the test waits for the ring to
# get there), never in sleeps. Down times run from nothing to 1.5 rings, so some restarts
# find everything still in the ring and some find it wrapped.
# After each kill the test notes the journal's end and the ring's oldest frame just before the
# restart and just after the attach; at the end gr-check-journal checks, from the audio itself:
# every held frame is the signal, once, in order; every hole is exactly a recorded gap; after
# every restart the journal continues at its end, or its gap ends where the ring's audio began
# (everything the ring still held is in the journal); every content index matches its data.
#   kill-soak.sh   (env: SOAK_SEED, SOAK_SECONDS=300, SOAK_SPEED=6, SOAK_RING=20)
set -euo pipefail
: "${GHOSTREC_BUILD_DIR:?}" "${GHOSTREC_SOURCE_DIR:?}"
B=$GHOSTREC_BUILD_DIR
S=$GHOSTREC_SOURCE_DIR
seed=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
audio_s=${SOAK_SECONDS:-300} speed=${SOAK_SPEED:-6} ring=${SOAK_RING:-20}
rate=48000
echo "== seed $seed (SOAK_SEED=$seed repeats this run); $audio_s s of audio at ${speed}x, ring $ring s"
RANDOM=$seed

. "$S/tests/lib/pw-env.sh"
export PW_ENV_GHOSTREC_ARGS="node.group = pipewire.freewheel"
PW_ENV_QUANTUM=1024 pw_env_start
NODE=$PW_ENV_NODE
T=$PW_ENV_DIR/soak
mkdir -p "$T/outbox"
SPOOL=$T/spool
JDIR=$SPOOL/journal/$NODE
CTL_SOCK=$T/exporter.ctl
EXP_PID= SIG_PID= PACE_PID=
cleanup() {
	local st=$?
	set +e
	[ -n "$EXP_PID" ] && kill "$EXP_PID" 2>/dev/null && wait "$EXP_PID" 2>/dev/null
	[ -n "$SIG_PID" ] && kill "$SIG_PID" 2>/dev/null && wait "$SIG_PID" 2>/dev/null
	[ -n "$PACE_PID" ] && kill "$PACE_PID" 2>/dev/null && wait "$PACE_PID" 2>/dev/null
	if [ "$st" -ne 0 ] && [ -f "$T/exporter.log" ]; then
		echo "---- exporter log (end) ----" >&2
		tail -n 40 "$T/exporter.log" >&2
		echo "(seed $seed)" >&2
	fi
	(exit "$st")
	pw_env_stop
}
trap cleanup EXIT
fail() { echo "FAIL: $* (seed $seed)" >&2; exit 1; }

pw_env_wait_node "$NODE"
r=$(printf '{"ghostrec":1,"req":"set","ring_seconds":%s}' "$ring" |
	"$B/tests/exporter/gr-zmq-send" "ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/$NODE.ctl")
echo "$r" | jq -e '.ok == true' >/dev/null || fail "node did not take ring_seconds $ring: $r"
"$B/tests/exporter/gr-pace" "$speed" >/dev/null 2>&1 &
PACE_PID=$!
pw_env_wait_node gr-pace
"$B/tests/exporter/gr-signal" --group pipewire.freewheel --max-seconds 100000 >"$T/signal.out" 2>&1 &
SIG_PID=$!
pw_env_wait_node gr-player
pw_env_wait_for pw-link gr-player:output_0 "$NODE:input_FL" || fail "cannot link the player"
pw_env_wait_for pw-link gr-player:output_1 "$NODE:input_FR" || fail "cannot link the player"

ring_pos() { "$B/tests/exporter/gr-ring-wait" "$NODE" "$@"; }          # "WRITE OLDEST"
status() { "$B/exporter/ghostrec-ctl" --socket "$CTL_SOCK" --json status; }
start_exporter() {
	"$B/exporter/ghostrec-exporter" --node "$NODE" --osc-port 0 --osc-bind 127.0.0.1 --spool-dir "$SPOOL" \
		--outbox "$T/outbox" --ctl-socket "$CTL_SOCK" --journal-min-free 0 --journal-segment-seconds 10 \
		--journal-max-bytes 100M --destination= >>"$T/exporter.log" 2>&1 &
	EXP_PID=$!
}
wait_attached() {
	local deadline=$((SECONDS + 15))
	until status 2>/dev/null | jq -e '.nodes[0].attached == true' >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && fail "the exporter did not attach"
		kill -0 "$EXP_PID" 2>/dev/null || fail "the exporter died on its own"
		sleep 0.02
	done
}
kill_exporter() {
	kill -9 "$EXP_PID"
	wait "$EXP_PID" 2>/dev/null || true
	EXP_PID=
}
rand_frames() { # uniform in [0, $1) frames (two 15-bit draws)
	echo $(( (RANDOM * 32768 + RANDOM) % $1 ))
}

start_exporter
wait_attached
read -r w0 _ <<<"$(ring_pos)"
target=$((w0 + audio_s * rate))
: >"$T/restarts"
kills=0 startup_kills=0
t_start=$SECONDS
while :; do
	read -r w _ <<<"$(ring_pos)"
	[ "$w" -ge "$target" ] && break
	# run for 0..1 s of wall time (in frames of the paced graph), then SIGKILL
	ring_pos $((w + $(rand_frames $((rate * speed)) ))) 60 >/dev/null || fail "the graph stopped"
	kill_exporter
	kills=$((kills + 1))
	read -r _ end <<<"$("$B/tests/exporter/gr-check-journal" "$JDIR" end)"
	# down for 0..1.5 rings of audio
	read -r w _ <<<"$(ring_pos)"
	ring_pos $((w + $(rand_frames $((3 * ring * rate / 2)) ))) 60 >/dev/null || fail "the graph stopped"
	if [ $((RANDOM % 6)) = 0 ]; then
		# now and then the exporter is killed again while it starts (before or just after it
		# attached): what it managed to write is checked with the rest
		start_exporter
		ring_pos $(( $(ring_pos | cut -d' ' -f1) + $(rand_frames $((rate * speed / 10)) ) )) 60 >/dev/null
		kill_exporter
		startup_kills=$((startup_kills + 1))
		read -r _ end <<<"$("$B/tests/exporter/gr-check-journal" "$JDIR" end)"
	fi
	read -r _ ob <<<"$(ring_pos)"
	start_exporter
	wait_attached
	read -r _ oa <<<"$(ring_pos)"
	echo "$end $ob $oa" >>"$T/restarts"
done
# let the journal catch up, then stop it the ordinary way
read -r w _ <<<"$(ring_pos)"
deadline=$((SECONDS + 20))
until [ "$(status | jq '.nodes[0].journal.position')" -ge "$w" ]; do
	[ $SECONDS -ge $deadline ] && fail "the journal does not catch up"
	sleep 0.05
done
kill "$EXP_PID"
wait "$EXP_PID" || fail "the exporter did not stop cleanly"
EXP_PID=
echo "== $kills SIGKILLs ($startup_kills more during start-up) in $((SECONDS - t_start)) s wall for $audio_s s of audio"
grep -c "journal gap" "$T/exporter.log" | sed 's/^/exporter log: journal gap lines: /'
"$B/tests/exporter/gr-check-journal" "$JDIR" check "$T/restarts" || fail "the journal is not exact"
du -sb "$JDIR" | awk '{ printf "journal on disk: %.1f MB\n", $1 / 1e6 }'
echo "== kill-soak: OK (seed $seed)"
