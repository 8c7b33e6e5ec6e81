#!/bin/sh
# bench/peers/run.sh -- saelab's benchmarks and their PyTorch / numpy / scipy
# peers, interleaved round by round, then one table (bench/peers/table.py).
# make bench-peers runs it from the build tree:
#
#   run.sh SRCDIR_OF_PEERS [m=N] [epochs=N] [reps=N] [iters=N] [rounds=N] [lbfgs=0|1]
#
# m: examples for every workload (default: 60000 for the k-sparse epoch,
# 10000 for the UFLDL ones); epochs: k-sparse epochs per run (2); reps: UFLDL
# evaluations per run (10); iters: L-BFGS iterations (400); rounds (2);
# lbfgs=0 skips the 400-iteration L-BFGS comparison.
# Environment: SAELAB (./saelab), DGEMM_PEAK (./bench/dgemm_peak), MEMBW
# (./bench/membw), PYTHON
# (/usr/bin/python3: Debian's numpy, scipy and torch), SAELAB_PLUGIN_PATH and
# SAELAB_LUA_PATH as for a build-tree run; PEERS_OMP_WAIT_POLICY (passive):
# the OMP_WAIT_POLICY PyTorch runs under (with libgomp's default, active,
# its threads and OpenBLAS's spin against each other: 3-4x slower epochs
# under load).  saelab runs in the caller's environment (where it sets no
# wait policy, the saelab program sets passive itself: src/main.c).
set -e
here=$1
shift
SAELAB=${SAELAB:-./saelab}
DGEMM_PEAK=${DGEMM_PEAK:-./bench/dgemm_peak}
MEMBW=${MEMBW:-./bench/membw}
PYTHON=${PYTHON:-/usr/bin/python3}
m= epochs=2 reps=10 iters=400 rounds=2 lbfgs=1
for a in "$@"; do
  case $a in
    m=*|epochs=*|reps=*|iters=*|rounds=*|lbfgs=*) eval "${a%%=*}=\${a#*=}" ;;
    *) echo "run.sh: unknown argument '$a' (known: m epochs reps iters rounds lbfgs)" >&2; exit 2 ;;
  esac
done
for v in "$epochs" "$reps" "$iters" "$rounds" "$lbfgs" "${m:-1}"; do
  case $v in ''|*[!0-9]*) echo "run.sh: '$v' is not a whole number" >&2; exit 2 ;; esac
done
"$PYTHON" -c 'import numpy, scipy, torch' 2>/dev/null || {
  echo "run.sh: $PYTHON lacks numpy, scipy or torch (apt-get install python3-torch python3-scipy)" >&2
  exit 2
}
dump=$(mktemp -d "${TMPDIR:-/tmp}/saelab-peers.XXXXXX")
trap 'rm -rf "$dump"' EXIT INT TERM
lines=$dump/lines
margs=${m:+m=$m}
omp=${PEERS_OMP_WAIT_POLICY:-passive}

side() { # workload [args]: saelab's run, its lines only
  w=$1
  shift
  "$SAELAB" run "$here/saelab_side.lua" --out "$dump/out" workload="$w" dump="$dump" $margs "$@" \
    | grep -E '^(check|peer) ' >>"$lines"
}
peer() { # workload impl dtype [args]
  OMP_WAIT_POLICY=$omp "$PYTHON" "$here/peers.py" workload="$1" impl="$2" dtype="$3" \
    dump="$dump" $margs "$4" >>"$lines"
}

{
  echo "machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc)"
  echo "machine load_before=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
  echo "machine OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)} torch_OMP_WAIT_POLICY=$omp"
  "$SAELAB" run "$here/saelab_side.lua" --out "$dump/out" workload=versions | grep '^machine '
  "$DGEMM_PEAK" | sed -n 's/^SAELAB_DGEMM_PEAK=\(.*\)/machine dgemm_peak=\1/p'
  # the momentum step's pass at memory speed (bench/membw.c): the floor of
  # the passes outside the products
  OMP_WAIT_POLICY=passive "$MEMBW" |
    sed -n 's/^membw size=\([^ ]*\) dtype=\([^ ]*\) threads=\([0-9]*\) gbs=\([^ ]*\) ms=\(.*\)/machine membw_\1_\2_t\3=\4,\5/p'
} >"$lines"
OMP_WAIT_POLICY=$omp "$PYTHON" "$here/peers.py" workload=peak >>"$lines"

r=1
while [ "$r" -le "$rounds" ]; do
  echo "bench-peers: round $r of $rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  side ksparse epochs="$epochs"
  side ksparse epochs="$epochs" precision=32
  peer ksparse torch fp64 epochs="$epochs"
  peer ksparse torch fp32 epochs="$epochs"
  # the UFLDL evaluations' five products alone, right before them (the
  # floor of an evaluation on this BLAS: table.py sets each against it)
  "$DGEMM_PEAK" 2 ufldl | sed -n \
    -e 's/^SAELAB_PRODUCTS_784_196=\(.*\)/peer workload=ufldl784_products impl=dgemm dtype=fp64 seconds=\1/p' \
    -e 's/^SAELAB_PRODUCTS_64_25=\(.*\)/peer workload=ufldl64_products impl=dgemm dtype=fp64 seconds=\1/p' \
    >>"$lines"
  for w in ufldl784 ufldl64; do
    side $w reps="$reps"
    for impl in numpy torch; do
      peer $w $impl fp64 reps="$reps"
      peer $w $impl fp32 reps="$reps"
    done
  done
  if [ "$lbfgs" -ne 0 ]; then
    side lbfgs64 iters="$iters"
    peer lbfgs64 scipy fp64 iters="$iters"
  fi
  r=$((r + 1))
done
echo "machine load_after=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" >>"$lines"
"$PYTHON" "$here/table.py" "$lines"
