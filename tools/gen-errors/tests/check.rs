//! `gen-errors --check` (run by `make check-generated`) must be able to fail: on a copy of
//! the generated files it passes as they are, fails naming the file after any edit inside
//! a generated block, ignores edits outside the blocks, and `gen-errors` (without
//! `--check`) repairs the copy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gen-errors");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gen(args: &[&str], root: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("gen-errors runs")
}

/// `(path, block)` of every generated region.
fn blocks() -> Vec<(String, String)> {
    let out = Command::new(BIN).arg("--list").output().unwrap();
    assert!(out.status.success());
    let list: Vec<_> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (path, block) = l.split_once(' ').unwrap();
            (path.to_string(), block.to_string())
        })
        .collect();
    assert!(list.len() >= 6, "{list:?}");
    list
}

/// A scratch copy of every generated file, removed on drop.
struct Copy {
    dir: PathBuf,
    files: Vec<String>,
}

impl Copy {
    fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!("gen-errors-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut files: Vec<String> = blocks().into_iter().map(|(p, _)| p).collect();
        files.dedup();
        for f in &files {
            let to = dir.join(f);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(repo().join(f), to).unwrap();
        }
        Copy { dir, files }
    }

    fn read(&self, f: &str) -> String {
        fs::read_to_string(self.dir.join(f)).unwrap()
    }

    fn write(&self, f: &str, text: &str) {
        fs::write(self.dir.join(f), text).unwrap();
    }

    fn check(&self) -> Output {
        gen(&["--check"], &self.dir)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The index of the first line inside block `block` of `text`.
fn first_line_inside(text: &str, block: &str) -> usize {
    let begin = format!("BEGIN generated: {block} ");
    text.lines()
        .position(|l| l.contains(&begin))
        .unwrap_or_else(|| panic!("no BEGIN marker of {block}"))
        + 1
}

fn replace_line(text: &str, index: usize, f: impl Fn(&str) -> String) -> String {
    text.split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| if i == index { f(l) } else { l.to_string() })
        .collect()
}

#[test]
fn the_committed_files_are_fresh() {
    let out = gen(&["--check"], &repo());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_edit_inside_any_block_is_caught_and_repaired() {
    let copy = Copy::new("edit");
    assert!(copy.check().status.success(), "the unchanged copy passes");
    let mut caught = 0;
    for (path, block) in blocks() {
        let fresh = copy.read(&path);
        let at = first_line_inside(&fresh, &block);
        // Three kinds of hand edit: a changed line, an added line, a removed line.
        let edits = [
            replace_line(&fresh, at, |l| {
                l.replacen(' ', "  ", 1).replace('\n', "x\n")
            }),
            replace_line(&fresh, at, |l| format!("{l}added by hand\n")),
            replace_line(&fresh, at, |_| String::new()),
        ];
        for edited in edits {
            assert_ne!(edited, fresh, "{path} {block}: the edit changed nothing");
            copy.write(&path, &edited);
            let out = copy.check();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{path} {block}: {stderr}");
            assert!(
                stderr.contains(&format!("{path} is stale")),
                "{path} {block}: the message names the file: {stderr}"
            );
            // Only that file is named.
            for other in copy.files.iter().filter(|f| **f != path) {
                assert!(!stderr.contains(other.as_str()), "{other} named: {stderr}");
            }
            let out = gen(&[], &copy.dir);
            assert!(out.status.success());
            assert_eq!(
                copy.read(&path),
                fresh,
                "{path} {block}: regenerating repairs it"
            );
            caught += 1;
        }
    }
    assert!(caught >= 18);
}

#[test]
fn edits_outside_the_blocks_are_left_alone() {
    let copy = Copy::new("outside");
    for f in copy.files.clone() {
        let text = copy.read(&f);
        let edited = format!("{text}\nhand-written text after the blocks\n");
        copy.write(&f, &edited);
        assert!(copy.check().status.success(), "{f}");
        assert!(gen(&[], &copy.dir).status.success());
        assert_eq!(copy.read(&f), edited, "{f}: hand-written text is kept");
    }
}

#[test]
fn a_lost_marker_is_an_error_not_a_pass() {
    let copy = Copy::new("marker");
    let (path, block) = blocks().remove(0);
    let text = copy.read(&path);
    copy.write(
        &path,
        &text.replace(&format!("END generated: {block}"), "END of something"),
    );
    let out = copy.check();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&path));
}
