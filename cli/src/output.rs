//! Rendering results: one JSON object per token (`--json`) or one human line.
//!
//! Everything printed from a token passes through an escape step: claim values are
//! attacker-chosen, and a raw ESC or C1 control in a terminal could rewrite the screen
//! (e.g. turn an `INVALID` into a `VALID`).

use std::io::IsTerminal;

use serde_json::{Map, Value as Json};
use xconnauth::{Error, Value, VerifiedToken};

use crate::terminal;
use crate::UsageError;

/// The `error` code printed for configuration problems (the C API's name for them).
const INVALID_CONFIG: &str = "invalid_config";

/// ANSI colours for the verdict word.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Colour {
    Green,
    Red,
    Yellow,
}

/// How results are printed: JSON or human, and whether human output may use colour.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub(crate) json: bool,
    colour: bool,
}

impl Style {
    /// Colour only for a human reading a terminal who has not opted out with `NO_COLOR`.
    pub(crate) fn detect(json: bool) -> Style {
        let colour =
            !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Style { json, colour }
    }

    /// `word` in `colour` when colour is on.
    pub(crate) fn paint(&self, word: &str, colour: Colour) -> String {
        if !self.colour {
            return word.to_owned();
        }
        let code = match colour {
            Colour::Green => "32",
            Colour::Red => "31",
            Colour::Yellow => "33",
        };
        format!("\x1b[1;{code}m{word}\x1b[0m")
    }

    /// The line for a token that passed verification.
    pub(crate) fn verified(&self, token: &VerifiedToken) -> Result<String, UsageError> {
        if self.json {
            let mut obj = Map::new();
            obj.insert("valid".into(), Json::Bool(true));
            obj.insert("header".into(), parse_decoded(token.header_json())?);
            obj.insert("claims".into(), parse_decoded(token.payload_json())?);
            Ok(to_json_line(&Json::Object(obj)))
        } else {
            Ok(format!(
                "{} {}",
                self.paint("VALID", Colour::Green),
                summary(token)
            ))
        }
    }

    /// The line for a rejected token.
    pub(crate) fn rejected(&self, err: &Error, verified_key: &str) -> String {
        if self.json {
            error_json(verified_key, err.code(), &err.detail().to_string())
        } else {
            // Display is "<code>: <message>"; messages should never echo token bytes,
            // and are escaped in case one ever does.
            let text = terminal::escaped(&err.to_string());
            format!("{} {text}", self.paint("INVALID", Colour::Red))
        }
    }

    /// The line for a configuration or usage problem (exit status 2).
    pub(crate) fn config_error(&self, err: &UsageError, verified_key: &str) -> String {
        if self.json {
            error_json(verified_key, INVALID_CONFIG, &err.to_string())
        } else {
            // File names and fetched text can hold anything too.
            format!("error: {}", terminal::escaped(&err.to_string()))
        }
    }
}

/// `{"<verified_key>":false,"error":...,"message":...}`; `verified_key` is `valid` for
/// `verify` and `verified` for `inspect`.
fn error_json(verified_key: &str, code: &str, message: &str) -> String {
    let mut obj = Map::new();
    obj.insert(verified_key.into(), Json::Bool(false));
    obj.insert("error".into(), Json::String(code.into()));
    obj.insert("message".into(), Json::String(message.into()));
    to_json_line(&Json::Object(obj))
}

/// Parses JSON text the core has already validated (header or payload). With
/// `preserve_order` and `arbitrary_precision`, member order and numbers such as
/// `1751328120.25` survive exactly.
pub(crate) fn parse_decoded(text: &str) -> Result<Json, UsageError> {
    serde_json::from_str(text).map_err(|e| {
        UsageError::new(format!(
            "internal error: validated token JSON did not re-parse: {e}"
        ))
    })
}

/// Compact JSON on one line, with control characters escaped.
pub(crate) fn to_json_line(value: &Json) -> String {
    escape_controls(&value.to_string())
}

/// Indented JSON, with control characters escaped.
pub(crate) fn to_json_pretty(value: &Json) -> String {
    // Serialising a `Value` cannot fail: its keys are strings.
    escape_controls(&serde_json::to_string_pretty(value).unwrap_or_default())
}

