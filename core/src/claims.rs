//! Typed, borrowed views of a token's header and claims.

use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind};
use crate::json::{Array, JsonError, JsonStr, Object, Shape, Value};

/// The protected header of a token, borrowed from its decoded JSON.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    obj: Object<'a>,
    alg: Algorithm,
}

impl<'a> Header<'a> {
    pub(crate) fn new(obj: Object<'a>, alg: Algorithm) -> Self {
        Header { obj, alg }
    }

    /// The signature algorithm (already checked against the policy).
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if present as a string.
    #[must_use]
    pub fn kid(&self) -> Option<JsonStr<'a>> {
        self.obj.get("kid").and_then(|v| v.as_str())
    }

    /// The header `typ`, when it is a string. Checked only when the policy sets
    /// `header_types` (RFC 9068 access tokens carry `at+jwt` here).
    #[must_use]
    pub fn typ(&self) -> Option<JsonStr<'a>> {
        self.obj.get("typ").and_then(|v| v.as_str())
    }

    /// The whole header object.
    #[must_use]
    pub fn object(&self) -> Object<'a> {
        self.obj
    }

    /// The decoded header JSON text.
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        self.obj.as_json()
    }
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Clone, Copy, Debug)]
pub enum Audience<'a> {
    /// A single audience.
    One(JsonStr<'a>),
    /// Several audiences (every element is a string).
    Many(Array<'a>),
}

impl<'a> Audience<'a> {
    /// The audience values.
    pub fn iter(&self) -> impl Iterator<Item = JsonStr<'a>> + 'a {
        let (one, many) = match *self {
            Audience::One(s) => (Some(s), None),
            Audience::Many(a) => (None, Some(a)),
        };
        one.into_iter().chain(
            many.into_iter()
                .flat_map(|a| a.iter().filter_map(|v| v.as_str())),
        )
    }

    /// True when `aud` contains `name` exactly.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|a| a.eq_str(name))
    }
}

/// The payload of a verified token: typed access to the registered and Keycloak claims,
/// plus every other member through [`get`](Claims::get).
#[derive(Clone, Copy, Debug)]
pub struct Claims<'a> {
    obj: Object<'a>,
    exp: Option<u64>,
    nbf: Option<u64>,
    iat: Option<u64>,
    iss: Option<JsonStr<'a>>,
    sub: Option<JsonStr<'a>>,
    aud: Option<Audience<'a>>,
    typ: Option<JsonStr<'a>>,
    azp: Option<JsonStr<'a>>,
    scope: Option<JsonStr<'a>>,
    realm_roles: Option<Array<'a>>,
    resource_access: Option<Object<'a>>,
}

fn bad_json(message: &'static str) -> Error {
    Error::new(ErrorKind::BadJson, message)
}

/// The category of a token's JSON that does not validate: `bad_json` with `what`, or
/// `too_large` for an object beyond [`crate::MAX_OBJECT_NAMES`] members.
pub(crate) fn json_error(e: JsonError, what: &'static str) -> Error {
    match e {
        JsonError::TooManyMembers => Error::new(
            ErrorKind::TooLarge,
            "an object of the token has more than MAX_OBJECT_NAMES (1024) members",
        ),
        _ => bad_json(what),
    }
}

/// `roles` of a `realm_access`-shaped object: absent, or an array of strings.
/// How many claims [`Claims::parse`] reads, plus one to spare (see `overflow`).
const KNOWN_CLAIMS: usize = 12;

/// The claims [`Claims::parse`] reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Known {
    Exp,
    Nbf,
    Iat,
    Iss,
    Sub,
    Typ,
    Azp,
    Scope,
    Aud,
    RealmAccess,
    ResourceAccess,
}

/// Which known claim a member name spells (after unescaping), if any.
fn known_claim(name: &JsonStr<'_>) -> Option<Known> {
    let mut buf = [0u8; 16];
    Some(match claim_name(name, &mut buf)? {
        b"exp" => Known::Exp,
        b"nbf" => Known::Nbf,
        b"iat" => Known::Iat,
        b"iss" => Known::Iss,
        b"sub" => Known::Sub,
        b"typ" => Known::Typ,
        b"azp" => Known::Azp,
        b"scope" => Known::Scope,
        b"aud" => Known::Aud,
        b"realm_access" => Known::RealmAccess,
        b"resource_access" => Known::ResourceAccess,
        _ => return None,
    })
}

