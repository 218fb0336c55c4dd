# shellcheck shell=bash
# ghostrec-exporter on a private PipeWire (tests/lib/pw-env.sh, sourced and started first),
# for end-to-end tests and ./run-demo:
#
#   exporter_env_start WORKDIR NODE [more ghostrec-exporter args...]
#       OSC on a free loopback UDP port (exported as EXP_OSC_PORT), log WORKDIR/exporter.log,
#       pid EXP_PID; returns once the exporter has attached to NODE's ring.
#   trap exporter_env_stop EXIT
#       stops the exporter, shows the end of its log when the script failed, then pw_env_stop.
#       A script with more to stop calls it last from its own EXIT handler.

exporter_env_start() {
	EXP_WORK=$1
	local node=$2
	shift 2
	EXP_OSC_PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	export EXP_OSC_PORT
	"$GHOSTREC_BUILD_DIR/exporter/ghostrec-exporter" --osc-port "$EXP_OSC_PORT" --osc-bind 127.0.0.1 \
		--node "$node" "$@" >"$EXP_WORK/exporter.log" 2>&1 &
	EXP_PID=$!
	PW_ENV_WAIT=15 pw_env_wait_for grep -q "attached" "$EXP_WORK/exporter.log" ||
		{ echo "exporter did not attach to the node" >&2; return 1; }
}

exporter_env_stop() {
	local status=$?
	if [ -n "${EXP_PID:-}" ]; then
		kill "$EXP_PID" 2>/dev/null
		wait "$EXP_PID" 2>/dev/null
		EXP_PID=
	fi
	if [ $status -ne 0 ] && [ -f "${EXP_WORK:-}/exporter.log" ]; then
		echo "---- exporter log ----" >&2
		tail -n 30 "$EXP_WORK/exporter.log" >&2
	fi
	(exit $status)
	pw_env_stop
}
