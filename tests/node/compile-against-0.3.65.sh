#!/bin/bash
# Compiles the SPA plugin and the common/ files it uses against Debian 12's stock PipeWire
# 0.3.65 headers (libspa-0.2-dev, libpipewire-0.3-dev from bookworm), with -Wall -Wextra -Werror.
# Needs apt access (apt-get download, no root needed for the download itself) and dpkg-deb.
# usage: tests/node/compile-against-0.3.65.sh [VERSION]   (default: bookworm's 0.3.65 version)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
version=${1:-}
if [ -z "$version" ]; then
	version=$(apt-cache policy libspa-0.2-dev | awk '/^ +(\*\*\* )?0\.3\.65/ { print ($1 == "***" ? $2 : $1); exit }')
fi
if [ -z "$version" ]; then
	echo "compile-against-0.3.65: apt knows no 0.3.65 version of libspa-0.2-dev (is bookworm in sources.list?)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download "libspa-0.2-dev=$version" "libpipewire-0.3-dev=$version" >/dev/null 2>&1 || {
	echo "compile-against-0.3.65: apt-get download of $version failed" >&2; exit 1; }
for deb in ./*.deb; do
	dpkg-deb -x "$deb" root
done
spa_inc="$tmp/root/usr/include/spa-0.2"
grep -q '0\.3\.65\|0.3.65' "$tmp/root/usr/include/pipewire-0.3/pipewire/version.h" ||
	{ echo "compile-against-0.3.65: unpacked headers are not 0.3.65" >&2; exit 1; }

cc=${CC:-cc}
flags=(-std=gnu11 -O2 -fPIC -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes
       -Wstrict-prototypes -Wno-unused-parameter -Wno-missing-field-initializers
       -fvisibility=hidden -I"$spa_inc" -I"$src" -I"$src/common")
sources=("$src"/spa-plugin/*.c "$src/common/ring.c" "$src/common/control.c" "$src/common/marker.c"
         "$src/common/rundir.c" "$src/common/fileio.c")
"$cc" "${flags[@]}" -shared -o "$tmp/libspa-ghostrec.so" "${sources[@]}" -lzmq -lm -Wl,--no-undefined
nm -D --defined-only "$tmp/libspa-ghostrec.so" | grep -q ' spa_handle_factory_enum$' ||
	{ echo "compile-against-0.3.65: plugin does not export spa_handle_factory_enum" >&2; exit 1; }
echo "compile-against-0.3.65: spa-plugin + common (ring, control, marker, rundir, fileio) build cleanly against PipeWire $version headers"
