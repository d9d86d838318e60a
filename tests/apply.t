#!/usr/bin/env bash
# apply.t - oamlua apply / diff / delete / status against the test API server
# (tests/apiserver/kubetest.py): every way to authenticate, server-side apply
# and its results, conflicts, dry runs, the ApplySet inventory and pruning
# (foreign objects survive), deletion, waiting for health, diff exit codes,
# every error class and fault injection (429, 5xx, dropped connections, a
# killed run), and kubectl reading what oamlua applied.
#
# Run from the repository root:  prove -v tests/apply.t
# OAMLUA_BIN=/path/to/oamlua tests another binary (e.g. an ASan build).
# KUBECTL=/path/to/kubectl overrides the kubectl binary used for cross-checks.
# APPLY_T_DEBUG=1 prints every oamlua run with its output (as TAP comments).

set -u
T=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$T/.." && pwd)
. "$T/apiserver/lib.sh"
BIN=${OAMLUA_BIN:-$ROOT/oamlua}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
export LC_ALL=C
unset OAMLUA_PATH KUBECONFIG KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT POD_NAMESPACE 2>/dev/null

n=0
ok() { # ok STATUS DESCRIPTION [text shown on failure]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        if [ -n "${3:-}" ]; then printf '%s\n' "$3" | head -n 40 | sed 's/^/#   /'; fi
    fi
}
skip() { n=$((n + 1)); echo "ok $n # skip $1"; }
finish() { echo "1..$n"; }
has() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }

for tool in python3 openssl curl; do
    command -v $tool >/dev/null 2>&1 || { echo "1..0 # skip $tool not installed"; exit 0; }
done
[ -x "$BIN" ] || { echo "1..0 # skip $BIN not built"; exit 0; }

# kubectl 1.32 for the cross-checks: the versioned binary beside Google's dispatcher, else kubectl.
if [ -z "${KUBECTL:-}" ]; then
    if command -v kubectl.1.32 >/dev/null 2>&1; then
        KUBECTL=$(command -v kubectl.1.32)
    elif k=$(command -v kubectl 2>/dev/null); then
        d=$(dirname "$(readlink -f "$k")")
        if [ -x "$d/kubectl.1.32" ]; then KUBECTL=$d/kubectl.1.32; else KUBECTL=$k; fi
    fi
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/oamlua-apply.XXXXXX")
kt_on_exit 'rm -rf "$W"'
export HOME=$W/home
mkdir -p "$HOME" "$W/sa"

# --------------------------------------------------------------------------
# inputs
cat >"$W/comps.yaml" <<'EOF'
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata: {name: web}
spec:
  workloadType: Server
  containers:
    - name: web
      image: nginx:1.27
      ports: [{name: http, containerPort: 8080}]
---
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata: {name: worker}
spec:
  workloadType: Worker
  containers:
    - name: worker
      image: busybox:1.36
EOF
app() { # app FILE REPLICAS INSTANCE... : the shop application
    f=$1 r=$2
    shift 2
    {
        echo "apiVersion: core.oam.dev/v1alpha1"
        echo "kind: ApplicationConfiguration"
        echo "metadata: {name: ${APPNAME:-shop}}"
        echo "spec:"
        echo "  components:"
        echo "    - componentName: web"
        echo "      instanceName: shop-web"
        echo "      traits:"
        echo "        - {name: manual-scaler, properties: {replicaCount: $r}}"
        echo "        - {name: ingress, properties: {hostname: shop.example.com}}"
        for i in "$@"; do
            echo "    - {componentName: worker, instanceName: $i}"
        done
    } >"$f"
}
app "$W/v1.yaml" 2 shop-worker
app "$W/v2.yaml" 3 shop-cache
app "$W/v3.yaml" 4 shop-cache
V1="-f $W/comps.yaml -f $W/v1.yaml"
V2="-f $W/comps.yaml -f $W/v2.yaml"
V3="-f $W/comps.yaml -f $W/v3.yaml"

# A trait whose object the server rejects (ConfigMap keys are checked server-side only).
mkdir -p "$W/mods/traits"
cat >"$W/mods/traits/bad-config.lua" <<'EOF'
return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "bad-config",
	version = "1.0.0",
	description = "emits a ConfigMap with a key Kubernetes refuses",
	appliesToWorkloads = { "*" },
	schema = {},
	render = function(ctx, props)
		return { outputs = { { apiVersion = "v1", kind = "ConfigMap",
			metadata = { name = ctx.name .. "-bad" }, data = { ["bad key!"] = "x" } } } }
	end,
}
EOF
# Traits that emit a custom resource, with or without its CRD.
cat >"$W/mods/traits/widget.lua" <<'EOF'
local function widget(ctx)
	return { apiVersion = "example.com/v1", kind = "Widget", metadata = { name = ctx.name .. "-widget" },
		spec = { size = 3 } }
