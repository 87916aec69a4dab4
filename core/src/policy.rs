//! Verification policy (DESIGN §4): one struct, the same option names on every surface.

use alloc::{collections::BTreeMap, format, string::String, vec, vec::Vec};

use crate::alg::Algorithm;
use crate::error::ConfigError;
use crate::json::{Object, Value};
use crate::keys::MAX_MODULUS_BITS;

/// Largest `max_token_bytes` accepted: far beyond any real token, small enough that a
/// verify buffer of that size is harmless.
pub const MAX_TOKEN_BYTES_LIMIT: usize = 16 << 20;

/// Smallest `min_rsa_bits` accepted (DESIGN §4): below it a policy could let keys
/// that can be factored (a 17-bit key was once accepted with `min_rsa_bits: 16`).
pub const MIN_RSA_BITS_FLOOR: u32 = 2048;

/// Largest `leeway` accepted (ten years): only there to keep time arithmetic far from
/// any overflow; sensible values are seconds to minutes.
pub const MAX_LEEWAY: u64 = 315_360_000;

/// What a token must satisfy. Field names are the DESIGN §4 option names.
///
/// ```
/// use xconnauth::Policy;
/// let mut p = Policy::new(["https://sso.example.com/realms/demo"]);
/// p.audiences = Some(vec!["product-factory".into()]);
/// p.required_scopes = vec!["spark".into()];
/// assert_eq!(p.leeway, 30);
/// assert_eq!(p.token_type.as_deref(), Some("Bearer"));
///
/// let q = Policy::from_json(br#"{"issuers":"https://kc/realms/a","audiences":null,
///     "required_client_roles":{"orders-api":["orders:write"]}}"#).unwrap();
/// assert_eq!(q.issuers, ["https://kc/realms/a"]);
/// assert!(Policy::from_json(br#"{"issuer":"x"}"#).is_err()); // unknown option
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Trusted issuers, compared byte for byte with `iss`. At least one.
    pub issuers: Vec<String>,
    /// Accepted audiences (any-of); `None` disables the check. An empty list accepts
    /// no token at all (fail closed), which is rarely what you want.
    pub audiences: Option<Vec<String>>,
    /// Allowed `alg` values. Default `[RS256]`.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowance in seconds for `exp`, `nbf`, `iat`. Default 30.
    pub leeway: u64,
    /// Required `typ` claim; `None` disables the check. Default `Bearer`.
    pub token_type: Option<String>,
    /// Scopes that must all be granted (whole words of `scope`).
    pub required_scopes: Vec<String>,
    /// Roles that must all be in `realm_access.roles`.
    pub required_realm_roles: Vec<String>,
    /// Per client, roles that must all be in `resource_access.<client>.roles`.
    pub required_client_roles: BTreeMap<String, Vec<String>>,
    /// Claims that must be present. `exp` and `iss` always are. Default `[exp]`.
    pub required_claims: Vec<String>,
    /// Smallest accepted modulus in bits. Default 2048, at least
    /// [`MIN_RSA_BITS_FLOOR`].
    pub min_rsa_bits: u32,
    /// Largest accepted modulus in bits. Default 8192, at most
    /// [`MAX_MODULUS_BITS`] (16384).
    pub max_rsa_bits: u32,
    /// Longest accepted token in octets. Default 16384.
    pub max_token_bytes: usize,
    /// Accepted header `typ` values (RFC 9068 access tokens: `["at+jwt"]`), compared
    /// ASCII-case-insensitively with an `application/` prefix ignored (RFC 7515
    /// §4.1.9, RFC 8725 §3.11); `None` (the default) does not look at the header `typ`.
    /// Checked at step 4, before any key or signature work: a token whose header `typ`
    /// is absent or not listed is `wrong_type`.
    pub header_types: Option<Vec<String>>,
}

