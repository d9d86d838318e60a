#!/usr/bin/env bash
# The podman target end to end: real containers from rendered manifests
# (env values, a config file's content, a served port), unchanged re-apply,
# update, prune (foreign pods survive), delete, failures (OAM852, OAM853).
# Skips (TAP) where podman cannot run containers.
cd "$(dirname "$0")/.." || exit 1
. tests/podman/lib.sh
export LC_ALL=C
unset OAMLUA_PATH
N=18
if ! reason=$(pm_available); then
	echo "1..0 # skip $reason"
	exit 0
fi
echo "1..$N"
pm_service_start || { echo "Bail out! cannot start a podman service"; exit 1; }
export OAMLUA_PODMAN_SOCKET=$PM_SOCK
tmp=$(mktemp -d) || exit 1
pm_atexit rm -rf "$tmp"
pm_atexit pm_cleanup_label app.oam.dev/name=pmtest
pm_atexit pm_cleanup_label app.oam.dev/name=pmother
pm_atexit pm_cleanup_label app.oam.dev/name=pmbad
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
port=$(pm_free_port)

app() { # greeting, with-worker
	cat <<YAML
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata:
  name: web
spec:
  workloadType: Server
  parameters:
    - name: greeting
      type: string
      required: true
    - name: page
      type: string
      default: no page
  containers:
    - name: web
      image: localhost/oamlua-busybox:latest
      cmd: ["sh", "-c"]
      args: ["mkdir -p /srv && cp /www/* /srv/ && echo \"\$GREETING\" > /srv/env.txt && exec httpd -f -p $port -h /srv"]
      env:
        - name: GREETING
          fromParam: greeting
      config:
        - path: /www/index.html
          fromParam: page
      ports:
        - name: http
          containerPort: $port
---
apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata:
  name: idle
spec:
  workloadType: Worker
  containers:
    - name: idle
      image: localhost/oamlua-busybox:latest
      cmd: ["sleep", "3600"]
---
apiVersion: core.oam.dev/v1alpha1
kind: ApplicationConfiguration
metadata:
  name: pmtest
spec:
  variables:
    - name: page
      value: hello page
  components:
    - componentName: web
      instanceName: pm-web
      parameterValues:
        - name: greeting
          value: "$1"
        - name: page
          value: "page: [fromVariable(page)]"
      traits:
        - name: ingress
          properties:
            hostname: pm.example.com
YAML
	if [ "$2" = worker ]; then
		cat <<YAML
    - componentName: idle
      instanceName: pm-idle
YAML
	fi
}

get() { curl -s -m 3 "http://127.0.0.1:$port/$1"; }
pods() { pm_curl "$PM_API/pods/json?filters=%7B%22label%22%3A%5B%22app.oam.dev%2Fname%3D$1%22%5D%7D" |
	python3 -c 'import json,sys; print(" ".join(sorted(p["Name"]+":"+p["Id"][:12] for p in json.load(sys.stdin))))'; }

app "hi there" worker > "$tmp/app.yaml"
./oamlua apply --target podman --wait --timeout 60s -f "$tmp/app.yaml" > "$tmp/out1" 2> "$tmp/err1"; rc=$?
t "apply creates both instances and waits (exit $rc)" '[ $rc = 0 ] && grep -q "^deployment/pm-web created -> http://127.0.0.1:$port (http)$" "$tmp/out1" && grep -q "^deployment/pm-idle created$" "$tmp/out1"'
t "the served page is the config file's content" '[ "$(get index.html)" = "page: hello page" ]'
t "the env value reaches the container" '[ "$(get env.txt)" = "hi there" ]'
before=$(pods pmtest)
./oamlua apply --target podman -f "$tmp/app.yaml" > "$tmp/out2" 2>&1; rc=$?
t "re-applying changes nothing" '[ $rc = 0 ] && [ $(grep -c " unchanged" "$tmp/out2") = 2 ] && [ "$(pods pmtest)" = "$before" ]'

