//! Structured claims and policy (via `arbitrary`) through `decode_unverified`,
//! `Unverified::claims` and `Verifier::check_claims`, against a small model of
//! DESIGN §2/§3 that reads the same payload with serde_json.
//! Invariants: no panic; the payload decodes; claims() and check_claims give exactly the
//! model's answer; the verifier's one-pass reading agrees; and Ok implies exp present
//! with now < exp + leeway, iss trusted.
#![no_main]
use std::collections::BTreeMap;
use std::io;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value as J};
use xconnauth::{ErrorKind, Policy, Verifier, MAX_LEEWAY};
use xconnauth_fuzz::{b64, numeric_date_oracle, sample_keys, NOW};

/// Strings mostly drawn from a pool, so that policies and claims meet.
#[derive(Arbitrary, Debug, Clone)]
enum S {
    Pool(u8),
    Any(String),
}
const POOL: &[&str] = &[
    "https://sso.example.com/realms/demo",
    "https://sso.example.com/realms/demo/",
    "product-factory",
    "account",
    "Bearer",
    "ID",
    "openid",
    "spark",
    "sparkle",
    "openid spark",
    "reader",
    "admin",
    "exp",
    "iss",
    "sub",
    "aud",
    "typ",
    "nbf",
    "iat",
    "scope",
    "azp",
    "realm_access",
    "resource_access",
    "roles",
    "a",
    "a b",
    " a",
    "é",
    "😀",
    "\0",
    "\"",
    "\\",
    "",
];
impl S {
    fn get(&self) -> String {
        match self {
            S::Pool(i) => POOL[usize::from(*i) % POOL.len()].to_owned(),
            S::Any(s) => s.clone(),
        }
    }
}

#[derive(Debug)]
enum Num {
    NearNow(i16),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Any JSON number text: -?int(.0*frac)?([eE][+-]?exp)?
    Text {
        neg: bool,
        int: u64,
        frac: Option<(u8, u64)>,
        exp: Option<(bool, u8, u32)>,
    },
}
// Hand-written so that most numbers are plausible dates near NOW.
impl<'a> Arbitrary<'a> for Num {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=15u8)? {
            0..=11 => Num::NearNow(u.arbitrary()?),
            12 => Num::Int(u.arbitrary()?),
            13 => Num::UInt(u.arbitrary()?),
            14 => Num::Float(u.arbitrary()?),
            _ => Num::Text {
                neg: u.arbitrary()?,
                int: u.arbitrary()?,
                frac: u.arbitrary()?,
                exp: u.arbitrary()?,
            },
        })
    }
}
impl Num {
    fn json(&self) -> J {
        let text = match *self {
            Num::Int(i) => i.to_string(),
            Num::UInt(u) => u.to_string(),
            Num::Float(f) => return Number::from_f64(f).map_or(J::Null, J::Number),
            Num::NearNow(d) => (NOW + 30 * 60)
                .saturating_add_signed(i64::from(d))
                .to_string(),
            Num::Text {
                neg,
                int,
                frac,
                exp,
            } => {
                let mut t = format!("{}{int}", if neg { "-" } else { "" });
                if let Some((zeros, digits)) = frac {
                    t += &format!(".{}{digits}", "0".repeat(usize::from(zeros % 4)));
                }
                if let Some((upper, sign, digits)) = exp {
                    let sign = ["", "+", "-"][usize::from(sign % 3)];
                    t += &format!("{}{sign}{digits}", if upper { 'E' } else { 'e' });
                }
                t
            }
        };
        J::Number(text.parse().expect("generated number text is JSON"))
    }
}

