#!/usr/bin/env bash
# Golden tests: one directory per case under tests/golden/. Each holds
#   cmd              the oamlua arguments (one shell line; $CASE is the case
#                    directory, $CONF the Rudr conformance inputs)
#   expected.out     exact standard output      (absent = empty)
#   expected.err     exact standard error       (absent = empty)
#   expected.status  exit status                (absent = 0)
#   env              optional NAME=VALUE lines exported for the run (for the
#                    switches that exist only for tests, e.g. OAMLUA_LIBCURL)
# OAMLUA_ACCEPT=1 rewrites the expected files from the actual run, and still
# reports the case as failed: review the change with git diff, then rerun.
# VALGRIND=1 runs every case under valgrind (errors and definite leaks fail).
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C
unset OAMLUA_PATH
# A developer's own pack store must not leak into the cases.
export OAMLUA_PACKS=$(mktemp -d)
BIN=${OAMLUA_BIN:-./oamlua}
CONF=tests/conformance/rudr
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp" "$OAMLUA_PACKS"' EXIT

mapfile -t cases < <(ls -d tests/golden/*/ | sort)
echo "1..${#cases[@]}"
n=0
for dir in "${cases[@]}"; do
	n=$((n + 1))
	CASE=${dir%/}
	name=$(basename "$CASE")
	if [ ! -f "$CASE/cmd" ]; then
		echo "not ok $n - $name: no cmd file"
		continue
	fi
	args=$(cat "$CASE/cmd")
	run="$BIN"
	if [ -n "$VALGRIND" ]; then
		run="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=$tmp/vg $BIN"
	fi
	(export CASE CONF; if [ -f "$CASE/env" ]; then set -a; . "$CASE/env"; set +a; fi
	 eval "$run $args") >"$tmp/out" 2>"$tmp/err"
	status=$?
	want_status=0
	[ -f "$CASE/expected.status" ] && want_status=$(cat "$CASE/expected.status")
	fail=""
	for f in out err; do
		want="$CASE/expected.$f"
		if [ -f "$want" ]; then
			diff -u "$want" "$tmp/$f" >"$tmp/diff.$f" || fail="$fail $f"
		elif [ -s "$tmp/$f" ]; then
			diff -u /dev/null "$tmp/$f" >"$tmp/diff.$f"
			fail="$fail $f"
		fi
	done
	[ "$status" = "$want_status" ] || fail="$fail status($status, want $want_status)"
	if [ -n "$VALGRIND" ] && [ -s "$tmp/vg" ]; then
		fail="$fail valgrind"
		sed 's/^/# /' "$tmp/vg"
	fi
	if [ -n "$OAMLUA_ACCEPT" ] && [ -n "$fail" ]; then
		cp "$tmp/out" "$CASE/expected.out"; [ -s "$CASE/expected.out" ] || rm -f "$CASE/expected.out"
		cp "$tmp/err" "$CASE/expected.err"; [ -s "$CASE/expected.err" ] || rm -f "$CASE/expected.err"
		if [ "$status" = 0 ]; then rm -f "$CASE/expected.status"; else echo "$status" >"$CASE/expected.status"; fi
		echo "not ok $n - $name # rewritten:$fail"
		continue
	fi
	if [ -z "$fail" ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name:$fail"
		for f in out err; do [ -s "$tmp/diff.$f" ] && head -n 60 "$tmp/diff.$f" | sed 's/^/# /'; done
	fi
	rm -f "$tmp/diff.out" "$tmp/diff.err" "$tmp/vg"
done
