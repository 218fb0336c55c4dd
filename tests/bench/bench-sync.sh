#!/bin/bash
# Benchmark (prints numbers, asserts nothing): ghostrec-sync on a long stereo take vs `cat`
# of both files in the same run, wall time, CPU time and peak RSS (GNU time), plus a
# callgrind instruction count of ghostrec-sync vs `sha1sum` of the same files on a short
# take (sha1sum touches every byte in user space: a "look at everything once" baseline;
# cat's copying happens in the kernel, where callgrind does not count).
# usage: bench-sync.sh GHOSTREC_SYNC BENCH_MAKE [MINUTES]     (BENCH_RUNS=5: runs per median;
#        BENCH_CALLGRIND=0 skips the callgrind part)
set -u
SYNC=$1
MAKE=$2
MINUTES=${3:-60}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ghostrec-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
TIME=/usr/bin/time
[ -x $TIME ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 77; }

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

RUNS=${BENCH_RUNS:-5}
ram=""

# label, command...: runs it RUNS times, prints the median wall/cpu time and the largest
# peak RSS, and sets <label>_wall/_cpu/_rss (label with non-letters as _).
measure() {
	local label=$1; shift
	local walls=() cpus=() rss_max=0 i
	for ((i = 0; i < RUNS; i++)); do
		# (the previous run's OUT goes first, untimed: a user's OUT is a new file, and
		# unlinking a 1 GB file as rename() replaces it is not the conform's work)
		rm -f "$tmp"/out*.wav ${ram:+"$ram"/out*.wav}
		$TIME -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { echo "$label failed: $(cat "$tmp/err")"; return 1; }
		read -r wall user sys rss <"$tmp/time"
		walls+=("$wall")
		cpus+=("$(calc "$user + $sys")")
		[ "$rss" -gt "$rss_max" ] && rss_max=$rss
	done
	local wall cpu
	wall=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf "%-38s wall %7.2f s  cpu %7.2f s  peak RSS %8d KiB  (median of %d)\n" "$label" "$wall" "$cpu" "$rss_max" "$RUNS"
	eval "${label//[^a-z]/_}_wall=$wall; ${label//[^a-z]/_}_cpu=$cpu; ${label//[^a-z]/_}_rss=$rss_max"
}

echo "== generating a $MINUTES-minute stereo 48 kHz take (24-bit) and clean file (float32)"
"$MAKE" "$MINUTES" "$tmp" || exit 1
ls -l "$tmp"/*.wav | awk '{printf "   %s %.0f MB\n", $NF, $5/1e6}'
# The material just written is still on its way to the disk: let that finish first, so its
# write-back competes with neither cat nor ghostrec-sync (which syncs its OUT before it ends).
sync
cat "$tmp/take.wav" "$tmp/clean.wav" >/dev/null   # same page-cache state for both
measure "cat take clean" cat "$tmp/take.wav" "$tmp/clean.wav"
measure "ghostrec-sync --join cut" "$SYNC" --take "$tmp/take.wav" --clean "$tmp/clean.wav" -o "$tmp/out.wav" --join cut --report "$tmp/report.json"
# The same with OUT in memory (tmpfs): what the conform itself costs, without the disk's
# write speed, which bounds the run above (see the dd row) and which cat does not pay.
if [ -d /dev/shm ] && [ "$(df --output=avail -B1 /dev/shm | tail -1)" -gt $((3 * $(stat -c %s "$tmp/take.wav"))) ]; then
	ram=$(mktemp -d /dev/shm/ghostrec-bench-XXXXXX)
	trap 'rm -rf "$tmp" "$ram"' EXIT
	measure "ghostrec-sync --join cut, out in ram" "$SYNC" --take "$tmp/take.wav" --clean "$tmp/clean.wav" -o "$ram/out.wav" --join cut
	out_mb=$(( ($(stat -c %s "$ram/out.wav") + 1048575) / 1048576 ))
	rm -f "$ram/out.wav"
	# writing OUT's bytes into memory at all (on a virtual machine first-touched pages can
	# make this slower than the disk)
	measure "dd of out size, ram" dd if=/dev/zero of="$ram/out-floor.wav" bs=1M count=$out_mb
	rm -f "$ram/out-floor.wav"
fi
measure "ghostrec-sync (crossfade)" "$SYNC" --take "$tmp/take.wav" --clean "$tmp/clean.wav" -o "$tmp/out2.wav"
# the part of the work no conform can avoid and cat does not do: OUT's bytes onto the disk
out_mb=$(( ($(stat -c %s "$tmp/out2.wav") + 1048575) / 1048576 ))
measure "dd of out size fsync" dd if=/dev/zero of="$tmp/out-floor.wav" bs=1M count=$out_mb conv=fsync
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("   report: %d glitches, %d segments, alignment %s" % (len(r["glitches"]), len(r["segments"]), r["alignment"]))' "$tmp/report.json"
echo "   wall-time ratio ghostrec-sync/cat: $(calc "$ghostrec_sync___join_cut_wall / ($cat_take_clean_wall + 0.005)")"
echo "   cpu-time ratio ghostrec-sync/cat:  $(calc "$ghostrec_sync___join_cut_cpu / ($cat_take_clean_cpu + 0.005)")"
echo "   wall-time ratio ghostrec-sync/dd:  $(calc "$ghostrec_sync___join_cut_wall / ($dd_of_out_size_fsync_wall + 0.005)")"
# The issue-11 row: throughput as a fraction of cat's (cat wall / sync wall), goal >= 0.5;
# peak RSS goal <= 16 MB.
if [ -n "$ram" ]; then
	echo "RESULT sync-throughput-vs-cat-out-in-ram $(calc "$cat_take_clean_wall / $ghostrec_sync___join_cut__out_in_ram_wall") (goal >= 0.50)"
	echo "RESULT sync-vs-dd-of-out-ram $(calc "$dd_of_out_size__ram_wall / $ghostrec_sync___join_cut__out_in_ram_wall") (1.00 = memory's write speed)"
fi
# cat writes nothing: no program that puts OUT's bytes on the disk gets more of cat's
# throughput than this, however little else it does
echo "RESULT ceiling-for-any-program-writing-out $(calc "$cat_take_clean_wall / $dd_of_out_size_fsync_wall") of cat's throughput (cat / dd)"
echo "RESULT sync-vs-dd-of-out-fsync $(calc "$dd_of_out_size_fsync_wall / $ghostrec_sync___join_cut_wall") (1.00 = the disk's write speed)"
echo "RESULT sync-throughput-vs-cat $(calc "$cat_take_clean_wall / $ghostrec_sync___join_cut_wall") (goal >= 0.50)  peak-rss-MiB $(calc "$ghostrec_sync___join_cut_rss / 1024") (goal <= 16)"

if [ "${BENCH_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
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
