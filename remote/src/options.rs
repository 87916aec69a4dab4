//! Engine options and their one JSON parser (shared by the C ABI, the CLI and Python).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use xconnauth::ConfigError;

/// How the engine fetches and caches keys. `Default` gives the documented defaults;
/// change fields with the `with_*` setters (the struct is `#[non_exhaustive]`, so new
/// options can be added without breaking callers).
///
/// ```
/// use std::time::Duration;
/// use xconnauth_remote::Options;
/// let o = Options::default()
///     .with_timeout(Duration::from_secs(2))
///     .with_ca_file("/etc/ssl/internal-ca.pem");
/// assert_eq!(o.max_bytes, 1 << 20);
/// assert_eq!(o.refresh_cooldown, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// One overall deadline per fetch: connect, headers and body together, including
    /// the one retry of a transient error (5 s). A discovery and the JWKS fetch that
    /// follows it share one deadline.
    pub timeout: Duration,
    /// Largest response body read; reading stops at `max_bytes + 1` (1 MiB).
    pub max_bytes: usize,
    /// Cache lifetime when the response has no usable `Cache-Control: max-age` (300 s).
    pub default_ttl: Duration,
    /// Lower bound of the cache lifetime; also what `no-store`/`no-cache` get (60 s).
    pub min_ttl: Duration,
    /// Upper bound of the cache lifetime (86,400 s).
    pub max_ttl: Duration,
    /// After an attempt ends (success or failure), no fetch of that issuer starts for
    /// this long because of an unknown kid (10 s).
    pub refresh_cooldown: Duration,
    /// Extra PEM bundle added to the system's trust store (for a private CA).
    pub ca_file: Option<PathBuf>,
    /// [`RemoteVerifier::new`](crate::RemoteVerifier::new) fetches every issuer at once
    /// and fails if any fetch fails (`false`: fetch lazily, on first use).
    pub fail_fast: bool,
    /// For event-loop hosts: an unknown kid starts a refresh and answers at once,
    /// instead of waiting up to `timeout` for it (`false`).
    pub non_blocking: bool,
    /// Issuer → JWKS URL: skip discovery for these issuers.
    pub jwks_uris: BTreeMap<String, String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(5),
            max_bytes: 1 << 20,
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(86_400),
            refresh_cooldown: Duration::from_secs(10),
            ca_file: None,
            fail_fast: false,
            non_blocking: false,
            jwks_uris: BTreeMap::new(),
        }
    }
}

/// Largest `max_bytes` accepted: the core refuses larger JWKS documents anyway.
const MAX_MAX_BYTES: usize = xconnauth::MAX_JWKS_BYTES;

/// Longest duration accepted for any option (a year): beyond it a typo is likelier
/// than intent, and `Instant` arithmetic stays far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

