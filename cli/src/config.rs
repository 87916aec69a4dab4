//! Turning `verify` flags into a [`Verifier`]: the policy file first, then each flag
//! given beside it, then the key set.

use std::collections::BTreeMap;

use xconnauth::{Error, KeySet, Policy, VerifiedToken, Verifier};
use xconnauth_remote::{Options, RemoteVerifier};

use crate::args::VerifyArgs;
use crate::source::{read_file, read_source};
use crate::UsageError;

/// Where the keys come from: a JWKS read once (file or URL), or the key engine
/// (`--discover`).
// Built once per process: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Keys {
    /// One key set serving every issuer.
    Local(Verifier),
    /// Each issuer's keys found by discovery, refreshed on an unknown kid.
    Remote(RemoteVerifier),
}

impl Keys {
    pub(crate) fn verify(&self, token: &[u8], now: u64) -> Result<VerifiedToken, Error> {
        match self {
            Keys::Local(v) => v.verify(token, now),
            Keys::Remote(v) => v.verify(token, now),
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        match self {
            Keys::Local(v) => v.policy(),
            Keys::Remote(v) => v.policy(),
        }
    }
}

/// Builds the verifier `args` describe.
pub(crate) fn build_verifier(args: &VerifyArgs) -> Result<Keys, UsageError> {
    let policy = build_policy(args)?;
    if args.discover {
        let mut options = Options::default().with_fail_fast(true);
        if let Some(ca) = &args.ca_file {
            options = options.with_ca_file(ca);
        }
        let v = RemoteVerifier::new(policy, options)
            .map_err(|e| UsageError::new(format!("cannot get the issuers' keys: {e}")))?;
        return Ok(Keys::Remote(v));
    }
    let Some(source) = &args.jwks else {
        return Err(UsageError::new("--jwks or --discover is required"));
    };
    let jwks = read_source(source, "JWKS", args.ca_file.as_deref())?;
    let keys = KeySet::from_jwks(&jwks)
        .map_err(|e| UsageError::new(format!("JWKS from {source}: {e}")))?;
    Verifier::new(keys, policy)
        .map(Keys::Local)
        .map_err(|e| UsageError::new(format!("configuration: {e}")))
}

/// The policy file's options (or the DESIGN §4 defaults), overridden by every flag given.
pub(crate) fn build_policy(args: &VerifyArgs) -> Result<Policy, UsageError> {
    let mut policy = match &args.policy {
        Some(path) => {
            let json = read_file(path, "policy")?;
            Policy::from_json(&json)
                .map_err(|e| UsageError::new(format!("policy file {}: {e}", path.display())))?
        }
        None => Policy::default(),
    };
    apply_flags(&mut policy, args);
    if policy.issuers.is_empty() {
        return Err(UsageError::new(
            "--issuer is required (or a --policy file that sets \"issuers\")",
        ));
    }
    Ok(policy)
}

/// Overrides: a scalar flag replaces the option; a repeatable flag, when given at least
/// once, replaces the whole list (never appends), so the command line alone says what
/// is required.
fn apply_flags(policy: &mut Policy, args: &VerifyArgs) {
    replace_list(&mut policy.issuers, &args.issuers);
    if !args.audiences.is_empty() {
        policy.audiences = Some(args.audiences.clone());
    }
    replace_list(&mut policy.required_scopes, &args.scopes);
    replace_list(&mut policy.required_realm_roles, &args.realm_roles);
    if !args.client_roles.is_empty() {
        policy.required_client_roles = client_role_map(&args.client_roles);
    }
    replace_list(&mut policy.algorithms, &args.algorithms);
    replace_list(&mut policy.required_claims, &args.required_claims);
    if let Some(leeway) = args.leeway {
        policy.leeway = leeway;
    }
    if args.no_token_type {
        policy.token_type = None;
    } else if let Some(t) = &args.token_type {
        policy.token_type = Some(t.clone());
    }
    if !args.header_types.is_empty() {
        policy.header_types = Some(args.header_types.clone());
    }
    if let Some(bits) = args.min_rsa_bits {
        policy.min_rsa_bits = bits;
    }
    if let Some(bits) = args.max_rsa_bits {
        policy.max_rsa_bits = bits;
    }
    if let Some(bytes) = args.max_token_bytes {
        policy.max_token_bytes = bytes;
    }
}

fn replace_list<T: Clone>(target: &mut Vec<T>, flags: &[T]) {
    if !flags.is_empty() {
        *target = flags.to_vec();
    }
}

/// `(client, role)` pairs grouped per client, in the order given.
fn client_role_map(pairs: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (client, role) in pairs {
        map.entry(client.clone()).or_default().push(role.clone());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_roles_group_per_client() {
        let pairs = [
            ("orders-api".to_owned(), "orders:read".to_owned()),
            ("account".to_owned(), "view-profile".to_owned()),
            ("orders-api".to_owned(), "orders:write".to_owned()),
        ];
        let map = client_role_map(&pairs);
        assert_eq!(map.len(), 2);
        assert_eq!(
            map.get("orders-api").map(Vec::as_slice),
            Some(&["orders:read".to_owned(), "orders:write".to_owned()][..])
        );
    }
}
