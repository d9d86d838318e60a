#!/usr/bin/env bash
# Smoke test of the Podman path oamlua will use: a private
# `podman system service`, libpod REST calls over its unix socket with curl
# (POST/DELETE /libpod/play/kube, pod list by label, container inspect), and
# a busybox httpd answering on 127.0.0.1.  Every test is skipped when podman
# cannot run containers here (pm_available).  See NOTES.md.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PLAN=10
echo "1..$PLAN"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
skip_rest() { while [ "$n" -lt "$PLAN" ]; do n=$((n + 1)); echo "ok $n # skip $1"; done; }
bail_rest() { while [ "$n" -lt "$PLAN" ]; do not_ok "not run: $1"; done; exit 1; }

if ! reason=$(pm_available); then
	skip_rest "${reason:-podman unavailable}"
	exit 0
fi

# ----------------------------------------------------------------- fixture
ID="$$-$RANDOM"
APP=oamlua-smoke-$ID           # Deployment name; pods are $APP-pod-0
POD=$APP-pod-0
CTR=$POD-web                   # <pod>-<container>
CM=$APP-cfg                    # ConfigMap; also the name of its volume
LABEL="oamlua.test/run=$ID"
IMAGE=$PM_IMAGE_DEFAULT
PORT=$(pm_free_port) || { not_ok "pick a free port"; bail_rest "no free port"; }
BODY="hello from configmap $ID"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/oamlua-smoke.XXXXXX")
YAML=$WORK/app.yaml

# Runs at exit, before the service is stopped (pm_atexit is LIFO and
# pm_service_stop always runs last).
pm_atexit rm -rf "$WORK"
pm_atexit pm_podman volume rm -f "$CM"
pm_atexit pm_cleanup_label "$LABEL"

cat >"$YAML" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: $CM
data:
  index.html: "$BODY"
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $APP
  labels:
    app.oam.dev/name: $APP
spec:
  replicas: 1
  selector:
    matchLabels:
      app.oam.dev/component: web
  template:
    metadata:
      labels:
        app.oam.dev/name: $APP
        app.oam.dev/component: web
        oamlua.test/run: "$ID"
    spec:
      containers:
      - name: web
        image: $IMAGE
        # Not "Always": :latest would otherwise be looked up on a registry.
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c"]
        args:
        - mkdir -p /srv && cp /cfg/index.html /srv/ &&
          echo "FOO=\$FOO COLOR=\$COLOR" > /srv/env.txt &&
          exec httpd -f -p $PORT -h /srv
        env:
        - name: FOO
          value: "foo value $ID"
        - name: COLOR
          valueFrom:
            configMapKeyRef:
              name: $CM
              key: color
        volumeMounts:
        - name: cfg
          mountPath: /cfg
      volumes:
      - name: cfg
        configMap:
          name: $CM
EOF

api() { pm_curl "$@"; }
http_get() { curl -s -m 2 "http://127.0.0.1:$PORT/$1"; }

# ------------------------------------------------------------------- tests
# 1
if pm_service_start 2>"$WORK/svc.err" &&
	[ "$(api "$PM_API/_ping")" = OK ]; then
	ok "private podman service answers _ping on $PM_SOCK"
else
	not_ok "private podman service answers _ping" "$(cat "$WORK/svc.err")"
	bail_rest "no podman service"
fi

# 2
code=$(api -o /dev/null -w '%{http_code}' "$PM_API/images/$IMAGE/exists")
if [ "$code" = 204 ]; then
	ok "image $IMAGE exists (GET images/NAME/exists -> 204)"
else
	not_ok "image $IMAGE exists" "HTTP $code"
	bail_rest "no image"
fi

# 3
t0=$(date +%s%N)
resp=$(api -X POST -H 'Content-Type: application/yaml' --data-binary "@$YAML" \
	-w '\n%{http_code}' "$PM_API/play/kube?network=host")
code=${resp##*$'\n'}
resp=${resp%$'\n'*}
if [ "$code" = 200 ] && [[ $resp == *'"Pods":[{"ID":"'* ]]; then
	ok "POST play/kube?network=host (Deployment+ConfigMap) -> 200"
else
	not_ok "POST play/kube?network=host -> 200" "HTTP $code" "$resp"
	bail_rest "play kube failed"
fi

# 4
filters=$(printf '{"label":["%s"]}' "$LABEL")
list=$(api -G "$PM_API/pods/json" --data-urlencode "filters=$filters")
if [[ $list == *"\"Name\":\"$POD\""* ]] && [[ $list == *'"Status":"Running"'* ]] &&
	[[ $list == *"\"Names\":\"$CTR\""* ]]; then
	ok "pod $POD listed by template label, Running, with container $CTR"
else
	not_ok "pod listed by label and Running" "$list"
fi

# 5
body=
for ((i = 0; i < 300; i++)); do
	body=$(http_get index.html) && [ -n "$body" ] && break
	sleep 0.1
done
t1=$(date +%s%N)
if [ "$body" = "$BODY" ]; then
	ok "httpd on 127.0.0.1:$PORT serves the ConfigMap file ($(((t1 - t0) / 1000000)) ms after POST)"
else
	not_ok "httpd serves the ConfigMap file" "got: '$body'" \
		"logs: $(api "$PM_API/containers/$CTR/logs?stdout=true&stderr=true" | tr -d '\000-\010')"
fi

# 6
body=$(http_get env.txt)
want="FOO=foo value $ID COLOR=blue"
if [ "$body" = "$want" ]; then
	ok "env from value and configMapKeyRef reach the shell: '$body'"
else
	not_ok "env values written by sh -c" "got:  '$body'" "want: '$want'"
fi

# 7
insp=$(api "$PM_API/containers/$CTR/json")
if [[ $insp == *"\"FOO=foo value $ID\""* ]] && [[ $insp == *'"COLOR=blue"'* ]] &&
	[[ $insp == *'"Status":"running"'* ]]; then
	ok "container inspect: Config.Env has FOO and COLOR, State.Status running"
else
	not_ok "container inspect shows env and running state" "${insp:0:400}"
fi

# 8
resp=$(api -X POST -H 'Content-Type: application/yaml' --data-binary "@$YAML" \
	-w '\n%{http_code}' "$PM_API/play/kube?network=host")
code=${resp##*$'\n'}
if [ "$code" = 500 ] && [[ $resp == *'pod already exists'* ]]; then
	ok "re-POST of the same YAML -> 500 pod already exists"
else
	not_ok "re-POST of the same YAML -> 500 pod already exists" "HTTP $code" "${resp%$'\n'*}"
fi

# 9
resp=$(api -X DELETE -H 'Content-Type: application/yaml' --data-binary "@$YAML" \
	-w '\n%{http_code}' "$PM_API/play/kube")
code=${resp##*$'\n'}
if [ "$code" = 200 ] && [[ $resp == *'"RmReport":[{"Err":null'* ]]; then
	ok "DELETE play/kube with the same YAML -> 200, pod removed"
else
	not_ok "DELETE play/kube -> 200" "HTTP $code" "${resp%$'\n'*}"
fi

# 10
code=$(api -o /dev/null -w '%{http_code}' "$PM_API/pods/$POD/exists")
list=$(api -G "$PM_API/pods/json" --data-urlencode "filters=$filters")
if [ "$code" = 404 ] && [ "$list" = "[]" ] && ! http_get index.html >/dev/null; then
	ok "pod gone: exists -> 404, label filter -> [], port $PORT closed"
else
	not_ok "pod gone after delete" "exists: HTTP $code" "list: $list"
fi

[ "$failed" -eq 0 ]
