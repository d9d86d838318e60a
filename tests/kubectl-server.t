#!/usr/bin/env bash
# kubectl-server.t - the real kubectl (1.32) against tests/apiserver/kubetest.py,
# as an independent check that the test API server behaves like a real one.
#
# Run from the repository root:  prove -v tests/kubectl-server.t
# KUBECTL=/path/to/kubectl overrides the kubectl binary that is used.

set -u
T=$(cd "$(dirname "$0")" && pwd)
. "$T/apiserver/lib.sh"

PLAN=32
echo "1..$PLAN"

n=0
skip_all() {
    while [ "$n" -lt "$PLAN" ]; do
        n=$((n + 1))
        echo "ok $n # skip $1"
    done
    exit 0
}

# Find kubectl 1.32: the versioned binary beside Google's dispatcher, else kubectl.
if [ -z "${KUBECTL:-}" ]; then
    if command -v kubectl.1.32 >/dev/null 2>&1; then
        KUBECTL=$(command -v kubectl.1.32)
    elif k=$(command -v kubectl 2>/dev/null); then
        d=$(dirname "$(readlink -f "$k")")
        if [ -x "$d/kubectl.1.32" ]; then KUBECTL=$d/kubectl.1.32; else KUBECTL=$k; fi
    fi
fi
[ -n "${KUBECTL:-}" ] || skip_all "kubectl not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed"
command -v curl >/dev/null 2>&1 || skip_all "curl not installed"

ok() { # ok STATUS DESCRIPTION [output-to-show-on-failure]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        if [ -n "${3:-}" ]; then printf '%s\n' "$3" | sed 's/^/#   /'; fi
    fi
}
skip() { n=$((n + 1)); echo "ok $n # skip $1"; }

export HOME
HOME=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-home.XXXXXX")
kt_on_exit 'rm -rf "$HOME" "$WORK"'
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-work.XXXXXX")
unset KUBECONFIG KUBECTL_EXTERNAL_DIFF 2>/dev/null
CACHE=$WORK/cache

kc() { "$KUBECTL" --kubeconfig="$KCFG" --cache-dir="$CACHE" --request-timeout=20s "$@" </dev/null; }
kci() { "$KUBECTL" --kubeconfig="$KCFG" --cache-dir="$CACHE" --request-timeout=20s "$@"; } # reads stdin
pyj() { python3 -c "import json,sys; o=json.load(sys.stdin); $1"; }
log() { kt_curl "/_test/log" ; }

# --------------------------------------------------------------------------
# manifests
cat >"$WORK/app.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - {name: http, containerPort: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {app: web}
data:
  greeting: hello
EOF
sed 's/replicas: 2/replicas: 3/' "$WORK/app.yaml" >"$WORK/app3.yaml"

cat >"$WORK/bad.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - {name: c, image: busybox}
EOF

cat >"$WORK/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: cronhorizontalpodautoscalers.autoscaling.alibabacloud.com
spec:
  group: autoscaling.alibabacloud.com
  scope: Namespaced
  names:
    kind: CronHorizontalPodAutoscaler
    listKind: CronHorizontalPodAutoscalerList
    plural: cronhorizontalpodautoscalers
    singular: cronhorizontalpodautoscaler
    shortNames: [cronhpa]
  versions:
  - name: v1beta1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [scaleTargetRef, jobs]
            properties:
              scaleTargetRef:
                type: object
                properties:
                  apiVersion: {type: string}
                  kind: {type: string}
                  name: {type: string}
              excludeDates:
                type: array
                items: {type: string}
              jobs:
                type: array
                items:
                  type: object
                  required: [name, schedule, targetSize]
                  properties:
                    name: {type: string}
                    schedule: {type: string}
                    targetSize: {type: integer, minimum: 0}
                    runOnce: {type: boolean}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
EOF

