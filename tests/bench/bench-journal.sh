#!/usr/bin/env bash
# Journal benchmarks (printed, not thresholds):
#   - journal write cost in CPU % of one core at 8 channels 48 kHz (ghostrec_journal_append with
#     its content index and syncs, as the exporter writes), against a bare interleave + write +
#     fdatasync of the same bytes in the same run;
#   - content lookup of a 10 s take (24-bit, damaged) in an HOURS-long stereo journal: the index
#     lookup alone (bench-journal find) and `ghostrec-sync --journal` end to end (lookup, excerpt,
#     conform, OUT), wall time and peak RSS, against reading the journal's audio once (cat).
#   tests/bench/bench-journal.sh BUILD_DIR [HOURS (default 2)] [WRITE_SECONDS (default 60)]
set -uo pipefail
build=$1 hours=${2:-2} wsec=${3:-60}
bj=$build/tests/bench/bench-journal
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ghostrec-bench-journal-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$bj" write "$tmp/w8" 8 "$wsec" || exit 1
rm -rf "$tmp/w8"
secs=$(awk "BEGIN { print $hours * 3600 }")
t0=$(date +%s.%N)
"$bj" write "$tmp/j" 2 "$secs" fast || exit 1
echo "made a ${hours} h stereo journal in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s: $(du -sh "$tmp/j" | cut -f1)"
at=$(awk "BEGIN { srand(7); printf \"%.3f\", rand() * ($secs - 20) }")
"$bj" take "$tmp/j" "$tmp/take.wav" 10 "$at" || exit 1
echo "take: 10 s from ${at} s into the journal, 24-bit mono, a 512-frame block dropped every 0.5 s"
"$bj" find "$tmp/j" "$tmp/take.wav" || exit 1
cat "$tmp"/j/seg-*.raw >/dev/null # warm cache for both
/usr/bin/time -f "%e %M" -o "$tmp/t.cat" cat "$tmp"/j/seg-*.raw >/dev/null
/usr/bin/time -f "%e %M" -o "$tmp/t.sync" "$build/exporter/ghostrec-sync" --take "$tmp/take.wav" --journal "$tmp/j" \
	-o "$tmp/out.wav" --join cut >"$tmp/sync.out" 2>&1 || { cat "$tmp/sync.out"; exit 1; }
read -r cw _ <"$tmp/t.cat"
read -r sw srss <"$tmp/t.sync"
echo "ghostrec-sync --journal end to end: ${sw} s, peak RSS $(awk "BEGIN { printf \"%.1f\", $srss / 1024 }") MB" \
	"(reading the journal's audio once, cat, warm cache: ${cw} s); $(grep -o '[0-9]* glitches' "$tmp/sync.out" | head -1)"
