#!/usr/bin/env bash
# kerbscope lab: plays Kerberos/Negotiate failure scenarios on a real MIT KDC, dnsmasq, Apache
# (mod_auth_gssapi) and a python3-gssapi middle tier, in network namespaces joined by a bridge, and
# records them with tcpdump. Writes captures/lab/<scenario>.{pcap,expected.json,tshark.tsv}.
#
#   sudo lab/run.sh                 # all scenarios
#   sudo lab/run.sh healthy stale_keytab_kvno
#   sudo lab/run.sh --list          # scenario names
#   sudo lab/run.sh --teardown      # remove whatever a previous (interrupted) run left
#
# Needs root and Debian 12. Installs its apt packages itself (non-interactive). Uses only
# 198.51.100.0/24 inside its own namespaces (no route out). Never touches the host's
# /etc/krb5.conf or resolver: every tool gets KRB5_CONFIG / KRB5_KDC_PROFILE / KRB5CCNAME /
# KRB5_KTNAME, and each namespace gets /etc/netns/<ns>/{resolv.conf,hosts} (bind-mounted by
# `ip netns exec`). Tears down only what it made: processes by recorded PID, namespaces and
# /etc/netns directories by the list it recorded.
set -euo pipefail

LAB_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$LAB_SRC/.." && pwd)"
OUT="${KERBSCOPE_LAB_OUT:-$REPO/captures/lab}"
STATE="${KERBSCOPE_LAB_STATE:-/run/kerbscope-lab}"
PY=/usr/bin/python3            # Debian's python (python3-gssapi / python3-scapy live there)

REALM=LAB.TEST
DOMAIN=lab.test
NET=198.51.100
KDC_IP=$NET.2
DNS_IP=$NET.3
CLIENT_IP=$NET.10
WEB1_IP=$NET.20
WEB2_IP=$NET.21
MID_IP=$NET.30
BACK_IP=$NET.31
USER_PRINC=alice
USER_PW='Alice-Lab-Pw-1'
NS_SW=ks-sw
# namespace:ip:hostname
HOSTS=("ks-kdc:$KDC_IP:kdc" "ks-dns:$DNS_IP:dns" "ks-client:$CLIENT_IP:client"
       "ks-web1:$WEB1_IP:web1" "ks-web2:$WEB2_IP:web2" "ks-mid:$MID_IP:mid" "ks-back:$BACK_IP:back")
# alias -> canonical (CNAME records)
CNAMES=("intranet.$DOMAIN:web1.$DOMAIN" "portal.$DOMAIN:web2.$DOMAIN")

ALL_SCENARIOS=(healthy healthy_tcp wrong_spn_cname_unknown wrong_spn_cname_other_account
  alias_fixed_nocanon stale_keytab_kvno key_mismatch_same_kvno spn_missing_from_keytab
  spn_missing_acceptor_silent
  delegation_ok delegation_missing_nodeleg delegation_missing_not_forwardable s4u2proxy_refused
  ntlm_fallback_cname
  delegation_ok_smb delegation_missing_smb delegation_ok_ldap key_mismatch_ldap)

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- packages
APT_PKGS=(krb5-kdc krb5-admin-server krb5-user dnsmasq-base apache2-bin libapache2-mod-auth-gssapi
  tcpdump tshark python3 python3-gssapi python3-scapy gss-ntlmssp ethtool tcpreplay iproute2 procps curl gzip
  samba smbclient slapd ldap-utils libsasl2-modules-gssapi-mit sasl2-bin)
