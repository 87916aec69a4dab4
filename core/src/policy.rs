//! Verification policy (DESIGN §4): one struct, the same option names on every surface.

use alloc::{
    collections::BTreeMap,
    format,
    string::{String, ToString},
    vec,
    vec::Vec,
};
use core::fmt;

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

/// Largest `cache_entries` accepted: with [`CACHE_BYTES_PER_ENTRY`] a byte budget of
/// 2 GiB at most, far beyond what one process sees of distinct live tokens.
pub const MAX_CACHE_ENTRIES: usize = 1 << 18;

/// The verified-token cache's byte budget per entry: a cache of `cache_entries` entries
/// holds at most `cache_entries × 8 KiB` of tokens and decoded JSON (a Keycloak access
/// token of 1 to 3 KB takes about twice its length), whichever bound is hit first.
pub const CACHE_BYTES_PER_ENTRY: usize = 8 << 10;

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
    /// Verified-token cache size in entries; 0 (the default) turns the cache off. A hit
    /// (the exact token bytes verified before by this verifier) skips the signature but
    /// re-checks `exp`, `nbf` and `iat` against the call's `now`; failures are never
    /// cached; a new key set means a new, empty cache. Bounded by the entry count and by
    /// `cache_entries ×` [`CACHE_BYTES_PER_ENTRY`] bytes; at most [`MAX_CACHE_ENTRIES`].
    /// Needs the `std` feature (without it a non-zero value is a configuration error).
    pub cache_entries: usize,
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
            cache_entries: 0,
        }
    }
}

