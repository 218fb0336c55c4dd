#!/bin/bash
# Two ghostrec nodes in one daemon (one per input group): each has its own ring, sockets and
# settings, and both record.
# usage: two-nodes-test.sh   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
second="ghostrec-b$$"
extra=$(mktemp --suffix=.conf)
cat > "$extra" <<CONF
context.objects = [
    { factory = spa-node-factory
        args = {
            factory.name          = ghostrec.tap
            node.name             = $second
            audio.position        = [ MONO ]
            ghostrec.ring.seconds = 5
            node.always-process   = true
        }
    }
]
CONF
PW_ENV_DROPINS="$extra" PW_ENV_GHOSTREC_ARGS="node.always-process = true" pw_env_start || { rm -f "$extra"; exit 1; }
rm -f "$extra"
pw_env_wait_node "$PW_ENV_NODE"
pw_env_wait_node "$second"
PW_ENV_WAIT=10 pw_env_wait_for test -S "$XDG_RUNTIME_DIR/pw-ghost-rec/$second.ctl"
sleep 0.5
a=$("$GHOSTREC_BUILD_DIR/tests/node/ring-info" "$PW_ENV_NODE")
b=$("$GHOSTREC_BUILD_DIR/tests/node/ring-info" "$second")
echo "$a"
echo "$b"
grep -Eq "pw-ghost-rec-$(id -u)-$PW_ENV_NODE-[0-9a-f]{16}: rate=48000 channels=2 capacity=1440000" <<<"$a" ||
	{ echo "FAIL: first node's ring"; exit 1; }
grep -Eq "pw-ghost-rec-$(id -u)-$second-[0-9a-f]{16}: rate=48000 channels=1 capacity=240000" <<<"$b" ||
	{ echo "FAIL: second node's ring"; exit 1; }
for out in "$a" "$b"; do
	cycles=$(sed -n 's/^cycles=\([0-9]*\).*/\1/p' <<<"$out")
	[ "$cycles" -gt 0 ] || { echo "FAIL: a node does not run"; exit 1; }
done
echo PASSED
