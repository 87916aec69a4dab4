//! The fetcher: URL rules, one deadline per fetch, no redirects, a size cap, one retry
//! of a transient error.

use std::io::ErrorKind as IoKind;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ureq::tls::{parse_pem, Certificate, PemItem, RootCerts, TlsConfig};
use ureq::Agent;
use xconnauth::ConfigError;

use crate::Options;

/// Checks the URL rules every fetched URL obeys: `https`, or plain `http` only to a
/// literal loopback host (`127.0.0.0/8`, `[::1]`, or exactly `localhost`; not
/// `foo.localhost`, which public DNS may resolve anywhere).
///
/// ```
/// use xconnauth_remote::check_url;
/// assert!(check_url("https://sso.example.com/realms/a").is_ok());
/// assert!(check_url("http://127.0.0.2:8080/realms/a").is_ok());
/// assert!(check_url("http://[::1]/x").is_ok());
/// assert!(check_url("http://localhost/x").is_ok());
/// assert!(check_url("http://foo.localhost/x").is_err());
/// assert!(check_url("http://sso.example.com/x").is_err());
/// assert!(check_url("ftp://sso.example.com/x").is_err());
/// ```
///
/// # Errors
/// The URL does not parse, has no host, or breaks the rules above.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("\"{url}\" is not a URL: {e}"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| format!("\"{url}\" has no scheme (https:// expected)"))?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("\"{url}\" has no host"))?;
    if scheme.eq_ignore_ascii_case("https") {
        Ok(())
    } else if scheme.eq_ignore_ascii_case("http") {
        if is_loopback(host) {
            Ok(())
        } else {
            Err(format!(
                "\"{url}\": plain http is allowed only to a loopback address \
                 (127.0.0.0/8, ::1, localhost); use https"
            ))
        }
    } else {
        Err(format!(
            "\"{url}\": scheme \"{scheme}\" is not supported (https only)"
        ))
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback(),
        Ok(IpAddr::V6(a)) => a == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

/// The discovery URL of an issuer: `<issuer>/.well-known/openid-configuration`, with
/// one trailing slash of the issuer dropped (OIDC Discovery §4).
pub(crate) fn discovery_url(issuer: &str) -> String {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    format!("{base}/.well-known/openid-configuration")
}

/// The HTTP agents: rustls with the system's roots plus `ca_file`, no redirects,
/// statuses handled by [`get`]. Loopback URLs never go through a proxy from the
/// environment (the proxy's loopback is not ours); other URLs honour `HTTPS_PROXY` /
/// `NO_PROXY` like other tools on the host.
pub(crate) struct Http {
    proxied: Agent,
    direct: Agent,
}

impl Http {
    fn for_url(&self, url: &str) -> &Agent {
        let loopback = url
            .parse::<ureq::http::Uri>()
            .ok()
            .and_then(|u| u.host().map(is_loopback))
            .unwrap_or(false);
        if loopback {
            &self.direct
        } else {
            &self.proxied
        }
    }
}

pub(crate) fn agent(options: &Options) -> Result<Http, ConfigError> {
    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = &options.ca_file {
        roots.extend(read_ca_file(path)?);
    }
    // No system store could be read and no bundle given: Mozilla's roots (bundled with
    // ureq) rather than trusting nothing.
    let roots = if roots.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::Specific(Arc::new(roots))
    };
    let build = |proxy: Option<ureq::Proxy>| -> Agent {
        let tls = TlsConfig::builder().root_certs(roots.clone()).build();
        Agent::config_builder()
            .tls_config(tls)
            .proxy(proxy)
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("xconnauth-remote/", env!("CARGO_PKG_VERSION")))
            .build()
            .into()
    };
    Ok(Http {
        proxied: build(ureq::Proxy::try_from_env()),
        direct: build(None),
    })
}

fn read_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>, ConfigError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError::new(format!("cannot read ca_file {shown}: {e}")))?;
    let mut certs = Vec::new();
    for item in parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(ConfigError::new(format!(
                    "ca_file {shown} is not a PEM bundle: {e}"
                )))
            }
        }
    }
    if certs.is_empty() {
        return Err(ConfigError::new(format!(
            "ca_file {shown} holds no PEM certificate"
        )));
    }
    Ok(certs)
}

