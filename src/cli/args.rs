//! Command-line flags (clap derive). Kept close to the raw flags; validation that needs more
//! than clap happens in each subcommand before any work starts.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kerbscope::crypto::Keyring;

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
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Keys that let a run open tickets and authenticators (`analyze` and `events`).
#[derive(Args, Debug, Default)]
pub struct KeyArgs {
    /// Keytab to decrypt tickets and authenticators with (repeatable).
    #[arg(long, value_name = "FILE")]
    pub keytab: Vec<PathBuf>,
    /// Principal (user@REALM) whose password-derived keys are used too (repeatable). The
    /// password is read from $KERBSCOPE_PASSWORD, else from the terminal without echo.
    #[arg(long, value_name = "PRINCIPAL")]
    pub password: Vec<String>,
}

/// The environment variable a `--password` is read from before the terminal is asked.
pub const PASSWORD_ENV: &str = "KERBSCOPE_PASSWORD";

impl KeyArgs {
    /// The keys given, or `None` when none were asked for. An unreadable keytab or a password
    /// that cannot be had is an error naming the file or principal and the reason.
    pub fn load(&self) -> Result<Option<Arc<Keyring>>, String> {
        if self.keytab.is_empty() && self.password.is_empty() {
            return Ok(None);
        }
        let mut ring = Keyring::new();
        for path in &self.keytab {
            let kt = Keyring::load_keytab(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if kt.is_empty() {
                eprintln!(
                    "kerbscope: warning: {}: no key of a supported encryption type ({} unsupported)",
                    path.display(),
                    kt.unsupported
                );
            }
            ring.merge(kt);
        }
        for principal in &self.password {
            let password = match std::env::var(PASSWORD_ENV) {
                Ok(p) => p,
                Err(_) => rpassword::prompt_password(format!("Password for {principal}: "))
                    .map_err(|e| {
                        format!("--password {principal}: cannot read the password from the terminal ({e}); set {PASSWORD_ENV}")
                    })?,
            };
            ring.add_password(principal, &password, None)
                .map_err(|e| format!("--password {principal}: {e}"))?;
        }
        Ok(Some(Arc::new(ring)))
    }
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
    #[command(flatten)]
    pub keys: KeyArgs,
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
