#!/usr/bin/env bash
# libcurl is loaded on first use (src/curl.c), not linked: the commands that
# never use the network must not load it, the ones that do must, and a failed
# load is a clean OAM902 with exit status 5, never a crash.
#
# OAMLUA_LIBCURL replaces the library's name; it exists for this test and the
# err-902-* golden cases only. LD_DEBUG=libs makes the dynamic loader list
# every library it loads on stderr.
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
unset OAMLUA_PATH OAMLUA_LIBCURL
export OAMLUA_PACKS=$(mktemp -d)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp" "$OAMLUA_PACKS"' EXIT
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
echo "1..14"
APP="-f examples/hello/app.yaml"
KC=tests/golden/err-804-cannot-connect/kubeconfig   # a cluster at 127.0.0.1:1: refused at once

# Lines of the loader's trace that mention curl at all, and how many times it
# initialised a libcurl, while running "$@".
curl_mentions() { LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -c curl; }
curl_loads() { LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -c 'calling init: .*libcurl'; }

t "the binary does not link libcurl" '! readelf -d oamlua | grep NEEDED | grep -q curl'
for cmd in "render $APP" "render -o json $APP" "validate $APP" "traits" "explain ingress" \
	"apply --target podman --dry-run $APP" "pack list"; do
	t "'$cmd' does not load libcurl" '[ "$(curl_mentions ./oamlua $cmd)" = 0 ]'
done
t "a cluster command loads libcurl once" '[ "$(curl_loads ./oamlua status --kubeconfig $KC queue-app)" = 1 ]'

OAMLUA_LIBCURL=/nonexistent/libcurl.so.4 ./oamlua status --kubeconfig $KC queue-app >"$tmp/out" 2>"$tmp/err"; rc=$?
t "a missing libcurl exits 5 and writes nothing to stdout" '[ $rc = 5 ] && [ ! -s "$tmp/out" ]'
t "... with OAM902 naming the library and the loader's reason, and a hint" \
	'grep -q "error\[OAM902\]: cannot load libcurl .*/nonexistent/libcurl.so.4.*cannot open shared object file" "$tmp/err" &&
	 grep -q "hint: .*apt-get install libcurl4" "$tmp/err"'

OAMLUA_LIBCURL=libm.so.6 ./oamlua diff --kubeconfig $KC $APP >"$tmp/out" 2>"$tmp/err"; rc=$?
t "a library without curl's functions is OAM902 too, naming the function" \
	'[ $rc = 5 ] && grep -q "OAM902.*it has no curl_global_init" "$tmp/err"'

OAMLUA_LIBCURL=/nonexistent/libcurl.so.4 ./oamlua render $APP >"$tmp/out" 2>"$tmp/err"; rc=$?
t "render works without libcurl" '[ $rc = 0 ] && [ -s "$tmp/out" ] && [ ! -s "$tmp/err" ]'

OAMLUA_LIBCURL=/nonexistent/libcurl.so.4 ./oamlua traits --kubeconfig $KC --context gone >"$tmp/out" 2>"$tmp/err"; rc=$?
t "traits --context without libcurl: OAM902, exit 5" '[ $rc = 5 ] && grep -q "OAM902" "$tmp/err"'
