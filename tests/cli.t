#!/usr/bin/env bash
# End-to-end behaviour of the binary that golden files cannot show:
# determinism, failed runs write nothing, write errors, allocation-failure
# injection, installed layout, stdin and directories.
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
unset OAMLUA_PATH
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
echo "1..21"
A="-f tests/conformance/rudr/helloworld-python-component.yaml -f tests/conformance/rudr/first-app-config.yaml"

./oamlua render $A > "$tmp/a1"; ./oamlua render $A > "$tmp/a2"
t "same input gives the same bytes" 'cmp -s "$tmp/a1" "$tmp/a2" && [ -s "$tmp/a1" ]'
./oamlua render -o json $A > "$tmp/j1"; ./oamlua render -o json $A > "$tmp/j2"
t "json output is deterministic too" 'cmp -s "$tmp/j1" "$tmp/j2"'
t "json output is valid JSON with a v1 List" 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"kind\"]==\"List\" and len(d[\"items\"])==3" "$tmp/j1"'

./oamlua render -f tests/fixtures/base.yaml -f tests/golden/err-312-traits-conflict/app.yaml > "$tmp/bad" 2>/dev/null; rc=$?
t "a failing run writes nothing to stdout" '[ $rc -ne 0 ] && [ ! -s "$tmp/bad" ]'

./oamlua render $A > /dev/full 2>"$tmp/full.err"; rc=$?
t "a write error on stdout exits 5 with a message" '[ $rc = 5 ] && grep -q "write error" "$tmp/full.err"'

{ cat tests/conformance/rudr/helloworld-python-component.yaml; echo ---; cat tests/conformance/rudr/first-app-config.yaml; } | ./oamlua render -f - > "$tmp/stdin"
t "-f - reads stdin" 'cmp -s "$tmp/stdin" "$tmp/a1"'

mkdir -p "$tmp/dir/sub"
cp tests/conformance/rudr/helloworld-python-component.yaml "$tmp/dir/"
cp tests/conformance/rudr/first-app-config.yaml "$tmp/dir/sub/"
./oamlua render -f "$tmp/dir" > "$tmp/nodir" 2>/dev/null; rc=$?
t "a directory is read without recursion by default" '[ $rc = 0 ] && [ ! -s "$tmp/nodir" ]'
./oamlua render -R -f "$tmp/dir" > "$tmp/rdir"
t "-R descends into directories" 'cmp -s "$tmp/rdir" "$tmp/a1"'

# Allocation failures at every point of a small run: never a crash, and a
# failure never leaves partial output.
crashes=0; partial=0
for i in $(seq 1 12 1500); do
	OAMLUA_FAIL_ALLOC=$i ./oamlua render $A > "$tmp/oom.out" 2>"$tmp/oom.err"; rc=$?
	case $rc in
	0) cmp -s "$tmp/oom.out" "$tmp/a1" || partial=$((partial + 1)) ;;
	3|5) [ -s "$tmp/oom.out" ] && partial=$((partial + 1)) ;;
	*) crashes=$((crashes + 1)); echo "# OAMLUA_FAIL_ALLOC=$i exited $rc"; head -3 "$tmp/oom.err" | sed 's/^/# /' ;;
	esac
done
t "injected allocation failures never crash" '[ $crashes = 0 ]'
t "injected allocation failures never leave partial output" '[ $partial = 0 ]'
OAMLUA_FAIL_ALLOC=1 ./oamlua render $A > /dev/null 2>"$tmp/oom1.err"
t "the first failed allocation is reported as OAM900" 'grep -q "OAM900\|out of memory" "$tmp/oom1.err"'

make -s install DESTDIR="$tmp/inst" PREFIX=/usr > /dev/null
(cd / && "$tmp/inst/usr/bin/oamlua" traits) > "$tmp/inst.traits" 2>&1
t "an installed binary finds its modules in PREFIX/share/oamlua" 'grep -q "^ingress " "$tmp/inst.traits"'
top=$PWD
(cd "$tmp" && "$tmp/inst/usr/bin/oamlua" render -f "$top/tests/conformance/rudr/components.yaml" > /dev/null 2>&1); rc=$?
t "an installed binary renders from another directory" '[ $rc = 0 ]'
./oamlua render -f "$tmp/dir/helloworld-python-component.yaml" -f "$tmp/dir/sub/first-app-config.yaml" -o name > "$tmp/names"
t "-o name lists kind.group/name" '[ "$(cat "$tmp/names")" = "$(printf "deployment.apps/first-app-helloworld-python-v1\nservice/first-app-helloworld-python-v1\ningress.networking.k8s.io/first-app-helloworld-python-v1-trait-ingress")" ]'