install_packages() {
  local missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  # The packages' init scripts must not start host-wide services: Debian's policy-rc.d mechanism
  # (exit 101) is used only if no policy-rc.d exists, and removed again afterwards.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# ---------------------------------------------------------------- teardown (only what we made)
teardown() {
  [ -d "$STATE" ] || return 0
  if [ -d "$STATE/pids" ]; then
    for f in "$STATE"/pids/*.pid; do
      [ -e "$f" ] || continue
      local pid; pid=$(cat "$f")
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
      rm -f "$f"
    done
    sleep 0.3
  fi
  if [ -f "$STATE/netns.list" ]; then
    while read -r ns; do
      [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
    done < "$STATE/netns.list"
    rm -f "$STATE/netns.list"
  fi
  if [ -f "$STATE/etcnetns.list" ]; then
    while read -r d; do
      case "$d" in /etc/netns/ks-*) rm -rf "$d";; esac
    done < "$STATE/etcnetns.list"
    rmdir /etc/netns 2>/dev/null || true   # only if empty (and we may have created it)
    rm -f "$STATE/etcnetns.list"
  fi
}

# start a background process in a namespace and record its PID (ip netns exec execs in place)
spawn() { # name ns logfile cmd...
  local name=$1 ns=$2 logf=$3; shift 3
  ip netns exec "$ns" "$@" >"$logf" 2>&1 &
  echo $! > "$STATE/pids/$name.pid"
}
stop() { # name
  local f="$STATE/pids/$1.pid"
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}
wait_port() { # ns ip port proto
  for _ in $(seq 100); do
    if ip netns exec "$1" ss -H -ln"${4:-t}" "sport = :$3" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.1
  done
  die "nothing listening on $2:$3/${4:-t} in $1"
}

# ---------------------------------------------------------------- network
setup_net() {
  log "network: bridge in $NS_SW, hosts ${HOSTS[*]}"
  ip netns add $NS_SW; echo $NS_SW >> "$STATE/netns.list"
  ip -n $NS_SW link set lo up
  # ageing_time 0 turns the bridge into a hub: every frame is flooded, so tcpdump on br0 sees all
  # traffic between the ports exactly once. No multicast snooping (no IGMP queries of its own).
  ip -n $NS_SW link add br0 type bridge ageing_time 0 stp_state 0 mcast_snooping 0
  ip netns exec $NS_SW sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n $NS_SW link set br0 up
  [ -d /etc/netns ] || { mkdir -p /etc/netns; }
  local h ns ip name i=0
  for h in "${HOSTS[@]}"; do
    IFS=: read -r ns ip name <<<"$h"
    ip netns add "$ns"; echo "$ns" >> "$STATE/netns.list"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n $NS_SW link add "p-$name" type veth peer name eth0 netns "$ns"
    ip -n $NS_SW link set "p-$name" master br0
    ip -n "$ns" link set eth0 address "02:00:c6:33:64:$(printf %02x "${ip##*.}")"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n $NS_SW link set "p-$name" up
    # real frames: no segmentation/receive offload, no checksum offload
    ip netns exec "$ns" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip netns exec $NS_SW ethtool -K "p-$name" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    # per-namespace resolver and hosts file (bind-mounted over /etc by ip netns exec)
    if [ ! -e "/etc/netns/$ns" ]; then mkdir -p "/etc/netns/$ns"; echo "/etc/netns/$ns" >> "$STATE/etcnetns.list"; fi
    printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$DNS_IP" > "/etc/netns/$ns/resolv.conf"
    printf '127.0.0.1 localhost\n' > "/etc/netns/$ns/hosts"
    i=$((i+1))
  done
  ip netns exec $NS_SW ethtool -K br0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  # no default route anywhere: only 198.51.100.0/24 on the bridge is reachable
}

# ---------------------------------------------------------------- config rendering
render() { # template out key=value...
  local tpl=$1 out=$2; shift 2
  local content; content=$(cat "$tpl")
  local kv k v
  for kv in "$@"; do k=${kv%%=*}; v=${kv#*=}; content=${content//@$k@/$v}; done
  content=${content//@STATE@/$STATE}; content=${content//@REALM@/$REALM}
  content=${content//@DOMAIN@/$DOMAIN}; content=${content//@KDC_IP@/$KDC_IP}
  content=${content//@DNS_IP@/$DNS_IP}
  printf '%s\n' "$content" > "$out"
}
# krb5.conf for a role: name canon(true/false) udp_pref forwardable
krb5conf() {
  local f="$STATE/conf/krb5-$1.conf"
  render "$LAB_SRC/templates/krb5.conf" "$f" ROLE="$1" CANON="$2" UDPPREF="$3" FORWARDABLE="$4"
  echo "$f"
}

# ---------------------------------------------------------------- DNS
setup_dns() {
  mkdir -p "$STATE/dns"
  local h ns ip name
  : > "$STATE/dns/hosts"
  for h in "${HOSTS[@]}"; do
    IFS=: read -r ns ip name <<<"$h"
    echo "$ip $name.$DOMAIN" >> "$STATE/dns/hosts"
  done
  local c cn=""
  for c in "${CNAMES[@]}"; do cn+="cname=${c%%:*},${c#*:}"$'\n'; done
  render "$LAB_SRC/templates/dnsmasq.conf" "$STATE/conf/dnsmasq.conf" CNAMES="$cn"
  spawn dnsmasq ks-dns "$STATE/logs/dnsmasq.out" dnsmasq --keep-in-foreground -C "$STATE/conf/dnsmasq.conf"
  wait_port ks-dns "$DNS_IP" 53 u
}

# ---------------------------------------------------------------- KDC
kadmin() { KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" KRB5_KDC_PROFILE="$STATE/conf/kdc.conf" \
  kadmin.local -r $REALM -q "$*" >>"$STATE/logs/kadmin.log" 2>&1 || die "kadmin.local: $*"; }
ktadd() { # keytab principal   (randomises the key: kvno+1)
  kadmin "ktadd -k $1 $2"; }
setup_kdc() {
  mkdir -p "$STATE/kdc" "$STATE/kt"
  render "$LAB_SRC/templates/kdc.conf" "$STATE/conf/kdc.conf"
  krb5conf kdc false 1465 true >/dev/null
  echo "*/admin@$REALM *" > "$STATE/kdc/kadm5.acl"
  KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" KRB5_KDC_PROFILE="$STATE/conf/kdc.conf" \
    kdb5_util create -s -r $REALM -P 'lab-master-key' >>"$STATE/logs/kadmin.log" 2>&1
  kadmin "addprinc -pw $USER_PW +requires_preauth $USER_PRINC"
  kadmin "addprinc -pw Bob-Lab-Pw-1 +requires_preauth bob"
  local s
  for s in HTTP/web1.$DOMAIN HTTP/intranet.$DOMAIN HTTP/portal.$DOMAIN HTTP/mid.$DOMAIN \
           HTTP/back.$DOMAIN HTTP/other.$DOMAIN; do
    kadmin "addprinc -randkey $s"
  done
  # keytabs (kvno 2 after ktadd)
  ktadd "$STATE/kt/web1.keytab" HTTP/web1.$DOMAIN
  ktadd "$STATE/kt/intranet.keytab" HTTP/intranet.$DOMAIN
  ktadd "$STATE/kt/portal.keytab" HTTP/portal.$DOMAIN
  ktadd "$STATE/kt/mid.keytab" HTTP/mid.$DOMAIN
  ktadd "$STATE/kt/back.keytab" HTTP/back.$DOMAIN
  ktadd "$STATE/kt/other.keytab" HTTP/other.$DOMAIN
  # hop 2 as a file server and a directory (issue 10): MIT 1.20 puts a PAC into every service
  # ticket, which a standalone smbd rejects ("Unexpected PAC ... in standalone mode",
  # NT_STATUS_BAD_TOKEN_TYPE): +no_auth_data_required leaves it out for cifs/back.
  kadmin "addprinc -randkey +no_auth_data_required cifs/back.$DOMAIN"
  kadmin "addprinc -randkey ldap/back.$DOMAIN"
  ktadd "$STATE/kt/cifs-back.keytab" cifs/back.$DOMAIN
  ktadd "$STATE/kt/ldap-back.keytab" ldap/back.$DOMAIN
  chmod 644 "$STATE"/kt/*.keytab
  spawn krb5kdc ks-kdc "$STATE/logs/krb5kdc.out" env KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" \
    KRB5_KDC_PROFILE="$STATE/conf/kdc.conf" krb5kdc -n
  spawn kadmind ks-kdc "$STATE/logs/kadmind.out" env KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" \
    KRB5_KDC_PROFILE="$STATE/conf/kdc.conf" kadmind -nofork -r $REALM
  wait_port ks-kdc "$KDC_IP" 88 u; wait_port ks-kdc "$KDC_IP" 88 t
}

# ---------------------------------------------------------------- web servers
# start_apache inst ns ip name keytab [mechs] [extra directives]
start_apache() {
  local inst=$1 ns=$2 ip=$3 name=$4 kt=$5 mechs=${6:-krb5} extra=${7:-}
  local d="$STATE/web/$inst"
  rm -rf "$d"; mkdir -p "$d/htdocs"
  echo "hello from $name ($inst)" > "$d/htdocs/index.html"
  render "$LAB_SRC/templates/httpd.conf" "$d/httpd.conf" NAME="$name" IP="$ip" DIR="$d" KEYTAB="$kt" \
    MECHS="$mechs" EXTRA="$extra"
  spawn "apache-$inst" "$ns" "$d/stderr.log" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    KRB5_CONFIG="$(krb5conf "srv-$inst" false 1465 true)" KRB5_KTNAME="FILE:$kt" \
    KRB5_TRACE="$d/krb5.trace" ${WEB_ENV:-} apache2 -X -d /usr/lib/apache2 -f "$d/httpd.conf"
  wait_port "$ns" "$ip" 80
  echo "$inst $kt" >> "$SCEN_DIR/service-keytabs"
}
start_hop1() { # extra args...
  local d="$STATE/web/hop1"; rm -rf "$d"; mkdir -p "$d"
  spawn hop1 ks-mid "$d/hop1.log" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    KRB5_CONFIG="$(krb5conf mid false 1465 true)" KRB5_TRACE="$d/krb5.trace" \
    KRB5CCNAME="FILE:$d/ccache" \
    $PY "$LAB_SRC/hop1.py" --listen $MID_IP --port 80 --keytab "$STATE/kt/mid.keytab" \
    --principal "HTTP/mid.$DOMAIN@$REALM" --hop2 "http://back.$DOMAIN/" --ccache "FILE:$d/ccache" "$@"
  wait_port ks-mid $MID_IP 80
  echo "hop1 $STATE/kt/mid.keytab" >> "$SCEN_DIR/service-keytabs"
}

# ---------------------------------------------------------------- capture
# capture_start tag: Ethernet capture of the bridge (every frame once) plus optional extra views
capture_start() { # file [iface ns linktype]
  local file=$1 ns=${2:-$NS_SW} iface=${3:-br0} lt=${4:-}
  local tag; tag=$(basename "$file")
  rm -f "$file"
  local ltopt=(); [ -n "$lt" ] && ltopt=(-y "$lt")
  spawn "tcpdump-$tag" "$ns" "$STATE/logs/tcpdump-$tag.log" tcpdump -Z root -n -U -s 0 -i "$iface" "${ltopt[@]}" \
    -w "$file" 'ip or arp'
  for _ in $(seq 100); do grep -q 'listening on' "$STATE/logs/tcpdump-$tag.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
}
capture_stop() { # file
  sleep 0.7
  stop "tcpdump-$(basename "$1")"
}
flush_neigh() { local h; for h in "${HOSTS[@]}"; do ip -n "${h%%:*}" neigh flush all 2>/dev/null || true; done; }

# ---------------------------------------------------------------- client
# client_env krb5conf ccache : prints env assignments
CLIENT_CC=""
client() { # cmd...  (runs in ks-client with the scenario's client env)
  ip netns exec ks-client env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$STATE/client" \
    KRB5_CONFIG="$CLIENT_CONF" KRB5CCNAME="FILE:$CLIENT_CC" KRB5_TRACE="$SCEN_DIR/client.trace" \
    ${CLIENT_ENV:-} "$@"
}
kinit_user() { # [kinit options]
  client kinit "$@" "$USER_PRINC@$REALM" <<<"$USER_PW" >>"$SCEN_DIR/client.out" 2>&1 || \
    die "kinit failed (see $SCEN_DIR)"
}
curl_get() { # url [curl options] -> prints http code of the last response
  local url=$1; shift
  # --anyauth: the first request goes without credentials (401 Negotiate), as a browser does
  client curl -sS -o "$SCEN_DIR/body.txt" -w '%{http_code}\n' --anyauth -u : "$@" "$url" \
    2>>"$SCEN_DIR/client.out" | tail -1 | tee -a "$SCEN_DIR/client.out"
}

# ---------------------------------------------------------------- scenario harness
begin_scenario() { # name canon udppref forwardable
  SCEN=$1
  SCEN_DIR="$STATE/scen/$SCEN"; rm -rf "$SCEN_DIR"; mkdir -p "$SCEN_DIR"
  CLIENT_CONF=$(krb5conf "client-$SCEN" "$2" "$3" "$4")
  CLIENT_CC="$SCEN_DIR/ccache"
  CLIENT_ENV=""
  KDC_EXPORT_EXTRA=""
  : > "$STATE/logs/kdc.log.mark"; KDC_LOG_OFF=$(stat -c %s "$STATE/logs/kdc.log" 2>/dev/null || echo 0)
  flush_neigh
  log "scenario $SCEN"
}
export_keytabs() { # scenario : the keys of this run, so that `kerbscope --keytab` can prove causes
  local sc=$1 inst kt
  rm -f "$OUT/$sc".*.keytab
  # what the KDC holds now (no new keys: -norandkey), including krbtgt and the user
  kadmin "ktadd -norandkey -k $OUT/$sc.kdc.keytab krbtgt/$REALM $USER_PRINC HTTP/web1.$DOMAIN HTTP/intranet.$DOMAIN HTTP/portal.$DOMAIN HTTP/mid.$DOMAIN HTTP/back.$DOMAIN HTTP/other.$DOMAIN ${KDC_EXPORT_EXTRA:-}"
  # what each service was given (may be stale or wrong: that is the point)
  if [ -f "$SCEN_DIR/service-keytabs" ]; then
    while read -r inst kt; do cp "$kt" "$OUT/$sc.service-$inst.keytab"; done < "$SCEN_DIR/service-keytabs"
  fi
  chmod 644 "$OUT/$sc".*.keytab
}
end_scenario() { # collect logs, write expected.json + tsv
  export_keytabs "$SCEN"
  {
    echo "# $SCEN: logs of the lab run (ground truth from the components themselves)"
    echo "## client commands"; cat "$SCEN_DIR/client.out" 2>/dev/null || true
    echo "## KDC log"; tail -c +"$((KDC_LOG_OFF+1))" "$STATE/logs/kdc.log" 2>/dev/null | sed 's/^[A-Z][a-z][a-z] [0-9 ]* [0-9:]* //' || true
    local f
    for f in "$STATE"/web/*/error.log "$STATE"/web/*/hop1.log "$STATE"/web/*/server.log; do
      [ -s "$f" ] || continue
      echo "## $(basename "$(dirname "$f")") $(basename "$f")"; grep -a -v -E 'AH00558|resuming normal|Apache/2' "$f" | tail -40 || true
    done
    echo "## client KRB5_TRACE"; sed -E 's/^\[[0-9]+\] [0-9.]+: //' "$SCEN_DIR/client.trace" 2>/dev/null | head -120 || true
  } > "$OUT/$SCEN.logs.txt"
  SCEN_DIR="$SCEN_DIR" $PY "$LAB_SRC/expected.py" "$SCEN" "$OUT" >&2
}