cat >"$WORK/cronhpa.yaml" <<'EOF'
apiVersion: autoscaling.alibabacloud.com/v1beta1
kind: CronHorizontalPodAutoscaler
metadata:
  name: web-cron
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  jobs:
  - {name: scale-up, schedule: "0 0 8 * * *", targetSize: 5}
  - {name: scale-down, schedule: "0 0 20 * * *", targetSize: 1}
EOF
sed 's/targetSize: 5/targetSize: -1/' "$WORK/cronhpa.yaml" >"$WORK/cronhpa-neg.yaml"
sed -e 's/targetSize: 5/targetSize: "five"/' -e 's/name: web-cron/name: bad-cron/' "$WORK/cronhpa.yaml" >"$WORK/cronhpa-bad.yaml"

# --------------------------------------------------------------------------
# plain http server: anonymous with full rights
if ! kt_start; then skip_all "test API server did not start"; fi
KCFG=$(kt_kubeconfig --none "$WORK/kubeconfig-http")

out=$(kc version 2>&1)
case "$out" in *"Server Version: v1.32."*) ok 0 "kubectl version reports server v1.32" ;;
*) ok 1 "kubectl version reports server v1.32" "$out" ;; esac

out=$(kc api-resources 2>&1)
rc=0
for row in "configmaps +cm +v1 +true +ConfigMap" "namespaces +ns +v1 +false +Namespace" \
    "deployments +deploy +apps/v1 +true +Deployment" "statefulsets +sts +apps/v1" "daemonsets +ds +apps/v1" \
    "cronjobs +cj +batch/v1" "jobs +batch/v1 +true +Job" "ingresses +ing +networking.k8s.io/v1" \
    "horizontalpodautoscalers +hpa +autoscaling/v2" "poddisruptionbudgets +pdb +policy/v1" \
    "customresourcedefinitions +crd,crds +apiextensions.k8s.io/v1 +false" "secrets +v1 +true +Secret" \
    "persistentvolumeclaims +pvc +v1" "services +svc +v1"; do
    printf '%s\n' "$out" | grep -Eq "^$row" || { rc=1; echo "# missing row: $row"; }
done
ok $rc "kubectl api-resources lists the built-in kinds" "$out"

out=$(kc apply --server-side -f "$WORK/app.yaml" 2>&1)
[ "$out" = "deployment.apps/web serverside-applied
service/web serverside-applied
configmap/web-config serverside-applied" ]
ok $? "apply --server-side creates three objects" "$out"

out=$(log | python3 -c '
import json, sys
bad = []
patches = [json.loads(l) for l in sys.stdin if l.strip()]
patches = [e for e in patches if e["method"] == "PATCH"]
if len(patches) != 3: bad.append("%d PATCH requests" % len(patches))
for e in patches:
    q = e["query"]
    if e["content_type"] != "application/apply-patch+yaml": bad.append("content type " + e["content_type"])
    if "fieldManager=kubectl" not in q or "force=false" not in q or "fieldValidation=Strict" not in q:
        bad.append("query " + q)
    if e["status"] != 201: bad.append("status %s" % e["status"])
    if e["body"]["metadata"].get("namespace") != "default": bad.append("no namespace in body")
print("\n".join(bad))' 2>&1)
[ -z "$out" ]
ok $? "one SSA PATCH per object (apply-patch+yaml, fieldManager=kubectl, Strict, 201)" "$out"

rv1=$(kc get deploy web -o jsonpath='{.metadata.resourceVersion}/{.metadata.generation}' 2>&1)
out=$(kc apply --server-side -f "$WORK/app.yaml" 2>&1)
rv2=$(kc get deploy web -o jsonpath='{.metadata.resourceVersion}/{.metadata.generation}' 2>&1)
[ "$rv1" = "$rv2" ] && [ "$rv1" = "${rv1%/*}/1" ] && case "$out" in *"deployment.apps/web serverside-applied"*) true ;; *) false ;; esac
ok $? "re-apply is a no-op: resourceVersion and generation unchanged ($rv1)" "$rv1 -> $rv2 $out"