/// The option names of DESIGN §4, as accepted in policy JSON.
pub const OPTION_NAMES: [&str; 14] = [
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
    "cache_entries",
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
            self.set_option(&name, OptionValue::from_json(value))?;
        }
        Ok(())
    }

    /// Sets one option of DESIGN §4 by name: the one place that checks option names,
    /// value types and ranges, for every surface ([`apply_json`](Self::apply_json) for
    /// C and policy files, keyword arguments in Python). Other options keep their value.
    ///
    /// `null` ([`OptionValue::Null`]) switches `audiences`, `token_type` and
    /// `header_types` off and means "no client roles" for `required_client_roles`.
    ///
    /// ```
    /// use xconnauth::{OptionError, OptionShape, OptionValue, Policy};
    /// let mut p = Policy::new(["https://kc/realms/a"]);
    /// p.set_option("leeway", OptionValue::Int(5)).unwrap();
    /// p.set_option("audiences", OptionValue::Str("api".into())).unwrap();
    /// assert_eq!((p.leeway, p.audiences.as_deref()), (5, Some(&["api".into()][..])));
    /// let e = p.set_option("leeway", OptionValue::Str("5".into())).unwrap_err();
    /// assert!(matches!(e, OptionError::WrongType { want: OptionShape::Integer, .. }));
    /// assert_eq!(e.to_string(), r#"policy: "leeway" must be a non-negative integer, not a string"#);
    /// ```
    ///
    /// # Errors
    /// [`OptionError::Unknown`] for a name not in [`OPTION_NAMES`],
    /// [`OptionError::WrongType`] for a value of the wrong type (each surface words it
    /// in its own type names), [`OptionError::Invalid`] for a value out of range or an
    /// unsupported algorithm. On error the policy is unchanged.
    pub fn set_option(&mut self, name: &str, value: OptionValue) -> Result<(), OptionError> {
        let Some(&option) = OPTION_NAMES.iter().find(|known| **known == name) else {
            return Err(OptionError::Unknown(String::from(name)));
        };
        match option {
            "issuers" => self.issuers = str_or_list(option, value)?,
            "audiences" => {
                self.audiences = match value {
                    OptionValue::Null => None,
                    v => Some(str_or_list(option, v)?),
                }
            }
            "algorithms" => {
                let names = list(option, None, value)?;
                let mut algs = Vec::with_capacity(names.len());
                for a in names {
                    let alg = Algorithm::from_name(&a).ok_or_else(|| {
                        OptionError::Invalid(ConfigError::new(format!(
                            "policy: algorithm \"{a}\" is not supported (RS256, RS384, RS512, PS256, PS384, PS512)"
                        )))
                    })?;
                    algs.push(alg);
                }
                self.algorithms = algs;
            }
            "leeway" => self.leeway = integer(option, value, MAX_LEEWAY)?,
            "token_type" => {
                self.token_type = match value {
                    OptionValue::Null => None,
                    OptionValue::Str(s) => Some(s),
                    other => return Err(wrong_type(option, OptionShape::StrOrNull, &other)),
                }
            }
            "required_scopes" => self.required_scopes = list(option, None, value)?,
            "required_realm_roles" => self.required_realm_roles = list(option, None, value)?,
            "required_client_roles" => {
                let clients = match value {
                    OptionValue::Null => Vec::new(),
                    OptionValue::Map(clients) => clients,
                    other => return Err(wrong_type(option, OptionShape::RoleMap, &other)),
                };
                let mut map = BTreeMap::new();
                for (client, roles) in clients {
                    let roles = list(option, Some(&client), roles)?;
                    map.insert(client, roles);
                }
                self.required_client_roles = map;
            }
            "required_claims" => self.required_claims = list(option, None, value)?,
            "min_rsa_bits" => {
                self.min_rsa_bits = u32::try_from(integer(option, value, MAX_MODULUS_BITS.into())?)
                    .unwrap_or(MAX_MODULUS_BITS);
            }
            "max_rsa_bits" => {
                self.max_rsa_bits = u32::try_from(integer(option, value, MAX_MODULUS_BITS.into())?)
                    .unwrap_or(MAX_MODULUS_BITS);
            }
            "max_token_bytes" => {
                self.max_token_bytes =
                    usize::try_from(integer(option, value, MAX_TOKEN_BYTES_LIMIT as u64)?)
                        .unwrap_or(MAX_TOKEN_BYTES_LIMIT);
            }
            "header_types" => {
                self.header_types = match value {
                    OptionValue::Null => None,
                    v => Some(str_or_list(option, v)?),
                }
            }
            "cache_entries" => {
                self.cache_entries =
                    usize::try_from(integer(option, value, MAX_CACHE_ENTRIES as u64)?)
                        .unwrap_or(MAX_CACHE_ENTRIES);
            }
            // A name in OPTION_NAMES without an arm here: refused rather than ignored.
            _ => return Err(OptionError::Unknown(String::from(name))),
        }
        Ok(())
    }

    /// Every option with its current value, in [`OPTION_NAMES`] order: what
    /// [`set_option`](Self::set_option) takes back to build an equal policy (surfaces
    /// show a policy from it, e.g. Python's `Verifier.policy`).
    #[must_use]
    pub fn options(&self) -> Vec<(&'static str, OptionValue)> {
        let strs = |items: &[String]| {
            OptionValue::List(items.iter().cloned().map(OptionValue::Str).collect())
        };
        let nullable =
            |items: &Option<Vec<String>>| items.as_deref().map_or(OptionValue::Null, strs);
        let algorithms = self
            .algorithms
            .iter()
            .map(|a| OptionValue::Str(String::from(a.name())))
            .collect();
        let clients = self
            .required_client_roles
            .iter()
            .map(|(client, roles)| (client.clone(), strs(roles)))
            .collect();
        vec![
            ("issuers", strs(&self.issuers)),
            ("audiences", nullable(&self.audiences)),
            ("algorithms", OptionValue::List(algorithms)),
            ("leeway", OptionValue::Int(self.leeway)),
            (
                "token_type",
                self.token_type
                    .clone()
                    .map_or(OptionValue::Null, OptionValue::Str),
            ),
            ("required_scopes", strs(&self.required_scopes)),
            ("required_realm_roles", strs(&self.required_realm_roles)),
            ("required_client_roles", OptionValue::Map(clients)),
            ("required_claims", strs(&self.required_claims)),
            ("min_rsa_bits", OptionValue::Int(self.min_rsa_bits.into())),
            ("max_rsa_bits", OptionValue::Int(self.max_rsa_bits.into())),
            (
                "max_token_bytes",
                OptionValue::Int(u64::try_from(self.max_token_bytes).unwrap_or(u64::MAX)),
            ),
            ("header_types", nullable(&self.header_types)),
            (
                "cache_entries",
                OptionValue::Int(u64::try_from(self.cache_entries).unwrap_or(u64::MAX)),
            ),
        ]
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
        if self.cache_entries > MAX_CACHE_ENTRIES {
            return Err(ConfigError::new(format!(
                "policy: cache_entries must be in 0..={MAX_CACHE_ENTRIES}"
            )));
        }
        if self.cache_entries != 0 && !cfg!(feature = "std") {
            // The cache needs atomics and safe reclamation from std; failing here keeps
            // a policy from silently running uncached where it was sized for a cache.
            return Err(ConfigError::new(
                "policy: cache_entries needs the std feature (this build is no_std): set it to 0",
            ));
        }
        if self.required_scopes.iter().any(|s| s.contains(' ')) {
            return Err(ConfigError::new(
                "policy: a required scope contains a space (list scopes separately)",
            ));
        }
        Ok(())
    }
}