impl Default for Policy {
    /// The DESIGN §4 defaults with no issuer yet (a verifier refuses to build until one
    /// is set).
    fn default() -> Self {
        Policy {
            issuers: Vec::new(),
            audiences: None,
            algorithms: vec![Algorithm::RS256],
            leeway: 30,
            token_type: Some(String::from("Bearer")),
            required_scopes: Vec::new(),
            required_realm_roles: Vec::new(),
            required_client_roles: BTreeMap::new(),
            required_claims: vec![String::from("exp")],
            min_rsa_bits: 2048,
            max_rsa_bits: 8192,
            max_token_bytes: 16384,
            header_types: None,
        }
    }
}

/// The option names of DESIGN §4, as accepted in policy JSON.
pub const OPTION_NAMES: [&str; 13] = [
    "issuers",
    "audiences",
    "algorithms",
    "leeway",
    "token_type",
    "required_scopes",
    "required_realm_roles",
    "required_client_roles",
    "required_claims",
    "min_rsa_bits",
    "max_rsa_bits",
    "max_token_bytes",
    "header_types",
];

impl Policy {
    /// The defaults, trusting `issuers`.
    #[must_use]
    pub fn new<I, S>(issuers: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Policy {
            issuers: issuers.into_iter().map(Into::into).collect(),
            ..Policy::default()
        }
    }

    /// A policy from a JSON object of DESIGN §4 options; absent options keep their
    /// defaults.
    ///
    /// # Errors
    /// Not a strict JSON object, an unknown option name, or a value of the wrong type or
    /// range.
    pub fn from_json(json: &[u8]) -> Result<Policy, ConfigError> {
        let mut p = Policy::default();
        p.apply_json(json)?;
        Ok(p)
    }

    /// Overrides the options present in a JSON object, leaving the others as they are.
    ///
    /// # Errors
    /// As [`from_json`](Self::from_json).
    pub fn apply_json(&mut self, json: &[u8]) -> Result<(), ConfigError> {
        let obj = Object::parse(json)
            .map_err(|e| ConfigError::new(format!("policy JSON {}", e.message())))?;
        for (name, value) in obj.iter() {
            let name = String::from_iter(name.chars());
            match name.as_str() {
                "issuers" => self.issuers = strings(&name, value)?,
                "audiences" => {
                    self.audiences = match value {
                        Value::Null => None,
                        v => Some(strings(&name, v)?),
                    }
                }
                "algorithms" => {
                    let names = list(&name, value)?;
                    let mut algs = Vec::with_capacity(names.len());
                    for a in names {
                        let alg = Algorithm::from_name(&a).ok_or_else(|| {
                            ConfigError::new(format!(
                                "policy: algorithm \"{a}\" is not supported (RS256, RS384, RS512, PS256, PS384, PS512)"
                            ))
                        })?;
                        algs.push(alg);
                    }
                    self.algorithms = algs;
                }
                "leeway" => self.leeway = integer(&name, value, MAX_LEEWAY)?,
                "token_type" => {
                    self.token_type = match value {
                        Value::Null => None,
                        Value::String(s) => Some(String::from_iter(s.chars())),
                        other => return Err(wrong_type(&name, "a string or null", &other)),
                    }
                }
                "required_scopes" => self.required_scopes = list(&name, value)?,
                "required_realm_roles" => self.required_realm_roles = list(&name, value)?,
                "required_client_roles" => {
                    let Value::Object(clients) = value else {
                        return Err(wrong_type(&name, "an object of role arrays", &value));
                    };
                    let mut map = BTreeMap::new();
                    for (client, roles) in clients.iter() {
                        let client = String::from_iter(client.chars());
                        let roles = list(&format!("required_client_roles.{client}"), roles)?;
                        map.insert(client, roles);
                    }
                    self.required_client_roles = map;
                }
                "required_claims" => self.required_claims = list(&name, value)?,
                "min_rsa_bits" => {
                    self.min_rsa_bits =
                        u32::try_from(integer(&name, value, MAX_MODULUS_BITS.into())?)
                            .unwrap_or(MAX_MODULUS_BITS);
                }
                "max_rsa_bits" => {
                    self.max_rsa_bits =
                        u32::try_from(integer(&name, value, MAX_MODULUS_BITS.into())?)
                            .unwrap_or(MAX_MODULUS_BITS);
                }
                "max_token_bytes" => {
                    self.max_token_bytes =
                        usize::try_from(integer(&name, value, MAX_TOKEN_BYTES_LIMIT as u64)?)
                            .unwrap_or(MAX_TOKEN_BYTES_LIMIT);
                }
                "header_types" => {
                    self.header_types = match value {
                        Value::Null => None,
                        v => Some(strings(&name, v)?),
                    }
                }
                _ => {
                    return Err(ConfigError::new(format!(
                        "policy: unknown option \"{name}\" (known: {})",
                        OPTION_NAMES.join(", ")
                    )))
                }
            }
        }
        Ok(())
    }

