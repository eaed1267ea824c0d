#!/bin/sh
# Runs every fuzz target of the module for $FUZZTIME (default 60s) each.
# A target that finds a crasher fails the run; the crasher is left under the
# package's testdata/fuzz/ for `go test` to replay.
set -eu
FUZZTIME=${FUZZTIME:-60s}
cd "$(dirname "$0")/.."
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
	for t in $targets; do
		echo "== $pkg $t ($FUZZTIME)"
		if ! go test "$pkg" -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME"; then
			status=1
		fi
	done
done
exit $status
