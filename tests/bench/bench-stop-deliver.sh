#!/usr/bin/env bash
# Benchmark (prints numbers, asserts nothing): /record 0 -> clean take delivered, for takes
# of 1, 10 and 60 minutes, median of RUNS runs each, on the real chain: a private PipeWire whose
# ghostrec node runs freewheeling, paced by gr-pace at SPEED x real time (default 50: an hour of
# audio in 72 s), the real exporter journaling it, and either folder delivery on the same file
# system (DELIVER_TO=outbox, the default) or a private smbd on loopback (DELIVER_TO=smb; the
# share's folder is watched, as Windows would see it).
# The time counted is from `ghostrec-ctl stop` to the take's sidecar (delivered last) appearing
# in the outbox or on the share: the postroll (1 s of graph time), finishing the files and
# delivering them. Baseline in the same run: copying the finished 60-minute take once (outbox:
# cp + sync, what a rewrite-and-copy finalize costs at the least; smb: smbclient put, what
# sending the whole take after its end costs). Also the exporter's RssAnon after each length.
#   [SPEED=50] [DELIVER_TO=outbox|smb] bench-stop-deliver.sh BUILD_DIR [RUNS] [MINUTES...]
#   (default: 5 runs of 1 10 60)
set -euo pipefail
B=$(cd "${1:?build dir}" && pwd)
RUNS=${2:-5}
shift 2 2>/dev/null || shift $#
MINUTES=("$@")
[ ${#MINUTES[@]} -gt 0 ] || MINUTES=(1 10 60)
S=$(cd "$(dirname "$0")/../.." && pwd)
export GHOSTREC_BUILD_DIR=$B GHOSTREC_SOURCE_DIR=$S
CTL=$B/exporter/ghostrec-ctl
rate=48000

# shellcheck source=../lib/pw-env.sh
. "$S/tests/lib/pw-env.sh"
PW_ENV_GHOSTREC_ARGS="node.group = pipewire.freewheel
node.always-process = true
ghostrec.ring.seconds = 60" PW_ENV_QUANTUM=1024 pw_env_start
T=$PW_ENV_DIR/bench
mkdir -p "$T/outbox"
EXP_PID=
PACE_PID=
SMBD=$S/tests/exporter/smbd.sh
trap 'for p in $EXP_PID $PACE_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ "${DELIVER_TO:-outbox}" = smb ] && "$SMBD" stop "$T/smb" 2>/dev/null; pw_env_stop' EXIT
case ${DELIVER_TO:-outbox} in
outbox)
	target=(--outbox "$T/outbox")
	arrive=$T/outbox
	;;
smb)
	port=$("$SMBD" start "$T/smb")
	mkdir -p "$T/smb/share/in"
	target=(--smb-url "smb://127.0.0.1:$port/takes/in" --smb-credentials "$T/smb/cred")
	arrive=$T/smb/share/in
	;;
*) echo "DELIVER_TO: outbox or smb" >&2; exit 2 ;;
esac
pw_env_wait_node "$PW_ENV_NODE"
"$B/tests/exporter/gr-pace" "${SPEED:-50}" >/dev/null &
PACE_PID=$!
pw_env_wait_node gr-pace
"$B/exporter/ghostrec-exporter" --node "$PW_ENV_NODE" --osc-port 0 --spool-dir "$T/spool" "${target[@]}" \
	--preroll 0 --postroll 1 --journal-max-bytes 3G --journal-min-free 0 >"$T/exporter.log" 2>&1 &
EXP_PID=$!
status() { "$CTL" status --json; }
until status 2>/dev/null | jq -e '.nodes[0].attached' >/dev/null 2>&1; do sleep 0.1; done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf '%-8s %-6s %-14s %-14s %s\n' take runs "median stop->${DELIVER_TO:-outbox}" "min .. max" "RssAnon after"
speed=
for m in "${MINUTES[@]}"; do
	want=$((m * 60 * rate))
	: >"$T/times"
	for run in $(seq "$RUNS"); do
		t0=$(date +%s.%N)
		"$CTL" start >/dev/null
		until status | jq -e --argjson w "$want" '.takes[0].spooled_frames >= $w' >/dev/null 2>&1; do sleep 0.2; done
		# the graph's speed, from the last take (audio recorded over the time it took)
		speed=$(python3 -c "import sys; print(round($want / $rate / (float(sys.argv[1]) - $t0), 1))" "$(date +%s.%N)")
		before=$(ls "$arrive" | grep -c '\.json$' || true)
		python3 - "$CTL" "$arrive" "$before" >>"$T/times" <<-'PY'
		import os, subprocess, sys, time
		ctl, outbox, before = sys.argv[1], sys.argv[2], int(sys.argv[3])
		t0 = time.monotonic()
		subprocess.run([ctl, 'stop'], check=True, stdout=subprocess.DEVNULL)
		while sum(n.endswith('.json') for n in os.listdir(outbox)) <= before:
		    time.sleep(0.001)
		print('%.4f' % (time.monotonic() - t0))
		PY
		last=$(ls "$arrive" | sed -n 's/^ghostrec-\([0-9]*\)\.json$/\1/p' | sort -n | tail -1)
		if [ "$m" = "${MINUTES[-1]}" ] && [ "$run" = "$RUNS" ]; then
			sync
			b0=$(date +%s.%N)
			if [ "${DELIVER_TO:-outbox}" = smb ]; then
				smbclient -s "$T/smb/smb.conf" //127.0.0.1/takes -p "$port" -A "$T/smb/cred" \
					-c "put $arrive/ghostrec-$last.wav in/baseline.wav" >/dev/null 2>&1
			else
				cp --reflink=never "$arrive/ghostrec-$last.wav" "$T/baseline.wav" && sync
			fi
			baseline=$(python3 -c "print(round($(date +%s.%N) - $b0, 3))")
			bsize=$(stat -c %s "$arrive/ghostrec-$last.wav")
			rm -f "$T/baseline.wav" "$arrive/baseline.wav"
		fi
		rm -f "$arrive"/ghostrec-*
	done
	rss=$(awk '/RssAnon/ {print $2 " " $3}' "/proc/$EXP_PID/status")
	printf '%-8s %-6s %-14s %-14s %s\n' "${m} min" "$RUNS" "$(median <"$T/times") s" \
		"$(sort -n "$T/times" | head -1) .. $(sort -n "$T/times" | tail -1)" "$rss"
done
if [ "${DELIVER_TO:-outbox}" = smb ]; then
	echo "baseline (same run): the last ${MINUTES[-1]}-minute take ($((bsize / 1000000)) MB) put on the share once (smbclient): $baseline s"
	echo "goal: <= 1 s after the postroll for a 60-minute take (stop->smb includes the 1 s postroll of graph time at ${speed}x)"
else
	echo "baseline (same run): one copy of the last ${MINUTES[-1]}-minute take ($((bsize / 1000000)) MB) + sync: $baseline s"
	echo "goal: <= 0.1 s for any take length (stop->outbox includes the 1 s postroll of graph time at ${speed}x)"
fi
