#!/usr/bin/env bash
# Stops what `make demo` started (the demo uses oamlua's private podman store).
cd "$(dirname "$0")/.." || exit 1
. tests/podman/lib.sh
pm_env
./oamlua delete --target podman hello
