#!/bin/bash
# A held mark while the PipeWire daemon is frozen with SIGSTOP, then SIGCONT: the node answers,
# and the answer agrees with its marker table (tests/node/mark-freeze-test.c).
# usage: mark-freeze-test.sh running|idle ROUNDS   (needs GHOSTREC_BUILD_DIR)
#   running: node.always-process = true and a long quantum (8192), so a mark handed to the node
#            just before the freeze is usually still waiting for its cycle when the daemon stops
#   idle:    nothing drives the node: the mark times out, counted while the node runs
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
if [ "$1" = running ]; then
	PW_ENV_GHOSTREC_ARGS="node.always-process = true"
	PW_ENV_QUANTUM=8192
fi
pw_env_start
pw_env_wait_node "$PW_ENV_NODE"
"$GHOSTREC_BUILD_DIR/tests/node/mark-freeze-test" "$PW_ENV_NODE" "$PW_ENV_PW_PID" "$1" "${2:-4}"
kill -0 "$PW_ENV_PW_PID"
