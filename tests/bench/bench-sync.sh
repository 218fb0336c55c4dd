#!/bin/bash
# Benchmark (prints numbers, asserts nothing): ghostrec-sync on a long stereo take vs `cat`
# of both files in the same run, wall time, CPU time and peak RSS (GNU time), plus a
# callgrind instruction count of ghostrec-sync vs `sha1sum` of the same files on a short
# take (sha1sum touches every byte in user space: a "look at everything once" baseline;
# cat's copying happens in the kernel, where callgrind does not count).
# usage: bench-sync.sh GHOSTREC_SYNC BENCH_MAKE [MINUTES]
set -u
SYNC=$1
MAKE=$2
MINUTES=${3:-60}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ghostrec-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
TIME=/usr/bin/time
[ -x $TIME ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 77; }

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

measure() { # label, command...
	local label=$1; shift
	$TIME -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { echo "$label failed: $(cat "$tmp/err")"; return 1; }
	read -r wall user sys rss <"$tmp/time"
	local cpu
	cpu=$(calc "$user + $sys")
	printf "%-32s wall %7.2f s  cpu %7.2f s  peak RSS %8d KiB\n" "$label" "$wall" "$cpu" "$rss"
	eval "${label//[^a-z]/_}_wall=$wall; ${label//[^a-z]/_}_cpu=$cpu"
}

echo "== generating a $MINUTES-minute stereo 48 kHz take (24-bit) and clean file (float32)"
"$MAKE" "$MINUTES" "$tmp" || exit 1
ls -l "$tmp"/*.wav | awk '{printf "   %s %.0f MB\n", $NF, $5/1e6}'
cat "$tmp/take.wav" "$tmp/clean.wav" >/dev/null   # same page-cache state for both
measure "cat take clean" cat "$tmp/take.wav" "$tmp/clean.wav"
measure "ghostrec-sync --join cut" "$SYNC" --take "$tmp/take.wav" --clean "$tmp/clean.wav" -o "$tmp/out.wav" --join cut --report "$tmp/report.json"
measure "ghostrec-sync (crossfade)" "$SYNC" --take "$tmp/take.wav" --clean "$tmp/clean.wav" -o "$tmp/out2.wav"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("   report: %d glitches, %d segments, alignment %s" % (len(r["glitches"]), len(r["segments"]), r["alignment"]))' "$tmp/report.json"
echo "   wall-time ratio ghostrec-sync/cat: $(calc "$ghostrec_sync___join_cut_wall / ($cat_take_clean_wall + 0.005)")"
echo "   cpu-time ratio ghostrec-sync/cat:  $(calc "$ghostrec_sync___join_cut_cpu / ($cat_take_clean_cpu + 0.005)")"

if command -v valgrind >/dev/null; then
	echo "== callgrind, 1-minute take"
	mkdir -p "$tmp/short"
	"$MAKE" 1 "$tmp/short" >/dev/null
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.sync" "$SYNC" --take "$tmp/short/take.wav" \
		--clean "$tmp/short/clean.wav" -o "$tmp/short/out.wav" --join cut >/dev/null 2>"$tmp/cg.log"
	sync_ir=$(grep -o 'Collected : [0-9]*' "$tmp/cg.log" | grep -o '[0-9]*$')
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.cmp" sha1sum "$tmp/short/take.wav" "$tmp/short/clean.wav" >/dev/null 2>"$tmp/cg2.log"
	cmp_ir=$(grep -o 'Collected : [0-9]*' "$tmp/cg2.log" | grep -o '[0-9]*$')
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.cat" cat "$tmp/short/take.wav" "$tmp/short/clean.wav" >/dev/null 2>"$tmp/cg3.log"
	cat_ir=$(grep -o 'Collected : [0-9]*' "$tmp/cg3.log" | grep -o '[0-9]*$')
	echo "   instructions: ghostrec-sync $sync_ir, sha1sum take clean $cmp_ir, cat take clean $cat_ir"
	echo "   ratio ghostrec-sync/sha1sum: $(calc "$sync_ir / $cmp_ir")   ratio ghostrec-sync/cat: $(calc "$sync_ir / $cat_ir")"
fi
