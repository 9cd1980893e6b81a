//! Active health checks: for each Target that configures them, one task polls every enabled Upstream on the
//! check path and feeds the verdicts into the same health state the request path uses.
//!
//! Tasks are started and stopped by the engine on every apply ([`ActiveChecks::sync`]); a Target whose checks,
//! policy and enabled Upstreams are unchanged keeps its running task. Only the configured Upstream URLs are ever
//! contacted. The checks dial Upstreams the way the proxy does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, USER_AGENT};
use http::uri::InvalidUri;
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body_util::Empty;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use super::{Health, Policy, report};
use crate::config::{ActiveHealthConfig, UpstreamUrl};
use crate::event::EventBus;
use crate::upstream::{ConnectionPool, Connector, Outgoing};

/// What one Target's active checks ask, and of which Upstreams.
#[derive(Debug, Clone)]
pub(crate) struct CheckPlan {
    /// The Target's name, for events.
    pub(crate) target: Arc<str>,
    /// Path, interval, timeout, expected status and thresholds.
    pub(crate) config: ActiveHealthConfig,
    /// The failure threshold of the checks and the passive cool-down.
    pub(crate) policy: Policy,
    /// The enabled Upstreams.
    pub(crate) upstreams: Vec<Checked>,
}

/// One Upstream as the checks see it.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    /// Its URL as configured.
    pub(crate) url: Arc<str>,
    /// Its label in the log.
    pub(crate) label: Arc<str>,
    /// Where the check path is joined.
    pub(crate) address: UpstreamUrl,
    /// The live health the verdicts go to.
    pub(crate) health: Arc<Health>,
    /// Its pooled connections.
    pub(crate) connections: Arc<ConnectionPool>,
}

/// The running check tasks, by Target name. Dropping it stops them all.
#[derive(Debug, Default)]
pub(crate) struct ActiveChecks {
    tasks: HashMap<Arc<str>, Running>,
}

#[derive(Debug)]
struct Running {
    plan: CheckPlan,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ActiveChecks {
    /// Matches the running tasks to `plans`: starts checks for Targets that gained or changed them, stops the rest.
    pub(crate) fn sync(
        &mut self,
        plans: impl IntoIterator<Item = CheckPlan>,
        connector: &Connector,
        events: &EventBus,
    ) {
        let mut old = std::mem::take(&mut self.tasks);
        for plan in plans {
            let running = match old.remove(&plan.target) {
                Some(running) if unchanged(&running.plan, &plan) => running,
                _ => Running { task: tokio::spawn(run(plan.clone(), connector.clone(), events.clone())), plan },
            };
            self.tasks.insert(Arc::clone(&running.plan.target), running);
        }
    }

    /// Number of Targets being checked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.tasks.len()
    }
}

/// True when a running task for `old` checks exactly what `new` asks for.
fn unchanged(old: &CheckPlan, new: &CheckPlan) -> bool {
    old.config == new.config
        && old.policy == new.policy
        && old.upstreams.len() == new.upstreams.len()
        && old.upstreams.iter().zip(&new.upstreams).all(|(a, b)| a.url == b.url && Arc::ptr_eq(&a.health, &b.health))
}

async fn run(plan: CheckPlan, connector: Connector, events: EventBus) {
    let plan = Arc::new(plan);
    let mut ticker = tokio::time::interval(Duration::from_millis(plan.config.interval_ms.max(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut checks = JoinSet::new();
        for index in 0..plan.upstreams.len() {
            checks.spawn(check(Arc::clone(&plan), index, connector.clone(), events.clone()));
        }
        while checks.join_next().await.is_some() {}
    }
}

/// Checks one Upstream once and records the verdict.
async fn check(plan: Arc<CheckPlan>, index: usize, connector: Connector, events: EventBus) {
    let Some(upstream) = plan.upstreams.get(index) else { return };
    let verdict = probe(&connector, upstream, &plan.config).await;
    let change = match &verdict {
        Ok(()) => upstream.health.check_passed(plan.config.healthy_threshold),
        Err(_) => upstream.health.failed(&plan.policy, Instant::now()),
    };
    if let Some(change) = change {
        let reason = verdict.err().map(|e| format!("active check: {e}"));
        report(&events, &plan.target, &upstream.label, &upstream.url, change, reason.as_deref());
    }
}

/// One GET of the check path: `Ok` when it answers the expected status within the timeout, else why not.
async fn probe(connector: &Connector, upstream: &Checked, config: &ActiveHealthConfig) -> Result<(), String> {
    let path = config.path.as_str();
    let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let uri: Uri = upstream.address.path_and_query(path, query).parse().map_err(|e: InvalidUri| e.to_string())?;
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(HOST, upstream.connections.host().clone());
    headers.insert(USER_AGENT, HeaderValue::from_static("roundabout-health-check"));
    let head = Outgoing { method: &Method::GET, uri: &uri, headers: &headers };
    let sent = upstream.connections.send(connector, &head, Empty::<Bytes>::new());
    let (timeout, expect) = (config.timeout_ms, config.expect_status);
    match tokio::time::timeout(Duration::from_millis(timeout), sent).await {
        Err(_) => Err(format!("no answer within {timeout}ms")),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(response)) => {
            // The body is not read: dropping it closes the connection.
            let status = response.status().as_u16();
            if status == expect { Ok(()) } else { Err(format!("status {status} (expected {expect})")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(interval_ms: u64, urls: &[&str]) -> CheckPlan {
        CheckPlan {
            target: "a".into(),
            config: ActiveHealthConfig { interval_ms, ..ActiveHealthConfig::default() },
            policy: Policy::default(),
            upstreams: urls
                .iter()
                .map(|url| {
                    let address = UpstreamUrl::parse(url).unwrap();
                    Checked {
                        url: (*url).into(),
                        label: address.label.as_str().into(),
                        connections: Arc::new(ConnectionPool::new(&address.scheme, &address.authority)),
                        address,
                        health: Arc::default(),
                    }
                })
                .collect(),
        }
    }

    fn task_id(checks: &ActiveChecks) -> tokio::task::Id {
        checks.tasks["a"].task.id()
    }

    #[tokio::test]
    async fn tasks_follow_the_plans_and_survive_unrelated_edits() {
        let (connector, events) = (crate::upstream::connector(), EventBus::new(4));
        let mut checks = ActiveChecks::default();
        let first = plan(60_000, &["http://127.0.0.1:9"]);
        checks.sync([first.clone()], &connector, &events);
        assert_eq!(checks.len(), 1);
        let id = task_id(&checks);

        checks.sync([first.clone()], &connector, &events);
        assert_eq!(task_id(&checks), id, "the same plan keeps the running task");

        checks.sync([plan(1000, &["http://127.0.0.1:9"])], &connector, &events);
        assert_ne!(task_id(&checks), id, "changed checks restart the task");
        let id = task_id(&checks);

        let mut fresh_health = plan(1000, &["http://127.0.0.1:9"]);
        fresh_health.upstreams[0].health = Arc::default();
        checks.sync([fresh_health], &connector, &events);
        assert_ne!(task_id(&checks), id, "another Upstream (new health) restarts the task");

        checks.sync([], &connector, &events);
        assert_eq!(checks.len(), 0, "no plan, nothing checked");
    }
}
