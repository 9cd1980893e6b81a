//! The app's own settings (not routes: those are the config file): whether closing the window keeps the proxy
//! serving, and whether the user has been told so. Kept in the app's config directory, written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the app remembers between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    /// Closing the window keeps the proxy serving from the tray (on by default).
    pub keep_serving: bool,
    /// The user dismissed the note that says so.
    pub told_keep_serving: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings { keep_serving: true, told_keep_serving: false }
    }
}

/// Where the settings live, and their current value.
#[derive(Debug)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    /// The settings file in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        SettingsFile { path: dir.join("settings.json") }
    }

    /// The saved settings; the defaults when there are none or the file cannot be read (it is then left as is).
    pub fn load(&self) -> AppSettings {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!("{} is not valid ({e}); using the default settings", self.path.display());
                AppSettings::default()
            }),
            Err(_) => AppSettings::default(),
        }
    }

    /// Saves `settings` (temp file, sync, rename).
    pub fn save(&self, settings: AppSettings) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&settings).map_err(|e| e.to_string())?;
        roundabout_engine::write_atomically(&self.path, text.as_bytes())
            .map_err(|e| format!("cannot save {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_to_keep_serving() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(&dir.path().join("app"));
        assert_eq!(file.load(), AppSettings { keep_serving: true, told_keep_serving: false });
        let changed = AppSettings { keep_serving: false, told_keep_serving: true };
        file.save(changed).unwrap();
        assert_eq!(file.load(), changed);
        std::fs::write(dir.path().join("app/settings.json"), "{ not json").unwrap();
        assert_eq!(file.load(), AppSettings::default(), "a broken file reads as the defaults");
        assert_eq!(std::fs::read_to_string(dir.path().join("app/settings.json")).unwrap(), "{ not json", "kept");
    }
}
