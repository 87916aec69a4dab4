//! `xconnauth inspect`: decode without verifying, for debugging only.

use std::io::{self, Write};

use serde_json::{Map, Value as Json};
use xconnauth::dangerous::decode_unverified;
use xconnauth::{Error, ErrorKind, MAX_TOKEN_BYTES_LIMIT};

use crate::args::InspectArgs;
use crate::input::read_line;
use crate::output::{parse_decoded, to_json_line, to_json_pretty, Colour, Style};
use crate::{Status, UsageError, STDIN_TOKEN};

/// The first line of every human `inspect` result.
pub(crate) const BANNER: &str = "UNVERIFIED: signature, issuer and expiry have NOT been checked";

/// The key naming the verdict in `--json` output (always `false` here).
const VERDICT_KEY: &str = "verified";

/// Runs `inspect`: 0 when every token decodes, 1 when one does not, 2 on I/O errors.
pub(crate) fn run(args: &InspectArgs) -> Status {
    let style = Style::detect(args.json);
    match inspect_all(args, style) {
        Ok(status) => status,
        Err(err) => {
            let _ = writeln!(
                io::stderr(),
                "error: {}",
                crate::terminal::escaped(&err.to_string())
            );
            Status::Usage
        }
    }
}

fn inspect_all(args: &InspectArgs, style: Style) -> Result<Status, UsageError> {
    let mut out = io::stdout().lock();
    if args.token != STDIN_TOKEN {
        let ok = inspect_one(args.token.as_encoded_bytes(), style, &mut out)?;
        return Ok(if ok { Status::Valid } else { Status::Invalid });
    }
    let mut input = io::stdin().lock();
    let mut all_ok = true;
    let mut first = true;
    // No policy here, so the core's largest configurable token size is the bound.
    while let Some(line) =
        read_line(&mut input, MAX_TOKEN_BYTES_LIMIT).map_err(UsageError::input)?
    {
        if !first && !style.json {
            writeln!(out).map_err(UsageError::output)?;
        }
        first = false;
        let ok = if line.truncated {
            let err = Error::new(
                ErrorKind::TooLarge,
                "the token is longer than the largest accepted size",
            );
            writeln!(out, "{}", style.rejected(&err, VERDICT_KEY)).map_err(UsageError::output)?;
            false
        } else {
            inspect_one(&line.bytes, style, &mut out)?
        };
        all_ok &= ok;
    }
    out.flush().map_err(UsageError::output)?;
    Ok(if all_ok {
        Status::Valid
    } else {
        Status::Invalid
    })
}

/// Decodes one token and prints it; returns whether it decoded.
fn inspect_one(token: &[u8], style: Style, out: &mut impl Write) -> Result<bool, UsageError> {
    let mut buf = vec![0u8; token.len()];
    let text = match decode_unverified(token, &mut buf) {
        Ok(decoded) => {
            let header = parse_decoded(decoded.header.as_json())?;
            let claims = parse_decoded(decoded.payload.as_json())?;
            render(style, header, claims)
        }
        Err(err) => {
            writeln!(out, "{}", style.rejected(&err, VERDICT_KEY)).map_err(UsageError::output)?;
            return Ok(false);
        }
    };
    writeln!(out, "{text}").map_err(UsageError::output)?;
    Ok(true)
}

fn render(style: Style, header: Json, claims: Json) -> String {
    if style.json {
        let mut obj = Map::new();
        obj.insert(VERDICT_KEY.into(), Json::Bool(false));
        obj.insert("header".into(), header);
        obj.insert("claims".into(), claims);
        to_json_line(&Json::Object(obj))
    } else {
        format!(
            "{}\nheader:\n{}\nclaims:\n{}",
            style.paint(BANNER, Colour::Yellow),
            to_json_pretty(&header),
            to_json_pretty(&claims)
        )
    }
}
