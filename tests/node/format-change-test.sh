#!/bin/bash
# A graph rate change starts a new ring generation (never mixed data) and the node resizes the
# ring to keep its length in seconds; switching back does the same again.
# usage: format-change-test.sh   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
PW_ENV_GHOSTREC_ARGS="node.always-process = true"
pw_env_start
pw_env_wait_node "$PW_ENV_NODE"

field() { # field NAME: value from ring-info's output
	"$GHOSTREC_BUILD_DIR/tests/node/ring-info" "$PW_ENV_NODE" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
rate_is() { [ "$(field rate)" = "$1" ] && [ "$(field capacity)" = "$2" ]; }

PW_ENV_WAIT=5 pw_env_wait_for sh -c "[ \"\$('$GHOSTREC_BUILD_DIR/tests/node/ring-info' '$PW_ENV_NODE' | sed -n 's/^cycles=\([0-9]*\).*/\1/p')\" -gt 10 ]"
g1=$(field generation)
[ "$g1" = 1 ] && rate_is 48000 1440000 || { echo "FAIL: initial ring"; exit 1; }

pw-metadata -n settings 0 clock.force-rate 44100 >/dev/null
pw_env_wait_for rate_is 44100 1323000 || { echo "FAIL: ring not at 44100 Hz / 30 s"; "$GHOSTREC_BUILD_DIR/tests/node/ring-info" "$PW_ENV_NODE"; exit 1; }
g2=$(field generation)
echo "44100 Hz: generation $g1 -> $g2, format_changes $(field format_changes)"
[ "$g2" -gt "$g1" ] || { echo "FAIL: no new generation"; exit 1; }

pw-metadata -n settings 0 clock.force-rate 0 >/dev/null
pw_env_wait_for rate_is 48000 1440000 || { echo "FAIL: ring not back at 48000 Hz"; exit 1; }
g3=$(field generation)
echo "48000 Hz: generation $g2 -> $g3"
[ "$g3" -gt "$g2" ] || { echo "FAIL: no new generation"; exit 1; }
# The writer keeps going in the new generation; frames before it are not readable as it.
sleep 0.3
"$GHOSTREC_BUILD_DIR/tests/node/ring-info" "$PW_ENV_NODE" 16 | grep -q "last 16 frames of channel 0: ok" ||
	{ echo "FAIL: new generation not readable"; exit 1; }
echo PASSED