/// A claim: absent, of the expected shape (`Good`), or of some other JSON type.
#[derive(Debug)]
enum Claim<T> {
    Absent,
    Good(T),
    Null,
    Bool(bool),
    Str(S),
    Num(Num),
    Arr(Vec<S>),
    Obj(Vec<(S, S)>),
}
// Hand-written so that most claims have the right shape: a wrong one is bad_json,
// which would otherwise hide every later check.
impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Claim<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=63u8)? {
            0..=49 => Claim::Good(u.arbitrary()?),
            50..=57 => Claim::Absent,
            58..=60 => match u.int_in_range(0..=2u8)? {
                0 => Claim::Null,
                1 => Claim::Bool(u.arbitrary()?),
                _ => Claim::Str(u.arbitrary()?),
            },
            61 | 62 => Claim::Num(u.arbitrary()?),
            _ => match u.arbitrary()? {
                true => Claim::Arr(u.arbitrary()?),
                false => Claim::Obj(u.arbitrary()?),
            },
        })
    }
}
trait Good {
    fn json(&self) -> J;
}
impl Good for S {
    fn json(&self) -> J {
        J::String(self.get())
    }
}
impl Good for Num {
    fn json(&self) -> J {
        Num::json(self)
    }
}
/// A list of words: as a `scope` string, or `aud` array.
#[derive(Arbitrary, Debug)]
struct Words(Vec<S>);
impl Good for Words {
    fn json(&self) -> J {
        J::String(self.0.iter().map(S::get).collect::<Vec<_>>().join(" "))
    }
}
/// `{"roles": [...]}` (the roles themselves may have any shape).
#[derive(Arbitrary, Debug)]
struct Access(Box<Claim<Vec<S>>>);
impl Good for Access {
    fn json(&self) -> J {
        let mut m = Map::new();
        if let Some(v) = self.0.json() {
            m.insert("roles".into(), v);
        }
        J::Object(m)
    }
}
impl Good for Vec<S> {
    fn json(&self) -> J {
        J::Array(self.iter().map(|s| J::String(s.get())).collect())
    }
}
/// `resource_access`: `{client: {"roles": [...]}}`.
#[derive(Arbitrary, Debug)]
struct Clients(Vec<(S, Claim<Access>)>);
impl Good for Clients {
    fn json(&self) -> J {
        let mut m = Map::new();
        for (c, a) in &self.0 {
            m.insert(c.get(), a.json().unwrap_or(J::Null));
        }
        J::Object(m)
    }
}
impl<T: Good> Claim<T> {
    fn json(&self) -> Option<J> {
        Some(match self {
            Claim::Absent => return None,
            Claim::Good(t) => t.json(),
            Claim::Null => J::Null,
            Claim::Bool(b) => J::Bool(*b),
            Claim::Str(s) => J::String(s.get()),
            Claim::Num(n) => n.json(),
            Claim::Arr(v) => v.json(),
            Claim::Obj(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.get(), J::String(v.get())))
                    .collect(),
            ),
        })
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    exp: Claim<Num>,
    nbf: Claim<Num>,
    iat: Claim<Num>,
    iss: Claim<S>,
    sub: Claim<S>,
    aud: Claim<Vec<S>>,
    typ: Claim<S>,
    azp: Claim<S>,
    scope: Claim<Words>,
    realm_access: Claim<Access>,
    resource_access: Claim<Clients>,
    extra: Vec<(S, Claim<S>)>,
    /// Write every character of every string as a \uHHHH escape.
    escape_all: bool,
    now: Option<i16>,
    now_any: u64,
    // policy
    issuer: S,
    more_issuers: Vec<S>,
    audiences: Option<Vec<S>>,
    leeway: Option<u16>,
    leeway_any: u64,
    token_type: Option<S>,
    required_scopes: Vec<S>,
    required_realm_roles: Vec<S>,
    required_client_roles: Vec<(S, Vec<S>)>,
    required_claims: Vec<S>,
}

/// serde_json formatter that escapes every character of every string.
struct EscapeAll;
impl serde_json::ser::Formatter for EscapeAll {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        s: &str,
    ) -> io::Result<()> {
        for c in s.chars() {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(w, "\\u{u:04x}")?;
            }
        }
        Ok(())
    }
}

fn model(m: &Map<String, J>, p: &Policy, now: u64) -> Result<(), ErrorKind> {
    let bad = Err(ErrorKind::BadJson);
    fn strs(v: &J) -> Option<Vec<&str>> {
        match v {
            J::Array(a) if a.iter().all(J::is_string) => {
                Some(a.iter().filter_map(J::as_str).collect())
            }
            _ => None,
        }
    }
    let roles_ok = |v: &J| {
        v.as_object()
            .is_some_and(|o| o.get("roles").is_none_or(|r| strs(r).is_some()))
    };
    // Claims::parse: JSON types of the interpreted claims.
    let mut dates = [None, None, None];
    for (i, name) in ["exp", "nbf", "iat"].iter().enumerate() {
        if let Some(v) = m.get(*name) {
            let J::Number(n) = v else { return bad };
            let Some(d) = numeric_date_oracle(&n.to_string()) else {
                return bad;
            };
            dates[i] = Some(d);
        }
    }
    for name in ["iss", "sub", "typ", "azp", "scope"] {
        if m.get(name).is_some_and(|v| !v.is_string()) {
            return bad;
        }
    }
    if m.get("aud")
        .is_some_and(|v| !v.is_string() && strs(v).is_none())
    {
        return bad;
    }
    if m.get("realm_access").is_some_and(|v| !roles_ok(v)) {
        return bad;
    }
    if let Some(r) = m.get("resource_access") {
        if !r.as_object().is_some_and(|o| o.values().all(roles_ok)) {
            return bad;
        }
    }
    // check_claims, DESIGN §3 step 8 order.
    let [exp, nbf, iat] = dates;
    let s = |name: &str| m.get(name).and_then(J::as_str);
    let aud: Option<Vec<&str>> = m.get("aud").map(|v| {
        v.as_str()
            .map_or_else(|| strs(v).unwrap_or_default(), |s| vec![s])
    });
    let missing = Err(ErrorKind::MissingClaim);
    let (Some(exp), Some(iss)) = (exp, s("iss")) else {
        return missing;
    };
    if (p.audiences.is_some() && aud.is_none()) || (p.token_type.is_some() && s("typ").is_none()) {
        return missing;
    }
    if p.required_claims
        .iter()
        .any(|n| m.get(n).is_none_or(J::is_null))
    {
        return missing;
    }
    let (now, leeway) = (u128::from(now), u128::from(p.leeway));
    if now >= u128::from(exp) + leeway {
        return Err(ErrorKind::Expired);
    }
    if nbf.is_some_and(|n| now + leeway < u128::from(n)) {
        return Err(ErrorKind::NotYetValid);
    }
    if iat.is_some_and(|i| u128::from(i) > now + leeway) {
        return Err(ErrorKind::IssuedInFuture);
    }
    if !p.issuers.iter().any(|i| i == iss) {
        return Err(ErrorKind::WrongIssuer);
    }
    if let (Some(acc), Some(aud)) = (&p.audiences, &aud) {
        if !aud.iter().any(|a| acc.iter().any(|x| x == a)) {
            return Err(ErrorKind::WrongAudience);
        }
    }
    if let (Some(want), Some(typ)) = (&p.token_type, s("typ")) {
        if want != typ {
            return Err(ErrorKind::WrongType);
        }
    }
    let scope = s("scope").unwrap_or_default();
    if !p
        .required_scopes
        .iter()
        .all(|r| scope.split(' ').any(|w| w == r))
    {
        return Err(ErrorKind::MissingScope);
    }
    fn roles(access: Option<&J>) -> Vec<&str> {
        access
            .and_then(|a| a.get("roles"))
            .and_then(strs)
            .unwrap_or_default()
    }
    let realm = roles(m.get("realm_access"));
    if !p
        .required_realm_roles
        .iter()
        .all(|r| realm.contains(&r.as_str()))
    {
        return Err(ErrorKind::MissingRole);
    }
    for (client, want) in &p.required_client_roles {
        let have = roles(m.get("resource_access").and_then(|r| r.get(client)));
        if !want.iter().all(|r| have.contains(&r.as_str())) {
            return Err(ErrorKind::MissingRole);
        }
    }
    Ok(())
}

