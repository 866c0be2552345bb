//! The correlated view of one capture that the rules read: KDC exchanges (request matched to
//! reply), DNS answers per client (name → CNAME chain → addresses) and application connections
//! with their authentication steps in order. Built once from the events; rules never see bytes.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use crate::capture::Timestamp;
use crate::event::{Event, EventBody};
use crate::proto::kerberos::KrbMessage;

pub use super::names::{dns_unescape, host_only, service_class, spn_host, spn_service};
pub use super::step::{AuthStep, StepCarrier};

/// A request to a KDC and the answer it got (either may be missing from the capture).
pub struct KdcExchange<'a> {
    pub client: IpAddr,
    pub kdc: IpAddr,
    pub request: Option<(&'a Event, &'a KrbMessage)>,
    pub reply: Option<(&'a Event, &'a KrbMessage)>,
}

impl<'a> KdcExchange<'a> {
    /// "AS" or "TGS", from whichever side was captured.
    pub fn is_tgs(&self) -> bool {
        let t = self
            .request
            .map(|(_, m)| m.msg_type.as_str())
            .or(self.reply.map(|(_, m)| m.msg_type.as_str()));
        matches!(t, Some("TGS-REQ") | Some("TGS-REP"))
    }
    pub fn is_as(&self) -> bool {
        let t = self
            .request
            .map(|(_, m)| m.msg_type.as_str())
            .or(self.reply.map(|(_, m)| m.msg_type.as_str()));
        matches!(t, Some("AS-REQ") | Some("AS-REP"))
    }
    /// The service the client asked for (request sname, else the error's / reply's sname).
    pub fn sname(&self) -> Option<&'a str> {
        self.request
            .and_then(|(_, m)| m.sname.as_deref())
            .or(self.reply.and_then(|(_, m)| m.sname.as_deref()))
    }
    pub fn error_code(&self) -> Option<i32> {
        self.reply
            .filter(|(_, m)| m.msg_type == "KRB-ERROR")
            .and_then(|(_, m)| m.error_code)
    }
    pub fn succeeded(&self) -> bool {
        self.reply
            .is_some_and(|(_, m)| m.msg_type == "TGS-REP" || m.msg_type == "AS-REP")
    }
    pub fn request_has_option(&self, name: &str) -> bool {
        self.request
            .is_some_and(|(_, m)| m.kdc_options.contains(&name))
    }
    /// A TGS-REQ for a krbtgt with the FORWARDED option: the client asks for a TGT to hand to
    /// a service (unconstrained delegation).
    pub fn is_forwarded_tgt_request(&self) -> bool {
        self.is_tgs()
            && self.request_has_option("forwarded")
            && self
                .sname()
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("krbtgt/"))
    }
    pub fn is_s4u2proxy(&self) -> bool {
        self.request.is_some_and(|(_, m)| m.s4u2proxy)
    }
    pub fn frames(&self) -> Vec<u64> {
        self.request
            .iter()
            .chain(self.reply.iter())
            .map(|(e, _)| e.frame)
            .collect()
    }
    pub fn first_ts(&self) -> Timestamp {
        self.request
            .or(self.reply)
            .map(|(e, _)| e.ts)
            .unwrap_or_default()
    }
}

/// A DNS response that resolved `qname` for `client`, possibly through CNAMEs.
pub struct DnsAnswer<'a> {
    pub event: &'a Event,
    pub client: IpAddr,
    /// Lower-case names from the question to the canonical name: [alias, ..., canonical].
    pub chain: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

/// An application connection: HTTP (or WinRM), SMB, LDAP, DCE/RPC or DNS TKEY, with its
/// authentication steps in capture order.
pub struct AppConn<'a> {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Host header of the first request that named one (HTTP only).
    pub host: Option<String>,
    pub winrm: bool,
    /// `http`, `smb`, `ldap`, `dcerpc` or `dns`.
    pub carrier: &'static str,
    pub steps: Vec<AuthStep<'a>>,
}

impl AppConn<'_> {
    pub fn first_ts(&self) -> Timestamp {
        self.steps.first().map(|s| s.event.ts).unwrap_or_default()
    }
    pub fn last_ts(&self) -> Timestamp {
        self.steps.last().map(|s| s.event.ts).unwrap_or_default()
    }
    /// `http`, `winrm`, `smb`, `ldap`, `dcerpc` or `dns`.
    pub fn transport(&self) -> &'static str {
        if self.winrm { "winrm" } else { self.carrier }
    }

    /// The SPN service class of this connection's server: `HTTP`, `cifs`, `ldap`, ...
    pub fn service_class(&self) -> &'static str {
        service_class(self.carrier)
    }
}

