//! The Target name a directory suggests (what `roundabout run` joins when `--name` is not given, and what
//! discovery proposes for a dev server), and the git branch shown beside it.
//!
//! The name is package.json's `name` in the working directory (without an npm scope), else the directory's name.
//! In a git work tree the directory is the project's: a linked worktree (`git worktree add`) counts as its main
//! checkout, so `main` and `feature` checkouts of one project run as Upstreams of one Target (pin your browser to
//! one from the app), each shown with its branch. `--name` keeps them apart.

use std::path::{Path, PathBuf};

/// What a directory says about the project in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The default Target name, already a valid host label.
    pub name: String,
    /// The checked-out branch, in a git work tree.
    pub branch: Option<String>,
}

/// Looks at `cwd` (and the git work tree around it).
pub fn project_of(cwd: &Path) -> Project {
    let git = Git::around(cwd);
    let from_dir = match &git {
        Some(git) if git.top == cwd => git.project.as_path(),
        _ => cwd,
    };
    let raw = package_name(cwd)
        .or_else(|| from_dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    Project { name: host_label(&raw), branch: git.and_then(|g| g.branch) }
}

/// `raw` as a host label: lowercase letters, digits and single dashes (`@acme/My_App` is `my-app`); `app` when
/// nothing is left.
pub fn host_label(raw: &str) -> String {
    let unscoped = raw.rsplit('/').next().unwrap_or(raw);
    let mut label = String::new();
    for c in unscoped.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            label.push(c);
        } else if !label.ends_with('-') && !label.is_empty() {
            label.push('-');
        }
    }
    let label = label.trim_end_matches('-');
    if label.is_empty() { "app".to_owned() } else { label.to_owned() }
}

/// package.json's `name` in `dir`.
fn package_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("name")?.as_str().filter(|n| !n.trim().is_empty()).map(str::to_owned)
}

/// The git work tree around a directory.
#[derive(Debug)]
struct Git {
    /// The work tree's top directory.
    top: PathBuf,
    /// The main checkout's top directory (the same as `top` unless this is a linked worktree).
    project: PathBuf,
    /// The branch checked out, unless HEAD is detached.
    branch: Option<String>,
}

impl Git {
    fn around(dir: &Path) -> Option<Git> {
        let top = dir.ancestors().find(|d| d.join(".git").exists())?.to_path_buf();
        let dot_git = top.join(".git");
        let (git_dir, project) = if dot_git.is_dir() {
            (dot_git, top.clone())
        } else {
            // A linked worktree: `.git` is a file saying `gitdir: <main>/.git/worktrees/<name>`.
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let git_dir = top.join(text.strip_prefix("gitdir:")?.trim());
            let common = std::fs::read_to_string(git_dir.join("commondir")).ok();
            let common = git_dir.join(common.as_deref().map_or("../..", str::trim));
            let project = common.canonicalize().ok()?.parent()?.to_path_buf();
            (git_dir, project)
        };
        let head = std::fs::read_to_string(git_dir.join("HEAD")).unwrap_or_default();
        let branch = head.trim().strip_prefix("ref: refs/heads/").map(str::to_owned);
        Some(Git { top, project, branch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_host_labels() {
        assert_eq!(host_label("@acme/My_App"), "my-app");
        assert_eq!(host_label("web"), "web");
        assert_eq!(host_label("--Shop  Front--"), "shop-front");
        assert_eq!(host_label("日本"), "app");
    }

    #[test]
    fn package_json_then_the_directory_then_the_main_checkout_of_a_worktree() {
        let root = tempfile::tempdir().unwrap();
        let main = root.path().join("Shop");
        std::fs::create_dir_all(main.join(".git/worktrees/feat")).unwrap();
        std::fs::write(main.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        assert_eq!(project_of(&main), Project { name: "shop".into(), branch: Some("main".into()) });

        let linked = root.path().join("shop-feat");
        std::fs::create_dir_all(&linked).unwrap();
        let git_dir = main.join(".git/worktrees/feat");
        std::fs::write(linked.join(".git"), format!("gitdir: {}\n", git_dir.display())).unwrap();
        std::fs::write(git_dir.join("commondir"), "../..\n").unwrap();
        std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/feature/login\n").unwrap();
        assert_eq!(project_of(&linked), Project { name: "shop".into(), branch: Some("feature/login".into()) });

        let package = linked.join("packages/web");
        std::fs::create_dir_all(&package).unwrap();
        assert_eq!(project_of(&package).name, "web", "below the top, the directory itself");
        std::fs::write(package.join("package.json"), r#"{"name": "@shop/storefront"}"#).unwrap();
        assert_eq!(project_of(&package).name, "storefront");

        std::fs::write(git_dir.join("HEAD"), "0123456789abcdef\n").unwrap();
        assert_eq!(project_of(&linked).branch, None, "a detached HEAD has no branch");
        let plain = root.path().join("notes");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(project_of(&plain), Project { name: "notes".into(), branch: None });
    }
}
