//! Where the keys come from: a realm's engine, or a fixed key set.

use std::sync::Arc;

use tokio::sync::Semaphore;
use xconnauth::{Error, ErrorKind, Policy, VerifiedToken, Verifier};
use xconnauth_remote::{Options, RemoteError, RemoteVerifier};

/// The keys an [`AuthLayer`](crate::AuthLayer) verifies with.
///
/// - [`TokenVerifier::remote`] / `From<RemoteVerifier>`: issuers trusted through the
///   key engine (OIDC discovery, cached JWKS, refresh on an unknown kid with cooldown,
///   last-known-good keys). Build the engine in its default mode (`non_blocking`
///   off): the layer already keeps waits off the runtime's workers, and with
///   `non_blocking` the first request carrying a rotated key would get 401 instead of
///   waiting for the refresh.
/// - `From<Verifier>`: a fixed key set (a JWKS file); never does I/O.
#[derive(Clone, Debug)]
pub enum TokenVerifier {
    /// A fixed key set.
    Static(Arc<Verifier>),
    /// Keys fetched and kept fresh by the engine.
    Remote(RemoteVerifier),
}

impl TokenVerifier {
    /// Trusts `policy.issuers` through the key engine. `options.non_blocking` is
    /// turned off (see the type's documentation).
    ///
    /// # Errors
    /// As [`RemoteVerifier::new`].
    pub fn remote(policy: Policy, options: Options) -> Result<TokenVerifier, RemoteError> {
        let v = RemoteVerifier::new(policy, options.with_non_blocking(false))?;
        Ok(TokenVerifier::Remote(v))
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        match self {
            TokenVerifier::Static(v) => v.policy(),
            TokenVerifier::Remote(v) => v.policy(),
        }
    }
}

impl From<Verifier> for TokenVerifier {
    fn from(v: Verifier) -> Self {
        TokenVerifier::Static(Arc::new(v))
    }
}

impl From<Arc<Verifier>> for TokenVerifier {
    fn from(v: Arc<Verifier>) -> Self {
        TokenVerifier::Static(v)
    }
}

impl From<RemoteVerifier> for TokenVerifier {
    fn from(v: RemoteVerifier) -> Self {
        TokenVerifier::Remote(v)
    }
}

fn no_keys() -> Error {
    Error::new(
        ErrorKind::KeysUnavailable,
        "no signing keys yet: an issuer's keys could not be fetched so far",
    )
}

/// Verifies an `Authorization` value without blocking the calling runtime worker.
pub(crate) async fn verify(
    keys: &TokenVerifier,
    waits: &Arc<Semaphore>,
    value: &[u8],
    now: u64,
) -> Result<VerifiedToken, Error> {
    let remote = match keys {
        TokenVerifier::Static(v) => return v.verify_header_bytes(value, now),
        TokenVerifier::Remote(r) => r,
    };
    // The engine's current keys, loaded without a lock: a token whose key is known is
    // judged here, inline, without the engine (which might wait for a fetch).
    if let Some(v) = remote.snapshot() {
        match v.verify_header_bytes(value, now) {
            Err(e) if e.kind() == ErrorKind::UnknownKid => {}
            done => return done,
        }
    }
    // Unknown kid, or no keys yet: the engine asks for a refresh (single flight, at
    // most one per cooldown) and waits for it, at most its fetch deadline. That wait
    // happens on the blocking pool; this task awaits it. The semaphore bounds how many
    // blocking threads a flood of unknown kids can hold while a fetch is under way;
    // requests beyond it queue here, asynchronously.
    let Ok(_permit) = Arc::clone(waits).acquire_owned().await else {
        return Err(no_keys());
    };
    let remote = remote.clone();
    // Bounded by the server's header size limit; copied because the wait outlives the
    // borrow of the request.
    let value = value.to_vec();
    let job = move || remote.verify_header_bytes(&value, now);
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => rt
            .spawn_blocking(job)
            .await
            .unwrap_or_else(|_| Err(no_keys())),
        Err(_) => {
            // Not inside a tokio runtime (another executor): a thread of our own, still
            // awaited through a channel rather than waited for.
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new()
                .name("xconnauth-tower-refresh".into())
                .spawn(move || {
                    let _ = tx.send(job());
                });
            if spawned.is_err() {
                return Err(no_keys());
            }
            rx.await.unwrap_or_else(|_| Err(no_keys()))
        }
    }
}
