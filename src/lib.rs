//! kerbscope: explains why Kerberos / Negotiate authentication broke, from packet captures.
//!
//! Data flows one way, and the module tree follows it:
//!
//! ```text
//! capture/  frames from pcap, pcapng, NetMon files (optionally gzip) or an interface
//!   → net/       link layers, IPv4/IPv6 (+ fragment reassembly), TCP stream reassembly
//!   → proto/     pure decoders over &[u8]: kerberos, dns, http, gss (SPNEGO / krb5 GSS), ntlm
//!   → dissect/   per-connection application framing, turns decoded messages into events
//!   → event      typed, serialisable events (what `kerbscope events` prints)
//!   → analyze/   correlation and findings (one rule per file)
//!   → report/    text, json, ndjson, markdown, html
//! ```
//!
//! Decoders never know about findings; rules never parse bytes.
//!
//! No unsafe code, with three reviewed exceptions, each with its SAFETY argument: memory-mapping
//! a capture file (`capture::reader::map_plain_file`), the only way to read a file without
//! copying it; a cache prefetch hint for walking records (`capture::prefetch`); and in the
//! segmented walk of a mapped pcap (`pipeline::segmented`) `MADV_DONTNEED` on pages already
//! decoded.
#![deny(unsafe_code)]
// Hostile input must never panic: outside tests no unwrap, expect, panic! or unchecked index /
// slice anywhere in the library (clippy enforces it in CI).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod analyze;
pub mod capture;
pub mod crypto;
pub mod dissect;
pub mod event;
pub mod net;
pub mod pipeline;
pub mod proto;
pub mod report;
// (cli lives in the binary crate: src/main.rs, src/cli/)
