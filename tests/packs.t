#!/usr/bin/env bash
# Trait packs end to end: every command of docs/packs.md, run in order, then
# build determinism, signatures (good, bad, missing, untrusted), tampered
# archives and installed files, lock mismatches, dependency resolution,
# capability violations, limits, push/list/pull/sync between two test API
# servers, and the refusal of an application whose trait needs a CRD the
# cluster lacks. Servers listen on 127.0.0.1 only and are stopped on exit,
# also on failure (tests/apiserver/lib.sh owns the EXIT trap).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
export LC_ALL=C
unset OAMLUA_PATH KUBECONFIG XDG_DATA_HOME
BIN=$ROOT/oamlua
# shellcheck source=tests/apiserver/lib.sh
. "$ROOT/tests/apiserver/lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/oamlua-packs.XXXXXX") || exit 1
kt_on_exit "rm -rf '$T'"
export HOME=$T/home
mkdir -p "$HOME"

n=0
failed=0
ok() { # ok STATUS DESCRIPTION [DETAIL]: one TAP line
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | head -n 30 | sed 's/^/#   /'
	fi
}
run() { # run CMD...: out, err, rc
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
}
# expect RC DESCRIPTION [PATTERN]: the last run exited RC and (out or err) matches PATTERN
expect() {
	local st=0
	[ "$rc" = "$1" ] || st=1
	if [ -n "${3:-}" ] && ! printf '%s\n%s\n' "$out" "$err" | grep -Eq -- "$3"; then st=1; fi
	ok $st "$2" "exit $rc (want $1)${3:+, want /$3/}
--- stdout
$out
--- stderr
$err"
}
o() { "$BIN" "$@"; }
digest() { o pack build "$1" -o "$T/.d.oampack" 2>/dev/null | cut -d' ' -f1; }
writes() { # writes URL: requests that changed something since the log was reset
	curl -s "$1/_test/log" | grep -Ec '"method": ?"(POST|PUT|PATCH|DELETE)"'
}

# ---- two clusters ----
kt_start || { echo "1..0 # SKIP the test API server does not start"; exit 0; }
URL_A=$KT_URL
kt_start || { echo "1..0 # SKIP the test API server does not start"; exit 0; }
URL_B=$KT_URL
cat >"$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: a
  cluster:
    server: $URL_A
- name: b
  cluster:
    server: $URL_B
users:
- name: anon
  user: {}
contexts:
- name: staging
  context: {cluster: a, user: anon, namespace: default}
- name: production
  context: {cluster: b, user: anon, namespace: default}
current-context: staging
EOF
export KUBECONFIG=$T/kubeconfig

# ---- 1. docs/packs.md, command by command ----
W=$T/walkthrough
mkdir -p "$W"
ln -s "$ROOT/packs" "$W/packs"
awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on && NF && !/^#/' docs/packs.md >"$T/doc-commands"
ndoc=$(wc -l <"$T/doc-commands")
ok "$([ "$ndoc" -ge 20 ] && echo 0 || echo 1)" "docs/packs.md has its commands in sh blocks ($ndoc)"
while IFS= read -r line; do
	want=0
	case $line in *"# exit "*) want=${line##*# exit } ;; esac
	cmd=${line%%  #*}
	case $cmd in
	oamlua\ * | OAMLUA_PACKS=*\ oamlua\ *) ;;
	*) ok 1 "docs/packs.md: '$line' is an oamlua command"; continue ;;
	esac
	run env -C "$W" PATH="$ROOT:$PATH" OAMLUA_PACKS="$W/store" bash -c "$cmd"
	expect "$want" "docs: $cmd"
done <"$T/doc-commands"

# The clusters start empty again for what follows.
curl -s -X POST "$URL_A/_test/reset-store" >/dev/null
curl -s -X POST "$URL_B/_test/reset-store" >/dev/null

