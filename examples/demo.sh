#!/bin/sh
# The README's main command: render the bundled example application.
set -e
cd "$(dirname "$0")/.."
echo "# oamlua render -f examples/hello/app.yaml" >&2
./oamlua render -f examples/hello/app.yaml
echo "# rendered $(./oamlua render -o name -f examples/hello/app.yaml | wc -l) objects; try: ./oamlua explain ingress" >&2
