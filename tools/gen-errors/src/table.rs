//! The rows of `core/src/error_table.rs`, read by including the same file core expands
//! (with this crate's own expansion of its two macros).

/// One category of `categories!`.
#[derive(Clone, Debug)]
pub(crate) struct Category {
    /// The `ErrorKind` variant, also the Python class and the .NET member.
    pub(crate) variant: &'static str,
    /// The doc comment, one string per `///` line (leading space removed by `doc_lines`).
    pub(crate) doc: &'static [&'static str],
    pub(crate) code: &'static str,
    pub(crate) c_status: u32,
    pub(crate) http: u16,
    pub(crate) rfc6750: Option<&'static str>,
    /// Core's problem title: core uses it, nothing here does; kept for completeness checks.
    #[allow(dead_code)]
    pub(crate) title: &'static str,
    pub(crate) when: &'static str,
}

/// One row of `c_api_statuses!`: a C status that is not a category.
#[derive(Clone, Debug)]
pub(crate) struct ApiStatus {
    /// The `xca_status_name` string.
    pub(crate) name: &'static str,
    pub(crate) doc: &'static [&'static str],
    pub(crate) c_status: u32,
}

macro_rules! categories {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident {
            code: $code:literal,
            c_status: $c_status:literal,
            http: $http:literal,
            rfc6750: $rfc6750:expr,
            title: $title:literal,
            when: $when:literal $(,)?
        }
    )+) => {
        /// Every category, in table order.
        pub(crate) const CATEGORIES: &[Category] = &[$(Category {
            variant: stringify!($variant),
            doc: &[$($doc),+],
            code: $code,
            c_status: $c_status,
            http: $http,
            rfc6750: $rfc6750,
            title: $title,
            when: $when,
        }),+];
    };
}

macro_rules! c_api_statuses {
    ($($(#[doc = $doc:literal])+ $name:ident = $c_status:literal,)+) => {
        /// The C API's other statuses, in table order.
        pub(crate) const API_STATUSES: &[ApiStatus] = &[$(ApiStatus {
            name: stringify!($name),
            doc: &[$($doc),+],
            c_status: $c_status,
        }),+];
    };
}

include!("../../../core/src/error_table.rs");