# ---- 2. writing and testing ----
cd "$T" || exit 1
run o pack init netguard
expect 0 "pack init writes a pack" "next: oamlua pack test netguard"
run o pack test netguard
expect 0 "the scaffold passes its own tests" "^ok 2 - basic"
run o pack init netguard
expect 2 "pack init never writes over a directory" "exists already"
run o pack init 'yes'
expect 2 "a pack name that YAML would read as a boolean is refused" "is not a pack name"
cp -r netguard broken
sed -i 's/namespaceSelector/nsSelector/' broken/traits/netguard.lua
run o pack test broken
expect 1 "a fixture that no longer matches fails, and says where" "not ok 2 - basic.*|stdout differs at line"
run o pack test broken --accept
expect 1 "--accept rewrites the expected files and still fails" "rewritten"
run o pack test broken
expect 0 "after --accept the fixtures pass"
# shellcheck disable=SC2016 # $CASE is for oamlua, not for this shell
echo 'render -f $CASE/app.yaml; touch /tmp/pwned' >broken/tests/basic/cmd
run o pack test broken
expect 1 "cmd is not shell: ';' is refused" "not allowed: cmd holds oamlua arguments"
# shellcheck disable=SC2016
echo 'apply -f $CASE/app.yaml' >broken/tests/basic/cmd
run o pack test broken
expect 1 "only render, validate, explain, traits and workloads run in fixtures" "cannot be tested here"

# ---- 3. build determinism ----
d1=$(digest netguard)
d2=$(digest netguard)
cp -r netguard netguard-copy
touch -d '2001-01-01' netguard-copy/pack.yaml
chmod 600 netguard-copy/docs/netguard.md
mkdir -p netguard-copy/.git && echo x >netguard-copy/.git/HEAD
echo secret >netguard-copy/signing.key
d3=$(digest netguard-copy)
ok "$([ -n "$d1" ] && [ "$d1" = "$d2" ] && echo 0 || echo 1)" "same directory, same digest ($d1)"
ok "$([ "$d1" = "$d3" ] && echo 0 || echo 1)" "a copy elsewhere with other times, modes, hidden files and keys: same digest"
run o pack build netguard -o a.oampack
run o pack build netguard-copy -o b.oampack
ok "$(cmp -s a.oampack b.oampack && echo 0 || echo 1)" "and the same bytes"
ok "$(grep -q secret a.oampack && echo 1 || echo 0)" "private keys never go into an archive"
echo "# edited" >>netguard-copy/docs/netguard.md
ok "$([ "$(digest netguard-copy)" != "$d1" ] && echo 0 || echo 1)" "an edited file changes the digest"
ln -s ../pack.yaml netguard-copy/traits/link.lua
run o pack build netguard-copy
expect 1 "symbolic links are refused" "OAM702.*symbolic link"
run o pack build netguard -o -
ok "$([ "$(printf '%s' "$out" | head -n 1)" = "oamlua-pack/v1" ] && echo 0 || echo 1)" "-o - writes the archive to stdout"

