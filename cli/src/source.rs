//! Reading configuration documents (JWKS, policy) from files and http(s) URLs, always
//! with a size cap so a wrong path (`/dev/zero`) or a hostile server cannot exhaust
//! memory; URLs go through the key engine's fetcher (one deadline, no redirects, https
//! except loopback) so a stalled or hostile server cannot hang or redirect the CLI.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use xconnauth_remote::{fetch_document, Options, RemoteError};

use crate::UsageError;

/// Largest document read from a file or URL: 1 MiB, the same cap the core applies to a
/// JWKS ([`xconnauth::MAX_JWKS_BYTES`]).
pub(crate) const MAX_DOCUMENT_BYTES: usize = xconnauth::MAX_JWKS_BYTES;

/// Reads `source`: an `http://` or `https://` URL is fetched under the key engine's
/// rules (https, or http to loopback only; no redirects; 1 MiB; one 5 s deadline; the
/// system roots plus `ca_file`), anything else without a URL scheme is a file path.
/// `what` names the document in messages ("JWKS").
pub(crate) fn read_source(
    source: &str,
    what: &str,
    ca_file: Option<&Path>,
) -> Result<Vec<u8>, UsageError> {
    match url_scheme(source) {
        Some(scheme)
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            fetch_url(source, what, ca_file)
        }
        Some(scheme) => Err(UsageError::new(format!(
            "{what} URL scheme \"{scheme}\" is not supported (only http and https): {source}"
        ))),
        None => read_file(Path::new(source), what),
    }
}

/// The scheme of `s` if it looks like `scheme://...` (RFC 3986 scheme characters), so
/// that `file://` or `ftp://` is refused clearly rather than read as a relative path.
fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then_some(scheme)
}

/// Reads a file of at most [`MAX_DOCUMENT_BYTES`].
pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, UsageError> {
    let shown = path.display();
    let file = File::open(path)
        .map_err(|e| UsageError::new(format!("cannot open {what} file {shown}: {e}")))?;
    let mut bytes = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "too big".
    let cap = u64::try_from(MAX_DOCUMENT_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| UsageError::new(format!("cannot read {what} file {shown}: {e}")))?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(UsageError::new(format!(
            "{what} file {shown} is larger than the 1 MiB limit"
        )));
    }
    Ok(bytes)
}

/// GETs `url` with the key engine's fetcher (`xconnauth_remote::fetch_document`).
fn fetch_url(url: &str, what: &str, ca_file: Option<&Path>) -> Result<Vec<u8>, UsageError> {
    let mut options = Options::default().with_max_bytes(MAX_DOCUMENT_BYTES);
    if let Some(ca) = ca_file {
        options = options.with_ca_file(ca);
    }
    fetch_document(url, &options).map_err(|e| match e {
        RemoteError::Fetch { message, .. } => {
            UsageError::new(format!("cannot fetch {what} from {url}: {message}"))
        }
        other => UsageError::new(format!("{what} URL {url}: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(url_scheme("https://sso.example.com/x"), Some("https"));
        assert_eq!(url_scheme("file:///etc/passwd"), Some("file"));
        assert_eq!(url_scheme("examples/keycloak/jwks.json"), None);
        assert_eq!(url_scheme("./odd://name"), None);
        assert_eq!(url_scheme("C:\\keys\\jwks.json"), None);
    }

    #[test]
    fn other_schemes_are_refused() {
        let err = read_source("file:///etc/passwd", "JWKS", None)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("only http and https")));
    }
}
