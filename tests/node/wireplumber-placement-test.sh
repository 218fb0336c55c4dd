#!/bin/bash
# WirePlumber 0.5 places the ghostrec node between a configured capture node and a configured
# destination node, and relinks when either disappears and comes back. Null-audio nodes stand
# in for the interface (Audio/Source) and the relay's input (Audio/Sink).
# usage: wireplumber-placement-test.sh   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"

pw_env_start
pw_env_wait_node "$PW_ENV_NODE"
cat > "$PW_ENV_WP_CONF_DIR/61-test-placement.conf" <<CONF
ghostrec.placement = {
  node = $PW_ENV_NODE
  capture = test-capture
  destination = test-destination
}
CONF
pw_env_start_wireplumber

create_capture() {
	pw-cli create-node adapter '{ factory.name = support.null-audio-sink node.name = test-capture
		media.class = Audio/Source/Virtual audio.position = [ FL FR ] object.linger = true
		node.driver = true priority.driver = 1 }' </dev/null >/dev/null
}
create_destination() {
	pw-cli create-node adapter '{ factory.name = support.null-audio-sink node.name = test-destination
		media.class = Audio/Sink audio.position = [ FL FR ] object.linger = true
		monitor.channel-volumes = true }' </dev/null >/dev/null
}

# "out-node:port -> in-node:port" lines of every link.
links() {
	timeout 5 pw-link -l </dev/null 2>/dev/null | awk '
		/^[^ \t|]/ { port = $0; next }
		/\|->/ { sub(/^[ \t]*\|-> */, ""); print port " -> " $0 }'
}

want_links() {
	local l
	l=$(links)
	for ch in FL FR; do
		grep -qx "test-capture:capture_$ch -> $PW_ENV_NODE:input_$ch" <<<"$l" || return 1
		grep -qx "$PW_ENV_NODE:output_$ch -> test-destination:playback_$ch" <<<"$l" || return 1
	done
}

check_placed() {
	if ! PW_ENV_WAIT=15 pw_env_wait_for want_links; then
		echo "FAIL: $1: links are" >&2
		links >&2
		grep -i ghostrec "$PW_ENV_DIR/wireplumber.log" >&2 || true
		exit 1
	fi
	echo "ok: $1"
	links | grep -F "$PW_ENV_NODE"
}

cycles() {
	"$GHOSTREC_BUILD_DIR/tests/node/ring-info" "$PW_ENV_NODE" | sed -n 's/^cycles=\([0-9]*\).*/\1/p'
}

create_capture
create_destination
check_placed "placed between capture and destination"

# The node runs in the graph WirePlumber built.
c0=$(cycles); sleep 0.5; c1=$(cycles)
echo "node cycles $c0 -> $c1"
[ "$c1" -gt "$c0" ] || { echo "FAIL: the node does not run" >&2; exit 1; }

# The capture node goes away and comes back.
pw-cli destroy "$(pw_env_node_id test-capture)" </dev/null >/dev/null
pw_env_node_gone test-capture || { echo "FAIL: capture node not removed" >&2; exit 1; }
if links | grep -q "^test-capture:"; then echo "FAIL: stale links" >&2; exit 1; fi
echo "ok: capture removed"
create_capture
check_placed "relinked after the capture node came back"

# The destination goes away and comes back.
pw-cli destroy "$(pw_env_node_id test-destination)" </dev/null >/dev/null
pw_env_node_gone test-destination || { echo "FAIL: destination node not removed" >&2; exit 1; }
create_destination
check_placed "relinked after the destination node came back"

# No duplicate links.
n=$(links | grep -c "$PW_ENV_NODE")
[ "$n" -eq 4 ] || { echo "FAIL: $n links involve the node, expected 4" >&2; links >&2; exit 1; }
echo "PASSED"
