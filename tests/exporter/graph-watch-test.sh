#!/bin/bash
# The exporter warns, in its log and in `ghostrec-ctl status`, when PWAR's input is fed by
# something besides the ghostrec node (PipeWire sums the links: REAPER's take is no longer
# the clean audio) and when the graph quantum exceeds 128 while the destination is pwar
# (PWAR's router refuses such packets). Real PipeWire, a PWAR-shaped node (tests/node/
# pwar-node) and another node standing in for the interface PWAR's GUI links from its saved
# Input.
# usage: graph-watch-test.sh BUILD_DIR
set -uo pipefail
build=$1
export GHOSTREC_BUILD_DIR=$build
. "$(dirname "$0")/../lib/pw-env.sh"
. "$(dirname "$0")/../lib/exporter-env.sh"

PW_ENV_QUANTUM=128 pw_env_start || exit 1
work=$PW_ENV_DIR/gw
mkdir -p "$work/spool"
PWAR_PID= IF_PID=
cleanup() {
	local st=$?
	for p in $PWAR_PID $IF_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	(exit $st)
	exporter_env_stop
}
trap cleanup EXIT
pw_env_wait_node "$PW_ENV_NODE" || exit 1
"$build/tests/node/pwar-node" pwar 2>"$work/pwar-node.log" &
PWAR_PID=$!
pw_env_wait_node pwar || exit 1
# the "interface": any other node with an output (a second pwar-node instance)
"$build/tests/node/pwar-node" test-interface 2>"$work/interface.log" &
IF_PID=$!
pw_env_wait_node test-interface || exit 1
has_port() { timeout 5 pw-link -"$1" </dev/null 2>/dev/null | grep -qx "$2"; }
PW_ENV_WAIT=10 pw_env_wait_for has_port o test-interface:output-left || { echo "FAIL: no test-interface:output-left" >&2; exit 1; }
PW_ENV_WAIT=10 pw_env_wait_for has_port i pwar:input || { echo "FAIL: no pwar:input" >&2; exit 1; }

exporter_env_start "$work" "$PW_ENV_NODE" --spool-dir "$work/spool" --ctl-socket "$work/exporter.ctl" || exit 1
ctl() { "$build/exporter/ghostrec-ctl" --socket "$work/exporter.ctl" "$@"; }
# graph_is EXPR: the status's "graph" object g satisfies the python expression EXPR
graph_is() {
	ctl --json status 2>/dev/null | python3 -c 'import json, sys; g = json.load(sys.stdin)["graph"]; sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
expect() { # description, python expression
	if PW_ENV_WAIT=15 pw_env_wait_for graph_is "$2"; then
		echo "ok: $1"
	else
		echo "FAIL: $1; status graph is:" >&2
		ctl --json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["graph"])' >&2
		exit 1
	fi
}

pw-link "$PW_ENV_NODE:output_FL" pwar:input || exit 1
expect "ghostrec feeds pwar:input, no warning" \
	"g['connected'] and g['destination'] == 'pwar' and g['destination_found'] and '$PW_ENV_NODE:output_FL' in g['fed_by'] and g['warnings'] == []"

# PWAR's GUI links its saved "Input" straight to pwar:input
pw-link test-interface:output-left pwar:input || exit 1
expect "summing warned in the status" \
	"any(w.startswith('summing: pwar:input is fed by test-interface:output-left besides ghostrec') for w in g['warnings'])"
grep -q "^warning: graph: summing: pwar:input is fed by test-interface:output-left" "$work/exporter.log" ||
	{ echo "FAIL: no summing warning in the exporter's log" >&2; cat "$work/exporter.log" >&2; exit 1; }
echo "ok: summing warned in the log"
ctl status | grep "^WARNING summing" || { echo "FAIL: ghostrec-ctl status shows no warning" >&2; exit 1; }

pw-link -d test-interface:output-left pwar:input || exit 1
expect "summing warning gone once the link is" "g['warnings'] == []"
PW_ENV_WAIT=5 pw_env_wait_for grep -q "graph: resolved: summing" "$work/exporter.log" ||
	{ echo "FAIL: no 'resolved' line in the log" >&2; exit 1; }

# quantum above PWAR's 128
pw_env_set_quantum 256
expect "quantum 256 warned in the status" \
	"any(w.startswith('quantum: the graph runs 256 frames per cycle') for w in g['warnings'])"
grep -q "^warning: graph: quantum: the graph runs 256" "$work/exporter.log" ||
	{ echo "FAIL: no quantum warning in the exporter's log" >&2; exit 1; }
echo "ok: quantum warned in the log"
pw_env_set_quantum 128
expect "quantum warning gone at 128" "g['warnings'] == []"

# PipeWire restarts: the watch connects again and still sees summing
for p in $PWAR_PID $IF_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
kill "$PW_ENV_PW_PID"
wait "$PW_ENV_PW_PID" 2>/dev/null
expect "connection loss shown in the status" "not g['connected']"
pipewire >>"$PW_ENV_DIR/pipewire.log" 2>&1 &
PW_ENV_PW_PID=$!
pw_env_wait_for pw_env_core_ready || { echo "FAIL: PipeWire did not come back" >&2; exit 1; }
pw_env_wait_node "$PW_ENV_NODE" || exit 1
"$build/tests/node/pwar-node" pwar 2>>"$work/pwar-node.log" &
PWAR_PID=$!
"$build/tests/node/pwar-node" test-interface 2>>"$work/interface.log" &
IF_PID=$!
pw_env_wait_node pwar && pw_env_wait_node test-interface || exit 1
PW_ENV_WAIT=10 pw_env_wait_for has_port o test-interface:output-left || exit 1
PW_ENV_WAIT=10 pw_env_wait_for has_port i pwar:input || exit 1
pw_env_wait_for pw-link "$PW_ENV_NODE:output_FL" pwar:input || exit 1
pw_env_wait_for pw-link test-interface:output-left pwar:input || exit 1
expect "after PipeWire restarted: connected again, summing warned" \
	"g['connected'] and any(w.startswith('summing: pwar:input is fed by test-interface:output-left') for w in g['warnings'])"
grep "graph:" "$work/exporter.log"
echo PASSED
