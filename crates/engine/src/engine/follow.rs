//! Following the config file: every valid edit is applied; an invalid one is reported and the last good config
//! keeps serving.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::EngineHandle;
use super::error::EngineError;
use crate::config::{ConfigIssue, ConfigStore, StoreError};
use crate::event::Event;

/// How long a config file must stay unchanged before a failed read of it is reported.
const SETTLE: Duration = Duration::from_millis(300);

impl EngineHandle {
    /// Watches `store`'s file and applies every valid edit; an invalid one is reported as
    /// [`Event::ConfigRejected`] and the last good config keeps serving.
    pub fn follow(&self, store: ConfigStore) -> Result<JoinHandle<()>, EngineError> {
        let mut watch = store.watch()?;
        let handle = self.clone();
        Ok(tokio::spawn(async move {
            let source = store.path().display().to_string();
            let mut changed = watch.changed().await;
            while changed {
                let loaded = store.load().await;
                // An editor writing in place can be caught mid-write; a follow-up write usually comes at once, so
                // an unreadable file is reported only if the file then stays as it is for a moment.
                if loaded.is_err()
                    && let Ok(again) = tokio::time::timeout(SETTLE, watch.changed()).await
                {
                    changed = again;
                    continue;
                }
                match loaded {
                    Ok(Some(config)) => {
                        if config != handle.config().await {
                            let _ = handle.apply(config, &source).await;
                        }
                    }
                    Ok(None) => {}
                    Err(StoreError::Invalid { issues, .. }) => {
                        handle.publish(Event::ConfigRejected { source: source.clone(), issues: issues.0 });
                    }
                    Err(e) => handle.publish(Event::ConfigRejected {
                        source: source.clone(),
                        issues: vec![ConfigIssue { path: "$".into(), message: e.to_string() }],
                    }),
                }
                changed = watch.changed().await;
            }
        }))
    }
}
