//! Shared helpers for the xconnauth fuzz targets: the Keycloak sample verifier, an
//! exact NumericDate oracle, and a duplicate-preserving serde_json tree for the JSON
//! differential checks.
//!
//! Nothing here reaches into `xconnauth` internals: only its public API is used.

pub mod backends;

use std::fmt;
use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use xconnauth::{JsonStr, KeySet, Policy, Value, Verifier};

/// The sample token, valid at [`NOW`].
pub const SAMPLE_TOKEN: &str = include_str!("../../examples/keycloak/token.jwt");
/// The sample realm JWKS.
pub const SAMPLE_JWKS: &str = include_str!("../../examples/keycloak/jwks.json");
/// The sample policy.
pub const SAMPLE_POLICY: &str = include_str!("../../examples/keycloak/policy.json");
/// The time at which [`SAMPLE_TOKEN`] is valid (`examples/keycloak/now.txt`).
pub const NOW: u64 = 1_764_000_000;

/// The sample token without any trailing newline.
#[must_use]
pub fn sample_token() -> &'static [u8] {
    SAMPLE_TOKEN.trim_end().as_bytes()
}

/// The sample key set, parsed once.
pub fn sample_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::from_jwks(SAMPLE_JWKS.as_bytes()).expect("sample JWKS parses"))
}

/// The verifier for the Keycloak sample (its JWKS and policy), built once.
pub fn sample_verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let policy = Policy::from_json(SAMPLE_POLICY.as_bytes()).expect("sample policy parses");
        let v = Verifier::new(sample_keys().clone(), policy).expect("sample verifier builds");
        assert!(
            v.verify(sample_token(), NOW).is_ok(),
            "the sample token must verify at NOW, or the targets test nothing"
        );
        v
    })
}

/// Unpadded base64url.
#[must_use]
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// An independent, exact reading of a JSON number's text as an RFC 7519 NumericDate:
/// `floor(value)` when the exact decimal value lies in `0..=2^53`, else `None`.
///
/// Works on the digit string (shifting the decimal point by the exponent), never on
/// floats, so it has no rounding. `text` must match the JSON number grammar.
#[must_use]
pub fn numeric_date_oracle(text: &str) -> Option<u64> {
    const MAX: u64 = 1 << 53;
    let (neg, s) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let exp: i128 = if exp.is_empty() {
        0
    } else {
        let (sign, digits) = match exp.as_bytes()[0] {
            b'-' => (-1, &exp[1..]),
            b'+' => (1, &exp[1..]),
            _ => (1, exp),
        };
        // Clamp: beyond 10^12 the answer is decided for any input of sane length.
        let mut v: i128 = 0;
        for d in digits.bytes() {
            v = (v * 10 + i128::from(d - b'0')).min(1_000_000_000_000);
        }
        sign * v
    };
    let (int, frac) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|d| d - b'0').collect();
    let point = int.len() as i128 + exp; // digits[..point] is the integer part
    let Some(first) = digits.iter().position(|&d| d != 0) else {
        return Some(0); // 0, -0, 0.000e99, ...
    };
    // Any non-zero digit at or after the point is a fractional part.
    let frac_nonzero = digits
        .iter()
        .enumerate()
        .any(|(i, &d)| d != 0 && (i as i128) >= point);
    let int_len = point - first as i128; // significant digits of the integer part
    let value: u64 = if int_len <= 0 {
        0
    } else if int_len > 16 {
        return None; // >= 10^16 > 2^53
    } else {
        let mut v: u64 = 0;
        for i in 0..int_len {
            let d = digits.get(first + i as usize).copied().unwrap_or(0);
            v = v * 10 + u64::from(d);
        }
        v
    };
    if neg && (value != 0 || frac_nonzero) {
        return None;
    }
    if value > MAX || (value == MAX && frac_nonzero) {
        return None;
    }
    Some(value)
}

/// A JSON document as serde_json reads it, keeping duplicate member names, member
/// order and exact number text (serde_json's `arbitrary_precision`).
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number's exact text.
    Num(String),
    /// An unescaped string.
    Str(String),
    /// An array.
    Arr(Vec<Tree>),
    /// An object, duplicates kept.
    Obj(Vec<(String, Tree)>),
}

