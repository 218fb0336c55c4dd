#!/bin/bash
# A half-installed ghostrec never takes the user's audio down: with the drop-ins installed but
# the plugin (.so) and/or WirePlumber's placement script missing, PipeWire and WirePlumber start,
# a stream plays into a sink and a recorder on that sink's monitor hears it, and each daemon's
# log says what is missing.
# usage: half-installed-test.sh so-missing|script-missing|both   (needs GHOSTREC_BUILD_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib/pw-env.sh"
mode=${1:?usage: half-installed-test.sh so-missing|script-missing|both}
case $mode in
so-missing) export PW_ENV_NO_PLUGIN=1 ;;
script-missing) export PW_ENV_WP_NO_SCRIPT=1 ;;
both) export PW_ENV_NO_PLUGIN=1 PW_ENV_WP_NO_SCRIPT=1 ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
fail() { echo "FAIL: $*" >&2; exit 1; }

pw_env_start || fail "PipeWire did not start"
grep -q "flags *= *\[ *nofail *\]" "$PIPEWIRE_CONFIG_DIR/pipewire.conf.d/60-ghostrec.conf" ||
	fail "the installed drop-in has no nofail"
pw_env_start_wireplumber || fail "WirePlumber did not start"

if [ -n "${PW_ENV_NO_PLUGIN:-}" ]; then
	# PipeWire's own line for the nofail object that could not be created
	grep -q "can't create node" "$PW_ENV_DIR/pipewire.log" ||
		fail "no line about the ghostrec node in PipeWire's log"
	pw_env_has_node "$PW_ENV_NODE" && fail "a ghostrec node exists without its plugin"
	echo "ok: PipeWire runs without the plugin; its log: $(grep "can't create node" "$PW_ENV_DIR/pipewire.log" | head -1)"
else
	pw_env_wait_node "$PW_ENV_NODE" || fail "the ghostrec node did not start"
fi
if [ -n "${PW_ENV_WP_NO_SCRIPT:-}" ]; then
	PW_ENV_WAIT=10 pw_env_wait_for grep -q "component 'custom.ghostrec-placement.*failed to load" \
		"$PW_ENV_DIR/wireplumber.log" || fail "no warning about the missing script in WirePlumber's log"
	echo "ok: WirePlumber runs without the script; its log: $(grep -o "optional component 'custom.ghostrec-placement.*" "$PW_ENV_DIR/wireplumber.log" | head -1)"
fi

# The user's audio: WirePlumber links a player to the sink and a recorder to its monitor.
pw-cli create-node adapter '{ factory.name = support.null-audio-sink node.name = test-out
	media.class = Audio/Sink audio.position = [ FL FR ] object.linger = true
	monitor.channel-volumes = true }' </dev/null >/dev/null
pw_env_wait_node test-out || fail "no sink"
sox -n -r 48000 -c 2 -b 16 "$PW_ENV_DIR/tone.wav" synth 2 sine 440 vol 0.5
pw-record --target test-out -P '{ stream.capture.sink = true }' --rate 48000 --channels 2 \
	--format s16 "$PW_ENV_DIR/heard.wav" </dev/null 2>"$PW_ENV_DIR/record.log" &
rec=$!
recording() { timeout 5 pw-link -l </dev/null 2>/dev/null | grep -q "test-out:monitor_FL"; }
PW_ENV_WAIT=10 pw_env_wait_for recording || { kill "$rec"; fail "WirePlumber did not link the recorder"; }
timeout 20 pw-play --target test-out "$PW_ENV_DIR/tone.wav" </dev/null || { kill "$rec"; fail "playback failed"; }
kill -INT "$rec"
wait "$rec" || true
peak=$(sox "$PW_ENV_DIR/heard.wav" -n stat 2>&1 | awk '/Maximum amplitude/ { print $3 }')
echo "recorded peak on the sink's monitor: ${peak:-none}"
awk -v p="${peak:-0}" 'BEGIN { exit !(p > 0.3) }' || fail "the sink did not hear the tone (peak ${peak:-none})"
echo PASSED
