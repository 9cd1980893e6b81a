//! Active health checks: a Target that asks for them has each enabled Upstream polled on its check path; a
//! failing one is skipped without any client request having failed, and taken back once its checks pass again.

use crate::support::{TestEngine, TestUpstream, config_with};
use roundabout_engine::HealthState;
use serde_json::json;

#[tokio::test]
async fn failing_checks_eject_an_upstream_and_passing_ones_bring_it_back() {
    let sick = TestUpstream::new().name("sick").status(500).start().await;
    let fine = TestUpstream::new().name("fine").start().await;
    let (sick_url, sick_port) = (sick.url(), sick.addr().port());
    let active = json!({"path": "/healthz", "interval_ms": 50, "healthy_threshold": 2, "unhealthy_threshold": 2});
    let targets = json!([{"name": "app", "health": {"active": active},
                          "upstreams": [{"url": sick_url}, {"url": fine.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    engine.wait_health("app", &sick_url, |h| matches!(h, HealthState::Unhealthy { .. })).await;
    let seen = sick.requests();
    assert!(seen.len() >= 2 && seen.iter().all(|r| r.path == "/healthz"), "only the check path: {seen:?}");
    assert!(seen.iter().all(|r| r.headers["user-agent"] == "roundabout-health-check"));
    let http = engine.http();
    for _ in 0..4 {
        assert_eq!(http.get("app.localhost", "/").await.upstream(), "fine");
    }

    sick.stop().await;
    let healed = TestUpstream::new().name("healed").port(sick_port).start().await;
    engine.wait_health("app", &sick_url, |h| *h == HealthState::Healthy).await;
    assert!(healed.count() >= 2, "two passing checks in a row");
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(http.get("app.localhost", "/").await.upstream().to_owned());
    }
    order.sort();
    assert_eq!(order, ["fine", "fine", "healed", "healed"]);
}
