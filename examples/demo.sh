#!/usr/bin/env bash
# The README's main command: run the bundled example application for real
# with podman (a local busybox image, no registry, no cluster), show it
# answering over HTTP, and say how to stop it. Where podman cannot run
# containers, say why and render the manifests instead.
set -u
cd "$(dirname "$0")/.." || exit 1
APP=examples/hello/app.yaml
. tests/podman/lib.sh

render_only() {
	echo "# podman is not usable here ($1): rendering the Kubernetes manifests instead" >&2
	echo "# ./oamlua render -f $APP" >&2
	./oamlua render -f "$APP" || exit $?
	echo "# rendered $(./oamlua render -o name -f "$APP" | wc -l) objects; try: ./oamlua explain ingress" >&2
	exit 0
}

if ! reason=$(pm_available); then
	render_only "$reason"
fi
pm_env
# A free host port for the page (8080 unless taken).
port=8080
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then port=$(pm_free_port); fi
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
sed "s/            hostname: hello.example.com/            hostname: hello.example.com\n            hostPort: $port/" "$APP" > "$work/app.yaml"

echo "# ./oamlua apply --target podman --wait -f $APP" >&2
./oamlua apply --target podman --wait --timeout 60s -f "$work/app.yaml" 2> "$work/err"
rc=$?
grep -v "stop it with" "$work/err" >&2
if [ $rc -ne 0 ]; then
	echo "# the application did not start (exit $rc)" >&2
	exit $rc
fi
echo "# curl http://127.0.0.1:$port/" >&2
curl -s -m 5 "http://127.0.0.1:$port/" || { echo "# no answer on port $port" >&2; exit 4; }
echo
echo "# it runs; stop it with: make demo-stop   (oamlua delete --target podman hello)" >&2
