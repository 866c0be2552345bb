#!/usr/bin/env bash
# Runs every kerbscope fuzz target (fuzz/, AFL++ through cargo-afl on stable Rust) for a set time.
#
#   tools/fuzz.sh SECONDS [TARGET...]     default targets: all of them (see fuzz/src/lib.rs)
#
# Seeds come from every committed capture (captures/lab/ and ../shared/captures/public/ when
# present), split per decoder by fuzz/src/bin/seeds.rs. Findings land in fuzz/out/TARGET/ and
# are replayed without AFL to confirm them; a crash should become a test in tests/regressions.rs.
# Needs: cargo-afl (installed here from crates.io on first use) and its AFL++ build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

secs=${1:?usage: tools/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(capture net kerberos dns http spnego ntlmssp der packets analyze)
fi

if ! cargo afl --version >/dev/null 2>&1; then
    cargo install --locked cargo-afl
fi
# Builds AFL++ once per rustc version; "already built" is not an error.
cargo afl config --build >/dev/null 2>&1 || true

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/fuzz/target}
(cd fuzz && cargo afl build --release --quiet)
bin=$CARGO_TARGET_DIR/release

captures=()
for dir in captures/lab ../shared/captures/public; do
    [ -d "$dir" ] || continue
    while IFS= read -r f; do captures+=("$f"); done < <(
        find "$dir" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' \) | sort)
done
rm -rf fuzz/corpus
"$bin/seeds" fuzz/corpus "${captures[@]}"

# No UI, no CPU governor or core_pattern checks (containers), stop on time.
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_QUIET=1 AFL_NO_AFFINITY=1 AFL_AUTORESUME=0
summary=()
status=0
for t in "${targets[@]}"; do
    [ -d "fuzz/corpus/$t" ] || { echo "no seeds for $t" >&2; continue; }
    rm -rf "fuzz/out/$t"
    mkdir -p fuzz/out
    echo "== $t: ${secs}s from $(ls "fuzz/corpus/$t" | wc -l) seeds"
    cargo afl fuzz -V "$secs" -i "fuzz/corpus/$t" -o "fuzz/out/$t" -- "$bin/fuzz_$t" \
        >"fuzz/out/$t.log" 2>&1 || echo "afl-fuzz for $t exited $? (see fuzz/out/$t.log)" >&2
    stats=fuzz/out/$t/default/fuzzer_stats
    get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats" 2>/dev/null; }
    crashes=$(find "fuzz/out/$t/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
    hangs=$(find "fuzz/out/$t/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
    summary+=("$(printf '%-9s execs %10s  execs/s %8s  corpus %6s  edges %6s  crashes %3s  hangs %3s' \
        "$t" "$(get execs_done)" "$(get execs_per_sec)" "$(get corpus_count)" \
        "$(get edges_found)" "$crashes" "$hangs")")
    if [ "$crashes" -gt 0 ]; then
        "$bin/replay" "$t" "fuzz/out/$t/default/crashes" || true
        status=1
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
