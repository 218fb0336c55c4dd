#!/bin/bash
# The ghostrec node's main-loop wake-ups in a real PipeWire daemon: none while idle, bounded
# while a mark is pending (tests/node/wakeup-test.c).
# usage: wakeup-test.sh idle|running   (needs GHOSTREC_BUILD_DIR)
#   idle:    nothing drives the node (marks time out)
#   running: node.always-process = true, so the Dummy-Driver runs it without links
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
if [ "$1" = running ]; then
	PW_ENV_GHOSTREC_ARGS="node.always-process = true"
fi
pw_env_start
pw_env_wait_node "$PW_ENV_NODE"
"$GHOSTREC_BUILD_DIR/tests/node/wakeup-test" "$PW_ENV_NODE" "$PW_ENV_PW_PID" "$1"