/// The members of a payload that are known claims, in document order, as the JSON
/// validator hands them over.
struct KnownMembers<'a> {
    slots: [Option<(Known, Value<'a>, Shape)>; KNOWN_CLAIMS],
    len: usize,
    overflow: bool,
}

impl<'a> KnownMembers<'a> {
    fn push(&mut self, name: JsonStr<'a>, value: Value<'a>, shape: Shape) {
        let Some(known) = known_claim(&name) else {
            return;
        };
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = Some((known, value, shape));
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }
}

/// The unescaped bytes of a member name when it could be a claim [`Claims::parse`]
/// reads (3 to 15 bytes), else `None`. Unescaped names are used in place; escaped ones
/// (legal, and rare) are decoded into `buf` first, so `"\u0065xp"` is `exp` as well.
fn claim_name<'n>(name: &JsonStr<'n>, buf: &'n mut [u8; 16]) -> Option<&'n [u8]> {
    let raw = name.raw_bytes();
    if !name.is_escaped() {
        return (3..=15).contains(&raw.len()).then_some(raw);
    }
    // Every escape stands for at least one byte and at most six raw bytes encode one.
    if raw.len() < 3 || raw.len() > 15 * 6 {
        return None;
    }
    let mut len = 0usize;
    for b in name.unescaped_bytes() {
        *buf.get_mut(len)? = b;
        len += 1;
    }
    buf.get(..len).filter(|n| n.len() >= 3)
}

/// True when `a` holds only strings; `shape` (of the claim around it) may already say.
fn all_strings(a: Array<'_>, shape: Shape) -> bool {
    shape.arrays_hold_only_strings() || a.iter().all(|v| matches!(v, Value::String(_)))
}

fn roles_of(access: Object<'_>, shape: Shape) -> Result<Option<Array<'_>>, Error> {
    match access.get("roles") {
        None => Ok(None),
        Some(Value::Array(a)) if all_strings(a, shape) => Ok(Some(a)),
        Some(_) => Err(bad_json("a roles claim is not an array of strings")),
    }
}

impl<'a> Claims<'a> {
    /// No claims at all.
    pub(crate) fn empty() -> Claims<'static> {
        Claims {
            obj: Object::empty(),
            exp: None,
            nbf: None,
            iat: None,
            iss: None,
            sub: None,
            aud: None,
            typ: None,
            azp: None,
            scope: None,
            realm_roles: None,
            resource_access: None,
        }
    }

    /// Reads the claims object, checking the JSON type of every claim this crate
    /// interprets (wrong type is `bad_json`, DESIGN §2).
    pub(crate) fn parse(obj: Object<'a>) -> Result<Claims<'a>, Error> {
        let members = obj
            .iter()
            .filter_map(|(name, value)| Some((known_claim(&name)?, value, Shape::UNKNOWN)));
        Self::from_members(obj, members)
    }

    /// Validates `json` as an object and reads its claims in the same pass (the
    /// verifier's path: one walk over the payload instead of two). Kept because it
    /// earns its place: with the header read the same way, it saves 13.1k instructions
    /// per verification of the sample token (callgrind), 3.6 % with the aws-lc backend
    /// (1.4 % pure-Rust). `bad_json` with
    /// `what` when it is not a JSON object.
    /// `room` is scratch space for the duplicate check of very large objects (any size,
    /// empty included; see [`Object::parse_limited`]).
    pub(crate) fn parse_json(
        json: &'a [u8],
        what: &'static str,
        room: &mut [u8],
    ) -> Result<Claims<'a>, Error> {
        let mut known = KnownMembers {
            slots: [None; KNOWN_CLAIMS],
            len: 0,
            overflow: false,
        };
        let obj = Object::parse_with(json, usize::MAX, room, |name, value, shape| {
            known.push(name, value, shape);
        })
        .map_err(|e| json_error(e, what))?;
        if known.overflow {
            // Only duplicates could overflow, and validation rejects those; stay correct
            // regardless by walking the object.
            return Self::parse(obj);
        }
        let members = known.slots.into_iter().take(known.len).flatten();
        Self::from_members(obj, members)
    }

    fn from_members(
        obj: Object<'a>,
        members: impl Iterator<Item = (Known, Value<'a>, Shape)>,
    ) -> Result<Claims<'a>, Error> {
        let mut c = Claims {
            obj,
            ..Claims::empty()
        };
        let date = |v: Value<'_>, msg: &'static str| match v {
            Value::Number(n) => n.as_numeric_date().ok_or_else(|| bad_json(msg)),
            _ => Err(bad_json(msg)),
        };
        let string = |v: Value<'a>, msg: &'static str| v.as_str().ok_or_else(|| bad_json(msg));
        for (known, value, shape) in members {
            match known {
                Known::Exp => c.exp = Some(date(value, "exp is not a number in 0..=2^53")?),
                Known::Nbf => c.nbf = Some(date(value, "nbf is not a number in 0..=2^53")?),
                Known::Iat => c.iat = Some(date(value, "iat is not a number in 0..=2^53")?),
                Known::Iss => c.iss = Some(string(value, "iss is not a string")?),
                Known::Sub => c.sub = Some(string(value, "sub is not a string")?),
                Known::Typ => c.typ = Some(string(value, "typ is not a string")?),
                Known::Azp => c.azp = Some(string(value, "azp is not a string")?),
                Known::Scope => c.scope = Some(string(value, "scope is not a string")?),
                Known::Aud => {
                    c.aud = Some(match value {
                        Value::String(s) => Audience::One(s),
                        Value::Array(a) if all_strings(a, shape) => Audience::Many(a),
                        _ => return Err(bad_json("aud is not a string or an array of strings")),
                    });
                }
                Known::RealmAccess => {
                    let Value::Object(o) = value else {
                        return Err(bad_json("realm_access is not an object"));
                    };
                    c.realm_roles = roles_of(o, shape)?;
                }
                Known::ResourceAccess => {
                    let Value::Object(o) = value else {
                        return Err(bad_json("resource_access is not an object"));
                    };
                    // Clients that are objects of arrays of strings cannot fail the
                    // checks below; the validator saw that shape, so skip the walk.
                    let clean =
                        shape.members_are_objects_of_arrays() && shape.arrays_hold_only_strings();
                    if !clean {
                        for (_, client) in o.iter() {
                            let Value::Object(client) = client else {
                                return Err(bad_json("a resource_access entry is not an object"));
                            };
                            roles_of(client, shape)?;
                        }
                    }
                    c.resource_access = Some(o);
                }
            }
        }
        Ok(c)
    }

    /// `exp`, floored.
    #[must_use]
    pub fn exp(&self) -> Option<u64> {
        self.exp
    }
    /// `nbf`, floored.
    #[must_use]
    pub fn nbf(&self) -> Option<u64> {
        self.nbf
    }
    /// `iat`, floored.
    #[must_use]
    pub fn iat(&self) -> Option<u64> {
        self.iat
    }
    /// `iss`.
    #[must_use]
    pub fn iss(&self) -> Option<JsonStr<'a>> {
        self.iss
    }
    /// `sub`.
    #[must_use]
    pub fn sub(&self) -> Option<JsonStr<'a>> {
        self.sub
    }
    /// `aud`.
    #[must_use]
    pub fn aud(&self) -> Option<Audience<'a>> {
        self.aud
    }
    /// The `typ` claim (Keycloak: `Bearer`, `ID`, `Refresh`).
    #[must_use]
    pub fn typ(&self) -> Option<JsonStr<'a>> {
        self.typ
    }
    /// `azp`, the client the token was issued to.
    #[must_use]
    pub fn azp(&self) -> Option<JsonStr<'a>> {
        self.azp
    }
    /// `scope`, the space-separated granted scopes.
    #[must_use]
    pub fn scope(&self) -> Option<JsonStr<'a>> {
        self.scope
    }

    /// The granted scopes, one word at a time.
    ///
    /// Borrowed when `scope` has no escapes; escaped scopes are yielded as their raw
    /// text, so compare with [`has_scope`](Self::has_scope) instead.
    pub fn scopes(&self) -> impl Iterator<Item = &'a str> + 'a {
        let raw = self.scope.map(|s| s.raw()).unwrap_or_default();
        raw.split(' ').filter(|w| !w.is_empty())
    }

    /// True when `scope` holds `name` as a whole word.
    #[must_use]
    pub fn has_scope(&self, name: &str) -> bool {
        self.scope.is_some_and(|s| s.has_word(name))
    }

    /// The JSON text of `realm_access.roles` (an array, checked when the claims were
    /// read), for callers that keep something derived from it keyed by its text.
    #[must_use]
    pub fn realm_roles_json(&self) -> Option<&'a str> {
        self.realm_roles.map(|a| a.as_json())
    }

    /// `realm_access.roles`.
    pub fn realm_roles(&self) -> impl Iterator<Item = JsonStr<'a>> + 'a {
        self.realm_roles
            .into_iter()
            .flat_map(|a| a.iter().filter_map(|v| v.as_str()))
    }

    /// True when `realm_access.roles` holds `role`.
    #[must_use]
    pub fn has_realm_role(&self, role: &str) -> bool {
        self.realm_roles().any(|r| r.eq_str(role))
    }

    /// `resource_access.<client>.roles`.
    pub fn client_roles(&self, client: &str) -> impl Iterator<Item = JsonStr<'a>> + 'a {
        self.resource_access
            .and_then(|o| o.get(client))
            .and_then(|v| v.as_object())
            .and_then(|o| o.get("roles"))
            .and_then(|v| v.as_array())
            .into_iter()
            .flat_map(|a| a.iter().filter_map(|v| v.as_str()))
    }

    /// True when `resource_access.<client>.roles` holds `role`.
    #[must_use]
    pub fn has_client_role(&self, client: &str, role: &str) -> bool {
        self.client_roles(client).any(|r| r.eq_str(role))
    }

    /// Any claim by name; `None` when absent.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.obj.get(name)
    }

    /// True when the claim is present and not `null`.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        // Claims read at parse time are present exactly when their field is set: a
        // present one of another type (`null` included) failed the parse. Answering
        // from the field spares a walk over the payload (`required_claims` asks on
        // every verification).
        let known = match name {
            "exp" => Some(self.exp.is_some()),
            "nbf" => Some(self.nbf.is_some()),
            "iat" => Some(self.iat.is_some()),
            "iss" => Some(self.iss.is_some()),
            "sub" => Some(self.sub.is_some()),
            "aud" => Some(self.aud.is_some()),
            "typ" => Some(self.typ.is_some()),
            "azp" => Some(self.azp.is_some()),
            "scope" => Some(self.scope.is_some()),
            "resource_access" => Some(self.resource_access.is_some()),
            _ => None,
        };
        known.unwrap_or_else(|| !matches!(self.obj.get(name), None | Some(Value::Null)))
    }

    /// The whole payload object.
    #[must_use]
    pub fn object(&self) -> Object<'a> {
        self.obj
    }

    /// The decoded payload JSON, exactly as signed.
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        self.obj.as_json()
    }
}

