#!/usr/bin/env bash
# The documentation stays true: the worked example in docs/writing-traits.md
# is the module file the golden tests run; every error ID in the code has a
# section in docs/errors.md and a failing golden case; every built-in module
# has a golden case.
cd "$(dirname "$0")/.." || exit 1
n=0
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
ids=$(grep -oh '"OAM[0-9][0-9][0-9]"' src/*.c | tr -d '"' | sort -u)
mods=$(ls traits/*.lua workloads/*.lua)
echo "1..$((1 + $(echo "$ids" | wc -l) * 2 + $(echo "$mods" | wc -l)))"
block=$(awk '/^```lua$/ { if (++k == 2) { on = 1; next } } on && /^```$/ { exit } on' docs/writing-traits.md)
t "worked example in writing-traits.md is docs/examples/traits/log-shipper.lua" \
	'[ "$block" = "$(cat docs/examples/traits/log-shipper.lua)" ]'
for id in $ids; do
	t "$id is documented in docs/errors.md" "grep -q '^## $id' docs/errors.md"
	case $id in
	OAM900) t "$id has a test (tests/unit/sandbox.c OOM paths)" "grep -q OAMLUA_FAIL_ALLOC tests/*.t tests/unit/*.c" ;;
	# These need a running podman: asserted by its TAP test.
	OAM852|OAM853) t "$id is asserted by tests/podman-apply.t" "grep -q '$id' tests/podman-apply.t" ;;
	# Cluster errors that need the test API server: a golden case or tests/apply.t.
	OAM80[0-9]|OAM81[0-9]) t "$id has a failing case (golden or tests/apply.t)" \
		"grep -qs '\[$id\]' tests/golden/*/expected.err tests/apply.t" ;;
	*) t "$id has a failing golden case" "grep -qs '\[$id\]' tests/golden/*/expected.err" ;;
	esac
done
for m in $mods; do
	name=$(basename "$m" .lua)
	t "module $name has a golden case" "grep -qs -- '$name' tests/golden/*/app.yaml tests/golden/*/cmd tests/golden/*/expected.out"
done
