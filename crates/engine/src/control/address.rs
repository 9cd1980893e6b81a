//! Where the instance serving a config file can be reached: one control socket (and one lock file) per config file,
//! named after a hash of the file's absolute path, in a directory only the user can enter. So a `serve --config`
//! in a test never talks to the user's app, and two config files can run side by side.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::ControlError;

/// The control socket and the lock file of one config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The Unix domain socket's path; on Windows, the named pipe's name.
    pub socket: PathBuf,
    /// Held (locked) by the running instance for as long as it runs: what makes it the only one.
    pub lock: PathBuf,
}

impl Address {
    /// The address of the instance serving `config` (a path that may not exist yet).
    pub fn of(config: &Path) -> Result<Address, ControlError> {
        let id = config_id(&absolute(config));
        let dir = runtime_dir()?;
        Ok(Address { socket: super::local::socket_path(&dir, &id), lock: dir.join(format!("{id}.lock")) })
    }

    /// The address in `dir`, for tests that keep everything in a temporary directory.
    pub fn in_dir(dir: &Path, config: &Path) -> Address {
        let id = config_id(&absolute(config));
        Address { socket: super::local::socket_path(dir, &id), lock: dir.join(format!("{id}.lock")) }
    }
}

/// `config` made absolute, with symlinks and `..` resolved when the file (or its directory) exists, so every
/// spelling of one file gives one address.
fn absolute(config: &Path) -> PathBuf {
    if let Ok(real) = config.canonicalize() {
        return real;
    }
    let name = config.file_name().map_or(Path::new(""), Path::new);
    let parent = config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match parent.canonicalize() {
        Ok(dir) => dir.join(name),
        Err(_) => std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf()),
    }
}

/// `roundabout-` and 16 hex digits of the SHA-256 of the path.
fn config_id(config: &Path) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, config.as_os_str().as_encoded_bytes());
    let mut id = String::from("roundabout-");
    for byte in &digest.as_ref()[..8] {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

/// The directory for the socket and the lock: the user's runtime directory (`$XDG_RUNTIME_DIR/roundabout` on
/// Linux), else a `roundabout` directory in the user's cache (Linux without a session) or temporary directory
/// (macOS's is per user; Windows keeps only the lock there). Created readable by the user alone.
fn runtime_dir() -> Result<PathBuf, ControlError> {
    let base = directories::BaseDirs::new().ok_or(ControlError::NoHome)?;
    let dir = match base.runtime_dir() {
        Some(run) => run.join("roundabout"),
        None if cfg!(target_os = "linux") => base.cache_dir().join("roundabout").join("run"),
        None => std::env::temp_dir().join("roundabout"),
    };
    super::local::private_dir(&dir).map_err(|e| ControlError::Io { what: format!("creating {}", dir.display()), e })?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_per_config_file_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, "{}").unwrap();
        let a = Address::in_dir(dir.path(), &config);
        let b = Address::in_dir(dir.path(), &dir.path().join(".").join("config.json"));
        assert_eq!(a, b);
        let other = Address::in_dir(dir.path(), &dir.path().join("other.json"));
        assert_ne!(a.socket, other.socket, "a file that does not exist yet has its own address too");
        assert_ne!(a.lock, other.lock);
        let name = a.lock.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("roundabout-") && name.len() == "roundabout-".len() + 16 + ".lock".len(), "{name}");
    }

    #[test]
    fn the_runtime_directory_is_the_users_alone() {
        let dir = runtime_dir().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "{}", dir.display());
        }
        assert!(dir.ends_with("roundabout") || dir.ends_with("run"));
    }
}