/// Where a view sits in the payload text: byte offsets, so the view can be rebuilt over
/// any copy of the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    from: usize,
    to: usize,
}

impl Span {
    /// The place of `part` inside `base` (`part` is a sub-slice of it).
    fn of(base: &[u8], part: &[u8]) -> Span {
        // Addresses only, never dereferenced: the offset of a sub-slice.
        let from = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
        Span {
            from,
            to: from.saturating_add(part.len()),
        }
    }

    fn in_<'a>(&self, base: &'a [u8]) -> &'a [u8] {
        base.get(self.from..self.to).unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StrSpan {
    span: Span,
    escaped: bool,
}

impl StrSpan {
    fn of(base: &[u8], s: JsonStr<'_>) -> StrSpan {
        StrSpan {
            span: Span::of(base, s.raw_bytes()),
            escaped: s.is_escaped(),
        }
    }

    fn in_<'a>(&self, base: &'a [u8]) -> JsonStr<'a> {
        JsonStr::from_validated(self.span.in_(base), self.escaped)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AudSpan {
    One(StrSpan),
    Many(Span),
}

/// What reading the claims learned, as offsets into the payload text instead of
/// borrows: an owned [`crate::VerifiedToken`] (and a cache entry) keeps this, and
/// [`ClaimSpans::claims`] rebuilds the [`Claims`] in constant time, without running the
/// JSON validator or walking the payload again (parse once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClaimSpans {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    iss: Option<StrSpan>,
    sub: Option<StrSpan>,
    aud: Option<AudSpan>,
    typ: Option<StrSpan>,
    azp: Option<StrSpan>,
    scope: Option<StrSpan>,
    realm_roles: Option<Span>,
    resource_access: Option<Span>,
}