# Several render jobs give the same bytes as one, and report module errors
# from any slice.
python3 - "$tmp/many.yaml" <<'PY'
import sys
out = open(sys.argv[1], "w")
out.write("""apiVersion: core.oam.dev/v1alpha1
kind: ComponentSchematic
metadata:
  name: web
spec:
  workloadType: Server
  parameters:
    - name: i
      type: string
      required: true
  containers:
    - name: web
      image: nginx
      env:
        - name: I
          fromParam: i
      ports:
        - name: http
          containerPort: 80
---
apiVersion: core.oam.dev/v1alpha1
kind: ApplicationConfiguration
metadata:
  name: many
spec:
  components:
""")
for i in range(1200):
    out.write(f"""    - componentName: web
      instanceName: w{i}
      parameterValues:
        - name: i
          value: "{i}"
      traits:
        - name: manual-scaler
          properties:
            replicaCount: {i % 4}
""")
PY
OAMLUA_JOBS=1 ./oamlua render -f "$tmp/many.yaml" > "$tmp/j1.yaml"
OAMLUA_JOBS=4 ./oamlua render -f "$tmp/many.yaml" > "$tmp/j4.yaml"
t "four render jobs write the same bytes as one" 'cmp -s "$tmp/j1.yaml" "$tmp/j4.yaml" && [ $(grep -c "^kind: Deployment" "$tmp/j4.yaml") = 1200 ]'
OAMLUA_JOBS=4 ./oamlua render -o name -f "$tmp/many.yaml" > "$tmp/n4"
OAMLUA_JOBS=1 ./oamlua render -o name -f "$tmp/many.yaml" > "$tmp/n1"
t "-o name is the same with four jobs" 'cmp -s "$tmp/n1" "$tmp/n4"'
awk '/- name: manual-scaler/ && seen++ { print "        - name: broken"; skip = 2; next } skip { skip--; next } { print }' "$tmp/many.yaml" > "$tmp/bad.yaml"
OAMLUA_JOBS=4 ./oamlua render --module-path tests/fixtures/modules/runtime -f "$tmp/bad.yaml" > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
t "a module error in a worker's slice fails the run with nothing written" '[ $rc = 3 ] && [ ! -s "$tmp/bad.out" ] && [ $(grep -c "OAM601" "$tmp/bad.err") = 1199 ]'

# --help on every command and pack subcommand: usage on stdout, exit 0.
bad=""
for c in render validate traits workloads explain docs apply diff delete status pack version help \
	"pack init" "pack test" "pack build" "pack keygen" "pack sign" "pack verify" "pack trust" "pack install" \
	"pack list" "pack remove" "pack push" "pack pull" "pack sync" "pack check" \
	"apply --target podman" "delete --target podman" "status --target podman"; do
	# shellcheck disable=SC2086
	out=$(./oamlua $c --help 2>/dev/null) && case $out in usage:*) ;; *) bad="$bad [$c]" ;; esac || bad="$bad [$c: exit $?]"
done
t "--help on every command prints its usage and exits 0${bad:+: $bad}" '[ -z "$bad" ]'
./oamlua help traits | grep -q -- "--context NAME"
t "help COMMAND is COMMAND --help (traits documents --context)" '[ $? = 0 ]'
t "help --help and help help show the command list" './oamlua help --help | grep -q "^Commands:" && ./oamlua help help | grep -q "^Commands:"'
./oamlua help nosuch >/dev/null 2>"$tmp/h.err"; rc=$?
t "help of an unknown command is a usage error (exit 2)" '[ $rc = 2 ] && grep -q "unknown command" "$tmp/h.err"'