impl Options {
    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, v: Duration) -> Self {
        self.timeout = v;
        self
    }
    /// Sets [`max_bytes`](Self::max_bytes).
    #[must_use]
    pub fn with_max_bytes(mut self, v: usize) -> Self {
        self.max_bytes = v;
        self
    }
    /// Sets [`default_ttl`](Self::default_ttl).
    #[must_use]
    pub fn with_default_ttl(mut self, v: Duration) -> Self {
        self.default_ttl = v;
        self
    }
    /// Sets [`min_ttl`](Self::min_ttl).
    #[must_use]
    pub fn with_min_ttl(mut self, v: Duration) -> Self {
        self.min_ttl = v;
        self
    }
    /// Sets [`max_ttl`](Self::max_ttl).
    #[must_use]
    pub fn with_max_ttl(mut self, v: Duration) -> Self {
        self.max_ttl = v;
        self
    }
    /// Sets [`refresh_cooldown`](Self::refresh_cooldown).
    #[must_use]
    pub fn with_refresh_cooldown(mut self, v: Duration) -> Self {
        self.refresh_cooldown = v;
        self
    }
    /// Sets [`ca_file`](Self::ca_file).
    #[must_use]
    pub fn with_ca_file(mut self, v: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(v.into());
        self
    }
    /// Sets [`fail_fast`](Self::fail_fast).
    #[must_use]
    pub fn with_fail_fast(mut self, v: bool) -> Self {
        self.fail_fast = v;
        self
    }
    /// Sets [`non_blocking`](Self::non_blocking).
    #[must_use]
    pub fn with_non_blocking(mut self, v: bool) -> Self {
        self.non_blocking = v;
        self
    }
    /// Adds a [`jwks_uris`](Self::jwks_uris) entry: `issuer`'s keys come from `url`,
    /// without discovery.
    #[must_use]
    pub fn with_jwks_uri(mut self, issuer: impl Into<String>, url: impl Into<String>) -> Self {
        self.jwks_uris.insert(issuer.into(), url.into());
        self
    }

    /// Parses options from a JSON object. The C `options_json`, the CLI and Python all
    /// go through this one parser. Names are the field names; durations are seconds as
    /// JSON numbers (fractions allowed); `ca_file` is a path string; `jwks_uris` an
    /// object of strings. Absent names keep their defaults.
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = xconnauth_remote::Options::from_json(br#"{"timeout": 2.5, "fail_fast": true,
    ///     "jwks_uris": {"https://kc/realms/a": "https://kc/realms/a/certs"}}"#)?;
    /// assert_eq!(o.timeout, Duration::from_millis(2500));
    /// assert!(o.fail_fast);
    /// assert!(xconnauth_remote::Options::from_json(br#"{"timeuot": 2}"#).is_err());
    /// # Ok::<(), xconnauth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// Not a JSON object, an unknown name, a wrong type, or a value
    /// [`validate`](Self::validate) refuses.
    pub fn from_json(json: &[u8]) -> Result<Options, ConfigError> {
        let doc: Value = serde_json::from_slice(json)
            .map_err(|e| ConfigError::new(format!("options are not JSON: {e}")))?;
        let Value::Object(map) = doc else {
            return Err(ConfigError::new("options must be a JSON object"));
        };
        let mut o = Options::default();
        for (name, value) in &map {
            match name.as_str() {
                "timeout" => o.timeout = seconds(name, value)?,
                "max_bytes" => {
                    o.max_bytes = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| wrong(name, "a non-negative integer"))?;
                }
                "default_ttl" => o.default_ttl = seconds(name, value)?,
                "min_ttl" => o.min_ttl = seconds(name, value)?,
                "max_ttl" => o.max_ttl = seconds(name, value)?,
                "refresh_cooldown" => o.refresh_cooldown = seconds(name, value)?,
                "ca_file" => {
                    o.ca_file = match value {
                        Value::Null => None,
                        Value::String(s) => Some(PathBuf::from(s)),
                        _ => return Err(wrong(name, "a path string or null")),
                    };
                }
                "fail_fast" => o.fail_fast = boolean(name, value)?,
                "non_blocking" => o.non_blocking = boolean(name, value)?,
                "jwks_uris" => {
                    let Value::Object(uris) = value else {
                        return Err(wrong(name, "an object of issuer to URL strings"));
                    };
                    for (issuer, url) in uris {
                        let Value::String(url) = url else {
                            return Err(wrong(name, "an object of issuer to URL strings"));
                        };
                        o.jwks_uris.insert(issuer.clone(), url.clone());
                    }
                }
                other => {
                    return Err(ConfigError::new(format!(
                        "unknown option \"{other}\" (known: timeout, max_bytes, default_ttl, \
                         min_ttl, max_ttl, refresh_cooldown, ca_file, fail_fast, non_blocking, \
                         jwks_uris)"
                    )))
                }
            }
        }
        o.validate()?;
        Ok(o)
    }

    /// Checks the values: `timeout` above zero, `min_ttl` above zero and at most
    /// `max_ttl`, `max_bytes` in `1..=1 MiB`, every duration at most a year.
    ///
    /// # Errors
    /// The first value out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::new("option timeout must be above zero"));
        }
        if self.min_ttl.is_zero() {
            return Err(ConfigError::new("option min_ttl must be above zero"));
        }
        if self.min_ttl > self.max_ttl {
            return Err(ConfigError::new("option min_ttl is above max_ttl"));
        }
        if self.max_bytes == 0 || self.max_bytes > MAX_MAX_BYTES {
            return Err(ConfigError::new(format!(
                "option max_bytes must be in 1..={MAX_MAX_BYTES}"
            )));
        }
        for (name, d) in [
            ("timeout", self.timeout),
            ("default_ttl", self.default_ttl),
            ("max_ttl", self.max_ttl),
            ("refresh_cooldown", self.refresh_cooldown),
        ] {
            if d > MAX_DURATION {
                return Err(ConfigError::new(format!(
                    "option {name} is longer than a year"
                )));
            }
        }
        Ok(())
    }

    /// The cache lifetime for a response with this `Cache-Control` value: `max-age`
    /// clamped into `min_ttl..=max_ttl`; `no-store`/`no-cache` give `min_ttl`;
    /// absent or unreadable, `default_ttl` (clamped too).
    #[must_use]
    pub fn ttl_for(&self, cache_control: Option<&str>) -> Duration {
        let clamp = |d: Duration| d.clamp(self.min_ttl, self.max_ttl);
        let Some(cc) = cache_control else {
            return clamp(self.default_ttl);
        };
        let mut max_age = None;
        for directive in cc.split(',') {
            let directive = directive.trim();
            let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
            let name = name.trim();
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return self.min_ttl;
            }
            if name.eq_ignore_ascii_case("max-age") {
                let value = value.trim().trim_matches('"');
                // RFC 9111 §1.2.2: a delta-seconds too large to hold saturates.
                if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                    max_age = Some(value.parse::<u64>().unwrap_or(u64::MAX));
                }
            }
        }
        match max_age {
            Some(s) => clamp(Duration::from_secs(s)),
            None => clamp(self.default_ttl),
        }
    }
}