impl ClaimSpans {
    /// The spans of `c`, whose views all borrow from `payload` (the text it was read
    /// from).
    pub(crate) fn of(payload: &[u8], c: &Claims<'_>) -> ClaimSpans {
        let s = |v: Option<JsonStr<'_>>| v.map(|v| StrSpan::of(payload, v));
        let raw = |text: &str| Span::of(payload, text.as_bytes());
        ClaimSpans {
            exp: c.exp,
            nbf: c.nbf,
            iat: c.iat,
            iss: s(c.iss),
            sub: s(c.sub),
            aud: c.aud.map(|a| match a {
                Audience::One(v) => AudSpan::One(StrSpan::of(payload, v)),
                Audience::Many(v) => AudSpan::Many(raw(v.as_json())),
            }),
            typ: s(c.typ),
            azp: s(c.azp),
            scope: s(c.scope),
            realm_roles: c.realm_roles.map(|a| raw(a.as_json())),
            resource_access: c.resource_access.map(|o| raw(o.as_json())),
        }
    }

    /// The claims again, over `payload`: the same bytes [`of`](Self::of) saw (a copy
    /// of them), which were validated then.
    pub(crate) fn claims<'a>(&self, payload: &'a [u8]) -> Claims<'a> {
        let s = |v: Option<StrSpan>| v.map(|v| v.in_(payload));
        Claims {
            obj: Object::from_validated(payload),
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            iss: s(self.iss),
            sub: s(self.sub),
            aud: self.aud.map(|a| match a {
                AudSpan::One(v) => Audience::One(v.in_(payload)),
                AudSpan::Many(v) => Audience::Many(Array::from_validated(v.in_(payload))),
            }),
            typ: s(self.typ),
            azp: s(self.azp),
            scope: s(self.scope),
            realm_roles: self
                .realm_roles
                .map(|v| Array::from_validated(v.in_(payload))),
            resource_access: self
                .resource_access
                .map(|v| Object::from_validated(v.in_(payload))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::format;

    fn parse(json: &str) -> Result<Claims<'_>, Error> {
        Claims::parse(Object::parse(json.as_bytes()).map_err(|_| bad_json("test"))?)
    }

    /// The verifier's one-pass reading gives what walking the parsed object gives:
    /// the same claims, or the same first error.
    #[test]
    fn one_pass_and_two_pass_readings_agree() {
        let docs = [
            r#"{"exp":1,"iat":2,"nbf":3,"iss":"i","sub":"s","typ":"Bearer","azp":"a","scope":"x y","aud":["p","q"],"realm_access":{"roles":["r"]},"resource_access":{"p":{"roles":["w"]}},"other":{"exp":"nested, not a claim"}}"#,
            r#"{"aud":"one","exp":1e3}"#,
            r#"{"exp":"1","iss":5}"#,
            r#"{"iss":5,"exp":"1"}"#,
            r#"{"aud":[1],"scope":"s"}"#,
            r#"{"realm_access":[],"resource_access":{}}"#,
            r#"{"resource_access":{"c":{"roles":"r"}}}"#,
            r#"{"resource_access":{"c":[]}}"#,
            r#"{"\u0069ss":"escaped","s\u0063ope":7}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"exp":1,"#,
            r#"["exp",1]"#,
            r#"{}"#,
        ];
        for doc in docs {
            let one = Claims::parse_json(doc.as_bytes(), "not an object", &mut []);
            let two = Object::parse(doc.as_bytes())
                .map_err(|_| bad_json("not an object"))
                .and_then(Claims::parse);
            assert_eq!(format!("{one:?}"), format!("{two:?}"), "{doc}");
        }
    }

    /// The validator's [`Shape`] lets the one-pass reader skip type walks; every shape
    /// near the edges of what it vouches for, in every claim that uses it, and each
    /// pair of them in both orders (a shape must not leak into the next member), gives
    /// exactly what the walking reader gives.
    #[test]
    fn shape_shortcuts_agree_with_the_walk() {
        let values = [
            r#""s""#,
            "1",
            "null",
            "[]",
            "{}",
            r#"["a"]"#,
            r#"["a",1]"#,
            r#"[1,"a"]"#,
            r#"[["a"]]"#,
            r#"[{"a":"b"}]"#,
            r#"["a",[]]"#,
            r#"["a",{}]"#,
            r#"{"roles":["a"]}"#,
            r#"{"roles":"a"}"#,
            r#"{"roles":{}}"#,
            r#"{"roles":[]}"#,
            r#"{"roles":[1]}"#,
            r#"{"roles":["a",["b"]]}"#,
            r#"{"roles":["a"],"x":1}"#,
            r#"{"x":{"roles":[1]}}"#,
            r#"{"c":{"roles":["a"]}}"#,
            r#"{"c":{"roles":"a"}}"#,
            r#"{"c":{"roles":{}}}"#,
            r#"{"c":{"roles":{"a":"b"}}}"#,
            r#"{"c":{"roles":[1]}}"#,
            r#"{"c":{"roles":["a"],"x":1}}"#,
            r#"{"c":{"roles":["a"],"x":[]}}"#,
            r#"{"c":{"x":[1]}}"#,
            r#"{"c":[]}"#,
            r#"{"c":"s"}"#,
            r#"{"c":{}}"#,
            r#"{"c":{"roles":["a"]},"d":{"roles":[{}]}}"#,
            r#"{"c":{"roles":[["a"]]}}"#,
            r#"{"c":{"roles":["a"]},"d":5}"#,
            r#"{"c":{"x":{"y":[1]}}}"#,
            r#"{"c":{"roles":["a"]},"d":{"roles":["b"],"e":{"f":1}}}"#,
            r#"{"c":{"roles":{"roles":["a"]}}}"#,
            r#"{"c":{"roles":[]},"roles":[1]}"#,
        ];
        let names = ["aud", "realm_access", "resource_access", "other"];
        let agree = |doc: &str| {
            let one = Claims::parse_json(doc.as_bytes(), "not an object", &mut []);
            let two = Object::parse(doc.as_bytes())
                .map_err(|_| bad_json("not an object"))
                .and_then(Claims::parse);
            assert_eq!(format!("{one:?}"), format!("{two:?}"), "{doc}");
            one.is_ok()
        };
        let mut accepted = 0;
        for a in names {
            for va in values {
                accepted += usize::from(agree(&format!(r#"{{"{a}":{va},"exp":1}}"#)));
                for b in names.iter().filter(|&&b| b != a) {
                    for vb in values {
                        agree(&format!(r#"{{"{a}":{va},"{b}":{vb}}}"#));
                    }
                }
            }
        }
        // Both outcomes occur for every claim, so neither path is vacuous.
        assert!(
            accepted > values.len() && accepted < 3 * values.len(),
            "{accepted}"
        );
        // The shortcut is taken, and is right, for the Keycloak shape.
        let c = parse(r#"{"resource_access":{"p":{"roles":["r","w"]},"q":{"roles":[]}},"realm_access":{"roles":["x"]},"aud":["a","b"]}"#).unwrap();
        assert!(
            c.has_client_role("p", "w") && c.has_realm_role("x") && c.aud().unwrap().contains("b")
        );
        for bad in [
            r#"{"resource_access":{"p":{"roles":["r",2]}}}"#,
            r#"{"resource_access":{"p":{"roles":"r"}}}"#,
            r#"{"resource_access":{"p":{"roles":{}}}}"#,
            r#"{"resource_access":{"p":["r"]}}"#,
            r#"{"realm_access":{"roles":[["x"]]}}"#,
            r#"{"aud":["a",{}]}"#,
        ] {
            assert_eq!(parse(bad).unwrap_err().kind(), ErrorKind::BadJson, "{bad}");
        }
    }

    #[test]
    fn escaped_names_are_the_claims_they_spell() {
        let c = parse(r#"{"\u0065xp":5,"i\u0073s":"me","\u0073cope":"a b","r\u0065alm_access":{"roles":["x"]}}"#)
            .unwrap();
        assert_eq!(c.exp(), Some(5));
        assert!(c.iss().unwrap().eq_str("me"));
        assert!(c.has_scope("b"));
        assert!(c.has_realm_role("x"));
        // Type checks apply to escaped names too.
        assert_eq!(
            parse(r#"{"\u0065xp":"5"}"#).unwrap_err().kind(),
            ErrorKind::BadJson
        );
        // Near misses stay unknown: longer, shorter, or only similar once unescaped.
        let c =
            parse(r#"{"\u0065xpx":"a","\u0065x":"b","resource_access_\u0078":1,"\u00e9xp":"c"}"#)
                .unwrap();
        assert_eq!(c.exp(), None);
        assert!(c.resource_access.is_none());
    }
}
