//! Following CNAME chains through a decoded message (RFC 1034 §3.6.2: an alias has exactly one
//! CNAME, and the chain ends at the canonical name, which holds the addresses).
//!
//! Servers put chain links in any section (sv__dns-additionals-with-cname has one in the
//! additional section) and change the case of names between links, so lookups search every
//! section and compare case-insensitively. A chain that revisits a name stops there.

use std::net::IpAddr;

use super::{DnsMessage, Record, RrType};

/// Longest chain followed; resolvers give up well before this (BIND: 16 restarts).
const MAX_CHAIN: usize = 32;

/// Names compare case-insensitively (RFC 4343) and with or without the root's trailing dot.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

impl DnsMessage {
    /// Keeps what resolving names needs and nothing else: the first question's name and type
    /// and the address (A, AAAA) and CNAME records of every section, in their order. The other
    /// questions, flags and records (OPT, SOA, SRV, ...) are dropped and the vectors' spare
    /// room is given back: a message kept for a long time then costs a third of its decoded
    /// size. `cname_chain` and `addresses_for` answer exactly as before.
    pub fn retain_resolution(&mut self) {
        let resolves = |r: &Record| matches!(r.rtype, RrType::A | RrType::AAAA | RrType::CNAME);
        for section in [&mut self.answers, &mut self.authority, &mut self.additional] {
            section.retain(resolves);
            section.shrink_to_fit();
            for r in section.iter_mut() {
                r.name.shrink_to_fit();
                r.data.shrink_to_fit();
            }
        }
        if let Some(q) = &mut self.qname {
            q.shrink_to_fit();
        }
        self.questions = Vec::new();
        self.flags = Vec::new();
        self.anomalies.shrink_to_fit();
    }

    fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(self.authority.iter())
            .chain(self.additional.iter())
    }

    /// (alias, canonical) links in chain order, starting at the first question's name.
    pub fn cname_chain(&self) -> Vec<(String, String)> {
        match &self.qname {
            Some(qname) => self.chain_from(qname),
            None => Vec::new(),
        }
    }

    /// (alias, canonical) links starting at `name`.
    pub fn chain_from(&self, name: &str) -> Vec<(String, String)> {
        let mut links: Vec<(String, String)> = Vec::new();
        let mut current = name.to_string();
        while links.len() < MAX_CHAIN {
            let Some(cname) = self
                .records()
                .find(|r| r.rtype == RrType::CNAME && same_name(&r.name, &current))
            else {
                break;
            };
            let target = cname.data.clone();
            let seen = same_name(&target, name) || links.iter().any(|(_, c)| same_name(c, &target));
            links.push((current, target.clone()));
            if seen {
                break;
            }
            current = target;
        }
        links
    }

    /// Every CNAME target in the message, in section order (what tshark lists as `dns.cname`).
    pub fn cname_targets(&self) -> Vec<&str> {
        self.records()
            .filter(|r| r.rtype == RrType::CNAME)
            .map(|r| r.data.as_str())
            .collect()
    }

    /// A and AAAA addresses of the name `name` finally resolves to, following its CNAME chain.
    pub fn addresses_for(&self, name: &str) -> Vec<IpAddr> {
        let chain = self.chain_from(name);
        let end = chain
            .last()
            .map_or(name, |(_, canonical)| canonical.as_str());
        let mut addresses: Vec<IpAddr> = Vec::new();
        for record in self.records() {
            let is_address = record.rtype == RrType::A || record.rtype == RrType::AAAA;
            if is_address
                && same_name(&record.name, end)
                && let Ok(address) = record.data.parse::<IpAddr>()
                && !addresses.contains(&address)
            {
                addresses.push(address);
            }
        }
        addresses
    }
}
