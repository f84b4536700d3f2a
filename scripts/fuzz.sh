#!/usr/bin/env bash
# Builds the C core with AddressSanitizer + UBSan and runs:
#   - the deterministic C test programs (Tests/Fuzz/*_sweep.c, Tests/Fuzz/*_unit/),
#   - each libFuzzer target (Tests/Fuzz/fuzz_*.c) for FUZZ_SECONDS (default 20),
#     seeded from Tests/Fuzz/seeds/<target>/ when present,
#   - each Swift libFuzzer target (Tests/Fuzz/swift/fuzz_*.swift) the same way,
#     compiled with ASan together with the Swift files it fuzzes (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out"
seconds=${FUZZ_SECONDS:-20}
# libFuzzer takes -max_total_time=0 as "no limit" and a negative or non-numeric
# value as an error it reports in a way easy to miss: insist on a whole number >= 1.
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "fuzz.sh: FUZZ_SECONDS must be a whole number of seconds >= 1 (got '$seconds')" >&2
    exit 2
fi
cc=${CLANG:-clang}
flags=(-g -O1 -std=c11 -Wall -Wextra -Werror -ISources/CStorage/include -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=all -fuse-ld=lld)
core=(Sources/CStorage/*.c)
libs=(-llz4 -lsnappy -lz -lpthread)

status=0
programs=()
for sweep in Tests/Fuzz/*_sweep.c; do
    name=$(basename "$sweep" .c)
    "$cc" "${flags[@]}" "${core[@]}" "$sweep" "${libs[@]}" -o "$out/$name"
    programs+=("$name")
done
for dir in Tests/Fuzz/*_unit; do
    name=$(basename "$dir")
    "$cc" "${flags[@]}" "${core[@]}" "$dir"/*.c "${libs[@]}" -o "$out/$name"
    programs+=("$name")
done
for name in "${programs[@]}"; do
    echo "== $name (ASan+UBSan)"
    "$out/$name" | tail -1 || status=1
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

# Runs the libFuzzer binary $out/$1 for $seconds and fails the script when it
# crashes or runs no input.
run_fuzzer() {
    local name=$1 units
    mkdir -p "$out/corpus-$name"
    local seeds=()
    [ -d "Tests/Fuzz/seeds/$name" ] && seeds=("Tests/Fuzz/seeds/$name")
    echo "== $name: libFuzzer for ${seconds}s"
    # Swift's crash backtracer and ASan's report get in each other's way.
    if (cd "$out" && SWIFT_BACKTRACE=enable=no "./$name" -max_total_time="$seconds" -max_len=140000 -print_final_stats=1 \
            "corpus-$name" "${seeds[@]/#/../}") > "$out/$name.log" 2>&1; then
        # A target that exits 0 without running an input proves nothing.
        units=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\)$/\1/p' "$out/$name.log" | tail -1)
        if [ -n "$units" ] && [ "$units" -gt 0 ]; then
            echo "   stat::number_of_executed_units: $units"
        else
            echo "   $name executed no inputs (stat::number_of_executed_units: ${units:-missing})"
            tail -20 "$out/$name.log"
            status=1
        fi
    else
        # A Swift target's fatalError names the broken invariant well above
        # the stack trace the tail shows.
        grep -m 3 'Fatal error:' "$out/$name.log" || true
        grep -v -E 'ld\.(gold|lld)' "$out/$name.log" | tail -40
        status=1
    fi
}

for target in Tests/Fuzz/fuzz_*.c; do
    name=$(basename "$target" .c)
    "$cc" "${flags[@]}" -fsanitize=fuzzer "${core[@]}" "$target" "${libs[@]}" -o "$out/$name"
    run_fuzzer "$name"
done

# Swift targets: swiftc builds the harness and the pure Swift files it fuzzes
# as one module, without SwiftPM. Those files `import CStorage`, so the C core
# gets a module map of its own here and is linked as ASan-built objects
# (swiftc links the ASan runtime; UBSan stays with the C targets above).
cmod="$out/cstorage-module"
mkdir -p "$cmod" "$out/cstorage-asan"
printf 'module CStorage {\n    umbrella header "%s"\n    export *\n}\n' \
    "$(pwd)/Sources/CStorage/include/CStorage.h" > "$cmod/module.modulemap"
objects=()
for source in "${core[@]}"; do
    object="$out/cstorage-asan/$(basename "$source" .c).o"
    "$cc" -g -O1 -std=c11 -Wall -Wextra -Werror -ISources/CStorage/include -fno-omit-frame-pointer \
        -fsanitize=address -c "$source" -o "$object"
    objects+=("$object")
done
for target in Tests/Fuzz/swift/fuzz_*.swift; do
    name=$(basename "$target" .swift)
    case $name in
    fuzz_gossip) sources=(Sources/Cluster/Model/*.swift) ;;
    *) echo "fuzz.sh: $target: no list of the Swift files it fuzzes" >&2; status=1; continue ;;
    esac
    ${SWIFTC:-swiftc} -sanitize=fuzzer,address -parse-as-library -package-name Muninn -module-name "$name" \
        -swift-version 6 -g -use-ld=lld -I "$cmod" "${sources[@]}" "$target" "${objects[@]}" "${libs[@]}" -o "$out/$name"
    run_fuzzer "$name"
done
exit $status
