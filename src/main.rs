//! The `kerbscope` command: a thin entry point. Arguments become a validated configuration in
//! `cli::args`, each subcommand lives in its own file, and errors end here as one line on stderr.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
