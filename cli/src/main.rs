//! `xconnauth`: verify or inspect Keycloak-issued JWT bearer tokens from the shell.
//!
//! ```text
//! xconnauth verify --jwks FILE|URL --issuer ISS [options] [--json] TOKEN|-
//! xconnauth inspect [--json] TOKEN|-
//! ```
//!
//! Exit status (DESIGN §7): 0 valid, 1 invalid token, 2 usage or configuration error.
//! All verification is done by the `xconnauth` core; this crate only reads inputs
//! (files, URLs, stdin) and prints results.

mod args;
mod config;
mod input;
mod inspect;
mod output;
mod source;
mod terminal;
mod verify;

use std::fmt;
use std::io;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// The TOKEN argument that selects batch mode (one token per stdin line).
pub(crate) const STDIN_TOKEN: &str = "-";

/// The process exit status (DESIGN §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Every token is valid (or, for `inspect`, decoded).
    Valid,
    /// At least one token is invalid.
    Invalid,
    /// Usage or configuration error.
    Usage,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(match status {
            Status::Valid => 0,
            Status::Invalid => 1,
            Status::Usage => 2,
        })
    }
}

/// A usage, configuration or I/O problem: the caller's setup, not the token, is at
/// fault, so the exit status is 2.
#[derive(Debug)]
pub(crate) struct UsageError(String);

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }

    /// Reading standard input failed.
    pub(crate) fn input(err: io::Error) -> Self {
        UsageError(format!("cannot read standard input: {err}"))
    }

    /// Writing standard output failed (e.g. a closed pipe).
    pub(crate) fn output(err: io::Error) -> Self {
        UsageError(format!("cannot write standard output: {err}"))
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    // clap prints help/version and exits 0, and exits 2 on usage errors.
    let cli = Cli::parse();
    let status = match &cli.command {
        Command::Verify(args) => verify::run(args),
        Command::Inspect(args) => inspect::run(args),
    };
    status.into()
}
