#!/bin/sh
# Turns lua/*.lua into C: for each file its source and, when given, its
# bytecode (build/lua/NAME.luac from tools/luadump.c), plus a table of
# { name, source, length, bytecode, length } for the host to load.
# Usage: embed.sh [--bytecode DIR] FILE.lua...
set -e
bc=
if [ "$1" = --bytecode ]; then bc=$2; shift 2; fi
bytes() { od -An -v -tx1 "$1" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/ /'; }
for f in "$@"; do
  b=$(basename "$f" .lua)
  n=$(echo "$b" | tr -c 'A-Za-z0-9_\n' '_')
  printf 'static const unsigned char luasrc_%s[] = {\n' "$n"
  bytes "$f"
  printf '};\n'
  if [ -n "$bc" ]; then
    printf 'static const unsigned char luabc_%s[] = {\n' "$n"
    bytes "$bc/$b.luac"
    printf '};\n'
  fi
done
printf 'static const struct { const char *name; const unsigned char *src; size_t len; const unsigned char *bc; size_t bclen; } luasrc_files[] = {\n'
for f in "$@"; do
  b=$(basename "$f" .lua)
  n=$(echo "$b" | tr -c 'A-Za-z0-9_\n' '_')
  if [ -n "$bc" ]; then
    printf '  { "%s", luasrc_%s, sizeof luasrc_%s, luabc_%s, sizeof luabc_%s },\n' "$b" "$n" "$n" "$n" "$n"
  else
    printf '  { "%s", luasrc_%s, sizeof luasrc_%s, NULL, 0 },\n' "$b" "$n" "$n"
  fi
done
printf '  { NULL, NULL, 0, NULL, 0 }\n};\n'
