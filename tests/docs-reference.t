#!/usr/bin/env bash
# docs/reference/ is generated from the modules by `oamlua docs -o
# docs/reference` and checked in: it must be what the current modules
# generate. Also checks the combined (stdout) form is deterministic and
# covers every built-in module.
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
unset OAMLUA_PATH
BIN=${OAMLUA_BIN:-./oamlua}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
echo "1..4"

if "$BIN" docs -o "$tmp/ref" 2>"$tmp/err"; then
	ok "oamlua docs -o DIR succeeds"
else
	not_ok "oamlua docs -o DIR succeeds"
	sed 's/^/# /' "$tmp/err"
fi

if diff -ru docs/reference "$tmp/ref" >"$tmp/diff"; then
	ok "docs/reference is current"
else
	not_ok "docs/reference is current"
	head -n 80 "$tmp/diff" | sed 's/^/# /'
	echo "# docs/reference is stale: regenerate it with './oamlua docs -o docs/reference' and review the diff"
fi

"$BIN" docs >"$tmp/a.md" 2>/dev/null && "$BIN" docs >"$tmp/b.md" 2>/dev/null
if [ -s "$tmp/a.md" ] && cmp -s "$tmp/a.md" "$tmp/b.md"; then
	ok "oamlua docs (stdout) is deterministic"
else
	not_ok "oamlua docs (stdout) is deterministic"
fi

missing=""
for m in traits/*.lua workloads/*.lua; do
	name=$(basename "$m" .lua)
	case $m in
	traits/*) grep -q "^## Trait \`$name\`\$" "$tmp/a.md" || missing="$missing $name" ;;
	*) grep -q "^## Workload type \`$name\`\$" "$tmp/a.md" || missing="$missing $name" ;;
	esac
done
if [ -z "$missing" ]; then
	ok "the combined document has a section per built-in module"
else
	not_ok "the combined document has a section per built-in module"
	echo "# missing:$missing"
fi