# ---------------------------------------------------------------- scenarios
sc_healthy() {
  begin_scenario healthy true 1465 true
  start_apache web1 ks-web1 $WEB1_IP web1.$DOMAIN "$STATE/kt/web1.keytab"
  capture_start "$OUT/healthy.pcap"
  capture_start "$SCEN_DIR/sll.pcap" ks-client any LINUX_SLL
  capture_start "$SCEN_DIR/sll2.pcap" ks-client any LINUX_SLL2
  kinit_user -f
  curl_get "http://web1.$DOMAIN/"
  capture_stop "$SCEN_DIR/sll2.pcap"; capture_stop "$SCEN_DIR/sll.pcap"; capture_stop "$OUT/healthy.pcap"
  stop apache-web1
  cp "$SCEN_DIR/sll.pcap" "$OUT/healthy__sll.pcap"
  cp "$SCEN_DIR/sll2.pcap" "$OUT/healthy__sll2.pcap"
  end_scenario
}

emulate41() { # scenario from-code : writes <scenario>_emulated41.pcap and its expected files
  local src=$1 code=$2 dst="${1}_emulated41"
  log "emulating 41 from the real KRB-ERROR $code of $src"
  $PY "$LAB_SRC/emulate41.py" "$OUT/$src.pcap" "$OUT/$dst.pcap" "$code" >&2
  cp "$OUT/$src.logs.txt" "$OUT/$dst.logs.txt"
  local k; for k in "$OUT/$src".*.keytab; do cp "$k" "$OUT/$dst.${k#"$OUT/$src."}"; done
  SCEN_DIR="$SCEN_DIR" $PY "$LAB_SRC/expected.py" "$dst" "$OUT" >&2
}
vlan_variant() { # in out
  tcprewrite --enet-vlan=add --enet-vlan-tag=100 --enet-vlan-cfi=0 --enet-vlan-pri=0 -i "$1" -o "$2"
}
fact() { echo "$1=$2" >> "$SCEN_DIR/facts.env"; }   # build facts for expected.py
reset_web1() { # recreate HTTP/web1 so that every scenario starts from kvno 2 whatever ran before
  kadmin "delprinc -force HTTP/web1.$DOMAIN"; kadmin "addprinc -randkey HTTP/web1.$DOMAIN"
  rm -f "$STATE/kt/web1.keytab"; ktadd "$STATE/kt/web1.keytab" HTTP/web1.$DOMAIN; chmod 644 "$STATE/kt/web1.keytab"
}
web1_kvno() { KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" klist -k "$STATE/kt/web1.keytab" | awk '/HTTP/{print $1; exit}'; }

sc_healthy_tcp() {
  begin_scenario healthy_tcp true 1 true
  start_apache web1 ks-web1 $WEB1_IP web1.$DOMAIN "$STATE/kt/web1.keytab"
  capture_start "$OUT/healthy_tcp.pcap"
  kinit_user -f
  curl_get "http://web1.$DOMAIN/"
  capture_stop "$OUT/healthy_tcp.pcap"
  stop apache-web1
  editcap -F pcapng "$OUT/healthy_tcp.pcap" "$OUT/healthy_tcp__pcapng.pcapng"
  end_scenario
}

sc_wrong_spn_cname_unknown() {
  # portal.lab.test CNAME web2.lab.test; the service is registered as HTTP/portal.lab.test only.
  begin_scenario wrong_spn_cname_unknown true 1465 true
  start_apache web2 ks-web2 $WEB2_IP portal.$DOMAIN "$STATE/kt/portal.keytab"
  capture_start "$OUT/wrong_spn_cname_unknown.pcap"
  kinit_user -f
  curl_get "http://portal.$DOMAIN/"
  capture_stop "$OUT/wrong_spn_cname_unknown.pcap"
  stop apache-web2
  vlan_variant "$OUT/wrong_spn_cname_unknown.pcap" "$OUT/wrong_spn_cname_unknown__vlan.pcap"
  end_scenario
}

sc_wrong_spn_cname_other_account() {
  # intranet.lab.test CNAME web1.lab.test; the intranet app on web1 runs with the keytab of
  # HTTP/intranet.lab.test only; HTTP/web1.lab.test exists but belongs to another key (web1's own).
  begin_scenario wrong_spn_cname_other_account true 1465 true
  fact kdc_kvno "$(web1_kvno)"
  start_apache web1 ks-web1 $WEB1_IP intranet.$DOMAIN "$STATE/kt/intranet.keytab"
  capture_start "$OUT/wrong_spn_cname_other_account.pcap"
  kinit_user -f
  curl_get "http://intranet.$DOMAIN/"
  capture_stop "$OUT/wrong_spn_cname_other_account.pcap"
  stop apache-web1
  end_scenario
  emulate41 wrong_spn_cname_other_account 35
}

sc_alias_fixed_nocanon() {
  # same service as wrong_spn_cname_other_account, client with dns_canonicalize_hostname=false
  begin_scenario alias_fixed_nocanon false 1465 true
  start_apache web1 ks-web1 $WEB1_IP intranet.$DOMAIN "$STATE/kt/intranet.keytab"
  capture_start "$OUT/alias_fixed_nocanon.pcap"
  kinit_user -f
  curl_get "http://intranet.$DOMAIN/"
  capture_stop "$OUT/alias_fixed_nocanon.pcap"
  stop apache-web1
  end_scenario
}

sc_stale_keytab_kvno() {
  # key of HTTP/web1 rotated on the KDC (kvno+1); Apache keeps serving the old keytab
  begin_scenario stale_keytab_kvno true 1465 true
  reset_web1
  cp "$STATE/kt/web1.keytab" "$STATE/kt/web1-stale.keytab"
  rm -f "$STATE/kt/web1.keytab"; ktadd "$STATE/kt/web1.keytab" HTTP/web1.$DOMAIN; chmod 644 "$STATE/kt/web1.keytab"
  fact keytab_kvno "$(KRB5_CONFIG=$STATE/conf/krb5-kdc.conf klist -k "$STATE/kt/web1-stale.keytab" | awk '/HTTP/{print $1; exit}')"
  fact kdc_kvno "$(web1_kvno)"
  log "stale keytab: $(tr '\n' ' ' < "$SCEN_DIR/facts.env")"
  start_apache web1 ks-web1 $WEB1_IP web1.$DOMAIN "$STATE/kt/web1-stale.keytab"
  capture_start "$OUT/stale_keytab_kvno.pcap"
  kinit_user -f
  curl_get "http://web1.$DOMAIN/"
  capture_stop "$OUT/stale_keytab_kvno.pcap"
  stop apache-web1
  gzip -9 -n -c "$OUT/stale_keytab_kvno.pcap" > "$OUT/stale_keytab_kvno__gz.pcap.gz"
  end_scenario
}

sc_key_mismatch_same_kvno() {
  # the account HTTP/web1 is deleted and re-created (as when a computer account is re-joined or a
  # duplicate account takes over the SPN): the KDC's key has the same kvno as the keytab Apache
  # still uses, but it is a different key.
  begin_scenario key_mismatch_same_kvno true 1465 true
  reset_web1
  local k; k=$(web1_kvno)
  cp "$STATE/kt/web1.keytab" "$STATE/kt/web1-old.keytab"
  kadmin "delprinc -force HTTP/web1.$DOMAIN"
  kadmin "addprinc -randkey HTTP/web1.$DOMAIN"
  rm -f "$STATE/kt/web1.keytab"
  while :; do
    rm -f "$STATE/kt/web1.keytab"; ktadd "$STATE/kt/web1.keytab" HTTP/web1.$DOMAIN
    [ "$(web1_kvno)" -ge "$k" ] && break
  done
  chmod 644 "$STATE/kt/web1.keytab"
  fact keytab_kvno "$k"; fact kdc_kvno "$(web1_kvno)"
  log "old keytab kvno $k, KDC kvno $(web1_kvno) (new key)"
  start_apache web1 ks-web1 $WEB1_IP web1.$DOMAIN "$STATE/kt/web1-old.keytab"
  capture_start "$OUT/key_mismatch_same_kvno.pcap"
  kinit_user -f
  curl_get "http://web1.$DOMAIN/"
  capture_stop "$OUT/key_mismatch_same_kvno.pcap"
  stop apache-web1
  end_scenario
  emulate41 key_mismatch_same_kvno 31
}

sc_spn_missing_from_keytab() {
  # Apache on web1 is given a keytab that holds only HTTP/other.lab.test
  begin_scenario spn_missing_from_keytab true 1465 true
  fact kdc_kvno "$(web1_kvno)"
  start_apache web1 ks-web1 $WEB1_IP web1.$DOMAIN "$STATE/kt/other.keytab"
  capture_start "$OUT/spn_missing_from_keytab.pcap"
  kinit_user -f
  curl_get "http://web1.$DOMAIN/"
  capture_stop "$OUT/spn_missing_from_keytab.pcap"
  stop apache-web1
  end_scenario
}

sc_spn_missing_acceptor_silent() {
  # keytab holds only HTTP/other.lab.test and mod_auth_gssapi is told GssapiAcceptorName
  # HTTP@web1.lab.test: its acceptor credential cannot be acquired, SPNEGO has no mechanism, and
  # the AP-REQ is answered with a bare 401 "Negotiate": nothing on the wire names the cause.
  begin_scenario spn_missing_acceptor_silent true 1465 true
  start_apache web1 ks-web1 $WEB1_IP web1.$DOMAIN "$STATE/kt/other.keytab" krb5 "    GssapiAcceptorName HTTP@web1.$DOMAIN"
  capture_start "$OUT/spn_missing_acceptor_silent.pcap"
  kinit_user -f
  curl_get "http://web1.$DOMAIN/"
  capture_stop "$OUT/spn_missing_acceptor_silent.pcap"
  stop apache-web1
  end_scenario
}

deleg_scenario() { # name forwardable(kinit) curl-delegation hop1-args...
  local name=$1 fwd=$2 deleg=$3; shift 3
  begin_scenario "$name" true 1465 "$fwd"
  start_apache back ks-back $BACK_IP back.$DOMAIN "$STATE/kt/back.keytab"
  start_hop1 "$@"
  capture_start "$OUT/$name.pcap"
  if [ "$fwd" = true ]; then kinit_user -f; else kinit_user -F; fi
  if [ "$deleg" = none ]; then curl_get "http://mid.$DOMAIN/"; else curl_get "http://mid.$DOMAIN/" --delegation "$deleg"; fi
  capture_stop "$OUT/$name.pcap"
  stop hop1; stop apache-back
  cat "$SCEN_DIR/body.txt" >> "$SCEN_DIR/client.out" 2>/dev/null || true
  end_scenario
}
sc_delegation_ok() { deleg_scenario delegation_ok true always; }
sc_delegation_missing_nodeleg() { deleg_scenario delegation_missing_nodeleg true none; }
sc_delegation_missing_not_forwardable() { deleg_scenario delegation_missing_not_forwardable false always; }
sc_s4u2proxy_refused() { deleg_scenario s4u2proxy_refused true none --s4u; }

sc_ntlm_fallback_cname() {
  # as wrong_spn_cname_unknown, but gss-ntlmssp is usable on both sides: the client's SPNEGO drops
  # krb5 after KDC_ERR_S_PRINCIPAL_UNKNOWN and falls back to NTLMSSP, which succeeds.
  # The web service is lab/hop1.py with --hop2 none --default-creds (python3-gssapi accepting
  # with GSS_C_NO_CREDENTIAL): mod_auth_gssapi 1.6.4 + gss-ntlmssp 1.2.0 segfaulted here when
  # it accepted the NTLMSSP NEGOTIATE inside SPNEGO (see README).
  begin_scenario ntlm_fallback_cname true 1465 true
  printf 'LAB:alice:%s\n' "$USER_PW" > "$STATE/ntlm-users"
  local d="$STATE/web/pyweb2"; rm -rf "$d"; mkdir -p "$d"
  spawn pyweb2 ks-web2 "$d/hop1.log" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    KRB5_CONFIG="$(krb5conf srv-pyweb2 false 1465 true)" KRB5_KTNAME="FILE:$STATE/kt/portal.keytab" \
    KRB5_TRACE="$d/krb5.trace" NTLM_USER_FILE="$STATE/ntlm-users" NETBIOS_COMPUTER_NAME=WEB2 \
    NETBIOS_DOMAIN_NAME=LAB $PY "$LAB_SRC/hop1.py" --listen $WEB2_IP --port 80 \
    --keytab "$STATE/kt/portal.keytab" --principal "HTTP/portal.$DOMAIN@$REALM" --hop2 none --default-creds
  wait_port ks-web2 $WEB2_IP 80
  echo "pyweb2 $STATE/kt/portal.keytab" >> "$SCEN_DIR/service-keytabs"
  capture_start "$OUT/ntlm_fallback_cname.pcap"
  kinit_user -f
  CLIENT_ENV="NTLM_USER_FILE=$STATE/ntlm-users NTLMUSER=alice NETBIOS_COMPUTER_NAME=CLIENT NETBIOS_DOMAIN_NAME=LAB"
  curl_get "http://portal.$DOMAIN/"
  capture_stop "$OUT/ntlm_fallback_cname.pcap"
  stop pyweb2
  end_scenario
}

# ---------------------------------------------------------------- hop 2 = SMB file server / LDAP directory
# start_smbd: Samba smbd on back.lab.test, standalone (security = user, no winbind, no AD) with
# `kerberos method = dedicated keytab` (cifs/back.lab.test from the MIT KDC). The Kerberos client
# alice@LAB.TEST maps to a local account alice that exists only in ks-back (/etc/netns/ks-back/passwd,
# bind-mounted over /etc/passwd by `ip netns exec`). Share [share] is readable by alice only.
# smbd runs in its own session (setsid, same PID): on SIGTERM it signals its whole process group.
start_smbd() {
  local d="$STATE/web/smbd"; rm -rf "$d"
  mkdir -p "$d"/{lock,state,cache,private,run,ncalrpc,binddns,share}
  echo "hello from back.lab.test (smbd)" > "$d/share/hello.txt"; chmod 755 "$d" "$d/share"
  cp /etc/passwd /etc/netns/ks-back/passwd
  echo "alice:x:2001:65534:lab user alice:/nonexistent:/usr/sbin/nologin" >> /etc/netns/ks-back/passwd
  render "$LAB_SRC/templates/smb.conf" "$d/smb.conf" ROLE="file server back" NETBIOS=BACK \
    KEYTAB="$STATE/kt/cifs-back.keytab" IP="$BACK_IP" DIR="$d" LOGLEVEL=2
  spawn smbd ks-back "$d/smbd.out" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    KRB5_CONFIG="$(krb5conf srv-smbd false 1465 true)" KRB5_TRACE="$d/krb5.trace" \
    setsid smbd --foreground --no-process-group --debug-stdout -s "$d/smb.conf"
  wait_port ks-back "$BACK_IP" 445
  echo "smbd $STATE/kt/cifs-back.keytab" >> "$SCEN_DIR/service-keytabs"
}
# the smb.conf smbclient uses on hop 1 (client side only: no keytab, its own state directories)
smbclient_conf() {
  local d="$STATE/web/smbclient"; rm -rf "$d"; mkdir -p "$d"/{lock,state,cache,private,run,ncalrpc,binddns,share}
  render "$LAB_SRC/templates/smb.conf" "$d/smb.conf" ROLE="smbclient on mid" NETBIOS=MID \
    KEYTAB=/nonexistent IP="$MID_IP" DIR="$d" LOGLEVEL=1
  echo "$d/smb.conf"
}
smbd_log() { # what smbd said about the session (into the scenario's logs)
  local f="$STATE/web/smbd/smbd.out"
  [ -s "$f" ] || return 0
  mkdir -p "$STATE/web/smbd-log"
  grep -a -E 'connect to service|session setup|NT_STATUS|auth3_|guest|anonymous|Kerberos|krb5|gensec|GSS' "$f" \
    | grep -a -v -E 'GENSEC backend|account_policy' > "$STATE/web/smbd-log/server.log" || true
}
deleg_smb_scenario() { # name curl-delegation
  local name=$1 deleg=$2
  begin_scenario "$name" true 1465 true
  KDC_EXPORT_EXTRA="cifs/back.$DOMAIN"
  start_smbd
  start_hop1 --hop2 "smb://back.$DOMAIN/share" --smb-conf "$(smbclient_conf)" --work-dir "$STATE/web/hop1"
  capture_start "$OUT/$name.pcap"
  kinit_user -f
  if [ "$deleg" = none ]; then curl_get "http://mid.$DOMAIN/"; else curl_get "http://mid.$DOMAIN/" --delegation "$deleg"; fi
  capture_stop "$OUT/$name.pcap"
  stop hop1; stop smbd; smbd_log
  cat "$SCEN_DIR/body.txt" >> "$SCEN_DIR/client.out" 2>/dev/null || true
  end_scenario
  rm -rf "$STATE/web/smbd-log"
}
sc_delegation_ok_smb() { deleg_smb_scenario delegation_ok_smb always; }
sc_delegation_missing_smb() { deleg_smb_scenario delegation_missing_smb none; }

# start_slapd keytab: OpenLDAP slapd on back.lab.test:389 with SASL/GSSAPI (cyrus-sasl GSSAPI plugin on
# MIT krb5), service ldap/back.lab.test from KRB5_KTNAME; empty mdb database dc=lab,dc=test.
start_slapd() {
  local kt=$1 d="$STATE/web/slapd"; rm -rf "$d"; mkdir -p "$d/db"
  render "$LAB_SRC/templates/slapd.conf" "$d/slapd.conf" DIR="$d" NAME="back.$DOMAIN" LOGLEVEL=stats
  spawn slapd ks-back "$d/slapd.out" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    KRB5_CONFIG="$(krb5conf srv-slapd false 1465 true)" KRB5_KTNAME="FILE:$kt" KRB5_TRACE="$d/krb5.trace" \
    setsid slapd -d stats -f "$d/slapd.conf" -h "ldap://$BACK_IP/"
  wait_port ks-back "$BACK_IP" 389
  echo "slapd $kt" >> "$SCEN_DIR/service-keytabs"
}
slapd_log() {
  local f="$STATE/web/slapd/slapd.out"
  [ -s "$f" ] || return 0
  mkdir -p "$STATE/web/slapd-log"
  grep -a -E 'BIND|RESULT|SASL|WHOAMI' "$f" | sed -E 's/^[0-9a-f]+\.[0-9a-f]+ 0x[0-9a-f]+ //' \
    > "$STATE/web/slapd-log/server.log" || true
}
sc_delegation_ok_ldap() {
  begin_scenario delegation_ok_ldap true 1465 true
  KDC_EXPORT_EXTRA="ldap/back.$DOMAIN"
  start_slapd "$STATE/kt/ldap-back.keytab"
  start_hop1 --hop2 "ldap://back.$DOMAIN" --work-dir "$STATE/web/hop1"
  capture_start "$OUT/delegation_ok_ldap.pcap"
  kinit_user -f
  curl_get "http://mid.$DOMAIN/" --delegation always
  capture_stop "$OUT/delegation_ok_ldap.pcap"
  stop hop1; stop slapd; slapd_log
  cat "$SCEN_DIR/body.txt" >> "$SCEN_DIR/client.out" 2>/dev/null || true
  end_scenario
  rm -rf "$STATE/web/slapd-log"
}
sc_key_mismatch_ldap() {
  # as key_mismatch_same_kvno, for a directory: slapd keeps the old kvno-2 keytab of ldap/back while
  # the KDC's ldap/back is a re-created principal with a new key and again kvno 2. The client binds
  # directly: ldapwhoami -Y GSSAPI -H ldap://back.lab.test.
  begin_scenario key_mismatch_ldap true 1465 true
  KDC_EXPORT_EXTRA="ldap/back.$DOMAIN"
  local kt="$STATE/kt/ldap-back.keytab" k
  k=$(KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" klist -k "$kt" | awk '$2 ~ /^ldap\//{print $1; exit}')
  cp "$kt" "$STATE/kt/ldap-back-old.keytab"
  kadmin "delprinc -force ldap/back.$DOMAIN"; kadmin "addprinc -randkey ldap/back.$DOMAIN"
  while :; do
    rm -f "$kt"; ktadd "$kt" ldap/back.$DOMAIN
    [ "$(KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" klist -k "$kt" | awk '$2 ~ /^ldap\//{print $1; exit}')" -ge "$k" ] && break
  done
  chmod 644 "$kt" "$STATE/kt/ldap-back-old.keytab"
  fact keytab_kvno "$k"; fact kdc_kvno "$(KRB5_CONFIG="$STATE/conf/krb5-kdc.conf" klist -k "$kt" | awk '$2 ~ /^ldap\//{print $1; exit}')"
  start_slapd "$STATE/kt/ldap-back-old.keytab"
  capture_start "$OUT/key_mismatch_ldap.pcap"
  kinit_user -f
  CLIENT_ENV="LDAPNOINIT=1"
  client ldapwhoami -Y GSSAPI -H "ldap://back.$DOMAIN" >>"$SCEN_DIR/client.out" 2>&1 || \
    echo "ldapwhoami exit $?" >> "$SCEN_DIR/client.out"
  capture_stop "$OUT/key_mismatch_ldap.pcap"
  stop slapd; slapd_log
  end_scenario
  rm -rf "$STATE/web/slapd-log"
}

# ---------------------------------------------------------------- main
main() {
  if [ "${1:-}" = "--list" ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0; fi
  [ "$(id -u)" = 0 ] || die "needs root"
  if [ "${1:-}" = "--teardown" ]; then teardown; rm -rf "$STATE"; exit 0; fi
  local scen=("$@"); [ ${#scen[@]} -eq 0 ] && scen=("${ALL_SCENARIOS[@]}")
  for s in "${scen[@]}"; do declare -F "sc_$s" >/dev/null || die "unknown scenario $s (see --list)"; done
  install_packages
  teardown; rm -rf "$STATE"
  mkdir -p "$STATE"/{pids,conf,logs,web,scen,client,run} "$OUT"
  # KERBSCOPE_LAB_KEEP=1 leaves the lab running for manual poking (remove with --teardown)
  [ "${KERBSCOPE_LAB_KEEP:-0}" = 1 ] || trap 'teardown; rm -rf "$STATE"' EXIT
  setup_net
  setup_dns
  setup_kdc
  for s in "${scen[@]}"; do "sc_$s"; done
  log "done: $OUT"
}
main "$@"