    /// Checks the policy is usable: at least one issuer and algorithm, sane limits.
    ///
    /// # Errors
    /// Describes the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.issuers.is_empty() {
            return Err(ConfigError::new("policy: at least one issuer is required"));
        }
        if self.issuers.iter().any(String::is_empty) {
            return Err(ConfigError::new("policy: an issuer is the empty string"));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::new("policy: algorithms is empty"));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new(format!(
                "policy: leeway above {MAX_LEEWAY} s"
            )));
        }
        if self.min_rsa_bits < MIN_RSA_BITS_FLOOR {
            return Err(ConfigError::new(format!(
                "policy: min_rsa_bits {} is below {MIN_RSA_BITS_FLOOR}",
                self.min_rsa_bits
            )));
        }
        if self.min_rsa_bits > self.max_rsa_bits {
            return Err(ConfigError::new(format!(
                "policy: min_rsa_bits {} is above max_rsa_bits {}",
                self.min_rsa_bits, self.max_rsa_bits
            )));
        }
        if self.max_rsa_bits > MAX_MODULUS_BITS {
            return Err(ConfigError::new(format!(
                "policy: max_rsa_bits above the supported {MAX_MODULUS_BITS}"
            )));
        }
        if self.max_token_bytes == 0 || self.max_token_bytes > MAX_TOKEN_BYTES_LIMIT {
            return Err(ConfigError::new(format!(
                "policy: max_token_bytes must be in 1..={MAX_TOKEN_BYTES_LIMIT}"
            )));
        }
        let names = [
            ("required_scopes", &self.required_scopes),
            ("required_realm_roles", &self.required_realm_roles),
            ("required_claims", &self.required_claims),
        ];
        for (what, list) in names {
            if list.iter().any(String::is_empty) {
                return Err(ConfigError::new(format!(
                    "policy: {what} holds an empty name"
                )));
            }
        }
        if let Some(types) = &self.header_types {
            if types.is_empty() {
                return Err(ConfigError::new(
                    "policy: header_types is empty, which no token could pass (null turns the check off)",
                ));
            }
            let bare = |t: &str| {
                let prefix = t
                    .get(..12)
                    .is_some_and(|p| p.eq_ignore_ascii_case("application/"));
                if prefix {
                    t.get(12..).unwrap_or_default()
                } else {
                    t
                }
                .is_empty()
            };
            if types
                .iter()
                .any(|t| bare(t) || t.contains(char::is_whitespace))
            {
                return Err(ConfigError::new(
                    "policy: header_types holds an empty value or one with whitespace",
                ));
            }
        }
        if self.required_scopes.iter().any(|s| s.contains(' ')) {
            return Err(ConfigError::new(
                "policy: a required scope contains a space (list scopes separately)",
            ));
        }
        Ok(())
    }
}

fn wrong_type(name: &str, want: &str, got: &Value<'_>) -> ConfigError {
    ConfigError::new(format!(
        "policy: \"{name}\" must be {want}, not a {}",
        got.type_name()
    ))
}

/// An array of strings.
fn list(name: &str, value: Value<'_>) -> Result<Vec<String>, ConfigError> {
    let Value::Array(items) = value else {
        return Err(wrong_type(name, "an array of strings", &value));
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(String::from_iter(s.chars())),
            other => Err(wrong_type(name, "an array of strings", &other)),
        })
        .collect()
}

