//! The account chosen for the current directory, which settles a bare provider id that names
//! several accounts: `git config keyfob.account` (the repository's, else the user's), else the
//! nearest `.keyfob` file in this directory or a parent, holding a selector on its first line.

use std::path::Path;
use std::process::{Command, Stdio};

/// A selector chosen for a directory, and where it was found (for messages).
#[derive(Debug, PartialEq, Eq)]
pub struct Choice {
    /// The account selector.
    pub selector: String,
    /// `git config keyfob.account` or the `.keyfob` file's path.
    pub origin: String,
}

/// The choice for the current directory, if any.
pub fn chosen_account() -> Option<Choice> {
    let cwd = std::env::current_dir().ok()?;
    from_git(&cwd).or_else(|| from_files(&cwd))
}

fn from_git(dir: &Path) -> Option<Choice> {
    // No git, or not a repository and no user setting: no choice from git.
    let out = Command::new("git")
        .args(["config", "--get", "keyfob.account"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let selector = out
        .status
        .success()
        .then(|| first_selector(&String::from_utf8_lossy(&out.stdout)))??;
    Some(Choice {
        selector,
        origin: "git config keyfob.account".into(),
    })
}

fn from_files(dir: &Path) -> Option<Choice> {
    dir.ancestors().find_map(|d| {
        let path = d.join(".keyfob");
        let text = std::fs::read_to_string(&path).ok()?;
        Some(Choice {
            selector: first_selector(&text)?,
            origin: path.display().to_string(),
        })
    })
}

/// The first line that is neither blank nor a `#` comment.
fn first_selector(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_file_holds_one_selector_after_any_comments() {
        assert_eq!(
            first_selector("# work repos\n\n  github:octocat \n"),
            Some("github:octocat".into())
        );
        assert_eq!(first_selector("#only a comment\n"), None);
        assert_eq!(first_selector(""), None);
    }

    #[test]
    fn the_nearest_file_wins() {
        let root = tempfile::tempdir().unwrap();
        let inner = root.path().join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::write(root.path().join(".keyfob"), "google:ann\n").unwrap();
        assert_eq!(from_files(&inner).unwrap().selector, "google:ann");
        std::fs::write(root.path().join("a/.keyfob"), "google:bob\n").unwrap();
        let choice = from_files(&inner).unwrap();
        assert_eq!(choice.selector, "google:bob");
        assert!(choice.origin.ends_with("a/.keyfob"));
    }
}
