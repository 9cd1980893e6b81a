//! Active health checks: for each Target that configures them, one task polls every enabled Upstream on the
//! check path and feeds the verdicts into the same health state the request path uses.
//!
//! Tasks are started and stopped by the engine on every apply ([`ActiveChecks::sync`]); a Target whose checks,
//! policy and enabled Upstreams are unchanged keeps its running task. Only the configured Upstream URLs are ever
//! contacted. The checks dial Upstreams the way the proxy does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HOST, USER_AGENT};
use http::uri::InvalidUri;
use http::{HeaderMap, HeaderValue, Method, Uri};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use crate::body::RequestBody;
use crate::mux::Mux;
use crate::proxy::Proxy;
use crate::target::Target;
use crate::upstream::Upstream;
use crate::upstream_conn::Outgoing;

/// The running check tasks, by Target name. Dropping it stops them all.
#[derive(Debug, Default)]
pub struct ActiveChecks {
    tasks: HashMap<Arc<str>, Running>,
}

#[derive(Debug)]
struct Running {
    target: Arc<Target>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ActiveChecks {
    /// Matches the running tasks to `mux`: starts checks for Targets that gained or changed them, stops the rest.
    pub fn sync(&mut self, mux: &Mux, proxy: &Arc<Proxy>) {
        let mut old = std::mem::take(&mut self.tasks);
        for target in mux.targets() {
            if target.active_checks.is_none() || target.enabled().next().is_none() {
                continue;
            }
            let running = match old.remove(&target.name) {
                Some(running) if unchanged(&running.target, target) => running,
                _ => Running {
                    target: Arc::clone(target),
                    task: tokio::spawn(run(Arc::clone(target), Arc::clone(proxy))),
                },
            };
            self.tasks.insert(Arc::clone(&target.name), running);
        }
    }

    /// Number of Targets being checked.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when no Target is checked.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// True when a running task for `old` checks exactly what `new` asks for.
fn unchanged(old: &Target, new: &Target) -> bool {
    old.active_checks == new.active_checks
        && old.policy == new.policy
        && old.enabled().count() == new.enabled().count()
        && old.enabled().zip(new.enabled()).all(|(a, b)| a.url == b.url && Arc::ptr_eq(&a.stats, &b.stats))
}

async fn run(target: Arc<Target>, proxy: Arc<Proxy>) {
    let Some(config) = target.active_checks.clone() else { return };
    let mut ticker = tokio::time::interval(Duration::from_millis(config.interval_ms.max(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut checks = JoinSet::new();
        for index in 0..target.upstreams.len() {
            if target.upstreams[index].enabled {
                checks.spawn(check(Arc::clone(&target), Arc::clone(&proxy), index));
            }
        }
        while checks.join_next().await.is_some() {}
    }
}

/// Checks one Upstream once and records the verdict.
async fn check(target: Arc<Target>, proxy: Arc<Proxy>, index: usize) {
    let (Some(config), Some(policy), Some(upstream)) =
        (target.active_checks.as_ref(), target.check_policy(), target.upstreams.get(index))
    else {
        return;
    };
    let verdict = probe(&proxy, upstream, &config.path, config.expect_status, config.timeout_ms).await;
    let health = &upstream.stats.health;
    let change = match &verdict {
        Ok(()) => health.check_passed(config.healthy_threshold),
        Err(_) => health.failed(&policy, Instant::now()),
    };
    if let Some(change) = change {
        let reason = verdict.err().map(|e| format!("active check: {e}"));
        proxy.health_event(&target, upstream, change, reason.as_deref());
    }
}

/// One GET of the check path: `Ok` when it answers `expect` within the timeout, else why not.
async fn probe(proxy: &Proxy, upstream: &Upstream, path: &str, expect: u16, timeout_ms: u64) -> Result<(), String> {
    let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let uri: Uri = upstream.target.path_and_query(path, query).parse().map_err(|e: InvalidUri| e.to_string())?;
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(HOST, upstream.connections.host().clone());
    headers.insert(USER_AGENT, HeaderValue::from_static("roundabout-health-check"));
    let head = Outgoing { method: &Method::GET, uri: &uri, headers: &headers };
    let sent = upstream.connections.send(proxy.connector(), &head, RequestBody::Empty);
    match tokio::time::timeout(Duration::from_millis(timeout_ms), sent).await {
        Err(_) => Err(format!("no answer within {timeout_ms}ms")),
        Ok(Err(error)) => Err(error.describe()),
        Ok(Ok(response)) => {
            // The body is not read: dropping it closes the connection.
            let status = response.status().as_u16();
            if status == expect { Ok(()) } else { Err(format!("status {status} (expected {expect})")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Config;
    use crate::event::EventBus;

    fn mux(targets: &serde_json::Value, previous: &Mux) -> Mux {
        let config = Config::from_value(&json!({"version": 1, "targets": targets})).unwrap();
        Mux::build(&config.targets, None, previous, &[])
    }

    fn task_id(checks: &ActiveChecks, name: &str) -> tokio::task::Id {
        checks.tasks[name].task.id()
    }

    #[tokio::test]
    async fn tasks_follow_the_config_and_survive_unrelated_edits() {
        let proxy = Arc::new(Proxy::new(EventBus::new(4)));
        let checked = json!({"name": "a", "health": {"active": {"interval_ms": 60000}},
                             "upstreams": [{"url": "http://127.0.0.1:9"}]});
        let plain = json!({"name": "b", "upstreams": [{"url": "http://127.0.0.1:9"}]});
        let mut checks = ActiveChecks::default();
        let first = mux(&json!([checked, plain]), &Mux::default());
        checks.sync(&first, &proxy);
        assert_eq!(checks.len(), 1, "only the Target that asks is checked");
        let id = task_id(&checks, "a");

        let second = mux(&json!([checked, {"name": "b", "upstreams": []}]), &first);
        checks.sync(&second, &proxy);
        assert_eq!(task_id(&checks, "a"), id, "an unrelated edit keeps the running task");

        let mut faster = checked.clone();
        faster["health"]["active"]["interval_ms"] = json!(1000);
        let third = mux(&json!([faster]), &second);
        checks.sync(&third, &proxy);
        assert_ne!(task_id(&checks, "a"), id, "changed checks restart the task");

        let mut disabled = checked.clone();
        disabled["upstreams"][0]["enabled"] = json!(false);
        checks.sync(&mux(&json!([disabled]), &third), &proxy);
        assert!(checks.is_empty(), "nothing enabled, nothing checked");
    }
}
