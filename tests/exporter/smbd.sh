#!/usr/bin/env bash
# Private Samba server on a loopback port for tests (stands in for the Windows share).
#   smbd.sh start DIR    -> starts smbd, prints the port; DIR/share is the share "takes",
#                           DIR/share-ro the read-only share "takes-ro",
#                           DIR/cred the 0600 credentials file, DIR/smb.conf its config
#   smbd.sh stop DIR     -> stops it (the share's files stay)
#   smbd.sh restart DIR  -> starts it again on the same port
set -euo pipefail
cmd=$1 dir=$(realpath -m "$2")

wait_up() {
  for _ in $(seq 100); do
    if smbclient -s "$dir/smb.conf" "//127.0.0.1/takes" -p "$1" -A "$dir/cred" -c ls >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "smbd did not come up on port $1; log:" >&2
  tail -20 "$dir/smbd.out" >&2 || true
  return 1
}

start_smbd() {
  local port=$1
  # own session: on shutdown smbd signals its whole process group, which must not be ours
  setsid smbd --foreground --no-process-group -s "$dir/smb.conf" -d 1 >>"$dir/smbd.out" 2>&1 &
  echo $! >"$dir/smbd.pid"
  wait_up "$port"
}

case $cmd in
start)
  mkdir -p "$dir"/{share,share-ro,lock,state,cache,pid,private,log,ncalrpc}
  user=$(id -un)
  # a free port: ask the kernel, then hand it to smbd
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "$port" >"$dir/port"
  cat >"$dir/smb.conf" <<CONF
[global]
  server role = standalone server
  smb ports = $port
  interfaces = lo
  bind interfaces only = yes
  lock directory = $dir/lock
  state directory = $dir/state
  cache directory = $dir/cache
  pid directory = $dir/pid
  private dir = $dir/private
  ncalrpc dir = $dir/ncalrpc
  log file = $dir/log/log.%m
  passdb backend = tdbsam:$dir/private/passdb.tdb
  disable netbios = yes
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  map to guest = never
[takes]
  path = $dir/share
  read only = no
  valid users = $user
[takes-ro]
  path = $dir/share-ro
  read only = yes
  valid users = $user
CONF
  printf 'ghost-%s\nghost-%s\n' "$port" "$port" | smbpasswd -c "$dir/smb.conf" -a -s "$user" >/dev/null
  printf 'username = %s\npassword = ghost-%s\n' "$user" "$port" >"$dir/cred"
  chmod 600 "$dir/cred"
  start_smbd "$port"
  echo "$port"
  ;;
stop)
  if [ -f "$dir/smbd.pid" ]; then
    pid=$(cat "$dir/smbd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/smbd.pid"
  fi
  ;;
restart)
  start_smbd "$(cat "$dir/port")"
  ;;
*)
  echo "usage: $0 start|stop|restart DIR" >&2
  exit 2
  ;;
esac
