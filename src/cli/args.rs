//! Command-line flags (clap derive). Kept close to the raw flags; validation that needs more
//! than clap happens in each subcommand before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Print every decoded DNS, Kerberos and HTTP-authentication message as NDJSON, one per line.
    Events(EventsArgs),
    /// What a Kerberos error code (number or name) means and what to check.
    Explain(ExplainArgs),
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
