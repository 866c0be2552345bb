//! Command-line flags (clap derive). Kept close to the raw flags; validation that needs more
//! than clap happens in each subcommand before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "kerbscope",
    version,
    about = "Explains why Kerberos / Negotiate authentication broke, from packet captures"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Diagnose why Kerberos / Negotiate authentication failed, with evidence frames and fixes.
    Analyze(AnalyzeArgs),
    /// Print every decoded DNS, Kerberos and HTTP-authentication message as NDJSON, one per line.
    Events(EventsArgs),
    /// What a Kerberos error code (number or name) means and what to check.
    Explain(ExplainArgs),
    /// Capture live on an interface (mirror/SPAN port); findings stream out as they are proven.
    Sniff(SniffArgs),
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Capture files (pcap, pcapng, NetMon .cap; optionally gzip-compressed).
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Worker threads for several captures (default: all cores). Output is identical for every N.
    #[arg(short = 'j', long = "threads", value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A Kerberos error code (`41`, `0x29`) or name (`KRB_AP_ERR_MODIFIED`, `KRB5KRB_AP_ERR_MODIFIED`).
    #[arg(value_name = "CODE|NAME")]
    pub code: String,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files (pcap, pcapng, NetMon .cap; optionally gzip-compressed) or directories of them.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Report format [default: text on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write the report to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the frames the findings cite (plus their TCP handshakes) to this pcapng file.
    #[arg(long, value_name = "FILE.pcapng")]
    pub evidence: Option<PathBuf>,
    /// Worker threads (default: all cores). Output is identical for every N.
    #[arg(short = 'j', long = "threads", value_name = "N")]
    pub threads: Option<usize>,
    /// Leave out findings below this severity [default: info].
    #[arg(long, value_enum)]
    pub min_severity: Option<SeverityArg>,
    /// Replace user, host and realm names by stable tokens.
    #[arg(long)]
    pub redact: bool,
    /// Keytab to decrypt tickets and authenticators with (repeatable).
    #[arg(long, value_name = "FILE")]
    pub keytab: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Ndjson,
    Markdown,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SeverityArg {
    Info,
    Warning,
    Error,
}

#[derive(Args, Debug)]
pub struct SniffArgs {
    /// Interface to capture on (`any`: every interface).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "list_interfaces"
    )]
    pub interface: Option<String>,
    /// BPF capture filter [default: TCP, Kerberos and DNS over UDP, IP fragments, also 802.1Q-tagged].
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// Stop after this many seconds (default: until SIGINT / SIGTERM).
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: u32,
    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// List the interfaces that can be captured on, then exit.
    #[arg(long)]
    pub list_interfaces: bool,
    /// Streamed findings: text or ndjson; the final report is also written in this format
    /// (json, markdown, html: nothing streams on stdout) [default: text on a terminal, ndjson otherwise].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write the final report to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the frames the findings cite (with TCP context) to this pcapng file at the end.
    #[arg(long, value_name = "FILE.pcapng")]
    pub evidence: Option<PathBuf>,
    /// Keep every captured frame in pcapng files: FILE, then FILE-stem.<first frame>.pcapng.
    #[arg(short = 'w', long = "write", value_name = "FILE.pcapng")]
    pub write: Option<PathBuf>,
    /// Size of one `-w` file in MiB before the next is started.
    #[arg(long, value_name = "MIB", default_value_t = 100)]
    pub rotate_mib: u64,
    /// `-w` files kept (the oldest is deleted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub rotate_files: usize,
    /// Correlation window in seconds: events older than this are forgotten.
    #[arg(long, value_name = "S", default_value_t = 300)]
    pub window: u64,
    /// Most events held in the correlation window.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub max_events: usize,
    /// Kernel capture buffer in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub buffer_mib: u32,
    /// Seconds between statistics lines on stderr (0: none).
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub stats_interval: u64,
    /// Leave out findings below this severity [default: info].
    #[arg(long, value_enum)]
    pub min_severity: Option<SeverityArg>,
}
