# shellcheck shell=bash
# Private, headless PipeWire (+ optional WirePlumber) for tests. Source it from bash:
#
#   . "$GHOSTREC_SOURCE_DIR/tests/lib/pw-env.sh"
#   PW_ENV_QUANTUM=256 pw_env_start            # daemon with the ghostrec node loaded
#   pw_env_wait_node ghostrec                  # node exists and its control socket is bound
#   ... pw-cli / pw-link / test programs (XDG_RUNTIME_DIR etc. are exported) ...
#   (pw_env_stop runs from the EXIT trap, also when the test fails)
#
# Inputs (environment):
#   GHOSTREC_BUILD_DIR   meson build dir (plugin at spa-plugin/ghostrec/libspa-ghostrec.so)
#   GHOSTREC_SOURCE_DIR  source dir (drop-ins, this library); default: derived from this file
#   PW_ENV_QUANTUM       fixed graph quantum (default 256); PW_ENV_RATE (default 48000)
#   PW_ENV_NODE          node.name of the ghostrec node (default: ghostrec-t<pid>, unique, since
#                        its shm ring name /pw-ghost-rec-<uid>-<node> is global to the machine)
#   PW_ENV_NO_GHOSTREC=1 do not load the ghostrec node
#   PW_ENV_GHOSTREC_ARGS extra "key = value" lines for the ghostrec node's args (a key the
#                        drop-in sets too takes this value instead)
#   PW_ENV_DROPINS       space-separated extra pipewire.conf.d/*.conf files to install
#   PW_ENV_WP_DROPINS    space-separated extra wireplumber.conf.d/*.conf files
#   PW_ENV_NO_PLUGIN=1   half-installed: the drop-in loads the node but libspa-ghostrec.so is
#                        not on SPA_PLUGIN_DIR
#   PW_ENV_WP_NO_SCRIPT=1 half-installed: WirePlumber's drop-in without the placement script
#   PW_ENV_KEEP=1        keep the temp dir (logs) after the test
# More: tests/lib/README.md
# Outputs (exported):
#   PW_ENV_DIR           temp dir: run/ (XDG_RUNTIME_DIR), conf/, pipewire.log, wireplumber.log
#   PW_ENV_NODE          the ghostrec node's name
#   PW_ENV_WP_CONF_DIR   WirePlumber drop-in dir (write test config there before starting it)
#   XDG_RUNTIME_DIR PIPEWIRE_RUNTIME_DIR PIPEWIRE_CONFIG_DIR SPA_PLUGIN_DIR XDG_CONFIG_HOME
#   PW_ENV_PW_PID, PW_ENV_WP_PID
# Functions: pw_env_start, pw_env_stop, pw_env_wait_node NAME [SECONDS],
#   pw_env_node_gone NAME [SECONDS], pw_env_node_id NAME, pw_env_start_wireplumber,
#   pw_env_set_quantum N, pw_env_dump_logs, pw_env_wait_for CMD... (retry up to 10 s).

PW_ENV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${GHOSTREC_SOURCE_DIR:=$(cd "$PW_ENV_LIB_DIR/../.." && pwd)}"
: "${PW_ENV_QUANTUM:=256}"
: "${PW_ENV_RATE:=48000}"

pw_env_log() { echo "pw-env: $*" >&2; }

pw_env_dump_logs() {
	local f
	for f in "$PW_ENV_DIR/pipewire.log" "$PW_ENV_DIR/wireplumber.log"; do
		[ -s "$f" ] || continue
		echo "---- last lines of $f ----" >&2
		tail -n 40 "$f" >&2
	done
}

# Runs "$@" until it succeeds, up to PW_ENV_WAIT seconds (default 10).
pw_env_wait_for() {
	local deadline=$((SECONDS + ${PW_ENV_WAIT:-10}))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			return 1
		fi
		sleep 0.05
	done
}

# The daemon answers on its socket (pw-cli falls back to an interactive prompt when it cannot
# connect, so it always gets a timeout and no stdin).
pw_env_core_ready() {
	[ -S "$XDG_RUNTIME_DIR/pipewire-0" ] &&
		timeout 3 pw-cli info 0 </dev/null 2>/dev/null | grep -q 'id: 0'
}

# Kills PID when this test shell is gone, even if it never ran its EXIT trap (SIGKILL by a
# timeout, a test that replaced the trap): no daemon outlives its test. With DIR, also removes
# that temp dir in this case (unless PW_ENV_KEEP).
pw_env_watchdog() {
	local target=$1 dir=${2:-} shell=$$ keep=${PW_ENV_KEEP:-}
	(
		trap '' INT TERM HUP
		while kill -0 "$shell" 2>/dev/null && kill -0 "$target" 2>/dev/null; do
			sleep 0.5
		done
		if kill -0 "$target" 2>/dev/null; then
			kill "$target" 2>/dev/null
			kill -CONT "$target" 2>/dev/null || true # a test may have left it stopped
			sleep 0.5
			[ -n "$dir" ] && [ -z "$keep" ] && rm -rf "$dir"
		fi
	) </dev/null >/dev/null 2>&1 &
}

