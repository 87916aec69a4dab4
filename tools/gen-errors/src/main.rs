//! Writes every surface's copy of the error vocabulary from the one table,
//! `core/src/error_table.rs`: the C constants and names (`ffi/src/status.rs`; cbindgen
//! turns them into `include/xconnauth.h`), the Python exception classes and exports, the
//! .NET `Status` enum, the tables of `docs/contract.md` and the list in `README.md`.
//!
//! Each target file holds hand-placed marker lines, `BEGIN generated: <block>` and
//! `END generated: <block>` (in the file's comment syntax); only the lines between them
//! are rewritten, so hand-written code may stay around a block.
//!
//! ```text
//! gen-errors [--root DIR]           rewrite the blocks (make generate)
//! gen-errors --check [--root DIR]   exit 1 naming every stale file (make check-generated)
//! gen-errors --list                 the generated blocks: "<path> <block>" per line
//! ```
//!
//! The root defaults to the workspace this binary was built from.

mod render;
mod table;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The table's path, for messages.
const TABLE: &str = "core/src/error_table.rs";

/// One generated region: the file (relative to the root), the block name in its markers,
/// and what goes between them.
struct Block {
    path: &'static str,
    name: &'static str,
    render: fn() -> String,
}

/// Every generated region. A file listed twice holds two blocks.
const BLOCKS: &[Block] = &[
    Block {
        path: "ffi/src/status.rs",
        name: "c-statuses",
        render: render::ffi_statuses,
    },
    Block {
        path: "python/pysrc/xconnauth/_errors.py",
        name: "names",
        render: render::py_all_names,
    },
    Block {
        path: "python/pysrc/xconnauth/_errors.py",
        name: "classes",
        render: render::py_classes,
    },
    Block {
        path: "python/pysrc/xconnauth/__init__.py",
        name: "imports",
        render: render::py_imports,
    },
    Block {
        path: "python/pysrc/xconnauth/__init__.py",
        name: "names",
        render: render::py_all_names,
    },
    Block {
        path: "examples/dotnet/XConnAuth.cs",
        name: "status",
        render: render::dotnet_status,
    },
    Block {
        path: "README.md",
        name: "codes",
        render: render::md_code_list,
    },
    Block {
        path: "docs/contract.md",
        name: "token-categories",
        render: render::md_token_categories,
    },
    Block {
        path: "docs/contract.md",
        name: "server-categories",
        render: render::md_server_categories,
    },
    Block {
        path: "docs/contract.md",
        name: "c-api-statuses",
        render: render::md_api_statuses,
    },
];

fn main() -> ExitCode {
    let mut check = false;
    let mut root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--list" => {
                for b in BLOCKS {
                    println!("{} {}", b.path, b.name);
                }
                return ExitCode::SUCCESS;
            }
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage("--root needs a directory"),
            },
            "-h" | "--help" => {
                println!("usage: gen-errors [--check] [--root DIR] | --list");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    if let Err(problems) = render::validate() {
        for p in problems {
            eprintln!("gen-errors: {TABLE}: {p}");
        }
        return ExitCode::from(2);
    }
    match run(&root, check) {
        Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
        Ok(stale) => {
            for path in stale {
                eprintln!(
                    "gen-errors: {path} is stale: its generated blocks differ from what \
                     {TABLE} gives. Run `make generate` (never edit a generated block by hand)."
                );
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("gen-errors: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("gen-errors: {problem}\nusage: gen-errors [--check] [--root DIR] | --list");
    ExitCode::from(2)
}

/// Regenerates every file (or, with `check`, only compares); returns the stale files.
fn run(root: &Path, check: bool) -> Result<Vec<&'static str>, String> {
    let mut paths: Vec<&'static str> = BLOCKS.iter().map(|b| b.path).collect();
    paths.dedup();
    let mut stale = Vec::new();
    for path in paths {
        let file = root.join(path);
        let old = fs::read_to_string(&file).map_err(|e| format!("{path}: {e}"))?;
        let mut new = old.clone();
        for block in BLOCKS.iter().filter(|b| b.path == path) {
            new =
                splice(&new, block.name, &(block.render)()).map_err(|e| format!("{path}: {e}"))?;
        }
        if new != old {
            stale.push(path);
            if !check {
                fs::write(&file, new).map_err(|e| format!("{path}: {e}"))?;
            }
        }
    }
    if check {
        Ok(stale)
    } else {
        for path in &stale {
            println!("gen-errors: wrote {path}");
        }
        Ok(Vec::new())
    }
}

/// `text` with the lines between the markers of block `name` replaced by `body`.
fn splice(text: &str, name: &str, body: &str) -> Result<String, String> {
    let begin = format!("BEGIN generated: {name} ");
    let end = format!("END generated: {name}");
    let is_end = |line: &str| {
        line.split_once(end.as_str())
            .is_some_and(|(_, rest)| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '-'))
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines.get(i).is_some_and(|l| l.contains(begin.as_str())))
        .collect();
    let [start] = starts[..] else {
        return Err(format!(
            "expected exactly one line with \"BEGIN generated: {name} (...)\", found {}",
            starts.len()
        ));
    };
    let stop = (start + 1..lines.len())
        .find(|&i| lines.get(i).is_some_and(|l| is_end(l)))
        .ok_or_else(|| format!("no \"END generated: {name}\" line after its BEGIN line"))?;
    let mut out = String::with_capacity(text.len() + body.len());
    for line in lines.get(..=start).unwrap_or_default() {
        out.push_str(line);
    }
    out.push_str(body);
    for line in lines.get(stop..).unwrap_or_default() {
        out.push_str(line);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_between_markers() {
        let text = "keep\n# BEGIN generated: a (x)\nold\nold\n# END generated: a\nkeep too\n";
        let got = splice(text, "a", "new\n").unwrap_or_default();
        assert_eq!(
            got,
            "keep\n# BEGIN generated: a (x)\nnew\n# END generated: a\nkeep too\n"
        );
        // Another block's markers do not match (`a` is a prefix of `ab`).
        let two = "# BEGIN generated: ab (x)\n1\n# END generated: ab\n\
                   # BEGIN generated: a (x)\n2\n# END generated: a\n";
        let got = splice(two, "a", "3\n").unwrap_or_default();
        assert!(got.contains("ab (x)\n1\n") && got.contains("a (x)\n3\n# END generated: a\n"));
        assert!(splice("no markers\n", "a", "x\n").is_err());
        assert!(splice("# BEGIN generated: a (x)\nunterminated\n", "a", "x\n").is_err());
    }

    #[test]
    fn every_target_has_its_markers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for block in BLOCKS {
            let text = fs::read_to_string(root.join(block.path)).unwrap_or_default();
            assert!(
                splice(&text, block.name, "").is_ok(),
                "{} lacks the markers of block {}",
                block.path,
                block.name
            );
        }
    }

    #[test]
    fn the_table_is_valid() {
        assert_eq!(render::validate(), Ok(()));
    }
}
