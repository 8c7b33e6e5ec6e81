#!/bin/sh
# tools/count-tests.sh BUILDDIR -- after `make check`, count test cases and
# print "N passed, N failed".  A Check program counts its individual tests
# (its log's "Checks: N, Failures: F, Errors: E"); a script test counts once;
# a program that died before Check's summary counts as one failure.
dir=${1:-.}
passed=0 failed=0
for trs in $(find "$dir/tests" -name '*.trs' | sort); do
  log=${trs%.trs}.log
  result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
  summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null | tail -n 1)
  if [ -n "$summary" ]; then
    n=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    bad=$((f + e))
    passed=$((passed + n - bad))
    failed=$((failed + bad))
    [ "$result" = PASS ] || [ "$bad" -gt 0 ] || failed=$((failed + 1))
  else
    case "$result" in
      PASS|XFAIL) passed=$((passed + 1)) ;;
      SKIP) ;;
      *) failed=$((failed + 1)) ;;
    esac
  fi
done
echo "$passed passed, $failed failed"