/// serde_json escapes C0 controls in strings but emits DEL, C1 controls and bidi/format characters
/// raw. In its output such characters can only sit inside strings, where `\uHHHH` is
/// an equivalent spelling, so replacing them keeps the JSON identical in meaning while
/// making it safe to show in a terminal.
fn escape_controls(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // A raw newline can only be pretty-printing layout: inside strings serde_json
        // has already written it as `\n`.
        if c != '\n' && is_unsafe_for_terminal(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that a terminal may act on or that reorder or hide the visible text
/// (Unicode `Cc`, `Cf`, `Zl`, `Zp`; see [`terminal`]).
fn is_unsafe_for_terminal(c: char) -> bool {
    terminal::is_unsafe(c)
}

/// A token-derived string, quoted and escaped for a single human line.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || is_unsafe_for_terminal(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// `sub=".." azp=".." iss=".." aud=".." scope=".." exp=<date> realm_roles=".."
/// client_roles=".."`, each field only when the token has it.
fn summary(token: &VerifiedToken) -> String {
    let claims = token.claims();
    let roles: Vec<String> = claims.realm_roles().map(|r| r.to_string()).collect();
    let quoted_fields = [
        ("sub", claims.sub().map(|s| s.to_string())),
        ("azp", claims.azp().map(|s| s.to_string())),
        ("iss", claims.iss().map(|s| s.to_string())),
        (
            "aud",
            claims.aud().map(|a| join(a.iter().map(|s| s.to_string()))),
        ),
        ("scope", claims.scope().map(|s| s.to_string())),
    ];
    let mut fields: Vec<String> = quoted_fields
        .into_iter()
        .filter_map(|(name, value)| Some(format!("{name}={}", quoted(&value?))))
        .collect();
    if let Some(exp) = claims.exp() {
        fields.push(format!("exp={}", format_unix_time(exp)));
    }
    let role_fields = [
        ("realm_roles", (!roles.is_empty()).then(|| roles.join(","))),
        ("client_roles", client_roles(claims.get("resource_access"))),
    ];
    fields.extend(
        role_fields
            .into_iter()
            .filter_map(|(name, value)| Some(format!("{name}={}", quoted(&value?)))),
    );
    fields.join(" ")
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

/// `client:role` for every role in `resource_access`, comma-separated.
fn client_roles(resource_access: Option<Value<'_>>) -> Option<String> {
    let access = resource_access?.as_object()?;
    let mut pairs = Vec::new();
    for (client, entry) in access.iter() {
        let roles = entry
            .as_object()
            .and_then(|o| o.get("roles"))
            .and_then(|v| v.as_array());
        for role in roles
            .iter()
            .flat_map(|a| a.iter())
            .filter_map(|v| v.as_str())
        {
            pairs.push(format!("{client}:{role}"));
        }
    }
    (!pairs.is_empty()).then(|| pairs.join(","))
}

/// Unix seconds as an RFC 3339 UTC timestamp, e.g. `2025-11-24T16:59:00Z`.
pub(crate) fn format_unix_time(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's
/// `civil_from_days`, restricted to non-negative days (NumericDates are never negative
/// here), so it is exact without a date crate.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year, March-based
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_unix_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_unix_time(1_764_003_540), "2025-11-24T16:59:00Z");
        assert_eq!(format_unix_time(4_102_444_799), "2099-12-31T23:59:59Z");
        // 2^53 s is far beyond any calendar anyone cares about, but must not overflow.
        assert!(format_unix_time(1 << 53).ends_with('Z'));
    }

    #[test]
    fn terminal_escapes_are_neutralised() {
        assert_eq!(
            escape_controls("{\"a\":\"x\u{9b}2J\u{7f}\u{202e}\"}"),
            "{\"a\":\"x\\u009b2J\\u007f\\u202e\"}"
        );
        assert_eq!(quoted("a \"b\"\u{1b}[31m"), "\"a \\\"b\\\"\\u{1b}[31m\"");
        // Issue 17: format characters beyond bidi overrides (the Arabic letter mark,
        // soft hyphen, tags) are escaped too.
        assert_eq!(
            quoted("a\u{61c}\u{ad}\u{e0041}\u{2069}"),
            "\"a\\u{61c}\\u{ad}\\u{e0041}\\u{2069}\""
        );
        assert_eq!(
            escape_controls("\"\u{61c}\u{e0041}\""),
            "\"\\u061c\\udb40\\udc41\""
        );
        let v: Json =
            serde_json::from_str(&escape_controls("\"\u{85}\u{2028}\"")).unwrap_or_default();
        assert_eq!(v, Json::String("\u{85}\u{2028}".into()));
    }

    #[test]
    fn plain_style_has_no_ansi() {
        let style = Style {
            json: false,
            colour: false,
        };
        assert_eq!(style.paint("VALID", Colour::Green), "VALID");
        let style = Style {
            json: false,
            colour: true,
        };
        assert_eq!(
            style.paint("VALID", Colour::Green),
            "\x1b[1;32mVALID\x1b[0m"
        );
    }
}