out=$(kc diff --server-side -f "$WORK/app.yaml" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ]
ok $? "diff --server-side: exit 0 and no output when unchanged" "rc=$rc $out"

out=$(kc diff --server-side -f "$WORK/app3.yaml" 2>&1)
rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q '^+  replicas: 3' && printf '%s\n' "$out" | grep -q '^-  replicas: 2'
ok $? "diff --server-side: exit 1 and the replicas change when changed" "rc=$rc $out"

out=$(kc get deploy web -o yaml 2>&1)
printf '%s\n' "$out" | grep -q '^  replicas: 2$' && printf '%s\n' "$out" | grep -q 'type: RollingUpdate' &&
    printf '%s\n' "$out" | grep -q '^  uid: ' && printf '%s\n' "$out" | grep -q 'imagePullPolicy: IfNotPresent' &&
    ! printf '%s\n' "$out" | grep -q managedFields
ok $? "get -o yaml: live object with server defaults, managedFields hidden" "$out"

out=$(kc get deploy,svc,cm -l app=web 2>&1)
out2=$(kc get deploy -l 'app in (nope)' 2>&1)
printf '%s\n' "$out" | grep -Eq '^deployment.apps/web +0/2 ' && printf '%s\n' "$out" | grep -Eq '^service/web +ClusterIP +10\.' &&
    printf '%s\n' "$out" | grep -Eq '^configmap/web-config +1 ' && [ "$out2" = "No resources found in default namespace." ]
ok $? "get -l selects by label (and 'in' finds nothing)" "$out
$out2"

rv1=$(kc get deploy web -o jsonpath='{.metadata.resourceVersion}')
out=$(kc apply --server-side --dry-run=server -f "$WORK/app3.yaml" 2>&1)
got=$(kc get deploy web -o jsonpath='{.metadata.resourceVersion} {.spec.replicas}')
case "$out" in *"deployment.apps/web serverside-applied (server dry run)"*) [ "$got" = "$rv1 2" ] ;; *) false ;; esac
ok $? "--dry-run=server reports (server dry run) and stores nothing" "$out / $got"

out=$(kc apply --server-side --field-manager=other -f "$WORK/app3.yaml" 2>&1)
rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$out" | grep -qF 'error: Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' &&
    printf '%s\n' "$out" | grep -qF 'Please review the fields above--they currently have other managers'
ok $? "a second field manager changing replicas gets 409 and kubectl's conflict advice" "rc=$rc $out"

