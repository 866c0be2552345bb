//! The `kerbscope` command: a thin entry point. Arguments become a validated configuration in
//! `cli::args`, each subcommand lives in its own file, and errors end here as one line on stderr.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