/// serde_json's private marker for arbitrary-precision numbers.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl Tree {
    /// Nesting depth: a scalar is 0, a container is 1 + its deepest child.
    #[must_use]
    pub fn depth(&self) -> usize {
        match self {
            Tree::Arr(v) => 1 + v.iter().map(Tree::depth).max().unwrap_or(0),
            Tree::Obj(m) => 1 + m.iter().map(|(_, t)| t.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// True when some object (at any depth) has the same name twice.
    #[must_use]
    pub fn has_duplicate_names(&self) -> bool {
        match self {
            Tree::Arr(v) => v.iter().any(Tree::has_duplicate_names),
            Tree::Obj(m) => {
                let mut names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
                names.sort_unstable();
                names.windows(2).any(|w| w[0] == w[1])
                    || m.iter().any(|(_, t)| t.has_duplicate_names())
            }
            _ => false,
        }
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tree, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(b))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Tree, E> {
        Ok(Tree::Num(n.to_string()))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Tree, E> {
        Ok(Tree::Num(n.to_string()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Tree, E> {
        Ok(Tree::Num(n.to_string()))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Tree, E> {
        Ok(Tree::Str(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Tree, E> {
        Ok(Tree::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut v = Vec::new();
        while let Some(t) = seq.next_element::<Tree>()? {
            v.push(t);
        }
        Ok(Tree::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut m = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if m.is_empty() && k == NUMBER_TOKEN {
                return Ok(Tree::Num(map.next_value::<String>()?));
            }
            let v = map.next_value::<Tree>()?;
            m.push((k, v));
        }
        Ok(Tree::Obj(m))
    }
}

/// A number's text as serde_json's `arbitrary_precision` keeps it: the exponent is
/// written `e`, always with a sign (`1E5` -> `1e+5`); everything else is verbatim.
#[must_use]
pub fn serde_number_text(text: &str) -> String {
    match text.find(['e', 'E']) {
        Some(i) => {
            let (mant, exp) = (&text[..i], &text[i + 1..]);
            let sign = if exp.starts_with(['+', '-']) { "" } else { "+" };
            format!("{mant}e{sign}{exp}")
        }
        None => text.to_owned(),
    }
}

/// Checks every public accessor of `s` against `want`, its unescaped value as
/// serde_json read it.
pub fn check_json_str(s: JsonStr<'_>, want: &str) {
    let chars: String = s.chars().collect();
    assert_eq!(chars, want, "JsonStr::chars differs from serde_json");
    assert_eq!(
        s.to_string(),
        want,
        "JsonStr Display differs from serde_json"
    );
    if let Some(plain) = s.as_str() {
        assert_eq!(plain, want, "JsonStr::as_str differs from serde_json");
    }
    assert!(s.eq_str(want), "eq_str(own value) is false");
    assert!(
        !s.eq_str(&format!("{want}\0")),
        "eq_str accepts a longer string"
    );
    // has_word against the definition: whole space-separated words, case-sensitive.
    let oracle = |w: &str| !w.is_empty() && want.split(' ').any(|x| x == w);
    let mut probes: Vec<String> = want.split(' ').take(4).map(String::from).collect();
    if let Some(first) = want.split(' ').find(|w| !w.is_empty()) {
        probes.push(format!("{first}x"));
        let mut shorter = first.to_owned();
        shorter.pop();
        probes.push(shorter);
    }
    probes.push(want.to_owned());
    for p in &probes {
        assert_eq!(s.has_word(p), oracle(p), "has_word({p:?}) on {want:?}");
    }
}

/// Compares a value our parser produced with serde_json's reading of the same text,
/// recursively, and exercises every accessor on the way.
pub fn check_value(ours: Value<'_>, theirs: &Tree) {
    match (ours, theirs) {
        (Value::Null, Tree::Null) => {}
        (Value::Bool(a), Tree::Bool(b)) => assert_eq!(a, *b),
        (Value::Number(n), Tree::Num(text)) => {
            assert_eq!(serde_number_text(n.as_json()), *text, "number text differs");
            assert_eq!(
                n.as_numeric_date(),
                numeric_date_oracle(text),
                "as_numeric_date({text})"
            );
        }
        (Value::String(s), Tree::Str(want)) => check_json_str(s, want),
        (Value::Array(a), Tree::Arr(items)) => {
            assert_eq!(a.iter().count(), items.len(), "array length differs");
            for (v, t) in a.iter().zip(items) {
                check_value(v, t);
            }
        }
        (Value::Object(o), Tree::Obj(members)) => {
            assert!(
                xconnauth::parse_object(o.as_json().as_bytes()).is_some(),
                "a nested object's own text does not parse"
            );
            assert_eq!(o.iter().count(), members.len(), "member count differs");
            for (i, ((name, v), (want_name, t))) in o.iter().zip(members).enumerate() {
                check_json_str(name, want_name);
                check_value(v, t);
                if i < 8 {
                    let got = o.get(want_name).expect("get(existing name)");
                    assert_eq!(got.type_name(), v.type_name(), "get() finds another member");
                }
            }
        }
        (o, t) => panic!("our value {o:?} is not serde_json's {t:?}"),
    }
}
