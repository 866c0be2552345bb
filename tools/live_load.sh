#!/usr/bin/env bash
# Load measurement for `kerbscope sniff` (issue 7): replays a generated SPAN-like corpus
# (tools/gencorpus: background TLS/bulk/HTTP/DNS/UDP with the lab scenarios embedded) over a
# veth pair between two network namespaces with tcpreplay at increasing rates, and reports for
# each rate what tcpreplay achieved, what kerbscope captured, the kernel and interface drops,
# and kerbscope's peak RSS. Then one long run at a fixed rate samples RSS over time.
#
# Needs root, iproute2, tcpreplay, libpcap-dev. Touches nothing outside its own namespaces.
#
#   tools/live_load.sh                       # rates 250..2000 Mbit/s, 30 s each, 600 s soak
#   RATES="500 1000" STEP_SECS=20 SOAK_SECS=120 tools/live_load.sh
#
# Environment: CORPUS (default /tmp/kerbscope-corpus-400m.pcap, generated if missing),
# CORPUS_SIZE (400M), RATES (Mbit/s list, "top" = tcpreplay --topspeed), STEP_SECS,
# SOAK_SECS (0: skip), SOAK_MBPS (default: highest rate without drops), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"250 500 750 1000 1250 1500 2000 top"}
STEP_SECS=${STEP_SECS:-30}
SOAK_SECS=${SOAK_SECS:-600}
CORPUS_SIZE=${CORPUS_SIZE:-400M}
CORPUS=${CORPUS:-/tmp/kerbscope-corpus-${CORPUS_SIZE,,}.pcap}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$CARGO_TARGET_DIR/release/kerbscope
NS_A=ksload-a-$$
NS_B=ksload-b-$$
WORK=$(mktemp -d /tmp/ksload.XXXXXX)

cleanup() {
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "live_load.sh: needs root (network namespaces)" >&2; exit 2; }
command -v tcpreplay >/dev/null || { echo "live_load.sh: needs tcpreplay" >&2; exit 2; }

cargo build --release --features live --bin kerbscope >&2
if [ ! -s "$CORPUS" ]; then
    cargo run --release --example gencorpus -- --size "$CORPUS_SIZE" --seed 1 --out "$CORPUS" >&2
fi

for ns in "$NS_A" "$NS_B"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_A" link add va mtu 9000 type veth peer name vb mtu 9000 netns "$NS_B"
ip -n "$NS_A" link set va up
ip -n "$NS_B" link set vb up

corpus_bytes=$(stat -c %s "$CORPUS")
echo "corpus: $CORPUS ($corpus_bytes bytes); $(nproc) cores; kerbscope $($BIN --version)"

# run_one LABEL TCPREPLAY_RATE_ARGS... : prints one result line; sets LAST_DROPS.
run_one() {
    local label=$1; shift
    local err=$WORK/sniff.err
    ip netns exec "$NS_B" "$BIN" sniff -i vb --format ndjson -o /dev/null --stats-interval 0 \
        >"$WORK/stream.ndjson" 2>"$err" &
    local pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$err" 2>/dev/null && break; sleep 0.1; done
    local peak=0 rss
    ( while kill -0 "$pid" 2>/dev/null; do
          rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
          echo "$(date +%s) ${rss:-0}"
          sleep 1
      done ) >"$WORK/rss.txt" &
    local sampler=$!
    local rep
    rep=$(ip netns exec "$NS_A" tcpreplay -i va --preload-pcap --loop=0 --duration="$STEP_SECS" "$@" "$CORPUS" 2>&1 || true)
    sleep 0.5
    kill -INT "$pid"
    wait "$pid" || true
    wait "$sampler" 2>/dev/null || true
    peak=$(awk 'BEGIN {m=0} {if ($2>m) m=$2} END {print m}' "$WORK/rss.txt")
    local rated final
    rated=$(echo "$rep" | grep -o 'Rated: .*' | tail -1 || true)
    final=$(grep 'final:' "$err" | tail -1 | sed 's/^kerbscope: final: //' || true)
    LAST_DROPS=$(echo "$final" | sed -n 's/.* received, \([0-9]*\) dropped, \([0-9]*\) dropped by the interface.*/\1 \2/p')
    printf '%-6s | tcpreplay %s | kerbscope %s | peak RSS %s MiB | findings streamed %s\n' \
        "$label" "${rated:-?}" "$final" "$((peak / 1024))" "$(wc -l <"$WORK/stream.ndjson")"
}

best=""
for r in $RATES; do
    if [ "$r" = top ]; then
        run_one top --topspeed
    else
        run_one "${r}M" --mbps="$r"
    fi
    set -- $LAST_DROPS
    if [ "${1:-1}" = 0 ] && [ "${2:-1}" = 0 ] && [ "$r" != top ]; then best=$r; fi
done
echo "highest offered rate with zero kernel and interface drops: ${best:-none} Mbit/s"

if [ "$SOAK_SECS" -gt 0 ]; then
    rate=${SOAK_MBPS:-${best:-500}}
    STEP_SECS=$SOAK_SECS run_one "soak ${rate}M" --mbps="$rate"
    echo "RSS over the soak (seconds since start, MiB):"
    awk 'NR==1 {t0=$1} {printf "  %4d s %6.1f\n", $1-t0, $2/1024}' "$WORK/rss.txt" \
        | awk -v n="$(wc -l <"$WORK/rss.txt")" 'NR==1 || NR%30==0 || NR==n'
fi
