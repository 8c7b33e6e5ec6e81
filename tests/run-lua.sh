#!/bin/sh
# tests/run-lua.sh SCRIPT.lua -- run a script-level test with the built saelab
# into a scratch output directory; the script fails by raising an error.
set -eu
script=$1
out=$(mktemp -d "${TMPDIR:-/tmp}/saelab-test.XXXXXX")
trap 'rm -rf "$out"' EXIT
"$SAELAB" run "$script" --out "$out/run" --seed 7
