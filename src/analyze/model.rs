//! The correlated view of one capture that the rules read: KDC exchanges (request matched to
//! reply), DNS answers per client (name → CNAME chain → addresses) and application connections
//! with their authentication steps in order. Built once from the events; rules never see bytes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::capture::Timestamp;
use crate::crypto::TicketProof;
use crate::event::{Event, EventBody, GssEvent, HttpEvent, OutcomeState};
use crate::proto::credssp::CredsspToken;
use crate::proto::gss::GssToken;
use crate::proto::kerberos::KrbMessage;
use crate::proto::ntlm::NtlmMessage;

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

/// What carried an authentication step: an HTTP message or a carrier exchange (SMB session
/// setup, LDAP bind, DCE/RPC bind, DNS TKEY).
#[derive(Clone, Copy)]
pub enum StepCarrier<'a> {
    Http(&'a HttpEvent),
    Gss(&'a GssEvent),
}

/// One authentication-relevant message on an application connection.
pub struct AuthStep<'a> {
    pub event: &'a Event,
    pub carrier: StepCarrier<'a>,
    /// True for client → server (requests).
    pub from_client: bool,
}

impl<'a> AuthStep<'a> {
    pub fn gss(&self) -> Option<&'a GssToken> {
        match self.carrier {
            StepCarrier::Http(h) => h.gss.as_ref(),
            StepCarrier::Gss(g) => g.gss.as_ref(),
        }
    }
    pub fn kerberos(&self) -> Option<&'a KrbMessage> {
        self.gss().and_then(GssToken::kerberos)
    }
    pub fn ntlm(&self) -> Option<&'a NtlmMessage> {
        self.gss().and_then(GssToken::ntlm)
    }
    /// With keys given: what they proved about this step's Kerberos message (empty otherwise).
    pub fn proofs(&self) -> &'a [TicketProof] {
        match self.carrier {
            StepCarrier::Http(h) => &h.proofs,
            StepCarrier::Gss(g) => &g.proofs,
        }
    }
    /// The proof about one part: `ticket`, `authenticator`, `enc-part`, `delegated-ticket`.
    pub fn proof(&self, what: &str) -> Option<&'a TicketProof> {
        self.proofs().iter().find(|p| p.what == what)
    }
    /// A carrier's failure in words: "LDAP bind-response 49 invalidCredentials",
    /// "SMB session-setup 0xc000006d STATUS_LOGON_FAILURE".
    pub fn refusal(&self) -> Option<String> {
        let StepCarrier::Gss(g) = self.carrier else {
            return None;
        };
        let o = g
            .outcome
            .as_ref()
            .filter(|o| o.state == OutcomeState::Failure)?;
        let name = o
            .name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        Some(format!(
            "{} {} {}{name}",
            g.transport.to_ascii_uppercase(),
            g.operation,
            o.code
        ))
    }
    /// HTTP status of a response step (carriers have none).
    pub fn status(&self) -> Option<u16> {
        match self.carrier {
            StepCarrier::Http(h) => h.status,
            StepCarrier::Gss(_) => None,
        }
    }
    /// The server's final answer: an HTTP status of 200 or more, or a carrier verdict other
    /// than "continue".
    pub fn is_final_answer(&self) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => h.status.is_some_and(|s| s >= 200),
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state != OutcomeState::Continue),
        }
    }
    /// A carrier answer that asks for another leg (SMB MORE_PROCESSING_REQUIRED, LDAP
    /// saslBindInProgress).
    pub fn continues(&self) -> bool {
        match self.carrier {
            StepCarrier::Http(_) => false,
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state == OutcomeState::Continue),
        }
    }
    /// The server let the client in (HTTP 2xx/3xx, carrier success).
    pub fn accepted(&self) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => h.status.is_some_and(|s| (200..400).contains(&s)),
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state == OutcomeState::Success),
        }
    }
    /// The server refused the client (HTTP 401/403, carrier failure).
    pub fn refused(&self) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => h.status.is_some_and(|s| s == 401 || s == 403),
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state == OutcomeState::Failure),
        }
    }
    /// The HTTP message of this step (`None` on SMB, LDAP, DCE/RPC, DNS carriers).
    pub fn http(&self) -> Option<&'a HttpEvent> {
        match self.carrier {
            StepCarrier::Http(h) => Some(h),
            StepCarrier::Gss(_) => None,
        }
    }
    /// The header's scheme is CredSSP (MS-CSSP over WinRM): a client leg `Authorization:
    /// CredSSP <TLS records>` or a server's `WWW-Authenticate: CredSSP [<TLS records>]`.
    pub fn is_credssp(&self) -> bool {
        self.http()
            .and_then(|h| h.scheme.as_deref())
            .is_some_and(|s| s.eq_ignore_ascii_case("CredSSP"))
    }
    /// The TLS records of this step's CredSSP token (`None` without a CredSSP token).
    pub fn credssp(&self) -> Option<&'a CredsspToken> {
        self.http()
            .filter(|_| self.is_credssp())
            .and_then(|h| h.credssp.as_ref())
    }
    /// The schemes of a `WWW-Authenticate` / `Proxy-Authenticate` step: its scheme and the others
    /// offered in the same header (empty for requests and other headers).
    pub fn challenges(&self) -> Vec<&'a str> {
        let Some(h) = self.http().filter(|h| {
            !self.from_client
                && h.header
                    .as_deref()
                    .is_some_and(|x| x.ends_with("-Authenticate"))
        }) else {
            return Vec::new();
        };
        h.scheme
            .iter()
            .chain(h.also_offered.iter())
            .map(String::as_str)
            .collect()
    }
    /// The response offered `scheme` (a WWW-Authenticate challenge or the challenge list). On a
    /// carrier, a server token that is SPNEGO (SMB's negotiate hint, a SPNEGO reply) offers
    /// `Negotiate`.
    pub fn offers(&self, scheme: &str) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => {
                h.scheme
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
                    || h.also_offered
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(scheme))
            }
            StepCarrier::Gss(g) => {
                scheme.eq_ignore_ascii_case("Negotiate")
                    && g.gss
                        .as_ref()
                        .is_some_and(|t| t.kind().starts_with("spnego"))
            }
        }
    }
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