fuzz_target!(|x: Input| {
    let all = |v: &[S]| v.iter().map(S::get).collect::<Vec<_>>();
    let mut policy = Policy::new(all(&x.more_issuers));
    policy.issuers.insert(0, x.issuer.get());
    policy.audiences = x.audiences.as_deref().map(all);
    policy.leeway = x.leeway.map_or(x.leeway_any % (MAX_LEEWAY + 2), u64::from);
    policy.token_type = x.token_type.as_ref().map(S::get);
    policy.required_scopes = all(&x.required_scopes);
    policy.required_realm_roles = all(&x.required_realm_roles);
    policy.required_client_roles = x
        .required_client_roles
        .iter()
        .map(|(c, r)| (c.get(), all(r)))
        .collect::<BTreeMap<_, _>>();
    policy.required_claims = all(&x.required_claims);
    let Ok(verifier) = Verifier::new(sample_keys().clone(), policy.clone()) else {
        return;
    };
    let now = x
        .now
        .map_or(x.now_any, |d| NOW.saturating_add_signed(i64::from(d)));

    let mut payload = Map::new();
    for (name, c) in &x.extra {
        if let Some(v) = c.json() {
            payload.insert(name.get(), v);
        }
    }
    let known = [
        ("exp", x.exp.json()),
        ("nbf", x.nbf.json()),
        ("iat", x.iat.json()),
        ("iss", x.iss.json()),
        ("sub", x.sub.json()),
        ("aud", x.aud.json()),
        ("typ", x.typ.json()),
        ("azp", x.azp.json()),
        ("scope", x.scope.json()),
        ("realm_access", x.realm_access.json()),
        ("resource_access", x.resource_access.json()),
    ];
    for (name, v) in known {
        if let Some(v) = v {
            payload.insert(name.to_owned(), v);
        }
    }
    let json = if x.escape_all {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, EscapeAll);
        serde::Serialize::serialize(&payload, &mut ser).expect("serialize");
        out
    } else {
        serde_json::to_vec(&payload).expect("serialize")
    };
    let token = format!(
        "{}.{}.AAAA",
        b64(br#"{"alg":"RS256","kid":"x"}"#),
        b64(&json)
    );
    let mut buf = vec![0u8; token.len()];
    let unverified = xconnauth::dangerous::decode_unverified(token.as_bytes(), &mut buf)
        .expect("a serde_json object decodes");

    assert!(
        xconnauth::__one_pass_claims_agree(&json),
        "one-pass and two-pass claims readings differ"
    );
    let want = model(&payload, &policy, now);
    let got = unverified.claims().map_err(|e| e.kind()).and_then(|c| {
        let r = verifier.check_claims(&c, now).map_err(|e| e.kind());
        if r.is_ok() {
            let exp = c.exp().expect("Ok without exp");
            assert!(
                u128::from(now) < u128::from(exp) + u128::from(policy.leeway),
                "Ok although expired"
            );
            let iss: String = c.iss().expect("Ok without iss").chars().collect();
            assert!(policy.issuers.contains(&iss), "Ok with an untrusted issuer");
        }
        r
    });
    assert_eq!(got, want, "payload {}", String::from_utf8_lossy(&json));
});