pw_env_start() {
	if [ -z "${GHOSTREC_BUILD_DIR:-}" ]; then
		pw_env_log "GHOSTREC_BUILD_DIR is not set"
		return 1
	fi
	local sys_plugindir f
	sys_plugindir=$(pkg-config --variable=plugindir libspa-0.2 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/spa-0.2)
	PW_ENV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pw-env.XXXXXX")
	export PW_ENV_DIR
	mkdir -p "$PW_ENV_DIR/run" "$PW_ENV_DIR/conf/pipewire.conf.d" "$PW_ENV_DIR/config" "$PW_ENV_DIR/state"
	chmod 700 "$PW_ENV_DIR/run"
	export XDG_RUNTIME_DIR="$PW_ENV_DIR/run"
	export PIPEWIRE_RUNTIME_DIR="$PW_ENV_DIR/run"
	export PIPEWIRE_CONFIG_DIR="$PW_ENV_DIR/conf"
	export XDG_CONFIG_HOME="$PW_ENV_DIR/config"
	export XDG_STATE_HOME="$PW_ENV_DIR/state"
	# WirePlumber's drop-in dir: tests may write their config here before pw_env_start_wireplumber.
	export PW_ENV_WP_CONF_DIR="$XDG_CONFIG_HOME/wireplumber/wireplumber.conf.d"
	mkdir -p "$PW_ENV_WP_CONF_DIR"
	export SPA_PLUGIN_DIR="$GHOSTREC_BUILD_DIR/spa-plugin:$sys_plugindir"
	if [ -n "${PW_ENV_NO_PLUGIN:-}" ]; then export SPA_PLUGIN_DIR="$sys_plugindir"; fi
	unset PIPEWIRE_REMOTE PIPEWIRE_CORE DBUS_SESSION_BUS_ADDRESS
	export DISABLE_RTKIT=1

	cp "$PW_ENV_LIB_DIR/pipewire-headless.conf" "$PW_ENV_DIR/conf/pipewire.conf"
	# Clients (pw-cli, pw-link, test programs) read their config from the same dir.
	local sys_confdir
	sys_confdir=$(pkg-config --variable=prefix libpipewire-0.3 2>/dev/null || echo /usr)/share/pipewire
	for f in client.conf client-rt.conf; do
		[ -f "$sys_confdir/$f" ] && cp "$sys_confdir/$f" "$PW_ENV_DIR/conf/"
	done
	cat > "$PW_ENV_DIR/conf/pipewire.conf.d/10-test-clock.conf" <<-EOF
	context.properties = {
	    default.clock.rate = $PW_ENV_RATE
	    default.clock.allowed-rates = [ $PW_ENV_RATE ]
	    default.clock.quantum = $PW_ENV_QUANTUM
	    default.clock.min-quantum = $PW_ENV_QUANTUM
	    default.clock.max-quantum = $PW_ENV_QUANTUM
	}
	EOF
	if [ -z "${PW_ENV_NO_GHOSTREC:-}" ]; then
		# The installed drop-in, with a unique node.name and the extra args added; an extra
		# "key = value" replaces the drop-in's line for the same key.
		: "${PW_ENV_NODE:=ghostrec-t$$}"
		export PW_ENV_NODE
		awk -v extra="${PW_ENV_GHOSTREC_ARGS:-}" -v node="$PW_ENV_NODE" '
			function key_of(line, k) { k = line; sub(/^[ \t]+/, "", k); sub(/[ \t]*=.*/, "", k); return k }
			BEGIN { n = split(extra, l, "\n"); for (i = 1; i <= n; i++) if (l[i] ~ /=/) over[key_of(l[i])] = 1 }
			/^ *node.name *= *ghostrec *$/ { sub("ghostrec", node) }
			in_args && /^ *}/ { in_args = 0 }
			in_args && /=/ && (key_of($0) in over) { next }
			/factory.name *= *ghostrec.tap/ { print; in_args = 1
				for (i = 1; i <= n; i++) print "            " l[i]; next } { print }' \
			"$GHOSTREC_SOURCE_DIR/pipewire.conf.d/60-ghostrec.conf" \
			> "$PW_ENV_DIR/conf/pipewire.conf.d/60-ghostrec.conf"
	fi
	for f in ${PW_ENV_DROPINS:-}; do
		cp "$f" "$PW_ENV_DIR/conf/pipewire.conf.d/"
	done

	trap 'pw_env_stop' EXIT
	trap 'exit 130' INT TERM
	pipewire > "$PW_ENV_DIR/pipewire.log" 2>&1 &
	PW_ENV_PW_PID=$!
	export PW_ENV_PW_PID
	pw_env_watchdog "$PW_ENV_PW_PID" "$PW_ENV_DIR"
	if ! pw_env_wait_for pw_env_core_ready; then
		pw_env_log "PipeWire did not come up"
		pw_env_dump_logs
		return 1
	fi
	pw_env_log "PipeWire $PW_ENV_PW_PID up in $XDG_RUNTIME_DIR (quantum $PW_ENV_QUANTUM, rate $PW_ENV_RATE)"
}