/// A policy option's value as a surface hands it to [`Policy::set_option`]: a JSON
/// value, a Python object, ... The surface only translates its own types; which shapes
/// and ranges an option accepts is decided in one place, by `set_option`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionValue {
    /// JSON `null`, Python `None`.
    Null,
    /// A non-negative integer.
    Int(u64),
    /// Any other number (negative, fractional, beyond `u64`), as written: refused by
    /// every option with a range message quoting it.
    Number(String),
    /// A string.
    Str(String),
    /// A sequence (JSON array, Python list or tuple).
    List(Vec<OptionValue>),
    /// A mapping with string keys, in order (JSON object, Python dict).
    Map(Vec<(String, OptionValue)>),
    /// Any other value (a boolean, a Python float, ...), by the surface's name for its
    /// type, used in type error messages.
    Other(String),
}

impl OptionValue {
    /// The option value of a JSON value.
    fn from_json(value: Value<'_>) -> OptionValue {
        match value {
            Value::Null => OptionValue::Null,
            Value::String(s) => OptionValue::Str(String::from_iter(s.chars())),
            Value::Number(n) => {
                let text = n.as_json();
                match n.as_numeric_date() {
                    Some(v) if !text.contains(['.', 'e', 'E']) => OptionValue::Int(v),
                    _ => OptionValue::Number(String::from(text)),
                }
            }
            Value::Array(items) => {
                OptionValue::List(items.iter().map(OptionValue::from_json).collect())
            }
            Value::Object(members) => OptionValue::Map(
                members
                    .iter()
                    .map(|(k, v)| (String::from_iter(k.chars()), OptionValue::from_json(v)))
                    .collect(),
            ),
            other => OptionValue::Other(String::from(other.type_name())),
        }
    }

    /// What kind of value this is, for a type error.
    #[must_use]
    pub fn kind(&self) -> ValueKind {
        match self {
            OptionValue::Null => ValueKind::Null,
            OptionValue::Int(_) | OptionValue::Number(_) => ValueKind::Number,
            OptionValue::Str(_) => ValueKind::Str,
            OptionValue::List(_) => ValueKind::List,
            OptionValue::Map(_) => ValueKind::Map,
            OptionValue::Other(name) => ValueKind::Other(name.clone()),
        }
    }
}

/// The kind of a refused [`OptionValue`], for a surface to name in its own words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Null / None.
    Null,
    /// A number.
    Number,
    /// A string.
    Str,
    /// A sequence.
    List,
    /// A mapping.
    Map,
    /// Another type, by the surface's name for it.
    Other(String),
}

impl ValueKind {
    /// The JSON name of the kind (`null`, `number`, `string`, `array`, `object`).
    #[must_use]
    pub fn json_name(&self) -> &str {
        match self {
            ValueKind::Null => "null",
            ValueKind::Number => "number",
            ValueKind::Str => "string",
            ValueKind::List => "array",
            ValueKind::Map => "object",
            ValueKind::Other(name) => name,
        }
    }
}

/// The type an option's value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionShape {
    /// A string or a sequence of strings (`issuers`, `audiences`, `header_types`).
    StrOrList,
    /// A sequence of strings (`algorithms`, `required_scopes`, ...).
    List,
    /// A non-negative integer (`leeway`, `min_rsa_bits`, ...).
    Integer,
    /// A string or null (`token_type`).
    StrOrNull,
    /// A mapping of client to a sequence of role strings (`required_client_roles`).
    RoleMap,
}

impl OptionShape {
    /// The JSON wording (`an array of strings`, ...).
    #[must_use]
    pub fn json_words(self) -> &'static str {
        match self {
            OptionShape::StrOrList => "a string or an array of strings",
            OptionShape::List => "an array of strings",
            OptionShape::Integer => "a non-negative integer",
            OptionShape::StrOrNull => "a string or null",
            OptionShape::RoleMap => "an object of role arrays",
        }
    }
}

