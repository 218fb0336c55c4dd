#!/bin/bash
# The node's ZeroMQ control channel in a real PipeWire daemon.
# usage: control-node-test.sh idle|running   (needs GHOSTREC_BUILD_DIR)
#   idle:    nothing drives the node (mark must time out, no marker written)
#   running: node.always-process = true, so the Dummy-Driver runs it without links
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
if [ "$1" = running ]; then
	PW_ENV_GHOSTREC_ARGS="node.always-process = true"
	ring_seconds=30 # the drop-in's value
else
	# overrides a key the drop-in sets: hello must report this value, not the drop-in's 30
	ring_seconds=12
	PW_ENV_GHOSTREC_ARGS="ghostrec.ring.seconds = $ring_seconds"
fi
pw_env_start
pw_env_wait_node "$PW_ENV_NODE"
"$GHOSTREC_BUILD_DIR/tests/node/control-node-test" "$PW_ENV_NODE" "$1" "$ring_seconds"
# The daemon is still there and logged the bad requests clearly.
kill -0 "$PW_ENV_PW_PID"
if [ "$1" = running ]; then
	grep -q "bad control request" "$PW_ENV_DIR/pipewire.log" ||
		{ echo "FAIL: no log line for bad requests" >&2; exit 1; }
	grep "bad control request" "$PW_ENV_DIR/pipewire.log" | head -3
fi