/// Everything the rules see about one capture.
pub struct Model<'a> {
    pub capture: &'a str,
    pub kdc: Vec<KdcExchange<'a>>,
    pub dns: Vec<DnsAnswer<'a>>,
    pub conns: Vec<AppConn<'a>>,
    /// Client principal names seen per client address (AS-REQ / KDC reply cname), in order.
    pub users: HashMap<IpAddr, String>,
    pub realms: HashMap<IpAddr, String>,
    /// The highest frame the model's events show, or that the capture is otherwise known to
    /// reach: a step left unanswered before it was abandoned, not cut off by the capture's end.
    pub last_frame: u64,
}

impl<'a> Model<'a> {
    pub fn build(capture: &'a str, events: &'a [Event]) -> Model<'a> {
        let mut kdc: Vec<KdcExchange<'a>> = Vec::new();
        // Open requests by (client, client port, kdc, kdc port) → index into `kdc`.
        let mut open: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
        let mut dns = Vec::new();
        let mut conns: Vec<AppConn<'a>> = Vec::new();
        let mut conn_index: HashMap<u64, usize> = HashMap::new();
        let mut users = HashMap::new();
        let mut realms = HashMap::new();
        // A DNS answer matters to the rules only for a client that also talks to a KDC or
        // authenticates to a service (every rule pairs the two); the others, most answers on
        // SPAN traffic, are not worth resolving into chains and addresses.
        let authenticating = authenticating_addresses(events);
        let mut last_answer = 0;

        for ev in events {
            let src = SocketAddr::new(ev.src, ev.sport);
            let dst = SocketAddr::new(ev.dst, ev.dport);
            match &ev.body {
                EventBody::Kerberos(k) => {
                    let m = &k.message;
                    let is_request = matches!(m.msg_type.as_str(), "AS-REQ" | "TGS-REQ");
                    if is_request {
                        if m.msg_type == "AS-REQ"
                            && let Some(c) = &m.cname
                        {
                            users.insert(ev.src, c.clone());
                        }
                        if let Some(r) = &m.realm {
                            realms.insert(ev.src, r.clone());
                        }
                        open.insert((src, dst), kdc.len());
                        kdc.push(KdcExchange {
                            client: ev.src,
                            kdc: ev.dst,
                            request: Some((ev, m)),
                            reply: None,
                        });
                    } else if matches!(m.msg_type.as_str(), "AS-REP" | "TGS-REP" | "KRB-ERROR") {
                        if let Some(c) = &m.cname
                            && m.msg_type != "KRB-ERROR"
                        {
                            users.insert(ev.dst, c.clone());
                        }
                        match open.remove(&(dst, src)) {
                            Some(i) if kdc.get(i).is_some_and(|x| x.reply.is_none()) => {
                                if let Some(x) = kdc.get_mut(i) {
                                    x.reply = Some((ev, m));
                                }
                            }
                            _ => kdc.push(KdcExchange {
                                client: ev.dst,
                                kdc: ev.src,
                                request: None,
                                reply: Some((ev, m)),
                            }),
                        }
                    }
                }
                EventBody::Dns(d) => {
                    let msg = &d.message;
                    if !msg.response {
                        continue;
                    }
                    let Some(qname) = msg.qname.as_deref() else {
                        continue;
                    };
                    last_answer = last_answer.max(ev.frame);
                    if !authenticating.contains(&ev.dst) {
                        continue;
                    }
                    let mut chain = vec![qname.trim_end_matches('.').to_ascii_lowercase()];
                    for (_, canonical) in msg.cname_chain() {
                        chain.push(canonical.trim_end_matches('.').to_ascii_lowercase());
                    }
                    let end = chain.last().cloned().unwrap_or_default();
                    let addresses = msg.addresses_for(&end);
                    // Names as the other protocols carry them (raw bytes), not in DNS
                    // presentation form (`\027`), so a Host header or an SPN compares equal.
                    let chain = chain.iter().map(|n| dns_unescape(n)).collect();
                    dns.push(DnsAnswer {
                        event: ev,
                        client: ev.dst,
                        chain,
                        addresses,
                    });
                }
                EventBody::Http(h) => {
                    let Some(conn) = ev.conn else { continue };
                    let from_client = h.method.is_some();
                    let Some(c) = conn_for(
                        &mut conns,
                        &mut conn_index,
                        conn,
                        src,
                        dst,
                        from_client,
                        "http",
                    ) else {
                        continue;
                    };
                    if c.host.is_none() {
                        c.host = h.host.as_ref().map(|x| host_only(x).to_ascii_lowercase());
                    }
                    c.winrm |= h.winrm;
                    c.steps.push(AuthStep {
                        event: ev,
                        carrier: StepCarrier::Http(h),
                        from_client,
                    });
                }
                EventBody::Spnego(g) | EventBody::Ntlm(g) => {
                    let Some(conn) = ev.conn else { continue };
                    let from_client = !g.response;
                    let Some(c) = conn_for(
                        &mut conns,
                        &mut conn_index,
                        conn,
                        src,
                        dst,
                        from_client,
                        g.transport,
                    ) else {
                        continue;
                    };
                    c.steps.push(AuthStep {
                        event: ev,
                        carrier: StepCarrier::Gss(g),
                        from_client,
                    });
                }
            }
        }
        let steps = conns
            .iter()
            .flat_map(|c| c.steps.iter().map(|s| s.event.frame));
        let exchanges = kdc.iter().flat_map(|x| x.frames());
        // `last_answer` covers every answer, those of `dns` included.
        let last_frame = steps.chain(exchanges).max().unwrap_or(0).max(last_answer);
        Model {
            capture,
            kdc,
            dns,
            conns,
            users,
            realms,
            last_frame,
        }
    }

    /// The host name the client used for `conn`'s server, from what the capture shows: the HTTP
    /// Host header, the host of the Kerberos ticket it presented there, the name DNS resolved to
    /// that address for the client before the connection, or the DNS name the server announced
    /// in its NTLM CHALLENGE. None when the capture names it nowhere.
    pub fn server_name(&self, conn: &AppConn<'_>) -> Option<String> {
        if let Some(h) = &conn.host {
            return Some(h.clone());
        }
        let from_ticket = conn
            .steps
            .iter()
            .filter(|s| s.from_client)
            .filter_map(|s| s.kerberos()?.ticket.as_ref())
            .find_map(|t| spn_host(&t.sname));
        if from_ticket.is_some() {
            return from_ticket;
        }
        let first = conn.steps.first().map_or(0, |s| s.event.frame);
        let from_dns = self
            .dns
            .iter()
            .rev()
            .filter(|a| a.client == conn.client.ip() && a.event.frame <= first)
            .find(|a| a.addresses.contains(&conn.server.ip()))
            .and_then(|a| a.chain.first().cloned());
        if from_dns.is_some() {
            return from_dns;
        }
        conn.steps
            .iter()
            .filter(|s| !s.from_client)
            .filter_map(|s| s.ntlm()?.av_pairs.as_ref()?.dns_computer.clone())
            .find(|n| !n.is_empty())
            .map(|n| n.to_ascii_lowercase())
    }

    /// The CNAME chain `client` was given for `name` (lower case) at or before `frame`.
    pub fn chains_from(
        &self,
        client: IpAddr,
        canonical: &str,
        before_frame: u64,
    ) -> Vec<&DnsAnswer<'a>> {
        self.dns
            .iter()
            .filter(|a| {
                a.client == client
                    && a.event.frame <= before_frame
                    && a.chain.len() > 1
                    && a.chain.last().is_some_and(|c| c == canonical)
            })
            .collect()
    }
}