end
return {
	apiVersion = "oamlua/v1", kind = "Trait", name = "widget", version = "1.0.0",
	description = "a Widget custom resource", appliesToWorkloads = { "*" }, schema = {},
	render = function(ctx, props) return { outputs = { widget(ctx) } } end,
}
EOF
cat >"$W/mods/traits/widget-crd.lua" <<'EOF'
return {
	apiVersion = "oamlua/v1", kind = "Trait", name = "widget-crd", version = "1.0.0",
	description = "the Widget CRD and a Widget", appliesToWorkloads = { "*" }, schema = {},
	render = function(ctx, props)
		local crd = { apiVersion = "apiextensions.k8s.io/v1", kind = "CustomResourceDefinition",
			metadata = { name = "widgets.example.com" },
			spec = { group = "example.com", scope = "Namespaced",
				names = { kind = "Widget", plural = "widgets", singular = "widget", listKind = "WidgetList" },
				versions = { { name = "v1", served = true, storage = true,
					schema = { openAPIV3Schema = { type = "object", properties = {
						spec = { type = "object", properties = { size = { type = "integer" } } } } } } } } } }
		local w = { apiVersion = "example.com/v1", kind = "Widget", metadata = { name = ctx.name .. "-widget" },
			spec = { size = 3 } }
		return { outputs = { w, crd } }
	end,
}
EOF
widgets() { # widgets FILE TRAIT
    printf '%s\n' "apiVersion: core.oam.dev/v1alpha1" "kind: ApplicationConfiguration" "metadata: {name: gadgets}" \
        "spec:" "  components:" "    - componentName: worker" "      instanceName: gadget" \
        "      traits: [{name: $2}]" >"$1"
}
widgets "$W/widget.yaml" widget
widgets "$W/widget-crd.yaml" widget-crd
cat >"$W/bad.yaml" <<'EOF'
apiVersion: core.oam.dev/v1alpha1
kind: ApplicationConfiguration
metadata: {name: badapp}
spec:
  components:
    - componentName: worker
      instanceName: bad-worker
      traits:
        - {name: bad-config}
EOF

# --------------------------------------------------------------------------
# helpers
run() { # run ARGS...: oamlua; sets out, err, rc
    out=$("$BIN" "$@" 2>"$W/stderr" </dev/null)
    rc=$?
    err=$(cat "$W/stderr")
    if [ -n "${APPLY_T_DEBUG:-}" ]; then
        echo "# \$ oamlua $*"
        printf '%s\n' "$out" "$err" | sed 's/^/#  /'
    fi
}
pyj() { python3 -c "import json,sys; o=json.load(sys.stdin); $1"; }
get() { kt_curl "$1" 2>/dev/null; }
getf() { get "$1" | pyj "$2" 2>/dev/null; }
faults() { kt_curl /_test/faults -X POST -d "$1" >/dev/null; }
nofaults() { kt_curl /_test/faults -X DELETE >/dev/null; }
resetlog() { kt_curl /_test/reset-log -X POST >/dev/null; }
logq() { kt_curl /_test/log | python3 -c "import json,sys; L=[json.loads(l) for l in sys.stdin if l.strip()]; $1"; }
DEP=/apis/apps/v1/namespaces/default/deployments
CM=/api/v1/namespaces/default/configmaps
rvof() { getf "$1" 'print(o["metadata"]["resourceVersion"])'; }
b64() { base64 -w0 <"$1"; }

# --------------------------------------------------------------------------
# the TLS server used for most tests
if ! kt_start --tls; then
    echo "1..0 # skip the test API server did not start"
    exit 0
fi
S_URL=$KT_URL S_PORT=$KT_PORT S_TOKEN=$KT_TOKEN
K=$W/token.kubeconfig
kt_kubeconfig --token "$K" >/dev/null

