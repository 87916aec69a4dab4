//! The Rust surface of the cross-surface differential test (`tests/differential/run.py`):
//! reads a plan of inputs and prints one verdict per input, so the driver can compare it
//! with the C library, the Python wheel and the CLI on the same bytes.
//!
//! ```text
//! cargo run --release -p xconnauth --example verdicts < PLAN
//! ```
//!
//! The plan comes on standard input (it runs to hundreds of megabytes, so it is read a
//! line at a time), one record per line, every byte string hex-encoded (so any byte, newlines and
//! non-UTF-8 included, survives the trip):
//!
//! - `G <jwks hex> <policy json hex> <now>` starts a group: the verifier for what follows;
//! - `T <hex>` a token for `Verifier::verify`;
//! - `H <hex>` an `Authorization` value for `Verifier::verify_header_bytes`.
//!
//! For each `T`/`H` line it prints `ok <payload json hex>` or the error code. A group
//! whose key set or policy is refused prints `config <message>` and stops the run: the
//! driver only builds groups every surface accepts.

use std::error::Error as StdError;
use std::io::{self, BufRead, BufWriter, Write};

use xconnauth::{KeySet, Policy, Verifier};

type Result<T> = std::result::Result<T, Box<dyn StdError>>;

fn unhex(text: &str) -> Result<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd-length hex ({} digits)", text.len()).into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            let pair = text.get(i..i + 2).ok_or("hex is not ASCII")?;
            Ok(u8::from_str_radix(pair, 16)?)
        })
        .collect()
}

fn write_hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    bytes.iter().try_for_each(|b| write!(out, "{b:02x}"))
}

fn main() -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut current: Option<(Verifier, u64)> = None;
    for (number, record) in io::stdin().lock().lines().enumerate() {
        let record = record?;
        let fields: Vec<&str> = record.split(' ').collect();
        match fields.as_slice() {
            ["G", jwks, policy, now] => {
                let keys = KeySet::from_jwks(&unhex(jwks)?);
                let policy = Policy::from_json(&unhex(policy)?);
                match (keys, policy) {
                    (Ok(keys), Ok(policy)) => match Verifier::new(keys, policy) {
                        Ok(v) => current = Some((v, now.parse()?)),
                        Err(e) => {
                            writeln!(out, "config {e}")?;
                            return Ok(());
                        }
                    },
                    (Err(e), _) | (_, Err(e)) => {
                        writeln!(out, "config {e}")?;
                        return Ok(());
                    }
                }
            }
            [kind @ ("T" | "H"), data] => {
                let (verifier, now) = current
                    .as_ref()
                    .ok_or_else(|| format!("line {}: an input before any group", number + 1))?;
                let data = unhex(data)?;
                let result = if *kind == "T" {
                    verifier.verify(&data, *now)
                } else {
                    verifier.verify_header_bytes(&data, *now)
                };
                match result {
                    Ok(token) => {
                        out.write_all(b"ok ")?;
                        write_hex(&mut out, token.payload_json().as_bytes())?;
                        out.write_all(b"\n")?;
                    }
                    Err(e) => writeln!(out, "{}", e.code())?,
                }
            }
            _ => return Err(format!("line {}: not a plan record", number + 1).into()),
        }
    }
    out.flush()?;
    Ok(())
}