# ---- 4. signatures ----
export OAMLUA_PACKS=$T/store
o pack keygen platform >/dev/null
o pack keygen intruder >/dev/null
o pack build netguard -o netguard.oampack >/dev/null
run o pack sign netguard.oampack --key platform.key
expect 0 "sign" "signed netguard 0.1.0"
run o pack verify netguard.oampack --key platform.pub
expect 0 "a good signature verifies" "good signature by key"
run o pack verify netguard.oampack --key intruder.pub
expect 1 "another key does not" "OAM712.*not one of the keys given"
run o pack verify netguard.oampack
expect 1 "nor the (empty) trusted keys" "OAM712.*not trusted"
cp netguard.oampack unsigned.oampack
run o pack verify unsigned.oampack --key platform.pub
expect 1 "a missing signature is refused" "OAM712.*is not signed"
cp netguard.oampack bad.oampack
sed 's/^signature \(.\)/signature X/' netguard.oampack.sig >bad.oampack.sig
run o pack verify bad.oampack --key platform.pub
expect 1 "a changed signature is refused" "OAM712.*(bad signature|malformed)"
python3 - "$T" <<'EOF'
import base64, sys
t = sys.argv[1]
lines = open(t + "/netguard.oampack.sig").read().splitlines()
sig = bytearray(base64.b64decode(lines[3].split()[1])); sig[0] ^= 1
lines[3] = "signature " + base64.b64encode(bytes(sig)).decode()
open(t + "/bad.oampack.sig", "w").write("\n".join(lines) + "\n")
EOF
run o pack verify bad.oampack --key platform.pub
expect 1 "a signature with one bit flipped does not verify" "OAM712.*bad signature"
cp -r netguard other
echo "more" >>other/docs/netguard.md
o pack build other -o other.oampack >/dev/null
cp netguard.oampack.sig other.oampack.sig
run o pack verify other.oampack --key platform.pub
expect 1 "the signature of another archive is refused" "OAM712.*the signature is for sha256:"
cp netguard.oampack tampered.oampack
cp netguard.oampack.sig tampered.oampack.sig
sed -i 's/podSelector/podSelectox/' tampered.oampack
run o pack verify tampered.oampack --key platform.pub
expect 1 "a tampered archive is refused" "OAM711.*does not match its sha256"
run o pack install tampered.oampack --allow-unsigned
expect 1 "and not installed, even with --allow-unsigned" "OAM711"
head -c 300 netguard.oampack >cut.oampack
run o pack install cut.oampack --allow-unsigned
expect 1 "a truncated archive is not installed" "OAM711"

# ---- 5. install, list, the lock ----
run o pack install netguard.oampack
expect 1 "a pack signed by an untrusted key needs --allow-unsigned" "OAM712.*not trusted"
ok "$([ -e "$T/store/oamlua.lock" ] && echo 1 || echo 0)" "a refused install writes no lock"
run o pack trust platform.pub
expect 0 "trust a key" "trusting key"
run o pack install bad.oampack --allow-unsigned
expect 1 "a bad signature by a trusted key is refused even with --allow-unsigned" "OAM712.*bad signature"
run o pack install netguard.oampack
expect 0 "then it installs, showing what it asks for" "may emit networking.k8s.io/v1 NetworkPolicy"
expect 0 "and what it requires of the cluster" "requires on the cluster networking.k8s.io/v1 NetworkPolicy"
run o pack list
expect 0 "pack list" "netguard +0.1.0 +sha256:[0-9a-f]{12} +[0-9a-f]{16} +trait/netguard"
run o pack list -o json
expect 0 "pack list -o json" '"traits/netguard.lua": "[0-9a-f]{64}"'
run o traits
expect 0 "installed traits are on the search path" "pack:netguard/traits/netguard.lua"
run o render -f netguard/tests/basic/app.yaml
expect 0 "and render" "kind: NetworkPolicy"
run o pack verify
expect 0 "pack verify checks the store" "netguard 0.1.0: ok \(10 files, signed\)"
lua=$T/store/packs/netguard/traits/netguard.lua
cp "$lua" "$T/lua.bak"
echo '-- harmless, but not what was installed' >>"$lua"
run o render -f netguard/tests/basic/app.yaml
expect 3 "a tampered installed module is refused at load time" "OAM721.*pack 'netguard' 0.1.0: file 'traits/netguard.lua' does not match the lock"
run o pack verify
expect 1 "pack verify finds it" "OAM721"
cp "$T/lua.bak" "$lua"
run o render -f netguard/tests/basic/app.yaml
expect 0 "restored, it loads again"
cp "$lua" "$T/store/packs/netguard/traits/extra.lua"
sed -i 's/name = "netguard"/name = "extra"/' "$T/store/packs/netguard/traits/extra.lua"
run o render -f netguard/tests/basic/app.yaml
expect 3 "a module that is not in the lock is refused" "OAM721.*'traits/extra.lua' is not in the lock"
rm "$T/store/packs/netguard/traits/extra.lua"
mv "$lua" "$T/lua.moved"
run o render -f netguard/tests/basic/app.yaml
expect 3 "a locked module that is missing is refused" "OAM721.*is missing"
mv "$T/lua.moved" "$lua"
cp "$T/store/oamlua.lock" "$T/lock.bak"
sed -i 's/"traits\/netguard.lua": "./"traits\/netguard.lua": "0/' "$T/store/oamlua.lock"
run o render -f netguard/tests/basic/app.yaml
expect 3 "a lock entry that does not match the file is refused" "OAM721.*does not match the lock"
echo 'lockVersion: 7' >"$T/store/oamlua.lock"
run o render -f netguard/tests/basic/app.yaml
expect 3 "a damaged lock is refused" "OAM722"
cp "$T/lock.bak" "$T/store/oamlua.lock"
run o render --module-path "$T/store" -f netguard/tests/basic/app.yaml
expect 0 "a store given to --module-path loads with the same checks" "NetworkPolicy"

