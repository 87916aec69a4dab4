//! Command-line syntax (clap derive). Option help names the DESIGN §4 policy option
//! each flag sets, so `--policy` files and flags can be mixed without guessing.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use xconnauth::Algorithm;

/// Verify or inspect Keycloak-issued JWT bearer tokens (RS256/PS256 JWS).
#[derive(Debug, Parser)]
#[command(name = "xconnauth", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// Parsed once per process, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify a token's signature, issuer, lifetime, audience, type, scopes and roles.
    #[command(after_long_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// Decode a token WITHOUT verifying anything and pretty-print its header and claims.
    #[command(after_long_help = INSPECT_AFTER_HELP)]
    Inspect(InspectArgs),
}

const VERIFY_AFTER_HELP: &str = "\
Policy precedence:
  --policy FILE is read first (DESIGN section 4 option names; unknown names are errors).
  Every flag given beside it overrides that option of the file; a repeatable flag
  (--issuer, --audience, --scope, --realm-role, --client-role, --algorithm,
  --required-claim) replaces the file's whole list (or, for --client-role, its whole map).
  Options set by neither keep the DESIGN section 4 defaults.

Batch mode:
  With TOKEN '-' one token is read per line from standard input (a trailing LF or CRLF
  is removed, nothing else: a line with spaces fails as malformed, an empty line is
  verified and fails too; only the empty remainder after the last newline is skipped).
  One result line is printed per token, and a summary 'N tokens: V valid, I invalid'
  goes to standard error at the end.

Output:
  Human:   'VALID sub=\"...\" ...' or 'INVALID <code>: <message>' (coloured only when
           standard output is a terminal and NO_COLOR is unset).
  --json:  {\"valid\":true,\"header\":{...},\"claims\":{...}} or
           {\"valid\":false,\"error\":\"<code>\",\"message\":\"...\"}; configuration errors
           print {\"valid\":false,\"error\":\"invalid_config\",\"message\":\"...\"}.

Exit status:
  0  every token is valid
  1  a token is invalid
  2  usage or configuration error (bad flag, unreadable/invalid JWKS or policy, a key
     server that cannot be reached or answers wrongly, ...)";

const INSPECT_AFTER_HELP: &str = "\
The output is NOT trustworthy: nothing (signature, issuer, expiry, audience, ...) has
been checked. Use 'xconnauth verify' to decide whether a token may pass.
With TOKEN '-' one token is read per line from standard input.

Exit status: 0 decoded, 1 a token does not decode (its error category is printed),
2 usage error.";

/// `xconnauth verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Trusted key set: a JWKS file, or a URL to fetch it from once (Keycloak:
    /// `<realm>/protocol/openid-connect/certs`). URLs: https, or plain http to loopback
    /// only; no redirects; at most 1 MiB; 5 s deadline. The keys serve every --issuer.
    #[arg(
        long,
        value_name = "FILE|URL",
        required_unless_present = "discover",
        conflicts_with = "discover"
    )]
    pub(crate) jwks: Option<String>,

    /// Find each issuer's keys through OIDC discovery
    /// (`<issuer>/.well-known/openid-configuration`, `issuer` checked byte for byte), each
    /// realm with its own key set. Same URL rules as --jwks URL.
    #[arg(long)]
    pub(crate) discover: bool,

    /// Extra PEM bundle of CA certificates trusted beside the system's, for key servers
    /// behind a private CA (--jwks URL, --discover).
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,

    /// Trusted issuer, compared byte for byte with `iss`; repeat for several realms.
    /// [policy: issuers; required unless --policy sets it]
    #[arg(long = "issuer", value_name = "ISS")]
    pub(crate) issuers: Vec<String>,

    /// Accepted audience (any-of), matched against `aud`; repeat for several.
    /// [policy: audiences; default: not checked]
    #[arg(long = "audience", value_name = "A")]
    pub(crate) audiences: Vec<String>,

    /// Scope that must be granted (whole word of `scope`); repeat for several, all
    /// required. [policy: required_scopes]
    #[arg(long = "scope", value_name = "S")]
    pub(crate) scopes: Vec<String>,

    /// Realm role that must be in `realm_access.roles`; repeat for several, all required.
    /// [policy: required_realm_roles]
    #[arg(long = "realm-role", value_name = "R")]
    pub(crate) realm_roles: Vec<String>,

    /// Client role that must be in `resource_access.<CLIENT>.roles`; repeat for several,
    /// all required. Split at the FIRST ':' (client ids have none, roles such as
    /// `orders:write` may). [policy: required_client_roles]
    #[arg(long = "client-role", value_name = "CLIENT:ROLE", value_parser = parse_client_role)]
    pub(crate) client_roles: Vec<(String, String)>,

    /// Allowed clock skew in seconds for `exp`, `nbf` and `iat`.
    /// [policy: leeway; default: 30]
    #[arg(long, value_name = "S")]
    pub(crate) leeway: Option<u64>,

    /// Current time as unix seconds, instead of the system clock.
    #[arg(long, value_name = "UNIX")]
    pub(crate) now: Option<u64>,

    /// Required `typ` claim. [policy: token_type; default: Bearer]
    #[arg(long, value_name = "T", conflicts_with = "no_token_type")]
    pub(crate) token_type: Option<String>,

    /// Do not check the `typ` claim. [policy: token_type = null]
    #[arg(long)]
    pub(crate) no_token_type: bool,

    /// Accepted header `typ` (RFC 9068 access tokens: at+jwt), compared
    /// case-insensitively, an `application/` prefix ignored; repeat for several.
    /// [policy: header_types; default: not checked]
    #[arg(long = "header-type", value_name = "T")]
    pub(crate) header_types: Vec<String>,

    /// Smallest accepted RSA modulus in bits. [policy: min_rsa_bits; default: 2048]
    #[arg(long, value_name = "N")]
    pub(crate) min_rsa_bits: Option<u32>,

    /// Largest accepted RSA modulus in bits. [policy: max_rsa_bits; default: 8192]
    #[arg(long, value_name = "N")]
    pub(crate) max_rsa_bits: Option<u32>,

    /// Longest accepted token in octets. [policy: max_token_bytes; default: 16384]
    #[arg(long, value_name = "N")]
    pub(crate) max_token_bytes: Option<usize>,

    /// Allowed signature algorithm (RS256, RS384, RS512, PS256, PS384, PS512); repeat
    /// for several. [policy: algorithms; default: RS256]
    #[arg(long = "algorithm", value_name = "ALG", value_parser = parse_algorithm)]
    pub(crate) algorithms: Vec<Algorithm>,

    /// Claim that must be present (`exp` and `iss` always are); repeat for several.
    /// [policy: required_claims; default: exp]
    #[arg(long = "required-claim", value_name = "NAME")]
    pub(crate) required_claims: Vec<String>,

    /// JSON object of DESIGN section 4 policy options; flags given beside it override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// Print one JSON object per token instead of a human line.
    #[arg(long)]
    pub(crate) json: bool,

    /// The compact token, or '-' to read one token per line from standard input.
    /// Put '--' before a token that starts with '-'.
    #[arg(value_name = "TOKEN|-")]
    pub(crate) token: OsString,
}