/// Addresses that send or receive a Kerberos message or an application authentication step
/// (the events other than DNS that `Model::build` reads).
fn authenticating_addresses(events: &[Event]) -> HashSet<IpAddr> {
    let mut out = HashSet::new();
    for ev in events {
        let used = match &ev.body {
            EventBody::Dns(_) => false,
            EventBody::Kerberos(_) => true,
            EventBody::Http(_) | EventBody::Spnego(_) | EventBody::Ntlm(_) => ev.conn.is_some(),
        };
        if used {
            out.insert(ev.src);
            out.insert(ev.dst);
        }
    }
    out
}

/// The connection `conn` belongs to, created on first sight with the client on the side that
/// sent a request.
fn conn_for<'m, 'a>(
    conns: &'m mut Vec<AppConn<'a>>,
    index: &mut HashMap<u64, usize>,
    conn: u64,
    src: SocketAddr,
    dst: SocketAddr,
    from_client: bool,
    carrier: &'static str,
) -> Option<&'m mut AppConn<'a>> {
    let i = *index.entry(conn).or_insert_with(|| {
        let (client, server) = if from_client { (src, dst) } else { (dst, src) };
        conns.push(AppConn {
            client,
            server,
            host: None,
            winrm: false,
            carrier,
            steps: Vec::new(),
        });
        conns.len() - 1
    });
    conns.get_mut(i)
}

impl<'a> Model<'a> {
    /// The client's KDC exchanges for `sname` (case-insensitive) at or before `frame`.
    pub fn tgs_for(
        &self,
        client: std::net::IpAddr,
        sname: &str,
        frame: u64,
    ) -> Vec<&KdcExchange<'a>> {
        self.kdc
            .iter()
            .filter(|x| {
                x.client == client
                    && x.is_tgs()
                    && x.first_frame() <= frame
                    && x.sname().is_some_and(|s| s.eq_ignore_ascii_case(sname))
            })
            .collect()
    }
}

impl KdcExchange<'_> {
    pub fn first_frame(&self) -> u64 {
        self.request
            .or(self.reply)
            .map(|(e, _)| e.frame)
            .unwrap_or(0)
    }
}