# ---- 6. dependencies ----
mkpack() { # mkpack DIR NAME VERSION [DEP RANGE]
	mkdir -p "$1/traits"
	{
		echo "name: $2"
		echo "version: $3"
		echo "description: test pack $2"
		echo "maintainers: [{ name: Test }]"
		echo "oamlua: oamlua/v1"
		[ -n "${4:-}" ] && echo "dependencies: [{ name: $4, version: \"$5\" }]"
		echo "modules:"
		echo "  $2-trait: { emits: [] }"
	} >"$1/pack.yaml"
	cat >"$1/traits/$2-trait.lua" <<EOF
return { apiVersion = "oamlua/v1", name = "$2-trait", version = "$3", description = "x",
	render = function(ctx, props) oam.merge(ctx.output, { metadata = { labels = { ["t/$2"] = "$3" } } }) end }
EOF
}
mkpack base1 base 1.2.0
mkpack base2 base 2.0.0
mkpack app app 1.0.0 base "^1.0.0"
mkpack app2 app2 1.0.0 base ">=9.0.0"
export OAMLUA_PACKS=$T/deps
run o pack install app --allow-unsigned
expect 1 "a missing dependency is refused" "OAM704.*needs 'base' \^1.0.0, but it is not installed"
run o pack install app base1 --allow-unsigned
expect 0 "installed together, it resolves" "installed app 1.0.0"
cp "$T/deps/oamlua.lock" "$T/deps.lock"
run o pack install app2 --allow-unsigned
expect 1 "an unsatisfiable range is refused" "OAM704.*needs 'base' >=9.0.0, but the store has base 1.2.0"
ok "$(cmp -s "$T/deps/oamlua.lock" "$T/deps.lock" && echo 0 || echo 1)" "and the store is unchanged"
ok "$([ -e "$T/deps/packs/app2" ] && echo 1 || echo 0)" "nothing of it was written"
run o pack install base2 --allow-unsigned
expect 1 "an upgrade that breaks an installed pack is refused" "installed pack 'app' 1.0.0 needs 'base' \^1.0.0, which this install would replace with 2.0.0"
run o pack remove base
expect 1 "removing a pack another needs is refused" "OAM704.*'app' 1.0.0 needs 'base'"
mkpack clash base 1.3.0
cp base1/traits/base-trait.lua clash/traits/
run o pack install clash --allow-unsigned
expect 0 "an upgrade in range is fine" "replacing base 1.2.0 with 1.3.0"
mkpack thief thief 1.0.0
cp base1/traits/base-trait.lua thief/traits/
sed -i 's/thief-trait: /base-trait: /' thief/pack.yaml
rm thief/traits/thief-trait.lua
run o pack install thief --allow-unsigned
expect 1 "two packs may not provide one module" "OAM705.*both provide traits/base-trait.lua"
run o pack test app --with base2 --store "$T/none"
expect 1 "pack test resolves dependencies too, and refuses an unsatisfiable one" "OAM704.*there is only version 2.0.0"
run o pack remove base --force
expect 0 "remove --force" "removed base"
run o render -f netguard/tests/basic/app.yaml
expect 3 "a store with a broken dependency does not load" "OAM704.*needs 'base'"
run o pack remove app
expect 0 "remove the dependent too" "removed app"

