#!/usr/bin/env bash
# Time from `oamlua apply --target podman --wait` to the first successful
# HTTP response, for an application of 10 components (busybox httpd each),
# on this machine with podman. Skips with a message where podman cannot run.
# Usage: bash bench/podman.sh [OAMLUA] [N]
cd "$(dirname "$0")/.." || exit 1
OAMLUA=${1:-./oamlua}
N=${2:-10}
. tests/podman/lib.sh
if ! reason=$(pm_available); then
	echo "podman bench skipped: $reason"
	exit 0
fi
pm_service_start || exit 1
export OAMLUA_PODMAN_SOCKET=$PM_SOCK
pm_atexit pm_cleanup_label app.oam.dev/name=podbench
tmp=$(mktemp -d) && pm_atexit rm -rf "$tmp"
ports=()
{
	echo "apiVersion: core.oam.dev/v1alpha1"
	echo "kind: ApplicationConfiguration"
	echo "metadata: {name: podbench}"
	echo "spec:"
	echo "  components:"
	for i in $(seq 0 $((N - 1))); do
		echo "    - componentName: c$i"
		echo "      instanceName: c$i"
	done
} > "$tmp/app.yaml"
for i in $(seq 0 $((N - 1))); do
	p=$(pm_free_port)
	ports+=("$p")
	cat >> "$tmp/app.yaml" <<YAML
---
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata: {name: c$i}
spec:
  workloadType: Server
  containers:
    - name: web
      image: localhost/oamlua-busybox:latest
      cmd: ["sh", "-c", "mkdir -p /srv && echo c$i > /srv/index.html && exec httpd -f -p $p -h /srv"]
      ports: [{name: http, containerPort: $p}]
YAML
done
start=$(date +%s.%N)
"$OAMLUA" apply --target podman --wait --timeout 120s -f "$tmp/app.yaml" > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
applied=$(date +%s.%N)
for p in "${ports[@]}"; do
	until curl -sf -m 1 "http://127.0.0.1:$p/" > /dev/null; do sleep 0.02; done
done
done_t=$(date +%s.%N)
awk -v s="$start" -v a="$applied" -v d="$done_t" -v n="$N" 'BEGIN {
	printf "podman: %d components: apply --wait returned after %.2f s; all %d answered HTTP after %.2f s\n", n, a - s, n, d - s }'
