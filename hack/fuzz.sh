#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the repository (every `func FuzzX` in
# a _test.go file of the main module) for FUZZTIME each (default 30s), one
# after the other. A crash fails the run; Go keeps its input under the
# package's testdata/fuzz/, where it stays as a regression test once the
# bug is fixed. -short keeps test packages from starting a control plane
# in every fuzzing process (fuzz targets never need one);
# -fuzzminimizetime keeps minimizing each new input from eating the time.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
status=0
count=0
while IFS= read -r file; do
	dir=./$(dirname "$file")
	for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | cut -d' ' -f2); do
		count=$((count + 1))
		echo "fuzz: $name in $dir for $fuzztime"
		out=$(go test -short -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 20x "$dir" 2>&1) && ok=1 || ok=0
		printf '%s\n' "$out" | tail -n 20
		if [ $ok = 0 ]; then
			# Go's fuzzing engine can report "context deadline exceeded"
			# when -fuzztime ends while a worker is busy; that is no crash
			# (a crash always writes its input under testdata/fuzz).
			if ! grep -q 'Failing input written' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
				echo "fuzz: $name: the fuzzing time ended mid-input (not a crash)"
			else
				status=1
			fi
		fi
	done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' --exclude-dir=hack --exclude-dir=node_modules . | sed 's|^\./||' | sort)
echo "fuzz: $count targets, exit $status"
exit $status