/// `xconnauth inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Print `{"verified":false,"header":{...},"claims":{...}}` per token.
    #[arg(long)]
    pub(crate) json: bool,

    /// The compact token, or '-' to read one token per line from standard input.
    #[arg(value_name = "TOKEN|-")]
    pub(crate) token: OsString,
}

/// `CLIENT:ROLE`, split at the first `:`. Keycloak client ids contain no `:`, but role
/// names often do (`orders:write`), so splitting at the last one would be wrong.
fn parse_client_role(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((client, role)) if !client.is_empty() && !role.is_empty() => {
            Ok((client.to_owned(), role.to_owned()))
        }
        _ => Err(format!(
            "expected CLIENT:ROLE with both parts non-empty, got \"{value}\""
        )),
    }
}

/// An exact, case-sensitive JOSE algorithm name that the core supports.
fn parse_algorithm(value: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(value).ok_or_else(|| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unsupported algorithm \"{value}\" (supported: {})",
            names.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn client_role_splits_at_first_colon() {
        assert_eq!(
            parse_client_role("orders-api:orders:write"),
            Ok(("orders-api".to_owned(), "orders:write".to_owned()))
        );
        assert!(parse_client_role("orders-api").is_err());
        assert!(parse_client_role(":admin").is_err());
        assert!(parse_client_role("orders-api:").is_err());
    }

    #[test]
    fn algorithms_are_exact() {
        assert_eq!(parse_algorithm("PS256"), Ok(Algorithm::PS256));
        assert!(parse_algorithm("rs256").is_err());
        assert!(parse_algorithm("HS256").is_err());
    }
}
