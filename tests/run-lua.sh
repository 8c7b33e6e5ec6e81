#!/bin/sh
# tests/run-lua.sh SCRIPT.lua -- run a script-level test with the built saelab
# into a scratch output directory; the script fails by raising an error.
set -eu
script=$1
out=$(mktemp -d "${TMPDIR:-/tmp}/saelab-test.XXXXXX")
trap 'rm -rf "$out"' EXIT
# The tests' shared helpers (tests/lua/expect.lua) are found beside them.
LUA_PATH_5_4="$(cd "$(dirname "$script")" && pwd)/?.lua;;"
export LUA_PATH_5_4
"$SAELAB" run "$script" --out "$out/run" --seed 7
