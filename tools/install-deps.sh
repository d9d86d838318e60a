#!/bin/sh
# Installs what building and testing oamlua needs on Debian 12, if missing.
# Build: a C compiler, make, pkg-config, Lua 5.4, libyaml, libcurl, jansson,
# OpenSSL's libcrypto (ed25519 and sha256 for trait packs).
# Tests: prove (perl), python3 + openssl (the test API server), curl, and
# podman + runc + busybox-static, and netavark and catatonit which podman only
# recommends but play kube needs (the container tests; they skip without).
set -e
PKGS="gcc make pkg-config libc6-dev liblua5.4-dev libyaml-dev libcurl4-openssl-dev libjansson-dev libssl-dev \
perl python3 openssl curl ca-certificates podman runc netavark catatonit busybox-static"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing:$missing" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
