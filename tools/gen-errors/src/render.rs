//! What each generated block holds, and the checks the table must pass first.
//!
//! Every renderer returns whole lines (each ending in `\n`), formatted the way the
//! file's own linters want them (rustfmt, the Python and C# house style), so a
//! regenerated file needs no formatter run.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::table::{ApiStatus, Category, API_STATUSES, CATEGORIES};

/// The doc comment's lines without the one space `///` leaves in front of each.
fn doc_lines<'a>(doc: &[&'a str]) -> Vec<&'a str> {
    doc.iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect()
}

/// The doc comment as one paragraph (for table cells).
fn doc_text(doc: &[&'static str]) -> String {
    doc_lines(doc).join(" ")
}

/// `snake_case` → `PascalCase` (`bad_base64` → `BadBase64`).
fn pascal(code: &str) -> String {
    code.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The C constant of a status name: `XCA_` + the name upper-cased.
fn c_const(name: &str) -> String {
    format!("XCA_{}", name.to_ascii_uppercase())
}

/// A 5xx category: the server cannot judge the token now (not the token's fault).
fn is_server_side(c: &Category) -> bool {
    c.http >= 500
}

/// Every rule the table must follow; the problems found, if any.
pub(crate) fn validate() -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut codes = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let mut last = 0;
    for c in CATEGORIES {
        let code = c.code;
        if !codes.insert(code) {
            problems.push(format!("code {code:?} appears twice"));
        }
        if !numbers.insert(c.c_status) {
            problems.push(format!("C status {} is given twice", c.c_status));
        }
        if c.c_status <= last || c.c_status >= 100 {
            problems.push(format!(
                "{code}: C status {} must be above the previous category's ({last}) and \
                 below 100 (the API-misuse range): append, never insert or reuse",
                c.c_status
            ));
        }
        last = c.c_status;
        if !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(format!("{code}: a code is lower-case snake_case"));
        }
        if pascal(code) != c.variant {
            problems.push(format!(
                "{}: the variant must be the code in PascalCase ({}): it names the Python \
                 class and the .NET member too",
                c.variant,
                pascal(code)
            ));
        }
        if !matches!(c.http, 401 | 403 | 503) {
            problems.push(format!("{code}: HTTP {} is not 401, 403 or 503", c.http));
        }
        match (is_server_side(c), c.rfc6750) {
            (true, Some(_)) => problems.push(format!(
                "{code}: a 5xx category has no RFC 6750 error (a bare challenge)"
            )),
            (false, None) => {
                problems.push(format!("{code}: a 4xx category needs an RFC 6750 error"))
            }
            (false, Some(e)) if (e == "insufficient_scope") != (c.http == 403) => problems.push(
                format!("{code}: insufficient_scope goes with HTTP 403, invalid_token with 401"),
            ),
            _ => {}
        }
        if c.when.contains('|') || c.when.contains('\n') {
            problems.push(format!(
                "{code}: `when` is one markdown table cell: no `|`, no newline"
            ));
        }
        check_doc(code, c.doc, &mut problems);
    }
    for s in API_STATUSES {
        if codes.contains(s.name) {
            problems.push(format!("status name {:?} is also a category", s.name));
        }
        if !numbers.insert(s.c_status) {
            problems.push(format!("C status {} is given twice", s.c_status));
        }
        if s.c_status != 0 && s.c_status < 100 {
            problems.push(format!(
                "{}: API statuses are 0 (ok) or 100 and up; 1-99 are categories",
                s.name
            ));
        }
        check_doc(s.name, s.doc, &mut problems);
    }
    if CATEGORIES.is_empty()
        || API_STATUSES.first().map(|s| (s.name, s.c_status)) != Some(("ok", 0))
    {
        problems
            .push("the table needs categories, and `ok = 0` first among the API statuses".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_doc(name: &str, doc: &[&str], problems: &mut Vec<String>) {
    for line in doc_lines(doc) {
        // Code spans are converted line by line (``x`` in Python, <c>x</c> in C#).
        if line.matches('`').count() % 2 != 0 {
            problems.push(format!(
                "{name}: a `code span` must not cross a doc line: {line:?}"
            ));
        }
        if line.contains('|') || line.contains("\"\"\"") || line.contains('\\') {
            problems.push(format!(
                "{name}: doc lines hold no `|`, `\"\"\"` or `\\`: {line:?}"
            ));
        }
        if line.len() > 90 {
            problems.push(format!(
                "{name}: doc line longer than 90 characters: {line:?}"
            ));
        }
    }
}

/// Every status the C API has, in numeric order: (number, name, doc).
fn all_statuses() -> Vec<(u32, &'static str, &'static [&'static str])> {
    let mut all: Vec<_> = CATEGORIES
        .iter()
        .map(|c| (c.c_status, c.code, c.doc))
        .chain(
            API_STATUSES
                .iter()
                .map(|s: &ApiStatus| (s.c_status, s.name, s.doc)),
        )
        .collect();
    all.sort_by_key(|s| s.0);
    all
}

/// `ffi/src/status.rs`: the constants (cbindgen copies them and their docs into the
/// header), the category → status mapping and the status names.
pub(crate) fn ffi_statuses() -> String {
    let mut out = String::new();
    let mut previous = None;
    for (number, name, doc) in all_statuses() {
        // A blank line where the number range jumps (to the API-misuse codes).
        if previous.is_some_and(|p| number != p + 1) {
            out.push('\n');
        }
        previous = Some(number);
        for line in doc_lines(doc) {
            let _ = writeln!(out, "///{}{line}", if line.is_empty() { "" } else { " " });
        }
        let _ = writeln!(out, "pub const {}: xca_status = {number};", c_const(name));
    }
    let first = CATEGORIES.first().map_or("malformed", |c| c.code);
    out.push_str(
        "\n/// The one mapping from a core category to its status code.\n\
         ///\n\
         /// `ErrorKind` is `#[non_exhaustive]`, so a wildcard arm is required; it cannot be\n\
         /// reached while this function and `ErrorKind` come from the same table, and the test\n\
         /// `every_kind_has_its_own_status` checks that.\n\
         pub(crate) fn map_error(kind: ErrorKind) -> xca_status {\n    match kind {\n",
    );
    for c in CATEGORIES {
        let _ = writeln!(
            out,
            "        ErrorKind::{} => {},",
            c.variant,
            c_const(c.code)
        );
    }
    let _ = writeln!(
        out,
        "        // Still a rejection, never XCA_OK.\n        _ => {},\n    }}\n}}",
        c_const(first)
    );
    out.push_str(
        "\n/// The stable code string of a status; `\"unknown\"` for any other integer.\n\
         pub(crate) fn status_name(status: xca_status) -> &'static CStr {\n    match status {\n",
    );
    for (_, name, _) in all_statuses() {
        let _ = writeln!(out, "        {} => c\"{name}\",", c_const(name));
    }
    out.push_str("        _ => c\"unknown\",\n    }\n}\n");
    out
}

/// The Python class names, as `__all__` entries (both `_errors.py` and `__init__.py`).
pub(crate) fn py_all_names() -> String {
    CATEGORIES
        .iter()
        .map(|c| format!("    \"{}\",\n", c.variant))
        .collect()
}

/// `__init__.py`: the re-export of every category class.
pub(crate) fn py_imports() -> String {
    let mut out = String::from("from ._errors import (\n");
    for c in CATEGORIES {
        let _ = writeln!(out, "    {},", c.variant);
    }
    out.push_str(")\n");
    out
}

/// A docstring (RST code spans) at four spaces of indentation.
fn py_docstring(doc: &[&'static str]) -> String {
    let lines: Vec<String> = doc_lines(doc)
        .iter()
        .map(|l| l.replace('`', "``"))
        .collect();
    let mut out = String::new();
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        let open = if i == 0 { "\"\"\"" } else { "" };
        let close = if i == last { "\"\"\"" } else { "" };
        let _ = writeln!(out, "    {open}{line}{close}");
    }
    out
}

/// `_errors.py`: one class per category, the union of the category base classes and the
/// code → class mapping behind `exception_class`.
pub(crate) fn py_classes() -> String {
    let mut out = String::new();
    for c in CATEGORIES {
        let base = if is_server_side(c) {
            "_Unavailable"
        } else {
            "InvalidToken"
        };
        let _ = writeln!(out, "class {}({base}):", c.variant);
        out.push_str(&py_docstring(c.doc));
        let _ = writeln!(
            out,
            "\n    code = \"{}\"\n    status = {}\n\n",
            c.code, c.http
        );
    }
    let server: Vec<&str> = CATEGORIES
        .iter()
        .filter(|c| is_server_side(c))
        .map(|c| c.variant)
        .collect();
    let _ = writeln!(
        out,
        "#: What ``exception_class`` returns: a rejected token, or a token that cannot be judged now.\n\
         _AnyCategory = Union[InvalidToken{}]\n",
        server.iter().map(|s| format!(", {s}")).collect::<String>()
    );
    out.push_str(
        "_BY_CODE: Dict[str, Type[_AnyCategory]] = {\n    cls.code: cls\n    for cls in (\n",
    );
    for c in CATEGORIES {
        let _ = writeln!(out, "        {},", c.variant);
    }
    out.push_str("    )\n}\n");
    out
}

/// C# XML doc text: escaped, code spans as `<c>`.
fn xml_doc(line: &str) -> String {
    let escaped = line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<c>{part}</c>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// `examples/dotnet/XConnAuth.cs`: the members of `enum Status`.
pub(crate) fn dotnet_status() -> String {
    let mut out = String::new();
    for (number, name, doc) in all_statuses() {
        let lines = doc_lines(doc);
        match lines.as_slice() {
            [one] => {
                let _ = writeln!(out, "        /// <summary>{}</summary>", xml_doc(one));
            }
            _ => {
                out.push_str("        /// <summary>\n");
                for line in lines {
                    let _ = writeln!(out, "        /// {}", xml_doc(line));
                }
                out.push_str("        /// </summary>\n");
            }
        }
        let _ = writeln!(out, "        {} = {number},", pascal(name));
    }
    out
}

/// A markdown table of categories (with blank lines around it, apart from the markers).
fn md_categories(server_side: bool) -> String {
    let mut out = String::from(
        "\n| code | when | HTTP | RFC 6750 `error` | C status | Python class |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in CATEGORIES
        .iter()
        .filter(|c| is_server_side(c) == server_side)
    {
        let http = if c.http == 401 {
            c.http.to_string()
        } else {
            format!("**{}**", c.http)
        };
        let rfc6750 = c
            .rfc6750
            .map_or_else(|| "none (bare `Bearer`)".to_string(), |e| format!("`{e}`"));
        let class = if server_side {
            format!("`{}` (a `JWKSError`)", c.variant)
        } else {
            format!("`{}`", c.variant)
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {http} | {rfc6750} | `{}` ({}) | {class} |",
            c.code,
            c.when,
            c_const(c.code),
            c.c_status
        );
    }
    out.push('\n');
    out
}

/// `docs/contract.md`: the token categories (4xx).
pub(crate) fn md_token_categories() -> String {
    md_categories(false)
}

/// `docs/contract.md`: the categories where the server cannot judge the token (5xx).
pub(crate) fn md_server_categories() -> String {
    md_categories(true)
}

/// `docs/contract.md`: the C API's other statuses.
pub(crate) fn md_api_statuses() -> String {
    let mut out = String::from(
        "\n| C status | `xca_status_name` | meaning |\n\
         |---|---|---|\n",
    );
    for s in API_STATUSES {
        let _ = writeln!(
            out,
            "| `{}` ({}) | `{}` | {} |",
            c_const(s.name),
            s.c_status,
            s.name,
            doc_text(s.doc)
        );
    }
    out.push('\n');
    out
}

/// `README.md`: every code in one sentence, the non-401 ones with their HTTP status,
/// wrapped at 100 columns.
pub(crate) fn md_code_list() -> String {
    let words: Vec<String> = CATEGORIES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let http = if c.http == 401 {
                String::new()
            } else {
                format!(" → {}", c.http)
            };
            let end = if i + 1 == CATEGORIES.len() { "." } else { "," };
            format!("`{}`{http}{end}", c.code)
        })
        .collect();
    let mut out = String::new();
    let mut line = String::new();
    for word in words.join(" ").split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > 100 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_codes() {
        assert_eq!(pascal("bad_base64"), "BadBase64");
        assert_eq!(pascal("invalid_utf8"), "InvalidUtf8");
        assert_eq!(pascal("ok"), "Ok");
        assert_eq!(c_const("issued_in_future"), "XCA_ISSUED_IN_FUTURE");
    }

    #[test]
    fn doc_text_converts_per_surface() {
        assert_eq!(
            xml_doc("`now < nbf` & `x`."),
            "<c>now &lt; nbf</c> &amp; <c>x</c>."
        );
        assert_eq!(
            py_docstring(&[" One `x`", " two."]),
            "    \"\"\"One ``x``\n    two.\"\"\"\n"
        );
        assert_eq!(py_docstring(&[" One."]), "    \"\"\"One.\"\"\"\n");
    }

    #[test]
    fn every_status_is_rendered_once() {
        let ffi = ffi_statuses();
        for (number, name, _) in all_statuses() {
            let decl = format!("pub const {}: xca_status = {number};", c_const(name));
            assert_eq!(ffi.matches(&decl).count(), 1, "{decl}");
            assert_eq!(ffi.matches(&format!("c\"{name}\"")).count(), 1, "{name}");
            assert!(dotnet_status().contains(&format!("{} = {number},", pascal(name))));
        }
        for c in CATEGORIES {
            assert!(py_classes().contains(&format!("class {}(", c.variant)));
            let docs = md_token_categories() + &md_server_categories();
            assert_eq!(docs.matches(&format!("| `{}` |", c.code)).count(), 1);
        }
    }
}