out=$(kc apply --server-side --field-manager=other --force-conflicts -f "$WORK/app3.yaml" 2>&1)
rc=$?
own=$(kc get deploy web -o json --show-managed-fields | pyj '
mf = {(e["manager"], e["operation"]): e["fieldsV1"] for e in o["metadata"]["managedFields"]}
print(o["spec"]["replicas"], "f:replicas" in mf[("other", "Apply")]["f:spec"], "f:replicas" in mf[("kubectl", "Apply")]["f:spec"])')
[ $rc -eq 0 ] && [ "$own" = "3 True False" ]
ok $? "--force-conflicts takes ownership of .spec.replicas" "rc=$rc $out $own"

out=$(kc apply --server-side -f "$WORK/bad.yaml" 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = 'The Deployment "bad" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`' ]
ok $? "422 Invalid is rendered by kubectl as 'The Deployment \"bad\" is invalid'" "rc=$rc $out"

out=$(kc apply --server-side -n nope -f "$WORK/app.yaml" 2>&1)
rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$out" | grep -qF 'namespaces "nope" not found'
ok $? "apply into a missing namespace: namespaces \"nope\" not found" "rc=$rc $out"

out=$(kc apply --server-side -f "$WORK/crd.yaml" 2>&1)
rc=$?
est=$(kc get crd cronhorizontalpodautoscalers.autoscaling.alibabacloud.com \
    -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>&1)
ar=$(kc api-resources --api-group=autoscaling.alibabacloud.com 2>&1)
[ $rc -eq 0 ] && [ "$est" = True ] && printf '%s\n' "$ar" | grep -Eq '^cronhorizontalpodautoscalers +cronhpa +autoscaling.alibabacloud.com/v1beta1 +true +CronHorizontalPodAutoscaler'
ok $? "a CRD becomes Established and appears in discovery" "rc=$rc $out / $est / $ar"

out=$(kc apply --server-side -f "$WORK/cronhpa.yaml" 2>&1)
rc=$?
got=$(kc get cronhpa web-cron -o jsonpath='{.spec.jobs[0].targetSize} {.metadata.generation}' 2>&1)
[ $rc -eq 0 ] && [ "$out" = "cronhorizontalpodautoscaler.autoscaling.alibabacloud.com/web-cron serverside-applied" ] && [ "$got" = "5 1" ]
ok $? "a custom resource of the new CRD can be applied and read back" "rc=$rc $out / $got"

out=$(kc apply --server-side -f "$WORK/cronhpa-neg.yaml" 2>&1)
rc=$?
out2=$(kc create -f "$WORK/cronhpa-bad.yaml" 2>&1)
rc2=$?
[ $rc -eq 1 ] && [ "$out" = 'The CronHorizontalPodAutoscaler "web-cron" is invalid: spec.jobs[0].targetSize: Invalid value: -1: spec.jobs[0].targetSize in body should be greater than or equal to 0' ] &&
    [ $rc2 -eq 1 ] && [ "$out2" = 'The CronHorizontalPodAutoscaler "bad-cron" is invalid: spec.jobs[0].targetSize: Invalid value: "string": spec.jobs[0].targetSize in body must be of type integer: "string"' ]
ok $? "the CRD's OpenAPI schema is enforced (422 for minimum and type)" "rc=$rc $out / rc2=$rc2 $out2"

kt_curl /_test/status -X POST -d '{"apiVersion":"apps/v1","kind":"Deployment","namespace":"default","name":"web","ready":true}' >/dev/null
out=$(kc rollout status deploy/web --timeout=10s 2>&1)
rc=$?
[ $rc -eq 0 ] && printf '%s\n' "$out" | grep -qF 'deployment "web" successfully rolled out'
ok $? "rollout status succeeds once /_test/status marks the Deployment ready" "rc=$rc $out"

# watch: kubectl wait blocks until a status change arrives over the watch stream
kci apply --server-side -f - >/dev/null 2>&1 <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
EOF
( sleep 1; kt_curl /_test/status -X POST -d '{"apiVersion":"batch/v1","kind":"Job","namespace":"default","name":"once","ready":true}' >/dev/null ) &
bg=$!
t0=$(date +%s)
out=$(kc wait --for=condition=Complete job/once --timeout=15s 2>&1)
rc=$?
t1=$(date +%s)
wait $bg
[ $rc -eq 0 ] && [ "$out" = "job.batch/once condition met" ] && [ $((t1 - t0)) -ge 1 ] &&
    log | grep -q '"path":"/apis/batch/v1/namespaces/default/jobs","query":"[^"]*watch=true'
ok $? "kubectl wait --for=condition=Complete is woken by a watch event" "rc=$rc $out"

kt_curl /_test/faults -X POST -d '{"match":{"method":"PATCH","path_re":"configmaps/web-config"},"status":429,"retryAfter":1,"count":1}' >/dev/null
kt_curl /_test/reset-log -X POST >/dev/null
out=$(kc apply --server-side -f "$WORK/app.yaml" --field-manager=other --force-conflicts 2>&1)
rc=$?
codes=$(log | python3 -c '
import json, sys
print(" ".join(str(e["status"]) for e in map(json.loads, sys.stdin) if e["method"] == "PATCH" and "configmaps" in e["path"]))')
[ $rc -eq 0 ] && [ "$codes" = "429 200" ]
ok $? "429 with Retry-After: kubectl retries the PATCH and succeeds" "rc=$rc codes=$codes $out"

out=$(kci apply -f - 2>&1 <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: csa}
data: {a: "1"}
EOF
)
out2=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa}\ndata: {a: "1"}\n' | kci apply -f - 2>&1)
out3=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa}\ndata: {a: "2"}\n' | kci apply -f - 2>&1)
got=$(kc get cm csa -o jsonpath='{.data.a}')
[ "$out" = "configmap/csa created" ] && [ "$out2" = "configmap/csa unchanged" ] && [ "$out3" = "configmap/csa configured" ] && [ "$got" = 2 ]
ok $? "client-side apply: created, unchanged, configured (strategic merge patch)" "$out / $out2 / $out3 / $got"