# ---- 7. capabilities and limits ----
export OAMLUA_PACKS=$T/caps
G=$ROOT/tests/golden
run o pack install "$G/err-731-emit-undeclared/pack" --allow-unsigned
expect 0 "a pack whose module emits more than it declares installs (nothing ran yet)"
run o render -f "$ROOT/tests/fixtures/base.yaml" -f "$G/err-731-emit-undeclared/app.yaml"
expect 3 "rendering stops at the undeclared object, naming pack, module and object" "OAM731.*pack 'sneaky' module 'sneaky' emitted ClusterRoleBinding 'q-admin'"
ok "$([ -z "$out" ] && echo 0 || echo 1)" "and writes nothing"
run o pack install "$G/err-732-instruction-limit/pack" --allow-unsigned
run o render -f "$ROOT/tests/fixtures/base.yaml" -f "$G/err-732-instruction-limit/app.yaml"
expect 3 "a module past its pack's instruction budget fails" "OAM732.*pack 'spinner' module 'spinner' exceeded the instruction budget its pack declares \(100000 instructions\) rendering trait 'spinner' of instance 'q'"
run o render --lua-budget 50000 -f "$ROOT/tests/fixtures/base.yaml" -f "$G/err-732-instruction-limit/app.yaml"
expect 3 "a lower --lua-budget still wins" "OAM602"
run o pack install "$G/err-732-memory-limit/pack" --allow-unsigned
run o render -f "$ROOT/tests/fixtures/base.yaml" -f "$G/err-732-memory-limit/app.yaml"
expect 3 "a module past its pack's memory limit fails" "OAM732.*memory limit its pack declares \(1Mi\)"
run o render --module-path "$G/err-731-kind-changed/pack" -f "$ROOT/tests/fixtures/base.yaml" -f "$G/err-731-kind-changed/app.yaml"
expect 3 "a pack's trait may not change the kind of the workload" "OAM731.*changed apps/v1 Deployment 'q' into apps/v1 DaemonSet"
mkdir -p many
for i in $(seq 1 450); do
	printf -- '---\napiVersion: core.oam.dev/v1alpha1\nkind: ApplicationConfiguration\nmetadata:\n  name: a%s\nspec:\n  components:\n    - componentName: queue\n      instanceName: q%s\n      traits:\n        - name: sneaky\n' "$i" "$i"
done >many/app.yaml
run env OAMLUA_JOBS=3 "$BIN" render -f "$ROOT/tests/fixtures/base.yaml" -f many/app.yaml -o name
# (exit 1 there, not 3: jobs.c re-files worker findings with err.c's class for OAM7xx)
ok "$([ "$rc" != 0 ] && [ -z "$out" ] && printf '%s' "$err" | grep -q "OAM731.*instance 'q450'" && echo 0 || echo 1)" \
	"capabilities hold in parallel render jobs too" "exit $rc"

# ---- 8. clusters: push, list, pull, sync ----
export OAMLUA_PACKS=$T/store
run o pack list --context staging
expect 0 "an empty cluster offers nothing" "no packs published on context 'staging'"
run o pack push netguard --context staging
expect 0 "push a signed pack" "pushed netguard 0.1.0 \(sha256:[0-9a-f]{64}, signed\) to context 'staging': configmap oamlua-system/oamlua-pack-netguard-0.1.0"
cm=$(curl -s "$URL_A/api/v1/namespaces/oamlua-system/configmaps/oamlua-pack-netguard-0.1.0")
ok "$(printf '%s' "$cm" | grep -q '"oamlua.dev/pack": *"netguard"' && printf '%s' "$cm" | grep -q '"oamlua.dev/digest": *"sha256:' && printf '%s' "$cm" | grep -q '"signature": *"oamlua-signature/v1' && echo 0 || echo 1)" \
	"the ConfigMap carries name, version, digest and signature, labelled" "$cm"
