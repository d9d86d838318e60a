#!/usr/bin/env bash
# bench/apply.sh — `oamlua apply` of an application of 1,000 objects to the
# test API server (tests/apiserver/kubetest.py), next to
# `kubectl apply --server-side -f` of the same rendered manifests against a
# fresh server of the same kind. Prints both times and the ratio.
#
# Environment:
#   BENCH_APPLY_INSTANCES=250    component instances (4 objects each: Deployment,
#                                Service, ConfigMap, Ingress)
#   BENCH_APPLY_RUNS=3           runs per tool (a fresh server each; median reported)
#   BENCH_APPLY_TLS=1            https with a bearer token (0: plain http)
#   BENCH_APPLY_CONCURRENCY=     oamlua --concurrency (default: oamlua's)
#   OAMLUA=./oamlua  KUBECTL=    the binaries to measure
#
# Exit status: 0 when both tools applied every object, 1 otherwise. The
# target is oamlua ≥ 3× faster; a slower figure is reported, not failed.
set -u

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
N=${BENCH_APPLY_INSTANCES:-250}
RUNS=${BENCH_APPLY_RUNS:-3}
TLS=${BENCH_APPLY_TLS:-1}
OAMLUA=${OAMLUA:-./oamlua}
case $OAMLUA in /*) ;; *) OAMLUA=$ROOT/$OAMLUA ;; esac

warn() { printf 'bench/apply: %s\n' "$*" >&2; }

[ -x "$OAMLUA" ] || { warn "$OAMLUA not found: run 'make' first"; exit 1; }
command -v python3 >/dev/null 2>&1 || { warn "python3 is needed for the test API server"; exit 1; }
if [ -z "${KUBECTL:-}" ]; then
    if command -v kubectl.1.32 >/dev/null 2>&1; then
        KUBECTL=$(command -v kubectl.1.32)
    elif k=$(command -v kubectl 2>/dev/null); then
        d=$(dirname "$(readlink -f "$k")")
        if [ -x "$d/kubectl.1.32" ]; then KUBECTL=$d/kubectl.1.32; else KUBECTL=$k; fi
    fi
fi

. "$ROOT/tests/apiserver/lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-apply.XXXXXX") || exit 1
kt_on_exit 'rm -rf "$W"'
export HOME=$W/home
mkdir -p "$HOME"
unset KUBECONFIG

# --- the application: N instances of one Server with a config file and an ingress
{
    cat <<'EOF'
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata: {name: web}
spec:
  workloadType: Server
  parameters:
    - {name: greeting, type: string, default: hello}
  containers:
    - name: web
      image: nginx:1.27
      ports: [{name: http, containerPort: 8080}]
      config:
        - {path: /etc/web/greeting, fromParam: greeting}
---
apiVersion: core.oam.dev/v1alpha1
kind: ApplicationConfiguration
metadata: {name: bench}
spec:
  components:
EOF
    i=0
    while [ $i -lt "$N" ]; do
        printf '    - componentName: web\n      instanceName: web-%d\n' $i
        printf '      traits: [{name: ingress, properties: {hostname: web-%d.example.com}}]\n' $i
        i=$((i + 1))
    done
} >"$W/app.yaml"
"$OAMLUA" render -f "$W/app.yaml" >"$W/rendered.yaml" || { warn "render failed"; exit 1; }
OBJECTS=$(grep -c '^kind:' "$W/rendered.yaml")

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

start_server() {
    if [ "$TLS" = 1 ]; then kt_start --tls; else kt_start; fi || { warn "the test API server did not start"; exit 1; }
    if [ "$TLS" = 1 ]; then kt_kubeconfig --token "$W/kubeconfig" >/dev/null; else kt_kubeconfig --none "$W/kubeconfig" >/dev/null; fi
}

count_objects() { # objects of the four kinds stored by the server
    kt_curl /_test/objects | python3 -c '
import json, sys
d = json.load(sys.stdin)
items = d if isinstance(d, list) else d.get("items", [])
print(sum(1 for o in items if o.get("kind") in ("Deployment", "Service", "ConfigMap", "Ingress")
          and o["metadata"].get("namespace") == "default"))'
}

status=0
kubectl_ok=1
conc=()
[ -n "${BENCH_APPLY_CONCURRENCY:-}" ] && conc=(--concurrency "$BENCH_APPLY_CONCURRENCY")

: >"$W/oamlua.times"
for r in $(seq "$RUNS"); do
    start_server
    t0=$(now)
    "$OAMLUA" apply --kubeconfig "$W/kubeconfig" "${conc[@]}" -f "$W/app.yaml" >"$W/oamlua.out" 2>"$W/oamlua.err"
    rc=$?
    t1=$(now)
    got=$(count_objects)
    if [ $rc -ne 0 ] || [ "$got" != "$OBJECTS" ]; then
        warn "oamlua apply failed (exit $rc, $got of $OBJECTS objects):"
        sed 's/^/  /' "$W/oamlua.err" | head -n 20 >&2
        status=1
    fi
    echo "$t1 - $t0" | bc -l >>"$W/oamlua.times"
    kt_stop
done

: >"$W/kubectl.times"
if [ -n "${KUBECTL:-}" ]; then
    for r in $(seq "$RUNS"); do
        start_server
        cache=$(mktemp -d "$W/kcache.XXXXXX")
        t0=$(now)
        "$KUBECTL" --kubeconfig="$W/kubeconfig" --cache-dir="$cache" apply --server-side -f "$W/rendered.yaml" \
            >"$W/kubectl.out" 2>"$W/kubectl.err" </dev/null
        rc=$?
        t1=$(now)
        got=$(count_objects)
        if [ $rc -ne 0 ] || [ "$got" != "$OBJECTS" ]; then
            warn "kubectl apply failed (exit $rc, $got of $OBJECTS objects):"
            sed 's/^/  /' "$W/kubectl.err" | head -n 20 >&2
            status=1
            kubectl_ok=0
        fi
        echo "$t1 - $t0" | bc -l >>"$W/kubectl.times"
        kt_stop
    done
else
    warn "kubectl not installed: oamlua's figure only"
fi

o=$(median <"$W/oamlua.times")
printf 'apply of %d objects (%d instances) to kubetest.py over %s, median of %d fresh-server runs:\n' \
    "$OBJECTS" "$N" "$([ "$TLS" = 1 ] && echo 'https + token' || echo http)" "$RUNS"
printf '  oamlua apply                   %7.2f s   (runs: %s)\n' "$o" "$(tr '\n' ' ' <"$W/oamlua.times" | xargs printf '%.2f ')"
if [ -s "$W/kubectl.times" ] && [ $kubectl_ok = 1 ]; then
    k=$(median <"$W/kubectl.times")
    printf '  kubectl apply --server-side    %7.2f s   (runs: %s)\n' "$k" "$(tr '\n' ' ' <"$W/kubectl.times" | xargs printf '%.2f ')"
    printf '  ratio (kubectl / oamlua)       %7.1fx   (target: 3x or more)\n' "$(echo "$k / $o" | bc -l)"
fi
exit $status
