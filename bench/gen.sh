#!/bin/sh
# gen.sh N OUTDIR [--no-kustomize]
# Writes the benchmark application for N instances in three forms:
# OUTDIR/app.yaml (OAM), OUTDIR/chart/ (Helm), OUTDIR/kustomize/ (kustomize).
# See gen.py for the details; needs only python3's standard library.
set -eu
here=$(dirname "$0")
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3   # skip the pyenv shim where there is one
exec "$py" "$here/gen.py" "$@"