run o pack push netguard --context staging
expect 0 "pushing again changes nothing" "is on context 'staging' already"
o pack push "$ROOT/packs/cron-hpa" --context staging >/dev/null 2>&1
o pack build "$ROOT/packs/cron-hpa" -o cron-hpa.oampack >/dev/null
o pack sign cron-hpa.oampack --key platform.key >/dev/null
run o pack push cron-hpa.oampack --context staging
expect 0 "push an archive file" "pushed cron-hpa 1.0.0"
run o pack list --context staging
expect 0 "list what a cluster offers" "netguard +0.1.0 +sha256:[0-9a-f]{12}.*"
cp -r "$ROOT/packs/cron-hpa" cron-hpa-edit
sed -i 's/instructions: 2000000/instructions: 3000000/' cron-hpa-edit/pack.yaml
o pack build cron-hpa-edit -o cron-hpa-edit.oampack >/dev/null
run o pack push cron-hpa-edit.oampack --context staging
expect 4 "other bytes under a published version are refused" "published on context 'staging' with another digest"
run o pack list --context production
expect 0 "production has nothing yet" "no packs published"
run o pack sync --from staging --to production
expect 0 "sync copies what staging has and production lacks" "2 copied, 0 there already"
run o pack sync --from staging --to production
expect 0 "sync again copies nothing" "0 copied, 2 there already"
run o pack list --context production
expect 0 "production now offers both" "cron-hpa +1.0.0"
run env OAMLUA_PACKS="$T/fresh" "$BIN" pack pull netguard --context production
expect 1 "pull refuses a pack whose signer is not trusted here" "OAM712"
OAMLUA_PACKS="$T/fresh" o pack trust platform.pub >/dev/null
run env OAMLUA_PACKS="$T/fresh" "$BIN" pack pull 'netguard@^0.1' --context production
expect 0 "pull verifies and installs" "installed netguard 0.1.0"
run env OAMLUA_PACKS="$T/fresh" "$BIN" pack verify
expect 0 "and the pulled pack verifies" "netguard 0.1.0: ok"
run env OAMLUA_PACKS="$T/fresh" "$BIN" pack pull 'netguard@>=2.0.0' --context production
expect 1 "no version in range: refused" "OAM704.*no version of pack 'netguard' in range >=2.0.0 on context 'production' \(published: 0.1.0\)"
# dependencies come from the same cluster
export OAMLUA_PACKS=$T/deps2
o pack install base1 app --allow-unsigned >/dev/null
o pack push base --context staging >/dev/null
o pack push app --context staging >/dev/null
run env OAMLUA_PACKS="$T/fresh2" "$BIN" pack pull app --context staging --allow-unsigned
expect 0 "pull brings the dependencies from the cluster" "installed base 1.2.0"
mkpack app3 app3 1.0.0 base ">=9.0.0"
o pack build app3 -o app3.oampack >/dev/null
o pack push app3.oampack --context staging >/dev/null
run env OAMLUA_PACKS="$T/fresh3" "$BIN" pack pull app3 --context staging --allow-unsigned
expect 1 "a dependency no published version satisfies is refused" "OAM704.*needs 'base' >=9.0.0: not installed, and context 'staging' has no version in range \(published: 1.2.0\)"
ok "$([ -e "$T/fresh3/oamlua.lock" ] && echo 1 || echo 0)" "and nothing is installed"
# a ConfigMap changed in the cluster
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"binaryData":{"pack.oampack":"b2FtbHVhLXBhY2svdjEKbmFtZSBuZXRndWFyZAo="}}' \
	"$URL_B/api/v1/namespaces/oamlua-system/configmaps/oamlua-pack-netguard-0.1.0" >/dev/null