/// The SPN service class a carrier's server registers (`cifs/host` for SMB, ...).
pub fn service_class(carrier: &str) -> &'static str {
    match carrier {
        "smb" => "cifs",
        "ldap" => "ldap",
        "dcerpc" => "host",
        "dns" => "DNS",
        _ => "HTTP",
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
                    let c = conn_for(
                        &mut conns,
                        &mut conn_index,
                        conn,
                        src,
                        dst,
                        from_client,
                        "http",
                    );
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
                    let c = conn_for(
                        &mut conns,
                        &mut conn_index,
                        conn,
                        src,
                        dst,
                        from_client,
                        g.transport,
                    );
                    c.steps.push(AuthStep {
                        event: ev,
                        carrier: StepCarrier::Gss(g),
                        from_client,
                    });
                }
            }
        }
        Model {
            capture,
            kdc,
            dns,
            conns,
            users,
            realms,
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
) -> &'m mut AppConn<'a> {
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
    &mut conns[i]
}

/// A DNS name in presentation form (RFC 1035 §5.1: `\DDD` a byte in decimal, `\X` a literal
/// X) back to its characters; bytes above 0x7f become the Latin-1 character of that value.
pub fn dns_unescape(name: &str) -> String {
    if !name.contains('\\') {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let digits: String = chars.clone().take(3).collect();
        match digits.parse::<u8>() {
            Ok(byte) if digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                out.push(char::from(byte));
                chars.nth(2);
            }
            _ => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
        }
    }
    out
}

/// `host:port` → `host` (IPv6 literals in brackets keep their brackets off).
pub fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The host part of an SPN `SERVICE/host[:port][/extra]`, lower case.
pub fn spn_host(spn: &str) -> Option<String> {
    let (_, rest) = spn.split_once('/')?;
    let host = rest.split('/').next()?;
    Some(host_only(host).to_ascii_lowercase())
}

/// The service part of an SPN (`HTTP`, `cifs`, ...).
pub fn spn_service(spn: &str) -> Option<&str> {
    spn.split_once('/').map(|(s, _)| s)
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