/// A fetched document.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) cache_control: Option<String>,
}

/// GETs `url` before `deadline`: 2xx only, redirects refused, body capped at
/// `max_bytes`; a transient failure (connection refused/reset, 502/503/504) is tried
/// once more after a short jitter if the deadline leaves room.
pub(crate) fn get(
    http: &Http,
    url: &str,
    max_bytes: usize,
    deadline: Instant,
) -> Result<Fetched, String> {
    check_url(url)?;
    let agent = http.for_url(url);
    match get_once(agent, url, max_bytes, deadline) {
        Err(Attempt::Transient(first)) => {
            let pause = jitter();
            let left = deadline.saturating_duration_since(Instant::now());
            if left <= pause + Duration::from_millis(20) {
                return Err(first);
            }
            std::thread::sleep(pause);
            get_once(agent, url, max_bytes, deadline).map_err(|e| match e {
                Attempt::Transient(m) | Attempt::Final(m) => format!("{m} (after one retry)"),
            })
        }
        Err(Attempt::Final(m)) => Err(m),
        Ok(f) => Ok(f),
    }
}

enum Attempt {
    Transient(String),
    Final(String),
}

/// 50-250 ms, from the clock's low bits: spreads the retries of many processes that
/// lost the same server at the same moment, without a random-number dependency.
fn jitter() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = nanos.wrapping_mul(0x9e37_79b9) ^ std::process::id();
    Duration::from_millis(50 + u64::from(mixed % 200))
}

fn get_once(
    agent: &Agent,
    url: &str,
    max_bytes: usize,
    deadline: Instant,
) -> Result<Fetched, Attempt> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Attempt::Final(format!("GET {url}: deadline reached")));
    }
    let shown_timeout = |e: &ureq::Error| match e {
        ureq::Error::Timeout(_) => format!("GET {url}: timed out (the fetch deadline passed)"),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("GET {url}: the response is larger than max_bytes ({max_bytes})")
        }
        other => format!("GET {url}: {other}"),
    };
    let mut response = match agent
        .get(url)
        .config()
        .timeout_global(Some(left))
        .build()
        .header("Accept", "application/json")
        .call()
    {
        Ok(r) => r,
        Err(e) => {
            let message = shown_timeout(&e);
            return Err(if transient(&e) {
                Attempt::Transient(message)
            } else {
                Attempt::Final(message)
            });
        }
    };
    let status = response.status().as_u16();
    if (300..400).contains(&status) {
        return Err(Attempt::Final(format!(
            "GET {url}: HTTP {status} redirect refused (key URLs must answer directly)"
        )));
    }
    if !(200..300).contains(&status) {
        let message = format!("GET {url}: HTTP status {status}");
        return Err(if matches!(status, 502..=504) {
            Attempt::Transient(message)
        } else {
            Attempt::Final(message)
        });
    }
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    let body = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| Attempt::Final(shown_timeout(&e)))?;
    Ok(Fetched {
        body,
        cache_control,
    })
}

fn transient(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            IoKind::ConnectionRefused
                | IoKind::ConnectionReset
                | IoKind::ConnectionAborted
                | IoKind::UnexpectedEof
                | IoKind::BrokenPipe
        ),
        ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        for ok in [
            "https://kc.example.com/realms/a",
            "HTTPS://kc/x",
            "http://127.0.0.1:1/x",
            "http://127.255.255.254/x",
            "http://[::1]:8080/x",
            "http://LOCALHOST:9/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://foo.localhost/x",
            "http://localhost.example.com/x",
            "http://128.0.0.1/x",
            "http://[::2]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://10.0.0.1/x",
            "file:///etc/passwd",
            "kc.example.com/realms/a",
            "https:///x",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn discovery_urls() {
        assert_eq!(
            discovery_url("https://kc/realms/a"),
            "https://kc/realms/a/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://kc/realms/a/"),
            "https://kc/realms/a/.well-known/openid-configuration"
        );
    }
}
