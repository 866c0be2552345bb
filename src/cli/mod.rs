//! Command-line front end. Exit status (SPEC.md): 0 nothing at or above `warning`, 1 findings at
//! or above `warning`, 2 bad usage or an input that is not a readable capture. A closed pipe
//! (`kerbscope events x.pcap | head`) ends the run quietly with 0, as ripgrep does.

mod analyze;
mod args;
mod events;
mod explain;
mod sniff;

use std::io;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Outcome of a subcommand that ran to its end.
pub enum Outcome {
    /// Everything was read; nothing to flag.
    Clean,
    /// Findings at or above `warning`.
    Findings,
    /// At least one input could not be read (the others were still processed).
    InputError,
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(&a),
        Command::Events(a) => events::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Sniff(a) => sniff::run(&a),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::InputError) => ExitCode::from(2),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kerbscope: {e}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}
