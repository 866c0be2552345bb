#!/usr/bin/env bash
# End-to-end throughput of kerbscope on one generated corpus, against tshark extracting the same
# fields and a plain `cat` of the file (page cache warm, every tool reads the same file).
#
#   tools/bench.sh                 # 1 GiB corpus, seed 1 (generated once under $CORPUS_DIR)
#   SIZE=100M tools/bench.sh       # other sizes: 100M, 10G, ...
#   tools/bench.sh FILE.pcap       # an existing capture (no truth check)
#
# Prints a Markdown table (seconds, MB/s, peak RSS) and the ratios the issue's targets are
# stated in: -j N over -j 1, kerbscope over tshark, kerbscope against cat. kerbscope is timed
# with `analyze` when that subcommand exists, else with `events` (the table says which). With
# `analyze` on a generated corpus, tools/check_truth.py compares the findings with the truth file.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SIZE=${SIZE:-1G}
SEED=${SEED:-1}
CORPUS_DIR=${CORPUS_DIR:-$TARGET/corpus}
RUNS=${RUNS:-3}
TSHARK=${TSHARK:-1}
NPROC=$(nproc)

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin kerbscope --example gencorpus
KS="$TARGET/release/kerbscope"

if [[ $# -ge 1 ]]; then
  FILE=$1
  TRUTH=
else
  mkdir -p "$CORPUS_DIR"
  FILE="$CORPUS_DIR/corpus-$SIZE-seed$SEED.pcap"
  TRUTH="$FILE.truth.json"
  if [[ ! -s $FILE || ! -s $TRUTH ]]; then
    "$TARGET/release/examples/gencorpus" --size "$SIZE" --seed "$SEED" --out "$FILE" --lab "$ROOT/captures/lab"
  fi
fi
BYTES=$(stat -c %s "$FILE")

if "$KS" analyze --help >/dev/null 2>&1; then
  MODE=analyze
  KS_ARGS=(analyze --format json)
else
  MODE=events
  KS_ARGS=(events)
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Best of $RUNS: prints "seconds max_rss_kib".
measure() {
  local best="" rss=0
  for _ in $(seq "$1"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time" "${@:2}" >"$OUT/stdout" 2>"$OUT/stderr" || true
    read -r s m < <(tail -n 1 "$OUT/time")   # "Command exited with non-zero status" comes first
    if [[ -z $best ]] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
    (( m > rss )) && rss=$m
  done
  echo "$best $rss"
}

# Peak anonymous memory (heap, stacks: RssAnon) of one run, sampled every 5 ms: unlike the
# peak RSS of /usr/bin/time it leaves out the mapped capture file's page-cache pages.
peak_anon() {
  "$@" >/dev/null 2>&1 &
  local pid=$! peak=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n $v ]] && (( v > peak )) && peak=$v
    sleep 0.005
  done
  wait "$pid" || true
  echo "$peak"
}

cat "$FILE" >/dev/null   # warm the page cache

read -r T_CAT R_CAT < <(measure "$RUNS" sh -c 'exec cat "$1" >/dev/null' sh "$FILE")
# -j 1 and -j N alternate, one run each per round, so that a slow spell of the machine (a
# shared VM's steal time comes and goes over seconds) weighs on both and not on one ratio side.
T_J1=; R_J1=0; T_JN=; R_JN=0; ALL_J1=(); ALL_JN=()
for _ in $(seq "$RUNS"); do
  read -r t r < <(measure 1 "$KS" "${KS_ARGS[@]}" -j 1 "$FILE")
  cp "$OUT/stdout" "$OUT/j1.out"
  ALL_J1+=("$t")
  if [[ -z $T_J1 ]] || awk "BEGIN{exit !($t < $T_J1)}"; then T_J1=$t; fi
  (( r > R_J1 )) && R_J1=$r
  read -r t r < <(measure 1 "$KS" "${KS_ARGS[@]}" -j "$NPROC" "$FILE")
  cp "$OUT/stdout" "$OUT/jn.out"
  ALL_JN+=("$t")
  if [[ -z $T_JN ]] || awk "BEGIN{exit !($t < $T_JN)}"; then T_JN=$t; fi
  (( r > R_JN )) && R_JN=$r
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
M_J1=$(median "${ALL_J1[@]}")
M_JN=$(median "${ALL_JN[@]}")
# Each -j 1 run and the -j N run right after it saw the machine in about the same state: the
# median of the per-pair ratios is the least sensitive to slow spells between pairs.
PAIRS=()
for i in "${!ALL_J1[@]}"; do
  PAIRS+=("$(awk "BEGIN{ if (${ALL_JN[$i]} > 0) printf \"%.3f\", ${ALL_J1[$i]} / ${ALL_JN[$i]}; else print 0 }")")
done
M_PAIR=$(median "${PAIRS[@]}")
if cmp -s "$OUT/j1.out" "$OUT/jn.out"; then SAME=yes; else SAME=NO; fi
A_J1=$(peak_anon "$KS" "${KS_ARGS[@]}" -j 1 "$FILE")
A_JN=$(peak_anon "$KS" "${KS_ARGS[@]}" -j "$NPROC" "$FILE")

FIELDS=(-e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst
  -e kerberos.msg_type -e kerberos.error_code -e kerberos.SNameString -e kerberos.realm
  -e kerberos.CNameString -e kerberos.kdc_options -e dns.qry.name -e dns.cname
  -e http.authorization -e http.www_authenticate)
if [[ $TSHARK == 1 ]] && command -v tshark >/dev/null; then
  read -r T_TS R_TS < <(measure 1 tshark -r "$FILE" -T fields -E header=y -E separator=/t "${FIELDS[@]}" \
    -Y 'kerberos or dns or http.authorization or http.www_authenticate')
else
  T_TS=; R_TS=
fi

mbps() { awk "BEGIN{ if ($1 > 0) printf \"%.0f\", $BYTES / 1e6 / $1; else print \"-\" }"; }
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }
mib() { awk "BEGIN{ printf \"%.0f\", $1 / 1024 }"; }

echo
echo "kerbscope $MODE on $(basename "$FILE"): $BYTES bytes, $NPROC cores, best of $RUNS, page cache warm"
echo
echo "| run | seconds | MB/s | peak RSS MiB | peak anon MiB |"
echo "|---|---:|---:|---:|---:|"
echo "| cat | $T_CAT | $(mbps "$T_CAT") | $(mib "$R_CAT") | |"
echo "| kerbscope $MODE -j 1 | $T_J1 | $(mbps "$T_J1") | $(mib "$R_J1") | $(mib "$A_J1") |"
echo "| kerbscope $MODE -j $NPROC | $T_JN | $(mbps "$T_JN") | $(mib "$R_JN") | $(mib "$A_JN") |"
if [[ -n $T_TS ]]; then
  echo "| tshark -T fields (same fields as the ground-truth TSVs) | $T_TS | $(mbps "$T_TS") | $(mib "$R_TS") | |"
fi
echo
echo "(peak RSS counts the mapped capture's page-cache pages; peak anon is kerbscope's own memory)"
echo
echo "- -j $NPROC over -j 1: $(ratio "$T_J1" "$T_JN")x best against best, $(ratio "$M_J1" "$M_JN")x median against median ($M_J1 s / $M_JN s), $(ratio "$M_PAIR" 1)x median of the $RUNS back-to-back pairs; output identical: $SAME"
[[ -n $T_TS ]] && echo "- kerbscope -j $NPROC over tshark: $(ratio "$T_TS" "$T_JN")x"
echo "- kerbscope -j $NPROC time / cat time: $(ratio "$T_JN" "$T_CAT")"

if [[ $MODE == analyze && -n $TRUTH ]]; then
  echo
  python3 "$ROOT/tools/check_truth.py" "$TRUTH" "$OUT/jn.out"
fi
