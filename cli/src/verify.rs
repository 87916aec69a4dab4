//! `xconnauth verify`.

use std::io::{self, Write};

use crate::args::VerifyArgs;
use crate::config::{build_verifier, Keys};
use crate::input::read_line;
use crate::output::Style;
use crate::{Status, UsageError, STDIN_TOKEN};

/// The key naming the verdict in `--json` output.
const VERDICT_KEY: &str = "valid";

/// Runs `verify`: exit status 0 when every token is valid, 1 when one is not, 2 on a
/// configuration error.
pub(crate) fn run(args: &VerifyArgs) -> Status {
    let style = Style::detect(args.json);
    match verify_all(args, style) {
        Ok(status) => status,
        Err(err) => {
            report_config_error(style, &err);
            Status::Usage
        }
    }
}

/// Configuration errors go to stdout as JSON with `--json` (a script reads one stream),
/// else to stderr.
fn report_config_error(style: Style, err: &UsageError) {
    let line = style.config_error(err, VERDICT_KEY);
    // Nothing sensible is left to do if even this write fails (e.g. a closed pipe).
    let _ = if style.json {
        writeln!(io::stdout(), "{line}")
    } else {
        writeln!(io::stderr(), "{line}")
    };
}

fn verify_all(args: &VerifyArgs, style: Style) -> Result<Status, UsageError> {
    let verifier = build_verifier(args)?;
    let now = args.now.or_else(xconnauth::now).ok_or_else(|| {
        UsageError::new("the system clock reads before 1970; pass --now UNIX_SECONDS")
    })?;
    let mut out = io::stdout().lock();
    if args.token == STDIN_TOKEN {
        verify_stdin(&verifier, now, style, &mut out)
    } else {
        let valid = verify_one(
            &verifier,
            args.token.as_encoded_bytes(),
            now,
            style,
            &mut out,
        )?;
        Ok(if valid {
            Status::Valid
        } else {
            Status::Invalid
        })
    }
}

/// Verifies one token and prints its line; returns whether it was valid.
fn verify_one(
    verifier: &Keys,
    token: &[u8],
    now: u64,
    style: Style,
    out: &mut impl Write,
) -> Result<bool, UsageError> {
    let (line, valid) = match verifier.verify(token, now) {
        Ok(verified) => (style.verified(&verified)?, true),
        Err(err) => (style.rejected(&err, VERDICT_KEY), false),
    };
    writeln!(out, "{line}").map_err(UsageError::output)?;
    Ok(valid)
}

/// Batch mode: one token per stdin line, one result line each, a summary on stderr.
fn verify_stdin(
    verifier: &Keys,
    now: u64,
    style: Style,
    out: &mut impl Write,
) -> Result<Status, UsageError> {
    // Two bytes above the limit leave room for a CRLF; anything cut at this cap is
    // longer than max_token_bytes and fails as too_large, just as the whole line would.
    let cap = verifier.policy().max_token_bytes.saturating_add(2);
    let mut input = io::stdin().lock();
    let (mut valid, mut invalid) = (0u64, 0u64);
    while let Some(line) = read_line(&mut input, cap).map_err(UsageError::input)? {
        if verify_one(verifier, &line.bytes, now, style, out)? {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    out.flush().map_err(UsageError::output)?;
    eprintln!(
        "{} tokens: {valid} valid, {invalid} invalid",
        valid + invalid
    );
    Ok(if invalid == 0 {
        Status::Valid
    } else {
        Status::Invalid
    })
}
