//! Turning `verify` flags into a [`Verifier`]: the policy file first, then each flag
//! given beside it, then the key set.

use std::collections::BTreeMap;

use xconnauth::{KeySet, Policy, Verifier};

use crate::args::VerifyArgs;
use crate::source::{read_file, read_source};
use crate::UsageError;

/// Builds the verifier `args` describe.
pub(crate) fn build_verifier(args: &VerifyArgs) -> Result<Verifier, UsageError> {
    let policy = build_policy(args)?;
    let jwks = read_source(&args.jwks, "JWKS")?;
    let keys = KeySet::from_jwks(&jwks)
        .map_err(|e| UsageError::new(format!("JWKS from {}: {e}", args.jwks)))?;
    Verifier::new(keys, policy).map_err(|e| UsageError::new(format!("configuration: {e}")))
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
