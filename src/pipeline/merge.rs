//! Deterministic merge of the workers' results: events by frame number (every frame went to
//! exactly one worker, so a frame's events come from one worker, already in decoding order),
//! connection ids renumbered by first appearance in the merged list (worker-local ids would
//! depend on the sharding), and counters summed.

use std::collections::HashMap;

use crate::dissect::{AllStats, DissectStats};
use crate::event::Event;
use crate::net::{NetStats, TcpStats};

/// Merges per-worker outputs, each sorted by frame, into one list sorted by frame.
pub(super) fn merge(outputs: Vec<(Vec<Event>, AllStats)>) -> (Vec<Event>, AllStats) {
    let mut stats = AllStats::default();
    let total: usize = outputs.iter().map(|(e, _)| e.len()).sum();
    let mut heads = Vec::with_capacity(outputs.len());
    for (events, s) in outputs {
        add_stats(&mut stats, &s);
        heads.push(events.into_iter().peekable());
    }
    let mut merged = Vec::with_capacity(total);
    let mut conns: HashMap<(usize, u64), u64> = HashMap::new();
    loop {
        // Few workers: a linear scan for the smallest head beats a heap. Ties go to the lower
        // worker (they cannot happen when each frame went to one worker).
        let mut best: Option<(usize, u64)> = None;
        for (i, it) in heads.iter_mut().enumerate() {
            if let Some(e) = it.peek()
                && best.is_none_or(|(_, f)| e.frame < f)
            {
                best = Some((i, e.frame));
            }
        }
        let Some((i, _)) = best else {
            break;
        };
        let Some(mut event) = heads.get_mut(i).and_then(Iterator::next) else {
            break;
        };
        if let Some(c) = event.conn {
            let next = conns.len() as u64;
            event.conn = Some(*conns.entry((i, c)).or_insert(next));
        }
        merged.push(event);
    }
    (merged, stats)
}

/// `a.f += b.f` for every listed field; the exhaustive pattern makes a new counter a compile
/// error here until it is added to the merge.
macro_rules! add_fields {
    ($a:expr, $b:expr, $T:ident { $($f:ident),* $(,)? }) => {{
        let $T { $($f),* } = $b;
        $( $a.$f += *$f; )*
    }};
}

pub(super) fn add_stats(a: &mut AllStats, b: &AllStats) {
    let AllStats { app, net, tcp } = b;
    add_fields!(
        a.app,
        app,
        DissectStats {
            kerberos_messages,
            kerberos_malformed,
            dns_messages,
            dns_responses,
            dns_malformed,
            dns_answers_set_aside,
            dns_pending_cap_hits,
            http_messages,
            http_auth_headers,
            http_malformed,
            http_resyncs,
            tokens_malformed,
            tcp_connections_kerberos,
            tcp_connections_dns,
            tcp_connections_http,
            tcp_gaps_seen,
            smb_auth_messages,
            smb_malformed,
            dcerpc_binding_pdus,
            dcerpc_malformed,
            ldap_binds,
            ldap_simple_binds,
            ldap_malformed,
            carrier_malformed,
            carrier_resyncs,
            carrier_oversize,
            carrier_abandoned,
            tcp_connections_smb,
            tcp_connections_dcerpc,
            tcp_connections_ldap,
            dns_pointer_limit_hits,
            asn1_depth_limit_hits,
            asn1_length_overruns,
            http_header_limit_hits,
            http_head_size_limit_hits,
            token_size_limit_hits,
        }
    );
    add_fields!(
        a.net,
        net,
        NetStats {
            frames,
            unknown_link_type,
            non_ip,
            link_malformed,
            ipv4,
            ipv6,
            ip_malformed,
            ip_truncated,
            fragments,
            fragments_malformed,
            fragments_duplicate,
            fragments_overlap,
            datagrams_reassembled,
            fragments_dropped_limit,
            fragments_timed_out,
            udp,
            udp_bad_length,
            tcp,
            l4_malformed,
            icmp,
            other_protocol,
            tunnels,
            tunnel_unsupported,
            encapsulation_too_deep,
        }
    );
    add_fields!(
        a.tcp,
        tcp,
        TcpStats {
            streams,
            segments,
            untracked_segments,
            retransmitted,
            overlaps,
            out_of_order,
            gaps,
            gap_bytes,
            acked_unseen,
            bad_seq,
            stream_cap_hits,
            ooo_cap_hits,
            global_cap_hits,
            conn_cap_hits,
            conns_evicted,
            idle_timeouts,
            midstream_pickups,
            reused,
            closed_fin,
            closed_rst,
        }
    );
}