# Starts WirePlumber 0.5 on the private daemon with the repo's wireplumber.conf.d drop-in and
# placement script installed under the private XDG dirs, hardware monitors disabled.
# Extra drop-ins: PW_ENV_WP_DROPINS (files), or write them to $PW_ENV_WP_CONF_DIR before.
pw_env_start_wireplumber() {
	export XDG_DATA_HOME="$PW_ENV_DIR/data"
	mkdir -p "$PW_ENV_WP_CONF_DIR" "$XDG_DATA_HOME/wireplumber/scripts/ghostrec"
	cp "$GHOSTREC_SOURCE_DIR/wireplumber.conf.d/60-ghostrec.conf" "$PW_ENV_WP_CONF_DIR/"
	[ -n "${PW_ENV_WP_NO_SCRIPT:-}" ] ||
		cp "$GHOSTREC_SOURCE_DIR/wireplumber.conf.d/scripts/placement.lua" \
			"$XDG_DATA_HOME/wireplumber/scripts/ghostrec/"
	cat > "$PW_ENV_WP_CONF_DIR/10-test-headless.conf" <<-EOF
	wireplumber.profiles = {
	  main = {
	    hardware.audio = disabled
	    hardware.bluetooth = disabled
	    hardware.video-capture = disabled
	  }
	}
	EOF
	local f
	for f in ${PW_ENV_WP_DROPINS:-}; do
		cp "$f" "$PW_ENV_WP_CONF_DIR/"
	done
	wireplumber > "$PW_ENV_DIR/wireplumber.log" 2>&1 &
	PW_ENV_WP_PID=$!
	export PW_ENV_WP_PID
	pw_env_watchdog "$PW_ENV_WP_PID"
	if ! pw_env_wait_for pw_env_has_client wireplumber; then
		pw_env_log "WirePlumber did not connect"
		pw_env_dump_logs
		return 1
	fi
	pw_env_log "WirePlumber $PW_ENV_WP_PID up"
}

pw_env_has_client() {
	timeout 5 pw-cli ls Client </dev/null 2>/dev/null | grep -qi "application.name = \"$1\""
}

# Prints the object id of the node called NAME (empty if none).
pw_env_node_id() {
	timeout 5 pw-cli ls Node </dev/null 2>/dev/null | awk -v want="node.name = \"$1\"" '
		/^[ \t]*id [0-9]+,/ { id = $2; sub(",", "", id) }
		index($0, want) { print id; exit }'
}

pw_env_has_node() { [ -n "$(pw_env_node_id "$1")" ]; }
pw_env_lacks_node() { [ -z "$(pw_env_node_id "$1")" ]; }

pw_env_wait_node() {
	local name=$1
	PW_ENV_WAIT=${2:-10} pw_env_wait_for pw_env_has_node "$name" || {
		pw_env_log "node $name did not appear"; pw_env_dump_logs; return 1; }
	# A ghostrec node is ready for clients once its control socket exists.
	if grep -q "node.name *= *$name\$" "$PIPEWIRE_CONFIG_DIR"/pipewire.conf.d/*ghostrec*.conf 2>/dev/null; then
		PW_ENV_WAIT=${2:-10} pw_env_wait_for test -S "$XDG_RUNTIME_DIR/pw-ghost-rec/$name.ctl" || {
			pw_env_log "control socket of $name did not appear"; pw_env_dump_logs; return 1; }
	fi
}

pw_env_node_gone() {
	PW_ENV_WAIT=${2:-10} pw_env_wait_for pw_env_lacks_node "$1"
}

pw_env_set_quantum() {
	pw-metadata -n settings 0 clock.force-quantum "$1" >/dev/null
}

pw_env_stop() {
	local status=$?
	trap - EXIT
	if [ -n "${PW_ENV_WP_PID:-}" ]; then
		kill "$PW_ENV_WP_PID" 2>/dev/null
		wait "$PW_ENV_WP_PID" 2>/dev/null
		PW_ENV_WP_PID=
	fi
	if [ -n "${PW_ENV_PW_PID:-}" ]; then
		kill "$PW_ENV_PW_PID" 2>/dev/null
		kill -CONT "$PW_ENV_PW_PID" 2>/dev/null || true # a test may have left it stopped (SIGSTOP)
		wait "$PW_ENV_PW_PID" 2>/dev/null
		PW_ENV_PW_PID=
	fi
	if [ "$status" -ne 0 ]; then
		pw_env_dump_logs
	fi
	if [ -n "${PW_ENV_DIR:-}" ] && [ -z "${PW_ENV_KEEP:-}" ]; then
		rm -rf "$PW_ENV_DIR"
	elif [ -n "${PW_ENV_DIR:-}" ]; then
		pw_env_log "kept $PW_ENV_DIR"
	fi
	return "$status"
}
