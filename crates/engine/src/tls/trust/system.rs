//! The Linux system store: a directory of trusted anchors and the command that rebuilds the bundle every TLS
//! library reads (`update-ca-certificates` on Debian and Ubuntu, `update-ca-trust` on Fedora and RHEL). Writing
//! there needs root: only that step asks for it, through `sudo` in a terminal or `pkexec` from the app.

use std::path::PathBuf;

use super::command::run;
use super::{CaCertificate, TrustState};

/// How the privileged step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Directly: already root, or the store is the user's own (tests).
    None,
    /// Through `sudo`, which asks for a password in the terminal.
    Sudo,
    /// Through `pkexec`, which asks in a desktop dialog.
    Pkexec,
}

/// The system store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemStore {
    /// The directory of anchors, e.g. `/usr/local/share/ca-certificates`.
    pub anchors: PathBuf,
    /// The command that rebuilds the bundle after a change; `None` when there is nothing to rebuild.
    pub update: Option<Vec<String>>,
    /// How the change is made with the rights it needs.
    pub privilege: Privilege,
}

impl SystemStore {
    /// The store of this Linux distribution, when it has one of the two known layouts.
    pub fn detect(privilege: Privilege) -> Option<SystemStore> {
        let layouts: [(&str, &[&str]); 2] = [
            ("/usr/local/share/ca-certificates", &["update-ca-certificates"]),
            ("/etc/pki/ca-trust/source/anchors", &["update-ca-trust", "extract"]),
        ];
        layouts.into_iter().find(|(dir, _)| std::path::Path::new(dir).is_dir()).map(|(dir, update)| SystemStore {
            anchors: dir.into(),
            update: Some(update.iter().map(|s| (*s).to_owned()).collect()),
            privilege,
        })
    }

    /// The anchor file of `ca` in this store.
    fn file(&self, ca: &CaCertificate) -> PathBuf {
        self.anchors.join(format!("roundabout-{}.crt", ca.id))
    }

    pub(super) fn state(&self, ca: &CaCertificate) -> TrustState {
        match std::fs::read(self.file(ca)) {
            Ok(pem) if ca.is(&pem) => TrustState::Trusted,
            Ok(_) => TrustState::NotTrusted,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TrustState::NotTrusted,
            Err(e) => TrustState::Unavailable(format!("cannot read {}: {e}", self.file(ca).display())),
        }
    }

    /// Copies the CA into the anchors and rebuilds the bundle, in one privileged step.
    pub(super) fn add(&self, ca: &CaCertificate) -> Result<(), String> {
        let (from, to) = (ca.path.to_string_lossy(), self.file(ca).to_string_lossy().into_owned());
        self.privileged(&format!("install -m 0644 {} {}", quote(&from), quote(&to)))
    }

    /// Deletes the CA's anchor and rebuilds the bundle, in one privileged step.
    pub(super) fn remove(&self, ca: &CaCertificate) -> Result<(), String> {
        self.privileged(&format!("rm -f {}", quote(&self.file(ca).to_string_lossy())))
    }

    /// Runs `change` then the update command, as one shell script with the rights the store needs.
    fn privileged(&self, change: &str) -> Result<(), String> {
        let mut script = change.to_owned();
        if let Some(update) = &self.update {
            let update: Vec<String> = update.iter().map(|part| quote(part)).collect();
            script.push_str(" && ");
            script.push_str(&update.join(" "));
        }
        let missing = "install it, or run the command it names yourself";
        match self.privilege {
            Privilege::None => run("sh", &["-c", &script], missing),
            Privilege::Sudo => run("sudo", &["sh", "-c", &script], "run as root, or install sudo"),
            Privilege::Pkexec => {
                run("pkexec", &["sh", "-c", &script], "install policykit-1, or run roundabout trust in a terminal")
            }
        }
        .map(drop)
        .map_err(|e| format!("{e}; the command was: {script}"))
    }
}

/// `text` as one shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
