#!/bin/bash
# Another local user cannot take the audio down, forge a take, read the spool or control the
# exporter. The victim's PipeWire (with the ghostrec node) and exporter run as a dedicated
# non-root user, the attacker as a second one (as root the node would simply replace the other
# user's objects and this would pass for the wrong reason). Steps:
#   1. before the victim's PipeWire starts, the attacker squats the ring's old fixed name with a
#      complete forged ring (0644), a forged ring under the victim's prefix, and plants the
#      no-XDG_RUNTIME_DIR fallback directory /tmp/pw-ghost-rec-<victim uid> as a symlink;
#   2. PipeWire, the node and the exporter start anyway; the exporter attaches to the node's real
#      ring (not a forged one);
#   3. a reader pointed at the forged ring (foreign owner) or at a non-0600 ring refuses it with a
#      clear error, the exporter too, and attaches again once the real ring is back;
#   4. a take is recorded and delivered: outbox 0700 with 0600 files, spool 0700;
#   5. the attacker cannot read the spool, the outbox or the ring, cannot talk to the exporter
#      (ghostrec-ctl says permission denied) or mark through the node's socket;
#   6. without XDG_RUNTIME_DIR the planted symlink is refused with an error naming it, and
#      nothing is chmod'ed through it.
# usage: second-user-test.sh   (needs GHOSTREC_BUILD_DIR, root for useradd/setpriv)
set -euo pipefail
B=$GHOSTREC_BUILD_DIR
S=${GHOSTREC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

if [ "${1:-}" = --victim-session ]; then
	# Runs as the victim: PipeWire with the node, and the exporter, until told to stop on the fifo.
	. "$S/tests/lib/pw-env.sh"
	export PW_ENV_NODE=$2
	PW_ENV_GHOSTREC_ARGS="node.always-process = true" pw_env_start
	pw_env_wait_node "$PW_ENV_NODE"
	"$B/exporter/ghostrec-exporter" --osc-bind 127.0.0.1 --osc-port 0 --node "$PW_ENV_NODE" \
		--outbox "$HOME/outbox" --preroll 0.2 --postroll 0.1 >"$HOME/exporter.log" 2>&1 &
	exp=$!
	printf 'XDG_RUNTIME_DIR=%s\nPW_ENV_DIR=%s\nPW_PID=%s\nEXP_PID=%s\n' "$XDG_RUNTIME_DIR" \
		"$PW_ENV_DIR" "$PW_ENV_PW_PID" "$exp" >"$HOME/session.env"
	read -r _ <"$HOME/stop.fifo"
	kill "$exp" 2>/dev/null || true
	wait "$exp" 2>/dev/null || true
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (useradd, setpriv)"; exit 77; }
for t in useradd userdel setpriv; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

victim=grv$$ other=gro$$ node=ghostrec-2u$$
T=$(mktemp -d /tmp/gr-2user.XXXXXX)
chmod 755 "$T"
session= EXP_PID=
cleanup() {
	local status=$?
	set +e
	[ -n "$EXP_PID" ] && kill "$EXP_PID" 2>/dev/null
	if [ -n "$session" ]; then
		echo stop >"$T/victim/stop.fifo" &
		local writer=$!
		wait "$session" 2>/dev/null # the session stops its exporter and PipeWire
		kill "$writer" 2>/dev/null
	fi
	if [ $status -ne 0 ]; then
		for f in "$T/victim/exporter.log" "$T/victim/session.log"; do
			[ -f "$f" ] && { echo "---- $f" >&2; tail -n 25 "$f" >&2; }
		done
	fi
	for u in "$victim" "$other"; do
		id "$u" >/dev/null 2>&1 || continue
		find /dev/shm -maxdepth 1 -user "$u" -delete 2>/dev/null
		# userdel refuses while the user's last processes (pw-env's watchdogs) finish
		for _ in $(seq 100); do userdel "$u" 2>/dev/null && break; sleep 0.1; done
	done
	rm -rf "$T" "/tmp/pw-ghost-rec-$vuid"
	exit $status
}
vuid=none
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
useradd -M -r -s /usr/sbin/nologin -d "$T/victim" "$victim"
useradd -M -r -s /usr/sbin/nologin -d "$T/other" "$other"
vuid=$(id -u "$victim") ouid=$(id -u "$other")
# homes readable like a usual /home/<user> (0755): only ghostrec's own modes protect its files
install -d -m 755 -o "$victim" -g "$victim" "$T/victim"
install -d -m 755 -o "$other" -g "$other" "$T/other" "$T/other/trap"
install -d -m 700 -o "$other" -g "$other" "$T/other/run"
chmod 777 "$T/other/trap"
mkfifo -m 600 "$T/victim/stop.fifo"
chown "$victim:$victim" "$T/victim/stop.fifo"

as() { # USER [VAR=value...] CMD...: runs as USER with a clean environment of its own
	local u=$1 home=$T/other uid gid; shift
	[ "$u" = "$victim" ] && home=$T/victim
	uid=$(id -u "$u") gid=$(id -g "$u")
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- env -i PATH="$PATH" HOME="$home" \
		TMPDIR=/tmp GHOSTREC_BUILD_DIR="$B" GHOSTREC_SOURCE_DIR="$S" "$@"
}
frames() { as_victim "$B/tests/node/ring-info" "$node" | sed -n '1s/.*write_frame=\([0-9]*\).*/\1/p'; }
cycles() { as_victim "$B/tests/node/ring-info" "$node" | sed -n 's/^cycles=\([0-9]*\).*/\1/p'; }
frames_past() { [ "$(frames)" -gt "$1" ]; }
cycles_past() { [ "$(cycles)" -gt "$1" ]; }
as_victim() { as "$victim" XDG_RUNTIME_DIR="$XRD" XDG_STATE_HOME="$T/victim/state" \
	XDG_CONFIG_HOME="$T/victim/config" "$@"; }
as_other() { as "$other" XDG_RUNTIME_DIR="$T/other/run" "$@"; }
wait_for() { for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

# 1. the attacker prepares
oldname="/pw-ghost-rec-$vuid-$node"
forged="/pw-ghost-rec-$vuid-$node-00000000deadbeef"
as_other "$B/tests/security/gr-ring-forge" "$node" "$oldname" 0644 >/dev/null || fail "forge 1"
as_other "$B/tests/security/gr-ring-forge" "$node" "$forged" 0644 >/dev/null || fail "forge 2"
as_other ln -s "$T/other/trap" "/tmp/pw-ghost-rec-$vuid" || fail "cannot plant the symlink"
ls -l "/dev/shm$oldname" "/dev/shm$forged" "/tmp/pw-ghost-rec-$vuid" | sed 's/^/attacker planted: /'

# 2. the victim's session starts regardless
XRD=
as "$victim" XDG_STATE_HOME="$T/victim/state" XDG_CONFIG_HOME="$T/victim/config" \
	bash "$0" --victim-session "$node" >"$T/victim/session.log" 2>&1 &
session=$!
wait_for test -s "$T/victim/session.env" || fail "the victim's PipeWire or node did not start"
. "$T/victim/session.env"
XRD=$XDG_RUNTIME_DIR
kill -0 "$PW_PID" || fail "the victim's PipeWire is not running"
wait_for grep -q "attached to" "$T/victim/exporter.log" || fail "the exporter did not attach"
real=$(as_victim "$B/tests/node/ring-info" "$node" | sed -n '1s/:.*//p')
echo "victim's ring: $real; exporter: $(grep -o 'attached to [^ ]*' "$T/victim/exporter.log")"
[[ $real =~ ^/pw-ghost-rec-$vuid-$node-[0-9a-f]{16}$ ]] && [ "$real" != "$forged" ] ||
	fail "the node's ring is not a fresh name: $real"
grep -q "attached to $real " "$T/victim/exporter.log" || fail "the exporter attached to something else"
[ "$(stat -c '%U %a' "/dev/shm$real")" = "$victim 600" ] || fail "ring is $(stat -c '%U %a' "/dev/shm$real")"
# the victim's runtime dir itself readable by all (as a misconfigured system may have it): only
# ghostrec's own 0700 directory and 0600 files stand between the attacker and the sockets
chmod 755 "$XRD" "$(dirname "$XRD")"

# 3. a foreign ring and a non-0600 ring are refused, with the reason
loc="$XRD/pw-ghost-rec/$node.ring"
printf '%s\n' "$forged" >"$loc" # as if the locator had been redirected
rc=0; out=$(as_victim "$B/tests/node/ring-info" "$node" 2>&1) || rc=$?
echo "foreign ring: $out"
[ $rc -ne 0 ] && grep -q "belongs to uid $ouid, not to this user (uid $vuid): refusing it" <<<"$out" ||
	fail "a foreign ring was not refused: $out"
kill "$EXP_PID"
exporter_gone() { ! kill -0 "$EXP_PID" 2>/dev/null; }
wait_for exporter_gone || fail "exporter did not stop"
as_victim "$B/exporter/ghostrec-exporter" --osc-bind 127.0.0.1 --osc-port 0 --node "$node" \
	--outbox "$T/victim/outbox" --preroll 0.2 --postroll 0.1 >"$T/victim/exporter.log" 2>&1 &
EXP_PID=$!
wait_for grep -q "belongs to uid $ouid.*refusing it" "$T/victim/exporter.log" ||
	fail "the exporter did not refuse the foreign ring"
grep "refusing it" "$T/victim/exporter.log" | head -1 | sed 's/^/exporter: /'
! grep -q "attached to" "$T/victim/exporter.log" || fail "the exporter attached to the forged ring"
printf '%s\n' "$real" >"$loc"
wait_for grep -q "attached to $real " "$T/victim/exporter.log" || fail "no re-attach to the real ring"
chmod 0640 "/dev/shm$real"
rc=0; out=$(as_victim "$B/tests/node/ring-info" "$node" 2>&1) || rc=$?
echo "non-0600 ring: $out"
[ $rc -ne 0 ] && grep -q "has mode 0640, not 0600: refusing it" <<<"$out" || fail "a 0640 ring was not refused"
chmod 0600 "/dev/shm$real"
as_victim "$B/tests/node/ring-info" "$node" >/dev/null || fail "the real ring is not readable again"

# 4. a take, delivered
as_victim "$B/exporter/ghostrec-ctl" start >/dev/null || fail "ghostrec-ctl start"
w0=$(frames)
wait_for frames_past $((w0 + 24000)) || fail "the ring does not advance"
as_victim "$B/exporter/ghostrec-ctl" stop >/dev/null || fail "ghostrec-ctl stop"
wait_for sh -c "ls $T/victim/outbox/ghostrec-*.json" || fail "no take delivered"
wav=$(ls "$T/victim/outbox"/ghostrec-*.wav | head -1)
spool="$T/victim/state/pw-ghost-rec/spool"
echo "delivered $(basename "$wav"): outbox $(stat -c %a "$T/victim/outbox"), files $(stat -c %a "$T/victim/outbox"/* | sort -u | tr '\n' ' ')spool $(stat -c %a "$spool")"
[ "$(stat -c %a "$T/victim/outbox")" = 700 ] || fail "outbox mode $(stat -c %a "$T/victim/outbox")"
# files 0600, folders (requests/, where REAPER's requests go) 0700
for f in "$T/victim/outbox"/*; do
	want=600; [ -d "$f" ] && want=700
	[ "$(stat -c %a "$f")" = $want ] || fail "$f mode $(stat -c %a "$f")"
done
[ "$(stat -c %a "$spool")" = 700 ] || fail "spool mode $(stat -c %a "$spool")"

# 5. what the attacker cannot do
as_other cat "$wav" >/dev/null 2>&1 && fail "the other user can read the clean take"
as_other ls "$spool" >/dev/null 2>&1 && fail "the other user can list the spool"
as_other cat "/dev/shm$real" >/dev/null 2>&1 && fail "the other user can read the ring"
as_other cat "$loc" >/dev/null 2>&1 && fail "the other user can read the locator"
as_other sh -c "echo x > '$XRD/pw-ghost-rec/evil'" 2>/dev/null && fail "the other user can write the socket directory"
rc=0; out=$(as_other "$B/exporter/ghostrec-ctl" --socket "$XRD/pw-ghost-rec/exporter.ctl" start 2>&1) || rc=$?
echo "attacker's ghostrec-ctl: $out"
[ $rc -eq 2 ] && grep -q "permission denied" <<<"$out" || fail "ghostrec-ctl as the other user: rc $rc: $out"
markers_before=$(as_victim "$B/tests/node/ring-info" "$node" | grep -c '^marker' || true)
out=$(printf '{"ghostrec":1,"req":"mark","take_id":777}' |
	as_other timeout 10 "$B/tests/exporter/gr-zmq-send" "ipc://$XRD/pw-ghost-rec/$node.ctl" 2>&1 || true)
echo "attacker's mark on the node's socket: ${out:-nothing}"
grep -q '"ok":true' <<<"$out" && fail "the other user marked through the node's socket"
[ "$(as_victim "$B/tests/node/ring-info" "$node" | grep -c '^marker' || true)" = "$markers_before" ] ||
	fail "a marker appeared"
status=$(as_victim "$B/exporter/ghostrec-ctl" --json status)
grep -q '"recording":false' <<<"$status" || fail "the exporter is recording after the attacker's start"

# 6. no XDG_RUNTIME_DIR: the planted /tmp symlink is refused, nothing chmod'ed through it
rc=0; out=$(as "$victim" XDG_STATE_HOME="$T/victim/state2" "$B/exporter/ghostrec-exporter" \
	--osc-bind 127.0.0.1 --osc-port 0 --node "$node" 2>&1) || rc=$?
echo "exporter without XDG_RUNTIME_DIR: $(grep -m1 symlink <<<"$out")"
[ $rc -ne 0 ] && grep -q "/tmp/pw-ghost-rec-$vuid is a symlink or not a directory: refusing it" <<<"$out" ||
	fail "the planted fallback directory was not refused: rc $rc: $out"
[ "$(stat -c %a "$T/other/trap")" = 777 ] || fail "the attacker's directory was chmod'ed"
rc=0; out=$(as "$victim" "$B/exporter/ghostrec-ctl" status 2>&1) || rc=$?
[ $rc -eq 2 ] && grep -q "symlink" <<<"$out" || fail "ghostrec-ctl used the planted directory: $out"

# the victim's audio server and node are still running
kill -0 "$PW_PID" || fail "the victim's PipeWire died"
wait_for cycles_past "$(cycles)" || fail "the node stopped running"
echo PASSED
