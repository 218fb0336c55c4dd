#!/bin/bash
# The ghostrec node in a real PipeWire daemon at one graph quantum: signal through the node for
# SECONDS of audio, bit-exact ring, zero added latency, marker over the control channel.
# usage: tap-graph-test.sh QUANTUM SECONDS   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
quantum=$1
seconds=${2:-10}
if [ "${3:-freewheel}" = freewheel ]; then
	# The node joins the Freewheel-Driver's group from the start, like the test's player and
	# recorder, so one driver runs the whole test graph from the first link on.
	PW_ENV_GHOSTREC_ARGS="node.group = pipewire.freewheel"
fi
PW_ENV_QUANTUM=$quantum pw_env_start
pw_env_wait_node "$PW_ENV_NODE"
start=$SECONDS
"$GHOSTREC_BUILD_DIR/tests/node/tap-client" "$PW_ENV_NODE" "$seconds" $((1000 + quantum)) ${3:-freewheel}
echo "quantum $quantum: wall time $((SECONDS - start)) s"