kubeconfig() { # kubeconfig FILE 'cluster yaml lines' 'user yaml lines' [namespace]
    {
        echo "apiVersion: v1"
        echo "kind: Config"
        echo "clusters:"
        echo "- name: c"
        echo "  cluster:"
        echo "    server: ${SERVER:-$S_URL}"
        [ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/    /'
        echo "users:"
        echo "- name: u"
        if [ -n "$3" ]; then echo "  user:"; printf '%s\n' "$3" | sed 's/^/    /'; else echo "  user: {}"; fi
        echo "contexts:"
        echo "- name: ctx"
        echo "  context: {cluster: c, user: u, namespace: ${4:-default}}"
        echo "current-context: ctx"
    } >"$1"
}

# ==========================================================================
# apply: create, no-op, update
run apply --kubeconfig "$K" $V1
[ $rc -eq 0 ] && [ "$out" = "service/shop-web created
deployment.apps/shop-web created
deployment.apps/shop-worker created
ingress.networking.k8s.io/shop-web-trait-ingress created" ]
ok $? "apply creates every object, in dependency order (service before workloads, ingress last)" "rc=$rc $out $err"

got=$(logq '
p = [e for e in L if e["method"] == "PATCH" and "/secrets/" not in e["path"]]
bad = [e["path"] + "?" + e["query"] for e in p if e["content_type"] != "application/apply-patch+yaml"
       or "fieldManager=oamlua" not in e["query"] or "force=false" not in e["query"]]
print(len(p), len(bad), len([e for e in L if e["method"] in ("POST", "PUT")]))')
[ "$got" = "4 0 0" ]
ok $? "one SSA PATCH per object: apply-patch+yaml, fieldManager=oamlua, force=false, no POST/PUT" "$got"

ID=$(getf /api/v1/namespaces/default/secrets/oamlua-shop 'print(o["metadata"]["labels"]["applyset.kubernetes.io/id"])')
got=$(getf /api/v1/namespaces/default/secrets/oamlua-shop '
a = o["metadata"]["annotations"]
print(a["applyset.kubernetes.io/tooling"], a["applyset.kubernetes.io/contains-group-kinds"], repr(a["applyset.kubernetes.io/additional-namespaces"]))')
lab=$(getf $DEP/shop-web 'l = o["metadata"]["labels"]; print(l["applyset.kubernetes.io/part-of"], l["app.oam.dev/name"])')
[ "$got" = "oamlua/v0.1.0 Deployment.apps,Ingress.networking.k8s.io,Service ''" ] && [ "$lab" = "$ID shop" ] &&
    has "$ID" "applyset-" && has "$ID" "-v1"
ok $? "ApplySet parent secret/oamlua-shop (id, tooling, group-kinds) and part-of label on members" "$got / $lab / $ID"

rv1=$(rvof $DEP/shop-web)
run apply --kubeconfig "$K" $V1
rv2=$(rvof $DEP/shop-web)
[ $rc -eq 0 ] && [ "$out" = "service/shop-web unchanged
deployment.apps/shop-web unchanged
deployment.apps/shop-worker unchanged
ingress.networking.k8s.io/shop-web-trait-ingress unchanged" ] && [ "$rv1" = "$rv2" ]
ok $? "re-apply is a no-op: every object unchanged, resourceVersion kept ($rv1)" "rc=$rc $out $err $rv1 $rv2"

if [ -n "${KUBECTL:-}" ]; then
    KC() { "$KUBECTL" --kubeconfig="$K" --cache-dir="$W/kcache" --request-timeout=20s "$@" </dev/null; }
    got=$(KC get deploy shop-web -o json --show-managed-fields 2>&1 | pyj '
mf = [e["manager"] for e in o["metadata"]["managedFields"] if e["operation"] == "Apply"]
print(o["spec"]["replicas"], o["metadata"]["labels"]["applyset.kubernetes.io/part-of"][:9], mf)' 2>&1)
    [ "$got" = "2 applyset- ['oamlua']" ]
    ok $? "kubectl get -o json sees what oamlua applied (replicas, labels, manager oamlua)" "$got"
    "$BIN" apply --dry-run=client -o yaml $V1 >"$W/v1-bodies.yaml" 2>&1
    out=$(KC diff --server-side --field-manager=oamlua -f "$W/v1-bodies.yaml" 2>&1)
    r=$?
    [ $r -eq 0 ] && [ -z "$out" ]
    ok $? "kubectl diff --server-side of the bodies oamlua sends (--dry-run=client -o yaml): no difference" "rc=$r $out"
else
    skip "kubectl not installed"
    skip "kubectl not installed"
fi

run diff --kubeconfig "$K" $V1
[ $rc -eq 0 ] && [ -z "$out" ]
ok $? "diff: exit 0 and no output when nothing would change" "rc=$rc $out $err"

run diff --kubeconfig "$K" $V3
[ $rc -eq 1 ] && has "$out" "-  replicas: 2" && has "$out" "+  replicas: 4" &&
    has "$out" "--- live/apps.v1.Deployment.default.shop-web" && has "$out" "+++ merged/apps.v1.Deployment.default.shop-cache" &&
    ! has "$out" "managedFields" && ! has "$out" "resourceVersion"
ok $? "diff: exit 1 and a unified diff of the YAML when something would change" "rc=$rc $out $err"

run diff --kubeconfig "$K" -n nope $V3
[ $rc -eq 4 ] && [ -z "$out" ] && has "$err" "[OAM808]"
ok $? "diff: exit 4 (more than 1) on an error, like kubectl diff" "rc=$rc $out $err"

rv1=$(rvof $DEP/shop-web)
resetlog
run apply --kubeconfig "$K" --dry-run=server $V3
rv2=$(rvof $DEP/shop-web)
cache=$(get $DEP/shop-cache | pyj 'print(o.get("code"))')
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-web configured (server dry run)" &&
    has "$out" "deployment.apps/shop-cache created (server dry run)" && has "$out" "service/shop-web unchanged (server dry run)" &&
    [ "$rv1" = "$rv2" ] && [ "$cache" = 404 ] && [ "$(logq 'print(all("dryRun=All" in e["query"] for e in L if e["method"] == "PATCH"))')" = True ]
ok $? "--dry-run=server: dryRun=All on every PATCH, results reported, nothing stored" "rc=$rc $out $err $rv1 $rv2 $cache"

resetlog
run apply --dry-run=client $V3
n_req=$(logq 'print(len(L))')
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-web applied (dry run)" && [ "$n_req" = 0 ]
ok $? "--dry-run=client: render and checks only, no request sent (no kubeconfig needed)" "rc=$rc $out $err requests=$n_req"

run apply --dry-run=client -o yaml -n team $V3
has "$out" "applyset.kubernetes.io/part-of: applyset-" && has "$out" "namespace: team" && has "$out" "replicas: 4" &&
    has "$out" "kind: Secret"
ok $? "--dry-run=client -o yaml prints the bodies that would be sent (labels, namespace, parent)" "$out $err"

# ==========================================================================
# conflicts with another field manager
kt_curl "$DEP/shop-web?fieldManager=other&force=true" -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
    -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shop-web"},"spec":{"replicas":7}}' >/dev/null
run apply --kubeconfig "$K" $V1
[ $rc -eq 4 ] && has "$err" "[OAM809]" && has "$err" 'deployment.apps/shop-web: conflict with "other": .spec.replicas' &&
    has "$err" "--force-conflicts" && [ "$(getf $DEP/shop-web 'print(o["spec"]["replicas"])')" = 7 ]
ok $? "409 conflict: names the other manager and the field, explains --force-conflicts, exit 4" "rc=$rc $out $err"

run apply --kubeconfig "$K" --force-conflicts $V1
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-web configured" && [ "$(getf $DEP/shop-web 'print(o["spec"]["replicas"])')" = 2 ] &&
    [ "$(logq 'print(sum(1 for e in L if "force=true" in e["query"] and "deployments/shop-web" in e["path"]) > 0)')" = True ]
ok $? "--force-conflicts (force=true) takes the field back" "rc=$rc $out $err"

# ==========================================================================
# prune: foreign objects with similar labels survive
kt_curl "$CM" -X POST -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shop-foreign","labels":{"app.oam.dev/name":"shop","app.kubernetes.io/managed-by":"oamlua"}},"data":{"a":"1"}}' >/dev/null
kt_curl "$CM" -X POST -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shop-other-set","labels":{"applyset.kubernetes.io/part-of":"applyset-someone-else-v1","app.oam.dev/name":"shop"}}}' >/dev/null
kt_curl "$DEP/shop-lookalike?fieldManager=kubectl&force=false" -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
    -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shop-lookalike","labels":{"app.oam.dev/name":"shop","app.oam.dev/component":"shop-worker"}},"spec":{"selector":{"matchLabels":{"x":"y"}},"template":{"metadata":{"labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}' >/dev/null
foreign_rvs() { for p in $CM/shop-foreign $CM/shop-other-set $DEP/shop-lookalike; do rvof $p; done | tr '\n' ' '; }
FRV=$(foreign_rvs)

run apply --kubeconfig "$K" $V2
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-cache created" && ! has "$out" pruned &&
    [ "$(get $DEP/shop-worker | pyj 'print(o["metadata"]["name"])')" = shop-worker ]
ok $? "without --prune an object no longer rendered stays" "rc=$rc $out $err"

run apply --kubeconfig "$K" --prune $V2
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-worker pruned" && [ "$(get $DEP/shop-worker | pyj 'print(o["code"])')" = 404 ] &&
    [ "$(foreign_rvs)" = "$FRV" ]
ok $? "--prune deletes the object no longer rendered; foreign look-alikes untouched" "rc=$rc $out $err $(foreign_rvs) vs $FRV"

got=$(logq '
d = [e for e in L if e["method"] == "DELETE"]
print(len(d), d and d[0]["body"].get("preconditions", {}).get("uid") is not None, d and d[0]["body"].get("propagationPolicy"))')
gks=$(getf /api/v1/namespaces/default/secrets/oamlua-shop 'print(o["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"])')
[ "$got" = "1 True Background" ] && [ "$gks" = "Deployment.apps,Ingress.networking.k8s.io,Service" ]
ok $? "prune: one DELETE with a UID precondition and Background propagation; parent updated" "$got / $gks"

# ==========================================================================
# health: status and --wait
run status --kubeconfig "$K" shop
[ $rc -eq 0 ] && has "$out" "application shop in namespace default: 2/4 objects current" &&
    printf '%s\n' "$out" | grep -Eq '^shop-web +- +deployment.apps/shop-web +InProgress +Replicas: 0/3' &&
    printf '%s\n' "$out" | grep -Eq '^ +ingress +ingress.networking.k8s.io/shop-web-trait-ingress +Current' &&
    printf '%s\n' "$out" | grep -Eq '^shop-cache +- +deployment.apps/shop-cache +InProgress'
ok $? "status: one line per object, grouped by component and trait, kstatus results" "rc=$rc $out $err"

t0=$(date +%s)
run apply --kubeconfig "$K" --wait --timeout 2s $V2
t1=$(date +%s)
[ $rc -eq 4 ] && has "$err" "[OAM814]" && has "$err" "deployment.apps/shop-web is not ready" && [ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 6 ]
ok $? "--wait --timeout 2s: exit 4 naming the objects that are not Current" "rc=$rc $err $((t1 - t0))s"

( sleep 1
  for d in shop-web shop-cache; do
      kt_curl /_test/status -X POST -d '{"apiVersion":"apps/v1","kind":"Deployment","namespace":"default","name":"'$d'","ready":true}' >/dev/null
  done ) &
bg=$!
t0=$(date +%s)
run apply --kubeconfig "$K" --wait --timeout 20s $V2
t1=$(date +%s)
wait $bg
[ $rc -eq 0 ] && has "$err" "4 objects ready" && [ $((t1 - t0)) -ge 1 ]
ok $? "--wait returns once /_test/status makes the Deployments available" "rc=$rc $out $err"

run status --kubeconfig "$K" shop
printf '%s\n' "$out" | grep -Eq '^shop-web +- +deployment.apps/shop-web +Current +Deployment is available. Replicas: 3'
ok $? "status: the Deployment is Current after rollout" "$out"

# ==========================================================================
# error classes
KCERT=$W/cert.kubeconfig
kt_kubeconfig --cert "$KCERT" >/dev/null
kt_curl /_test/authz -X POST -d '{"rules":[{"user":"user","verb":"patch","resource":"deployments"}]}' >/dev/null
run apply --kubeconfig "$KCERT" $V2
kt_curl /_test/authz -X POST -d '{"rules":[]}' >/dev/null
[ $rc -eq 4 ] && has "$err" "[OAM806]" &&
    has "$err" 'deployment.apps/shop-web: forbidden: deployments.apps "shop-web" is forbidden: User "user" cannot patch resource "deployments" in API group "apps" in the namespace "default"'
ok $? "403 Forbidden: the server's message naming the object, exit 4" "rc=$rc $err"

run apply --kubeconfig "$K" -n nope $V2
[ $rc -eq 4 ] && has "$err" "[OAM808]" && has "$err" "namespace 'nope' does not exist"
ok $? "404 for a missing namespace: 'namespace ... does not exist' with a hint, exit 4" "rc=$rc $err"

run apply --kubeconfig "$K" --module-path "$W/mods" -f "$W/comps.yaml" -f "$W/bad.yaml"
[ $rc -eq 4 ] && has "$err" "[OAM810]" && has "$err" "configmap/bad-worker-bad is invalid: data[bad key!]: Invalid value" &&
    has "$err" "1 object not applied because an earlier step failed" &&
    [ "$(get $DEP/bad-worker | pyj 'print(o["code"])')" = 404 ]
ok $? "422 Invalid: one finding per cause with its field; later steps are not applied" "rc=$rc $out $err"

resetlog
faults '{"match":{"method":"PATCH","path_re":"deployments/shop-web$"},"status":429,"retryAfter":1,"count":1}'
t0=$(date +%s.%N)
run apply --kubeconfig "$K" $V2
t1=$(date +%s.%N)
nofaults
codes=$(logq 'print(" ".join(str(e["status"]) for e in L if e["method"] == "PATCH" and e["path"].endswith("deployments/shop-web")))')
[ $rc -eq 0 ] && [ "$codes" = "429 200" ] && python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 1.0 else 1)"
ok $? "429 with Retry-After: 1 is retried after at least a second" "rc=$rc codes=$codes $err"

resetlog
faults '{"match":{"method":"PATCH","path_re":"services/shop-web$"},"status":503,"count":2}'
run apply --kubeconfig "$K" $V2
nofaults
codes=$(logq 'print(" ".join(str(e["status"]) for e in L if e["method"] == "PATCH" and e["path"].endswith("services/shop-web")))')
[ $rc -eq 0 ] && [ "$codes" = "503 503 200" ] && has "$out" "service/shop-web unchanged"
ok $? "503 twice, then success: retried with backoff" "rc=$rc codes=$codes $err"

resetlog
faults '{"match":{"method":"PATCH","path_re":"services/shop-web$"},"status":500}'
run apply --kubeconfig "$K" --prune $V2
nofaults
codes=$(logq 'print(" ".join(str(e["status"]) for e in L if e["method"] == "PATCH" and e["path"].endswith("services/shop-web")))')
dels=$(logq 'print(len([e for e in L if e["method"] == "DELETE"]))')
[ $rc -eq 4 ] && has "$err" "[OAM811]" && has "$err" "service/shop-web: the API server failed (500 Internal Server Error)" &&
    [ "$codes" = "500 500 500 500 500" ] && [ "$dels" = 0 ] && has "$err" "nothing was pruned" &&
    [ "$(get $DEP/shop-web | pyj 'print(o["metadata"]["name"])')" = shop-web ]
ok $? "a 500 on every try: gives up after 5 tries, exit 4, nothing pruned or deleted" "rc=$rc codes=$codes dels=$dels $err"

resetlog
faults '{"match":{"method":"PATCH","path_re":"deployments/shop-cache$"},"action":"reset","count":1}'
run apply --kubeconfig "$K" $V2
nofaults
n_patch=$(logq 'print(len([e for e in L if e["method"] == "PATCH" and e["path"].endswith("deployments/shop-cache")]))')
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-cache unchanged" && [ "$n_patch" -ge 1 ]
ok $? "a connection reset mid-apply is retried" "rc=$rc patches=$n_patch $out $err"

# Killed in the middle of an apply that adds and prunes: the re-run converges.
app "$W/v4.yaml" 3 shop-queue
run apply --kubeconfig "$K" $V2
resetlog
faults '{"match":{"method":"PATCH","path_re":"/deployments/"},"delay":3}'
"$BIN" apply --kubeconfig "$K" --prune -f "$W/comps.yaml" -f "$W/v4.yaml" >"$W/killed.out" 2>&1 </dev/null &
pid=$!
for _ in $(seq 50); do
    [ "$(logq 'print(any(e["method"] == "PATCH" and "/services/" in e["path"] for e in L))')" = True ] && break
    sleep 0.1
done
sleep 0.3
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
nofaults
killed=$(cat "$W/killed.out")
[ -n "${APPLY_T_DEBUG:-}" ] && printf '%s\n' "killed run:" "$killed" | sed 's/^/# /'
gks=$(getf /api/v1/namespaces/default/secrets/oamlua-shop 'print(o["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"])')
run apply --kubeconfig "$K" --prune -f "$W/comps.yaml" -f "$W/v4.yaml"
rerun=$out
sleep 3.2   # let the delayed requests of the killed run land
run apply --kubeconfig "$K" --prune -f "$W/comps.yaml" -f "$W/v4.yaml"
members=$(get "/apis/apps/v1/namespaces/default/deployments?labelSelector=applyset.kubernetes.io%2Fpart-of%3D$ID" |
    pyj 'print(" ".join(sorted(i["metadata"]["name"] for i in o["items"])))')
[ $rc -eq 0 ] && ! has "$out" created && ! has "$out" pruned && has "$rerun" "deployment.apps/shop-cache pruned" &&
    [ "$members" = "shop-queue shop-web" ] &&
    [ "$gks" = "Deployment.apps,Ingress.networking.k8s.io,Service" ] && [ "$(foreign_rvs)" = "$FRV" ]
ok $? "kill -9 mid-run, re-run: converges, nothing orphaned, nothing foreign touched" "rc=$rc $out $err members=$members gks=$gks killed: $killed rerun: $rerun"

# ==========================================================================
# authentication
kt_kubeconfig --cert "$W/c.kubeconfig" >/dev/null
mkdir -p "$W/auth"
printf '%s\n' "$S_TOKEN" >"$W/auth/token"
kubeconfig "$W/auth/tokenfile.kubeconfig" "certificate-authority: $KT_CA" "tokenFile: token"
kubeconfig "$W/data.kubeconfig" "certificate-authority-data: $(b64 "$KT_CA")" \
    "client-certificate-data: $(b64 "$KT_CLIENT_CERT")
client-key-data: $(b64 "$KT_CLIENT_KEY")"
cat >"$W/auth/plugin" <<'PLUGIN'
#!/bin/sh
# a credential plugin: records its input, prints an ExecCredential
printf '%s' "$KUBERNETES_EXEC_INFO" >"$PLUGIN_LOG"
if [ "$1" = rotate ]; then
    # the first token it hands out has expired: only the second run's works
    echo run >>"$PLUGIN_LOG.runs"
    [ "$(wc -l <"$PLUGIN_LOG.runs")" -ge 2 ] || PLUGIN_TOKEN=expired-token
fi
if [ "$1" = cert ]; then
    python3 -c 'import json,os; print(json.dumps({"apiVersion":"client.authentication.k8s.io/v1beta1",
        "kind":"ExecCredential","status":{"clientCertificateData":open(os.environ["C"]).read(),
        "clientKeyData":open(os.environ["K"]).read()}}))'
else
    printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}\n' "$PLUGIN_TOKEN"
fi
PLUGIN
chmod +x "$W/auth/plugin"
kubeconfig "$W/auth/exec1.kubeconfig" "certificate-authority: $KT_CA" "exec:
  apiVersion: client.authentication.k8s.io/v1
  command: ./plugin
  args: [token]
  interactiveMode: Never
  provideClusterInfo: true
  env:
  - {name: PLUGIN_TOKEN, value: $S_TOKEN}
  - {name: PLUGIN_LOG, value: $W/exec1.json}"
kubeconfig "$W/auth/exec2.kubeconfig" "certificate-authority: $KT_CA" "exec:
  apiVersion: client.authentication.k8s.io/v1beta1
  command: $W/auth/plugin
  args: [cert]
  env:
  - {name: C, value: $KT_CLIENT_CERT}
  - {name: K, value: $KT_CLIENT_KEY}
  - {name: PLUGIN_LOG, value: $W/exec2.json}"
kubeconfig "$W/auth/exec3.kubeconfig" "certificate-authority: $KT_CA" "exec:
  apiVersion: client.authentication.k8s.io/v1
  command: ./plugin
  args: [rotate]
  interactiveMode: Never
  env:
  - {name: PLUGIN_TOKEN, value: $S_TOKEN}
  - {name: PLUGIN_LOG, value: $W/exec3.json}"
kubeconfig "$W/insecure.kubeconfig" "insecure-skip-tls-verify: true" "token: $S_TOKEN"
kubeconfig "$W/sni-ok.kubeconfig" "certificate-authority: $KT_CA
tls-server-name: localhost" "token: $S_TOKEN"
kubeconfig "$W/sni-bad.kubeconfig" "certificate-authority: $KT_CA
tls-server-name: wrong.example" "token: $S_TOKEN"
kubeconfig "$W/badtoken.kubeconfig" "certificate-authority: $KT_CA" "token: not-a-valid-token"
kubeconfig "$W/noca.kubeconfig" "" "token: $S_TOKEN"

authcase() { # authcase DESCRIPTION EXPECTED-USER ARGS...
    desc=$1 user=$2
    shift 2
    resetlog
    run status "$@" shop
    users=$(logq 'print(" ".join(sorted(set(str(e["user"]) for e in L))))')
    [ $rc -eq 0 ] && has "$out" "application shop in namespace default" && [ "$users" = "$user" ]
    ok $? "auth: $desc" "rc=$rc users=$users $err"
}
authcase "bearer token" test-admin --kubeconfig "$K"
authcase "tokenFile, relative to the kubeconfig" test-admin --kubeconfig "$W/auth/tokenfile.kubeconfig"
authcase "client certificate and key files" user --kubeconfig "$W/c.kubeconfig"
authcase "client-certificate-data, client-key-data and certificate-authority-data" user --kubeconfig "$W/data.kubeconfig"
authcase "exec plugin, client.authentication.k8s.io/v1 token" test-admin --kubeconfig "$W/auth/exec1.kubeconfig"
got=$(pyj 'print(o["apiVersion"], o["kind"], o["spec"]["interactive"], o["spec"]["cluster"]["server"])' <"$W/exec1.json" 2>&1)
[ "$got" = "client.authentication.k8s.io/v1 ExecCredential False $S_URL" ]
ok $? "exec plugin: KUBERNETES_EXEC_INFO carries the ExecCredential with cluster info" "$got"
authcase "exec plugin, v1beta1 clientCertificateData/clientKeyData" user --kubeconfig "$W/auth/exec2.kubeconfig"
resetlog
run status --kubeconfig "$W/auth/exec3.kubeconfig" shop
codes=$(logq 'print(" ".join(str(e["status"]) for e in L))')
[ $rc -eq 0 ] && [ "$(wc -l <"$W/exec3.json.runs")" = 2 ] && has "$codes" "401 200"
ok $? "exec plugin: a 401 runs the plugin again and retries with the new token" "rc=$rc codes=$codes $err"
authcase "insecure-skip-tls-verify" test-admin --kubeconfig "$W/insecure.kubeconfig"
authcase "tls-server-name (certificate checked for localhost)" test-admin --kubeconfig "$W/sni-ok.kubeconfig"

run status --kubeconfig "$W/sni-bad.kubeconfig" shop
[ $rc -eq 4 ] && has "$err" "[OAM804]"
ok $? "tls-server-name that the certificate does not name: TLS failure, exit 4" "rc=$rc $err"

printf '%s' "$S_TOKEN" >"$W/sa/token"
cp "$KT_CA" "$W/sa/ca.crt"
printf 'default\n' >"$W/sa/namespace"
resetlog
out=$(KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$S_PORT OAMLUA_SERVICEACCOUNT_DIR=$W/sa "$BIN" status shop 2>&1)
rc=$?
[ $rc -eq 0 ] && has "$out" "application shop in namespace default" && [ "$(logq 'print(L[0]["user"])')" = test-admin ]
ok $? "auth: in-cluster service account (no kubeconfig; host, port, token, CA, namespace)" "rc=$rc $out"

# KUBECONFIG with several files: entries from the first file win whole,
# current-context comes from the first file that sets it.
kubeconfig "$W/m1.kubeconfig" "certificate-authority: $KT_CA" "token: $S_TOKEN"
sed -i '/^current-context/d' "$W/m1.kubeconfig"
SERVER=https://127.0.0.1:1 kubeconfig "$W/m2.kubeconfig" "" "token: wrong"
out=$(KUBECONFIG="$W/missing:$W/m1.kubeconfig:$W/m2.kubeconfig" "$BIN" status shop 2>&1)
rc=$?
[ $rc -eq 0 ] && has "$out" "application shop in namespace default"
ok $? "KUBECONFIG=a:b:c merges like kubectl (missing file skipped, first definition wins)" "rc=$rc $out"

run status --kubeconfig "$W/badtoken.kubeconfig" shop
[ $rc -eq 4 ] && has "$err" "[OAM805]" && has "$err" "rejected the credentials (401 Unauthorized)"
ok $? "401 Unauthorized: a clear message and hint, exit 4" "rc=$rc $err"

run status --kubeconfig "$W/noca.kubeconfig" shop
[ $rc -eq 4 ] && has "$err" "[OAM804]" && has "$err" "certificate-authority"
ok $? "an untrusted server certificate: exit 4 with a hint about certificate-authority" "rc=$rc $err"

run apply -v --kubeconfig "$W/auth/exec1.kubeconfig" $V2
run2_err=$err
run apply -v --kubeconfig "$K" $V2
! has "$out$err$run2_err" "$S_TOKEN" && has "$err" "PATCH /apis/apps/v1/namespaces/default/deployments/shop-web"
ok $? "-v logs requests but never a token" "$err"

kt_start
H_URL=$KT_URL
SERVER=$H_URL kubeconfig "$W/http.kubeconfig" "" "token: $S_TOKEN"
run apply --kubeconfig "$W/http.kubeconfig" $V2
hreq=$(kt_curl /_test/log | grep -c .)
[ $rc -eq 4 ] && has "$err" "[OAM802]" && has "$err" "refusing to send credentials over plain http" && [ "$hreq" = 0 ] &&
    ! has "$err" "$S_TOKEN"
ok $? "a token over plain http is refused before any request" "rc=$rc hreq=$hreq $err"
SERVER=$H_URL kubeconfig "$W/http-anon.kubeconfig" "" ""
APPNAME=anon app "$W/anon.yaml" 1
run apply --kubeconfig "$W/http-anon.kubeconfig" -f "$W/comps.yaml" -f "$W/anon.yaml"
[ $rc -eq 0 ] && has "$out" "deployment.apps/shop-web created"
ok $? "plain http without credentials works (anonymous)" "rc=$rc $out $err"
kt_stop
KT_URL=$S_URL KT_PORT=$S_PORT KT_TOKEN=$S_TOKEN KT_SCHEME=https

# ==========================================================================
# custom resources, ownership, other refusals
run apply --kubeconfig "$K" --module-path "$W/mods" -f "$W/comps.yaml" -f "$W/widget.yaml"
[ $rc -eq 4 ] && has "$err" "[OAM807]" && has "$err" 'widget.example.com/gadget-widget: no matches for kind "Widget" in version "example.com/v1"'
ok $? "a kind the server does not serve: no matches for kind, exit 4" "rc=$rc $out $err"

run apply --kubeconfig "$K" --module-path "$W/mods" -f "$W/comps.yaml" -f "$W/widget-crd.yaml"
size=$(getf /apis/example.com/v1/namespaces/default/widgets/gadget-widget 'print(o["spec"]["size"])')
[ $rc -eq 0 ] && [ "$out" = "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created
deployment.apps/gadget created
widget.example.com/gadget-widget created" ] && [ "$size" = 3 ]
ok $? "a CRD in the application is applied first; its custom resource once it is served" "rc=$rc $out $err size=$size"

run delete --kubeconfig "$K" gadgets
[ $rc -eq 0 ] && [ "$out" = 'widget.example.com "gadget-widget" deleted
deployment.apps "gadget" deleted
customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted
secret "oamlua-gadgets" deleted' ]
ok $? "delete: the custom resource before its CRD, the parent last" "rc=$rc $out $err"

resetlog
faults '{"match":{"method":"PATCH","path_re":"services/shop-web$"},"status":400,"count":1,"message":"this request is bad"}'
run apply --kubeconfig "$K" $V2
nofaults
[ $rc -eq 4 ] && has "$err" "[OAM812]" && has "$err" "service/shop-web: the API server refused the request (400 Bad Request): this request is bad" &&
    [ "$(logq 'print(len([e for e in L if e["path"].endswith("services/shop-web")]))')" = 1 ]
ok $? "400 Bad Request: not retried, the server's message, exit 4" "rc=$rc $err"

kt_curl /api/v1/namespaces/default/secrets -X POST -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"oamlua-other","labels":{"applyset.kubernetes.io/id":"applyset-x-v1"},"annotations":{"applyset.kubernetes.io/tooling":"kubectl/v1.32.4"}}}' >/dev/null
APPNAME=other app "$W/other.yaml" 1
run apply --kubeconfig "$K" -f "$W/comps.yaml" -f "$W/other.yaml"
[ $rc -eq 4 ] && has "$err" "[OAM813]" && has "$err" "secret/oamlua-other (ApplySet parent of 'other') exists but is not an oamlua ApplySet parent (tooling 'kubectl/v1.32.4')" &&
    [ "$(get $DEP/shop-web | pyj 'print(o["metadata"]["labels"]["app.oam.dev/name"])')" = shop ]
ok $? "a parent Secret of another tool is never taken over" "rc=$rc $out $err"

# ==========================================================================
# delete
run apply --kubeconfig "$K" -o name $V2
[ $rc -eq 0 ] && [ "$out" = "service/shop-web
deployment.apps/shop-web
deployment.apps/shop-cache
ingress.networking.k8s.io/shop-web-trait-ingress" ]
ok $? "-o name prints kubectl-style names only" "rc=$rc $out $err"

run delete --kubeconfig "$K" shop
left=$(get "/apis/apps/v1/deployments?labelSelector=applyset.kubernetes.io%2Fpart-of%3D$ID" | pyj 'print(len(o["items"]))')
parent=$(get /api/v1/namespaces/default/secrets/oamlua-shop | pyj 'print(o.get("code"))')
[ $rc -eq 0 ] && has "$out" 'deployment.apps "shop-web" deleted' && has "$out" 'ingress.networking.k8s.io "shop-web-trait-ingress" deleted' &&
    has "$out" 'secret "oamlua-shop" deleted' && [ "$left" = 0 ] && [ "$parent" = 404 ] && [ "$(foreign_rvs)" = "$FRV" ]
ok $? "delete APP: every member and the parent go; foreign look-alikes stay untouched" "rc=$rc $out $err left=$left parent=$parent"

run delete --kubeconfig "$K" shop
run2_rc=$rc run2_err=$err
run delete --kubeconfig "$K" --ignore-not-found shop
[ $run2_rc -eq 4 ] && has "$run2_err" "[OAM815]" && [ $rc -eq 0 ]
ok $? "delete of an unknown application: OAM815 (exit 4), or exit 0 with --ignore-not-found" "$run2_rc $run2_err / $rc $err"

kt_curl /api/v1/namespaces -X POST -H 'Content-Type: application/json' \
    -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}' >/dev/null
APPNAME=shop2 app "$W/shop2.yaml" 1 shop-worker
run apply --kubeconfig "$K" -n team -f "$W/comps.yaml" -f "$W/shop2.yaml"
r1=$rc
run delete --kubeconfig "$K" -n team --wait -f "$W/comps.yaml" -f "$W/shop2.yaml"
left=$(get "/apis/apps/v1/namespaces/team/deployments" | pyj 'print(len(o["items"]))')
[ $r1 -eq 0 ] && [ $rc -eq 0 ] && has "$out" 'deployment.apps "shop-worker" deleted' && [ "$left" = 0 ]
ok $? "delete -f in another namespace (-n), with --wait" "$r1 rc=$rc $out $err left=$left"

finish