uid=$(kc get deploy web -o jsonpath='{.metadata.uid}')
kci apply --server-side -f - >/dev/null 2>&1 <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1234
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: "$uid", controller: true, blockOwnerDeletion: true}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
EOF
out=$(kc delete deploy web --cascade=foreground 2>&1)
rc=$?
got=$(kc get rs web-1234 2>&1)
[ $rc -eq 0 ] && [ "$out" = 'deployment.apps "web" deleted' ] &&
    [ "$got" = 'Error from server (NotFound): replicasets.apps "web-1234" not found' ] &&
    log | grep -q '"propagationPolicy":"Foreground"'
ok $? "delete --cascade=foreground removes the owned ReplicaSet too" "rc=$rc $out / $got"

kc apply --server-side -f "$WORK/app.yaml" >/dev/null 2>&1
out=$(kc delete -f "$WORK/app.yaml" 2>&1)
rc=$?
got=$(kc get deploy web 2>&1)
rc2=$?
[ $rc -eq 0 ] && [ "$out" = 'deployment.apps "web" deleted
service "web" deleted
configmap "web-config" deleted' ] && [ $rc2 -eq 1 ] && [ "$got" = 'Error from server (NotFound): deployments.apps "web" not found' ]
ok $? "delete -f, then get is 404 NotFound" "rc=$rc $out / $got"

# kill -9 and restart with the same --state file: objects survive
STATE=$WORK/state.json
kt_stop
if kt_start --state "$STATE"; then
    KCFG=$(kt_kubeconfig --none "$WORK/kubeconfig-http")
    kc apply --server-side -f "$WORK/app.yaml" >/dev/null 2>&1
    uid1=$(kc get deploy web -o jsonpath='{.metadata.uid}' 2>&1)
    kt_stop --kill
    kt_start --state "$STATE"
    KCFG=$(kt_kubeconfig --none "$WORK/kubeconfig-http")
    uid2=$(kc get deploy web -o jsonpath='{.metadata.uid}' 2>&1)
    [ -n "$uid1" ] && [ "$uid1" = "$uid2" ]
    ok $? "--state: a SIGKILLed server restarts with its objects" "$uid1 / $uid2"
else
    ok 1 "--state: a SIGKILLed server restarts with its objects" "server did not start"
fi
kt_stop

if kt_start --discovery legacy --no-openapi; then
    KCFG=$(kt_kubeconfig --none "$WORK/kubeconfig-legacy")
    CACHE=$WORK/cache-legacy
    out=$(kc api-resources 2>&1)
    rc=$?
    [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -Eq '^deployments +deploy +apps/v1' && log | grep -q '"path":"/apis/apps/v1"'
    ok $? "legacy discovery (per group-version requests) works" "rc=$rc $out"

    out=$(kc apply --server-side -f "$WORK/app.yaml" 2>&1)
    rc=$?
    out2=$(kc apply --server-side --validate=false -f "$WORK/app.yaml" 2>&1)
    rc2=$?
    [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q 'turn validation off with --validate=false' && [ $rc2 -eq 0 ] &&
        log | grep -q 'fieldValidation=Ignore'
    ok $? "without OpenAPI, --validate=strict aborts and --validate=false works" "rc=$rc $out / rc2=$rc2 $out2"
    kt_stop
else
    ok 1 "legacy discovery (per group-version requests) works" "server did not start"
    ok 1 "without OpenAPI, --validate=strict aborts and --validate=false works" "server did not start"
fi

# --------------------------------------------------------------------------
# https: bearer token and client certificates
if ! command -v openssl >/dev/null 2>&1; then
    for d in "https + bearer token" "https + client certificate" "https without credentials is 401" \
        "403 from an authz rule" "auth can-i reflects authz rules" "TLS: server only on 127.0.0.1"; do
        skip "openssl not installed ($d)"
    done
    exit 0
fi
printf '%s\n' '{"user":"user","verb":"delete","resource":"configmaps"}' >"$WORK/authz.jsonl"
if ! kt_start --tls --authz "$WORK/authz.jsonl"; then
    while [ "$n" -lt "$PLAN" ]; do ok 1 "https server did not start"; done
    exit 1
fi
CACHE=$WORK/cache-https

KCFG=$(kt_kubeconfig --token "$WORK/kubeconfig-token")
out=$(kc get ns 2>&1)
rc=$?
who=$(kc auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
[ $rc -eq 0 ] && printf '%s\n' "$out" | grep -Eq '^default +Active ' && [ "$who" = test-admin ] &&
    ! grep -q "$KT_TOKEN" "$KT_DIR/requests.log"
ok $? "https + bearer token: kubectl authenticates as test-admin (token never logged)" "rc=$rc $out / $who"

KCFG=$(kt_kubeconfig --cert "$WORK/kubeconfig-cert")
out=$(kc apply --server-side -f "$WORK/app.yaml" 2>&1)
rc=$?
who=$(kc auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' 2>&1)
[ $rc -eq 0 ] && [ "$who" = 'user ["group","system:authenticated"]' ]
ok $? "https + client certificate: CN=user O=group" "rc=$rc $out / $who"

KCFG=$(kt_kubeconfig --none "$WORK/kubeconfig-anon")
out=$(kc --token=not-a-valid-token get ns 2>&1 </dev/null)
rc=$?
raw=$(curl -sS --cacert "$KT_CA" "$KT_URL/api/v1/namespaces")
[ $rc -eq 1 ] && printf '%s\n' "$out" | grep -qF 'error: You must be logged in to the server' &&
    [ "$raw" = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}' ]
ok $? "https with a bad token or none: 401 Status, kubectl says log in" "rc=$rc $out / $raw"

KCFG=$WORK/kubeconfig-cert
out=$(kc delete cm web-config 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = 'Error from server (Forbidden): configmaps "web-config" is forbidden: User "user" cannot delete resource "configmaps" in API group "" in the namespace "default"' ]
ok $? "an --authz deny rule gives kubectl's 403 Forbidden message" "rc=$rc $out"

a=$(kc auth can-i delete configmaps 2>&1)
b=$(kc auth can-i delete deployments.apps 2>&1)
[ "$a" = no ] && [ "$b" = yes ]
ok $? "kubectl auth can-i reflects the authz rules" "$a / $b"

out=$(python3 - "$KT_PID" <<'EOF'
import sys
pid = sys.argv[1]
lines = []
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines += open(f).read().splitlines()[1:]
    except OSError:
        pass
import os
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
bad = []
for l in lines:
    p = l.split()
    if p[3] == "0A" and p[9] in inodes and p[1].split(":")[0] != "0100007F":
        bad.append(p[1])
print(" ".join(bad))
EOF
)
[ -z "$out" ]
ok $? "the server listens on 127.0.0.1 only" "$out"
kt_stop
