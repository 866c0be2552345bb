//! Host and service names as the rules compare them: SPN parts, Host headers without ports,
//! DNS presentation escapes undone, the SPN service class of each carrier.

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
