//! Reading configuration documents (JWKS, policy) from files and http(s) URLs, always
//! with a size cap so a wrong path (`/dev/zero`) or a hostile server cannot exhaust
//! memory, and with timeouts so a stalled server cannot hang the CLI.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::UsageError;

/// Largest document read from a file or URL: 1 MiB, the same cap the core applies to a
/// JWKS ([`xconnauth::MAX_JWKS_BYTES`]).
pub(crate) const MAX_DOCUMENT_BYTES: usize = xconnauth::MAX_JWKS_BYTES;

/// Connect timeout, and the longest wait for any single read.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on the whole fetch, so a server trickling a byte every few seconds cannot keep
/// the CLI waiting for hours under the per-read timeout.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads `source`: an `http://` or `https://` URL is fetched, anything else without a
/// URL scheme is a file path. `what` names the document in messages ("JWKS").
pub(crate) fn read_source(source: &str, what: &str) -> Result<Vec<u8>, UsageError> {
    match url_scheme(source) {
        Some(scheme)
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            fetch_url(source, what)
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

/// GETs `url` over rustls with the timeouts and size cap above. Non-2xx statuses are
/// errors; redirects are followed (ureq's default bound).
fn fetch_url(url: &str, what: &str) -> Result<Vec<u8>, UsageError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(IO_TIMEOUT))
        .timeout_per_read(Some(IO_TIMEOUT))
        .timeout_global(Some(TOTAL_TIMEOUT))
        .http_status_as_error(true)
        .build()
        .into();
    let fail = |e: ureq::Error| UsageError::new(describe_fetch_error(url, what, &e));
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(fail)?;
    let limit = u64::try_from(MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(fail)
}

fn describe_fetch_error(url: &str, what: &str, err: &ureq::Error) -> String {
    match err {
        ureq::Error::BodyExceedsLimit(_) => {
            format!("{what} response from {url} is larger than the 1 MiB limit")
        }
        ureq::Error::StatusCode(status) => {
            format!("cannot fetch {what} from {url}: HTTP status {status}")
        }
        ureq::Error::Timeout(_) => format!(
            "cannot fetch {what} from {url}: timed out ({} s per connect/read, {} s in all)",
            IO_TIMEOUT.as_secs(),
            TOTAL_TIMEOUT.as_secs()
        ),
        other => format!("cannot fetch {what} from {url}: {other}"),
    }
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
        let err = read_source("file:///etc/passwd", "JWKS")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|m| m.contains("only http and https")));
    }
}
