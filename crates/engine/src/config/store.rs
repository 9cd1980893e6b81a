//! Where the config file lives and how it is read, saved and watched.
//!
//! Saves are atomic (temp file in the same directory, fsync, rename, fsync of the directory), so a crash never
//! leaves half a file. A file on disk that does not parse is copied aside before it is ever replaced, so a user's
//! hand edit is never lost. All file I/O runs off the async threads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::{Config, ConfigIssues};

/// Why the config could not be found, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No home or config directory could be determined.
    #[error("cannot find your config directory (is $HOME set?); pass --config PATH to choose a file")]
    NoConfigDir,
    /// Reading failed for a reason other than the file being absent.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file was read but is not a valid config.
    #[error("{path} is not a valid config:\n{issues}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Every problem found.
        issues: ConfigIssues,
    },
    /// Writing, syncing or renaming failed; the previous file is untouched.
    #[error("cannot save {path}: {source}; the previous file was left as it was")]
    Write {
        /// The config file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file system watcher could not be started.
    #[error("cannot watch {path} for changes: {reason}")]
    Watch {
        /// The config file.
        path: PathBuf,
        /// The watcher's reason.
        reason: String,
    },
}

/// What [`ConfigStore::save`] did besides writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveOutcome {
    /// Where the previous, unreadable file was copied before it was replaced.
    pub kept_aside: Option<PathBuf>,
}

/// One config file on disk.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    path: PathBuf,
}

impl ConfigStore {
    /// The per-user default: `~/.config/roundabout/config.json` on Linux, the platform's equivalent elsewhere.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        directories::ProjectDirs::from("dev", "Roundabout", "roundabout")
            .map(|dirs| dirs.config_dir().join("config.json"))
            .ok_or(StoreError::NoConfigDir)
    }

    /// A store over the file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ConfigStore { path: path.into() }
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and validates the file; `Ok(None)` when there is no file yet (a first run).
    pub async fn load(&self) -> Result<Option<Config>, StoreError> {
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path: self.path.clone(), source }),
        };
        Config::from_json(&text).map(Some).map_err(|issues| StoreError::Invalid { path: self.path.clone(), issues })
    }

    /// Writes `config` atomically. If the file on disk does not parse, it is copied aside first and the copy's path
    /// is returned so the caller can tell the user.
    pub async fn save(&self, config: &Config) -> Result<SaveOutcome, StoreError> {
        let path = self.path.clone();
        let text = config.to_json();
        tokio::task::spawn_blocking(move || save_blocking(&path, &text))
            .await
            .unwrap_or_else(|e| Err(StoreError::Write { path: self.path.clone(), source: std::io::Error::other(e) }))
    }

    /// Copies the current file to `config.json.broken-<unix seconds>` and returns the copy's path.
    pub async fn keep_aside(&self) -> Result<PathBuf, StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || keep_aside_blocking(&path))
            .await
            .unwrap_or_else(|e| Err(StoreError::Write { path: self.path.clone(), source: std::io::Error::other(e) }))
    }

    /// Starts watching the file (through its directory, so editors that replace the file are seen too).
    pub(crate) fn watch(&self) -> Result<ConfigWatch, StoreError> {
        let watch_error = |reason: String| StoreError::Watch { path: self.path.clone(), reason };
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| watch_error(e.to_string()))?;
        let (tx, rx) = mpsc::channel(1);
        let name = self.path.file_name().map(ToOwned::to_owned);
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            if event.kind.is_access() {
                return;
            }
            if event.paths.iter().any(|p| p.file_name() == name.as_deref()) {
                // A full channel already holds a wake-up; coalescing is what we want.
                let _ = tx.try_send(());
            }
        })
        .map_err(|e| watch_error(e.to_string()))?;
        watcher.watch(dir, RecursiveMode::NonRecursive).map_err(|e| watch_error(e.to_string()))?;
        Ok(ConfigWatch { _watcher: watcher, rx })
    }
}

/// A running watch on the config file.
pub(crate) struct ConfigWatch {
    _watcher: notify::RecommendedWatcher,
    rx: mpsc::Receiver<()>,
}

impl ConfigWatch {
    /// Waits until the file changed and then stayed quiet briefly (editors write in several steps).
    /// Returns `false` when the watcher stopped.
    pub(crate) async fn changed(&mut self) -> bool {
        if self.rx.recv().await.is_none() {
            return false;
        }
        while let Ok(Some(())) = tokio::time::timeout(Duration::from_millis(60), self.rx.recv()).await {}
        true
    }
}

fn save_blocking(path: &Path, text: &str) -> Result<SaveOutcome, StoreError> {
    let write_error = |source| StoreError::Write { path: path.to_owned(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let mut outcome = SaveOutcome::default();
    if let Ok(existing) = std::fs::read_to_string(path)
        && Config::from_json(&existing).is_err()
    {
        outcome.kept_aside = Some(keep_aside_blocking(path)?);
    }
    write_atomically(path, text.as_bytes()).map_err(write_error)?;
    Ok(outcome)
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never part of either: a temp file
/// beside it, synced, renamed over it, then the directory synced. Blocking.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    let mut temp = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the directory entry is synced (not possible on every platform).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn keep_aside_blocking(path: &Path) -> Result<PathBuf, StoreError> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".broken-{secs}"));
    let aside = path.with_file_name(name);
    std::fs::copy(path, &aside).map_err(|source| StoreError::Write { path: aside.clone(), source })?;
    Ok(aside)
}
