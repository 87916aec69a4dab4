//! Signature algorithms. A module of its own so that both backends (keys.rs and the
//! aws-lc one in fast.rs) depend on it, and not on each other.

use core::fmt;

/// A JWS signature algorithm this crate verifies (RFC 7518 §3.3, §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Keycloak's default).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-octet salt.
    PS256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, 48-octet salt.
    PS384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, 64-octet salt.
    PS512,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ];

    /// The JOSE name, e.g. `"RS256"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
        }
    }

    /// The algorithm with this exact (case-sensitive) JOSE name.
    ///
    /// ```
    /// use xconnauth::Algorithm;
    /// assert_eq!(Algorithm::from_name("PS256"), Some(Algorithm::PS256));
    /// assert_eq!(Algorithm::from_name("rs256"), None);
    /// assert_eq!(Algorithm::from_name("HS256"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
