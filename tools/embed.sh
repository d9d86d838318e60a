#!/bin/sh
# Turns lua/*.lua into C: one byte array per file plus a table of
# { module name, bytes, length } so the host can register them as builtins.
set -e
for f in "$@"; do
  n=$(basename "$f" .lua | tr -c 'A-Za-z0-9_\n' '_')
  printf 'static const unsigned char luasrc_%s[] = {\n' "$n"
  od -An -v -tx1 "$f" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/ /'
  printf '};\n'
done
printf 'static const struct { const char *name; const unsigned char *src; size_t len; } luasrc_files[] = {\n'
for f in "$@"; do
  b=$(basename "$f" .lua)
  n=$(echo "$b" | tr -c 'A-Za-z0-9_\n' '_')
  printf '  { "%s", luasrc_%s, sizeof luasrc_%s },\n' "$b" "$n" "$n"
done
printf '  { NULL, NULL, 0 }\n};\n'