fn wrong(name: &str, want: &str) -> ConfigError {
    ConfigError::new(format!("option {name} must be {want}"))
}

fn boolean(name: &str, v: &Value) -> Result<bool, ConfigError> {
    v.as_bool().ok_or_else(|| wrong(name, "true or false"))
}

fn seconds(name: &str, v: &Value) -> Result<Duration, ConfigError> {
    let s = v
        .as_f64()
        .ok_or_else(|| wrong(name, "a number of seconds"))?;
    if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&s) {
        return Err(wrong(name, "a number of seconds from 0 to a year"));
    }
    Duration::try_from_secs_f64(s).map_err(|_| wrong(name, "a number of seconds"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_errors() {
        for bad in [
            &b"[]"[..],
            b"{\"timeout\":0}",
            b"{\"timeout\":-1}",
            b"{\"timeout\":\"5\"}",
            b"{\"min_ttl\":100,\"max_ttl\":50}",
            b"{\"min_ttl\":0}",
            b"{\"max_bytes\":0}",
            b"{\"max_bytes\":1.5}",
            b"{\"fail_fast\":1}",
            b"{\"jwks_uris\":{\"a\":1}}",
            b"{\"ca_file\":7}",
            b"{\"nope\":true}",
            b"{\"timeout\":1e30}",
        ] {
            assert!(
                Options::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let o = Options::from_json(b"{}").unwrap();
        assert_eq!(o, Options::default());
        let o = Options::from_json(
            br#"{"timeout":0.25,"max_bytes":1000,"default_ttl":30,"min_ttl":1,"max_ttl":60,
                "refresh_cooldown":0,"ca_file":"ca.pem","non_blocking":true}"#,
        )
        .unwrap();
        assert_eq!(o.timeout, Duration::from_millis(250));
        assert_eq!(o.refresh_cooldown, Duration::ZERO);
        assert_eq!(o.ca_file, Some(PathBuf::from("ca.pem")));
        assert!(o.non_blocking && !o.fail_fast);
    }

    #[test]
    fn ttl_from_cache_control() {
        let o = Options::default();
        let s = Duration::from_secs;
        assert_eq!(o.ttl_for(None), s(300));
        assert_eq!(o.ttl_for(Some("public, max-age=600")), s(600));
        assert_eq!(o.ttl_for(Some("Max-Age=\"120\"")), s(120));
        assert_eq!(o.ttl_for(Some("max-age=5")), s(60));
        assert_eq!(
            o.ttl_for(Some("max-age=99999999999999999999999")),
            s(86_400)
        );
        assert_eq!(o.ttl_for(Some("no-cache, max-age=600")), s(60));
        assert_eq!(o.ttl_for(Some("no-store")), s(60));
        assert_eq!(o.ttl_for(Some("max-age=-1")), s(300));
        assert_eq!(o.ttl_for(Some("private")), s(300));
    }
}