app "hello again" worker > "$tmp/app.yaml"
./oamlua apply --target podman --wait -f "$tmp/app.yaml" > "$tmp/out3" 2>&1; rc=$?
t "a changed instance is replaced, the other left alone" '[ $rc = 0 ] && grep -q "pm-web replaced" "$tmp/out3" && grep -q "pm-idle unchanged" "$tmp/out3"'
t "the new env value is served" '[ "$(get env.txt)" = "hello again" ]'
idle_before=$(pods pmtest | tr " " "\n" | grep pm-idle)
t "the unchanged instance kept its pod" '[ -n "$idle_before" ] && echo "$before" | grep -q "$idle_before"'

# A pod of another application, and one with no labels, must survive prune.
cat > "$tmp/other.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: pmother-pod
  labels:
    app.oam.dev/name: pmother
    app.oam.dev/component: pm-idle
spec:
  containers:
  - name: c
    image: localhost/oamlua-busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
YAML
pm_curl -X POST -H 'Content-Type: application/yaml' --data-binary @"$tmp/other.yaml" "$PM_API/play/kube" > /dev/null
app "hello again" > "$tmp/app.yaml"
./oamlua apply --target podman --prune -f "$tmp/app.yaml" > "$tmp/out4" 2>&1; rc=$?
t "--prune removes the instance no longer rendered" '[ $rc = 0 ] && grep -q "^pod/pm-idle-pod-0 pruned$" "$tmp/out4" && ! pods pmtest | grep -q pm-idle'
t "--prune leaves another application's pod alone, even with a similar component label" 'pods pmother | grep -q pmother-pod'
t "the web instance still serves after prune" '[ "$(get env.txt)" = "hello again" ]'

./oamlua apply --target podman --dry-run=client -f "$tmp/app.yaml" > "$tmp/dry" 2>&1; rc=$?
t "--dry-run=client prints what would be played, with the render hash" '[ $rc = 0 ] && grep -q "oamlua.dev/hash:" "$tmp/dry" && grep -q "hostPort: $port" "$tmp/dry"'

./oamlua status --target podman pmtest > "$tmp/status" 2>&1; rc=$?
t "status shows the running pod and its published port" '[ $rc = 0 ] && grep -q "pm-web .*Running .*127.0.0.1:$port->$port/tcp" "$tmp/status"'

# Without a socket to use, oamlua starts a private podman service for the run
# and stops it after; the pods keep running.
env -u OAMLUA_PODMAN_SOCKET -u CONTAINER_HOST ./oamlua status --target podman -v pmtest > "$tmp/own" 2> "$tmp/own.err"; rc=$?
t "with no service running, oamlua starts its own for the run" '[ $rc = 0 ] && grep -q "starting a private podman service" "$tmp/own.err" && grep -q "pm-web .*Running" "$tmp/own"'
t "and stops it afterwards, leaving the pods running" '! pgrep -f "system service --time=0 unix:///tmp/oamlua-podman" > /dev/null && [ "$(get env.txt)" = "hello again" ]'

./oamlua delete --target podman pmtest > "$tmp/del" 2>&1; rc=$?
t "delete removes the application's pods" '[ $rc = 0 ] && grep -q "^pod/pm-web-pod-0 deleted$" "$tmp/del" && [ -z "$(pods pmtest)" ] && pods pmother | grep -q pmother-pod'

# Failures.
sed -e 's#localhost/oamlua-busybox:latest#localhost/no-such-image:1#' -e 's/name: pmtest/name: pmbad/' "$tmp/app.yaml" > "$tmp/bad.yaml"
./oamlua apply --target podman -f "$tmp/bad.yaml" > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
t "a missing image fails with OAM852 and exit 4" '[ $rc = 4 ] && grep -q "error\[OAM852\]: podman refused instance .pm-web." "$tmp/bad.err"'
t "a failed play leaves no pod behind" '[ -z "$(pods pmbad)" ]'
sed -e 's#exec httpd -f -p#exit 3; httpd -p#' -e 's/name: pmtest/name: pmbad/' "$tmp/app.yaml" > "$tmp/exit.yaml"
./oamlua apply --target podman --wait --timeout 3s -f "$tmp/exit.yaml" > /dev/null 2> "$tmp/wait.err"; rc=$?
t "--wait times out with OAM853 when the pod does not stay up" '[ $rc = 4 ] && grep -q "error\[OAM853\]" "$tmp/wait.err"'
