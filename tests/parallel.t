#!/usr/bin/env bash
# Large inputs are parsed and rendered on several cores: the bytes on stdout
# and the findings on stderr must be exactly those of a one-core run, also
# when the mistake sits in a slice other than the first.
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
unset OAMLUA_PATH
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
echo "1..16"

# 1,200 instances: about 1 MB, so four slices of the parser on four cores.
sh bench/gen.sh 1200 "$tmp/g" --no-kustomize >/dev/null 2>&1
big=$tmp/g/app.yaml
t "the generated input is large enough to be split" '[ "$(wc -c < "$big")" -gt 900000 ]'

one() { OAMLUA_JOBS=1 ./oamlua "$@"; }
four() { OAMLUA_JOBS=4 ./oamlua "$@"; }
one render -f "$big" > "$tmp/r1" 2>"$tmp/e1"; rc1=$?
four render -f "$big" > "$tmp/r4" 2>"$tmp/e4"; rc4=$?
t "render on four cores gives the one-core bytes" '[ $rc1 = 0 ] && [ $rc4 = 0 ] && [ -s "$tmp/r1" ] && cmp -s "$tmp/r1" "$tmp/r4"'
t "and the same (empty) stderr" 'cmp -s "$tmp/e1" "$tmp/e4"'
four render -f - < "$big" > "$tmp/rs"
t "stdin is split the same way" 'cmp -s "$tmp/r1" "$tmp/rs"'

# Mistakes placed late in the file, where a later slice parses them.
python3 - "$big" "$tmp" <<'PY'
import sys
src = open(sys.argv[1]).read()
out = sys.argv[2]
lines = src.split('\n')
bad = lines[:]
bad.insert(len(lines) - 40, '   : bad: [')
open(out + '/syntax.yaml', 'w').write('\n'.join(bad))
docs = src.split('\n---\n')
d = docs[-3].split('\n'); d.insert(3, d[1]); docs[-3] = '\n'.join(d)
open(out + '/dupkey.yaml', 'w').write('\n---\n'.join(docs))
docs = src.split('\n---\n')
docs[-5] = docs[-5].replace('nginx:1.25', '*nope', 1)
open(out + '/alias.yaml', 'w').write('\n---\n'.join(docs))
docs = src.split('\n---\n')
docs[1000] = docs[1000].replace('v1alpha1.Server', 'v1alpha1.Servr', 1)
open(out + '/model.yaml', 'w').write('\n---\n'.join(docs))
# Shape errors in components built by different parts of the model.
docs = src.split('\n---\n')
for i in (100, 700, 1100):
    docs[i] = docs[i].replace('containerPort: 8080', 'containerPort: "8080"', 1)
docs[900] = docs[900].replace('image: nginx', 'imag: nginx', 1)
open(out + '/shape.yaml', 'w').write('\n---\n'.join(docs))
# A trait's validate hook (ingress: servicePort not exposed) fails for an
# instance late in the list, rendered by another job.
hook = src.replace('servicePort: 8080', 'servicePort: 9090').replace('servicePort: 9090', 'servicePort: 8080', 1100)
open(out + '/hook.yaml', 'w').write(hook)
# The same, with an error of the other checks earlier: both are reported.
open(out + '/both.yaml', 'w').write(hook.replace('replicaCount: 3', 'replicaCount: -3', 1))
PY
for f in syntax dupkey alias model shape hook both; do
	one validate -f "$tmp/$f.yaml" > /dev/null 2>"$tmp/$f.1"; r1=$?
	four validate -f "$tmp/$f.yaml" > /dev/null 2>"$tmp/$f.4"; r4=$?
	t "$f: the same findings and exit status on four cores ($(head -c 60 "$tmp/$f.1"))" \
		'[ $r1 -ne 0 ] && [ $r1 = $r4 ] && [ -s "$tmp/$f.1" ] && cmp -s "$tmp/$f.1" "$tmp/$f.4"'
done
line=$(grep -o 'alias.yaml:[0-9]*' "$tmp/alias.1" | head -1 | cut -d: -f2)
t "a finding in a later slice names its line in the whole file" \
	'[ -n "$line" ] && sed -n "${line}p" "$tmp/alias.yaml" | grep -q "[*]nope"'
four render -f "$tmp/model.yaml" > "$tmp/m.out" 2>/dev/null
t "a failed parallel run writes nothing" '[ ! -s "$tmp/m.out" ]'
one render -f "$tmp/hook.yaml" > "$tmp/h1.out" 2>"$tmp/h1.err"; r1=$?
four render -f "$tmp/hook.yaml" > "$tmp/h4.out" 2>"$tmp/h4.err"; r4=$?
t "render: a hook failing in a later job gives the one-core findings ($(grep -c OAM413 "$tmp/h1.err") x OAM413), and writes nothing" \
	'[ $r1 = 1 ] && [ $r4 = 1 ] && grep -q OAM413 "$tmp/h1.err" && cmp -s "$tmp/h1.err" "$tmp/h4.err" && [ ! -s "$tmp/h4.out" ]'
one render -f "$tmp/both.yaml" > /dev/null 2>"$tmp/b1.err"
four render -f "$tmp/both.yaml" > /dev/null 2>"$tmp/b4.err"
t "render: hook findings come in order with the other checks' findings" \
	'grep -q OAM413 "$tmp/b4.err" && grep -q OAM403 "$tmp/b4.err" && cmp -s "$tmp/b1.err" "$tmp/b4.err"'
t "a component with a shape error is reported once: its instances' trait hooks do not run on it" \
	'[ "$(grep -c "error\[" "$tmp/shape.1")" = 5 ] && ! grep -q OAM413 "$tmp/shape.1"'