run env OAMLUA_PACKS="$T/fresh4" "$BIN" pack pull netguard --context production --allow-unsigned
expect 1 "an archive changed in the cluster is refused" "OAM711.*published as sha256"

# ---- 9. required APIs: the missing CRD ----
export OAMLUA_PACKS=$T/store
APP=$ROOT/packs/cron-hpa/tests/basic/app.yaml
curl -s -X POST "$URL_A/_test/reset-log" >/dev/null
run o pack check --context staging --module-path "$ROOT/packs/cron-hpa"
expect 0 "pack check lists each pack module's required APIs, served or not" "cron-hpa +trait +cron-hpa +MISSING +autoscaling.alibabacloud.com/v1beta1 CronHorizontalPodAutoscaler"
expect 0 "(netguard's are served)" "netguard +trait +netguard +yes +networking.k8s.io/v1 NetworkPolicy"
run o traits --context staging --module-path "$ROOT/packs/cron-hpa"
expect 0 "traits --context marks a pack trait whose API the cluster lacks" "cron-hpa +1.0.0 .*MISSING autoscaling.alibabacloud.com/v1beta1 CronHorizontalPodAutoscaler"
expect 0 "(and built-in traits as requiring nothing)" "manual-scaler +1.0.0 .* - +builtin"
run o pack check --context staging --module-path "$ROOT/packs/cron-hpa" -f "$APP"
expect 4 "an application whose trait needs a missing CRD is refused" "OAM751.*trait 'cron-hpa' \(pack 'cron-hpa' 1.0.0\) requires autoscaling.alibabacloud.com/v1beta1 CronHorizontalPodAutoscaler, which context 'staging' does not serve"
ok "$(writes "$URL_A")" "before anything is sent"
run o apply --context staging --module-path "$ROOT/packs/cron-hpa" -f "$APP"
ok "$([ "$rc" != 0 ] && echo 0 || echo 1)" "oamlua apply refuses it too" "$err"
ok "$(writes "$URL_A")" "apply sent nothing either" "$(curl -s "$URL_A/_test/log" | grep -E 'POST|PATCH|PUT|DELETE')"
curl -s -X POST -H 'Content-Type: application/json' "$URL_A/apis/apiextensions.k8s.io/v1/customresourcedefinitions" -d '{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "cronhorizontalpodautoscalers.autoscaling.alibabacloud.com"},
  "spec": {"group": "autoscaling.alibabacloud.com", "scope": "Namespaced",
    "names": {"plural": "cronhorizontalpodautoscalers", "singular": "cronhorizontalpodautoscaler",
      "kind": "CronHorizontalPodAutoscaler", "shortNames": ["cronhpa"]},
    "versions": [{"name": "v1beta1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}' >/dev/null
run o traits --context staging --module-path "$ROOT/packs/cron-hpa"
expect 0 "with the CRD installed, traits --context says the cluster serves it" "cron-hpa +1.0.0 .* yes +"
run o pack check --context staging --module-path "$ROOT/packs/cron-hpa" -f "$APP"
expect 0 "with the CRD installed, the check passes" "every API the application's modules require is served"
run o apply --context staging --module-path "$ROOT/packs/cron-hpa" -f "$APP"
expect 0 "and apply creates the CronHPA" "cronhorizontalpodautoscaler.autoscaling.alibabacloud.com/shop-cron-hpa created"
run o pack check --context staging --kube-version 1.20.0 --module-path "$ROOT/packs/cron-hpa"
expect 0 "a cluster older than a pack supports: a warning" "warning\[OAM752\].*cron-hpa"

echo "1..$n"
[ "$failed" = 0 ]