/// A string or an array of strings.
fn strings(name: &str, value: Value<'_>) -> Result<Vec<String>, ConfigError> {
    match value {
        Value::String(s) => Ok(vec![String::from_iter(s.chars())]),
        v => list(name, v).map_err(|_| wrong_type(name, "a string or an array of strings", &v)),
    }
}

fn integer(name: &str, value: Value<'_>, max: u64) -> Result<u64, ConfigError> {
    let Value::Number(n) = value else {
        return Err(wrong_type(name, "a non-negative integer", &value));
    };
    match n.as_numeric_date() {
        Some(v) if v <= max && !n.as_json().contains(['.', 'e', 'E']) => Ok(v),
        _ => Err(ConfigError::new(format!(
            "policy: \"{name}\" must be an integer in 0..={max}, not {}",
            n.as_json()
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_options() {
        let p = Policy::from_json(
            br#"{"issuers":["a","b"],"audiences":"x","algorithms":["RS256","PS256"],"leeway":0,
               "token_type":null,"required_scopes":["s"],"required_realm_roles":["r"],
               "required_client_roles":{"c":["cr"]},"required_claims":["exp","sub"],
               "min_rsa_bits":3072,"max_rsa_bits":4096,"max_token_bytes":65536}"#,
        )
        .unwrap();
        assert_eq!(p.issuers, ["a", "b"]);
        assert_eq!(p.audiences, Some(vec!["x".into()]));
        assert_eq!(p.algorithms, [Algorithm::RS256, Algorithm::PS256]);
        assert_eq!(p.leeway, 0);
        assert_eq!(p.token_type, None);
        assert_eq!(
            p.required_client_roles.get("c"),
            Some(&vec![String::from("cr")])
        );
        assert_eq!(
            (p.min_rsa_bits, p.max_rsa_bits, p.max_token_bytes),
            (3072, 4096, 65536)
        );
        p.validate().unwrap();
    }

    #[test]
    fn bad_options() {
        for bad in [
            &br#"{"nope":1}"#[..],
            br#"{"algorithms":["none"]}"#,
            br#"{"algorithms":["HS256"]}"#,
            br#"{"leeway":-1}"#,
            br#"{"leeway":1.5}"#,
            br#"{"leeway":"30"}"#,
            br#"{"issuers":[1]}"#,
            br#"{"required_client_roles":["a"]}"#,
            br#"{"max_token_bytes":1e30}"#,
            br#"{"issuers":"a","issuers":"b"}"#,
            b"[]",
        ] {
            assert!(
                Policy::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(Policy::default().validate().is_err());
        let mut p = Policy::new(["i"]);
        p.validate().unwrap();
        p.min_rsa_bits = 9000;
        assert!(p.validate().is_err());
    }

    /// DESIGN §4: `min_rsa_bits` below 2048 or `max_rsa_bits` above 16384 (or min
    /// above max) is a configuration error, whichever way the policy was built.
    #[test]
    fn rsa_size_floors() {
        for (min, max, ok) in [
            (2048, 8192, true),
            (2048, 2048, true),
            (2048, 16384, true),
            (16384, 16384, true),
            (2047, 8192, false),
            (16, 8192, false),
            (0, 8192, false),
            (2048, 16385, false),
            (2048, u32::MAX, false),
            (4096, 3072, false),
        ] {
            let mut p = Policy::new(["i"]);
            (p.min_rsa_bits, p.max_rsa_bits) = (min, max);
            assert_eq!(p.validate().is_ok(), ok, "struct {min}..{max}");
            let json = format!(r#"{{"issuers":"i","min_rsa_bits":{min},"max_rsa_bits":{max}}}"#);
            let from_json = Policy::from_json(json.as_bytes()).and_then(|p| p.validate());
            assert_eq!(from_json.is_ok(), ok, "JSON {min}..{max}");
        }
        let mut p = Policy::new(["i"]);
        p.min_rsa_bits = 16;
        let e = crate::Verifier::new(crate::KeySet::from_keys(vec![]), p).unwrap_err();
        assert!(
            format!("{e}").contains("min_rsa_bits 16 is below 2048"),
            "{e}"
        );
    }
}