/// Why [`Policy::set_option`] refused an option. `Display` gives the JSON wording (the
/// message of the [`ConfigError`] it converts into).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionError {
    /// Not a name of [`OPTION_NAMES`].
    Unknown(String),
    /// The value has the wrong type.
    WrongType {
        /// The option.
        option: &'static str,
        /// For `required_client_roles`: the client whose role list is wrong.
        client: Option<String>,
        /// What the value must be.
        want: OptionShape,
        /// The kind of the refused value: the whole value, or with `item` the first
        /// element of a sequence of strings that is not a string.
        got: ValueKind,
        /// `got` is an element of the sequence, not the value itself.
        item: bool,
    },
    /// The type is right, the value is not (out of range, an unsupported algorithm).
    Invalid(ConfigError),
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown(name) => write!(
                f,
                "policy: unknown option \"{name}\" (known: {})",
                OPTION_NAMES.join(", ")
            ),
            OptionError::WrongType {
                option,
                client,
                want,
                got,
                ..
            } => {
                f.write_str("policy: \"")?;
                f.write_str(option)?;
                if let Some(client) = client {
                    write!(f, ".{client}")?;
                }
                write!(
                    f,
                    "\" must be {}, not a {}",
                    want.json_words(),
                    got.json_name()
                )
            }
            OptionError::Invalid(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl From<OptionError> for ConfigError {
    fn from(e: OptionError) -> ConfigError {
        match e {
            OptionError::Invalid(e) => e,
            other => ConfigError::new(other.to_string()),
        }
    }
}

fn wrong_type(option: &'static str, want: OptionShape, got: &OptionValue) -> OptionError {
    OptionError::WrongType {
        option,
        client: None,
        want,
        got: got.kind(),
        item: false,
    }
}

/// A sequence of strings.
fn list(
    option: &'static str,
    client: Option<&str>,
    value: OptionValue,
) -> Result<Vec<String>, OptionError> {
    let refuse = |got: &OptionValue, item: bool| OptionError::WrongType {
        option,
        client: client.map(String::from),
        want: OptionShape::List,
        got: got.kind(),
        item,
    };
    let OptionValue::List(items) = value else {
        return Err(refuse(&value, false));
    };
    items
        .into_iter()
        .map(|v| match v {
            OptionValue::Str(s) => Ok(s),
            other => Err(refuse(&other, true)),
        })
        .collect()
}

/// A string or a sequence of strings.
fn str_or_list(option: &'static str, value: OptionValue) -> Result<Vec<String>, OptionError> {
    match value {
        OptionValue::Str(s) => Ok(vec![s]),
        OptionValue::List(items) if items.iter().all(|i| matches!(i, OptionValue::Str(_))) => {
            list(option, None, OptionValue::List(items))
        }
        other => Err(wrong_type(option, OptionShape::StrOrList, &other)),
    }
}

fn integer(option: &'static str, value: OptionValue, max: u64) -> Result<u64, OptionError> {
    let text = match value {
        OptionValue::Int(v) if v <= max => return Ok(v),
        OptionValue::Int(v) => v.to_string(),
        OptionValue::Number(text) => text,
        other => return Err(wrong_type(option, OptionShape::Integer, &other)),
    };
    Err(OptionError::Invalid(ConfigError::new(format!(
        "policy: \"{option}\" must be an integer in 0..={max}, not {text}"
    ))))
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
        for bad in [
            &br#"{"cache_entries":-1}"#[..],
            br#"{"cache_entries":1.5}"#,
            br#"{"cache_entries":"10"}"#,
            br#"{"cache_entries":262145}"#,
        ] {
            assert!(Policy::from_json(bad).is_err());
        }
        let mut p = Policy::from_json(br#"{"issuers":"i","cache_entries":262144}"#).unwrap();
        assert_eq!(p.cache_entries, MAX_CACHE_ENTRIES);
        assert_eq!(p.validate().is_ok(), cfg!(feature = "std"));
        p.cache_entries = MAX_CACHE_ENTRIES + 1;
        assert!(p.validate().is_err());
        let mut p = Policy::new(["i"]);
        p.validate().unwrap();
        p.min_rsa_bits = 9000;
        assert!(p.validate().is_err());
    }

    /// Every option a policy shows through `options()` goes back through `set_option`
    /// to an equal policy, and `options()` lists exactly OPTION_NAMES, in order: a new
    /// option cannot be parsed but not shown (or the other way round).
    #[test]
    fn options_round_trip() {
        let mut p = Policy::from_json(
            br#"{"issuers":["a","b"],"audiences":"x","algorithms":["RS256","PS256"],"leeway":0,
               "token_type":null,"required_scopes":["s"],"required_realm_roles":["r"],
               "required_client_roles":{"c":["cr"],"d":[]},"required_claims":["exp","sub"],
               "min_rsa_bits":3072,"max_rsa_bits":4096,"max_token_bytes":65536,
               "header_types":["at+jwt"]}"#,
        )
        .unwrap();
        for policy in [Policy::new(["i"]), p.clone()] {
            let options = policy.options();
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, OPTION_NAMES);
            let mut back = Policy::default();
            for (name, value) in options {
                back.set_option(name, value).unwrap();
            }
            assert_eq!(back, policy);
        }
        // A refused value leaves the policy as it was.
        let before = p.clone();
        assert!(p
            .set_option(
                "algorithms",
                OptionValue::List(vec![OptionValue::Str("RS256".into()), OptionValue::Int(1)])
            )
            .is_err());
        assert_eq!(p, before);
    }

    /// The type errors say which option, what it takes and what it got; the JSON
    /// wording is what C and policy files have always shown.
    #[test]
    fn option_errors() {
        let str = |s: &str| OptionValue::Str(s.into());
        let cases = [
            (
                "leeway",
                OptionValue::Other("boolean".into()),
                r#"policy: "leeway" must be a non-negative integer, not a boolean"#,
            ),
            (
                "leeway",
                OptionValue::Number("1.5".into()),
                r#"policy: "leeway" must be an integer in 0..=315360000, not 1.5"#,
            ),
            (
                "leeway",
                OptionValue::Int(315_360_001),
                r#"policy: "leeway" must be an integer in 0..=315360000, not 315360001"#,
            ),
            (
                "issuers",
                OptionValue::List(vec![str("a"), OptionValue::Null]),
                r#"policy: "issuers" must be a string or an array of strings, not a array"#,
            ),
            (
                "required_scopes",
                str("openid"),
                r#"policy: "required_scopes" must be an array of strings, not a string"#,
            ),
            (
                "required_claims",
                OptionValue::List(vec![OptionValue::Int(1)]),
                r#"policy: "required_claims" must be an array of strings, not a number"#,
            ),
            (
                "required_client_roles",
                OptionValue::List(vec![]),
                r#"policy: "required_client_roles" must be an object of role arrays, not a array"#,
            ),
            (
                "required_client_roles",
                OptionValue::Map(vec![("c".into(), str("r"))]),
                r#"policy: "required_client_roles.c" must be an array of strings, not a string"#,
            ),
            (
                "token_type",
                OptionValue::Int(1),
                r#"policy: "token_type" must be a string or null, not a number"#,
            ),
            (
                "algorithms",
                OptionValue::List(vec![str("HS256")]),
                r#"policy: algorithm "HS256" is not supported (RS256, RS384, RS512, PS256, PS384, PS512)"#,
            ),
        ];
        for (name, value, message) in cases {
            let e = Policy::new(["i"]).set_option(name, value).unwrap_err();
            assert_eq!(ConfigError::from(e).message(), message);
        }
        let e = Policy::new(["i"])
            .set_option("issuer", str("x"))
            .unwrap_err();
        assert_eq!(e, OptionError::Unknown("issuer".into()));
        assert!(e
            .to_string()
            .starts_with(r#"policy: unknown option "issuer" (known: issuers, "#));
        let e = Policy::new(["i"])
            .set_option(
                "required_realm_roles",
                OptionValue::List(vec![str("a"), OptionValue::Null]),
            )
            .unwrap_err();
        assert_eq!(
            e,
            OptionError::WrongType {
                option: "required_realm_roles",
                client: None,
                want: OptionShape::List,
                got: ValueKind::Null,
                item: true
            }
        );
        // null: no client roles required, as the field's default.
        let mut p = Policy::from_json(br#"{"required_client_roles":{"c":["r"]}}"#).unwrap();
        p.apply_json(br#"{"required_client_roles":null}"#).unwrap();
        assert!(p.required_client_roles.is_empty());
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
