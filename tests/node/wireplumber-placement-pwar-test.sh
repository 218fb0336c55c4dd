#!/bin/bash
# WirePlumber 0.5 places the ghostrec node in front of a node shaped like PWAR's: `pwar`, one
# input port `input` without audio.channel (tests/node/pwar-node.c). The tap's first channel,
# and only that one, goes to pwar:input (PWAR carries one channel to Windows; linking both
# would sum them), and the link comes back when PWAR restarts.
# usage: wireplumber-placement-pwar-test.sh   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"

PW_ENV_QUANTUM=128 pw_env_start
pw_env_wait_node "$PW_ENV_NODE"
cat > "$PW_ENV_WP_CONF_DIR/61-test-placement.conf" <<CONF
ghostrec.placement = {
  node = $PW_ENV_NODE
  capture = test-capture
  destination = "pwar"
}
CONF
pw_env_start_wireplumber

pw-cli create-node adapter '{ factory.name = support.null-audio-sink node.name = test-capture
	media.class = Audio/Source/Virtual audio.position = [ FL FR ] object.linger = true
	node.driver = true priority.driver = 1 }' </dev/null >/dev/null

PWAR_PID=
start_pwar() {
	"$GHOSTREC_BUILD_DIR/tests/node/pwar-node" pwar 2>"$PW_ENV_DIR/pwar-node.log" &
	PWAR_PID=$!
	pw_env_wait_node pwar
}
stop_pwar() {
	[ -n "$PWAR_PID" ] || return 0
	kill "$PWAR_PID" 2>/dev/null || true
	wait "$PWAR_PID" 2>/dev/null || true
	PWAR_PID=
}
trap 'stop_pwar; pw_env_stop' EXIT

links() {
	timeout 5 pw-link -l </dev/null 2>/dev/null | awk '
		/^[^ \t|]/ { port = $0; next }
		/\|->/ { sub(/^[ \t]*\|-> */, ""); print port " -> " $0 }'
}

want_links() {
	local l
	l=$(links)
	grep -qx "test-capture:capture_FL -> $PW_ENV_NODE:input_FL" <<<"$l" || return 1
	grep -qx "test-capture:capture_FR -> $PW_ENV_NODE:input_FR" <<<"$l" || return 1
	grep -qx "$PW_ENV_NODE:output_FL -> pwar:input" <<<"$l" || return 1
}

check_placed() {
	if ! PW_ENV_WAIT=15 pw_env_wait_for want_links; then
		echo "FAIL: $1: links are" >&2
		links >&2
		grep -i ghostrec "$PW_ENV_DIR/wireplumber.log" >&2 || true
		exit 1
	fi
	# only the first channel reaches PWAR's one input
	local into
	into=$(links | grep -c -- '-> pwar:input$' || true)
	if [ "$into" -ne 1 ]; then
		echo "FAIL: $1: $into links into pwar:input, expected 1" >&2
		links >&2
		exit 1
	fi
	echo "ok: $1"
	links | grep -F -e "$PW_ENV_NODE" -e pwar
}

start_pwar
check_placed "placed between capture and pwar"

# PWAR restarts (its GUI restarts the node when settings change)
stop_pwar
pw_env_node_gone pwar || { echo "FAIL: pwar node not removed" >&2; exit 1; }
start_pwar
check_placed "relinked after pwar came back"
echo "PASSED"
