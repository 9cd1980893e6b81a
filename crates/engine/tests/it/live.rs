//! Live Upstreams (`roundabout run`): dev servers join a Target while they run, are balanced like any other, and
//! leave drained; the config never sees them.

use crate::support::{Gate, PATIENCE, TestEngine, TestUpstream, config_with, eventually};
use roundabout_engine::{Event, HealthState, LiveUpstream, Received};
use serde_json::json;

fn live(target: &str, url: &str, pid: u32) -> LiveUpstream {
    LiveUpstream {
        target: target.into(),
        url: url.into(),
        command: "npm run dev".into(),
        pid,
        cwd: "/src/app".into(),
        branch: Some("main".into()),
    }
}

#[tokio::test]
async fn live_upstreams_get_a_target_of_their_own_are_balanced_and_leave_drained() {
    let gate = Gate::new();
    let one = TestUpstream::new().name("one").hold(&gate).start().await;
    let two = TestUpstream::new().name("two").start().await;
    let engine = TestEngine::start(&config_with(&json!([
        {"name": "api", "match": {"host": "api.localhost"}, "upstreams": []}
    ])))
    .await;
    let before = engine.handle.config().await;
    let mut events = engine.handle.subscribe_changes();

    let first = engine.handle.attach(live("app", &one.url(), 11)).await.unwrap();
    assert_eq!(first.label, format!("{} (pid 11)", one.addr()));
    assert_eq!(first.shadowed_by, None);
    let second = engine.handle.attach(live("app", &two.url(), 22)).await.unwrap();
    let Some(Received::Event(joined)) = events.recv().await else { panic!("no event") };
    assert!(matches!(&*joined, Event::Live(l) if l.joined && l.upstream.pid == 11), "{joined:?}");

    let status = engine.handle.status().await;
    let app = status.targets.iter().find(|t| t.name == "app").expect("a Target for the live Upstreams");
    assert!(app.live && app.matcher.contains("app.localhost"), "{app:?}");
    assert_eq!(app.upstreams.len(), 2);
    assert_eq!(app.upstreams[1].live.as_ref().map(|l| l.pid), Some(22));
    assert_eq!(status.targets[0].name, "api", "created Targets come after the configured ones");
    assert_eq!(engine.handle.config().await, before, "live Upstreams are never part of the config");

    // Balanced like any other: one is held open by the gate, so the next one goes to two, then one again.
    let held = tokio::spawn({
        let http = engine.http();
        async move { http.get("app.localhost", "/slow").await }
    });
    eventually(|| async { one.count() == 1 }, PATIENCE).await;
    gate.open();
    assert_eq!(held.await.unwrap().upstream(), "one");
    assert_eq!(engine.http().get("app.localhost", "/").await.upstream(), "two");

    // Leaving: one takes nothing new while its held request finishes; then it is gone, and so is the Target once
    // both left.
    let gate = Gate::new();
    let slow = TestUpstream::new().name("slow").hold(&gate).start().await;
    let third = engine.handle.attach(live("app", &slow.url(), 33)).await.unwrap();
    // Round-robin's third turn is the third Upstream.
    let held = tokio::spawn({
        let http = engine.http();
        async move { http.get("app.localhost", "/held").await }
    });
    eventually(|| async { slow.count() == 1 }, PATIENCE).await;
    let leaving = tokio::spawn({
        let handle = engine.handle.clone();
        async move { handle.detach(third.id, "the command exited").await }
    });
    eventually(
        || async { engine.upstream("app", &slow.url()).await.health == HealthState::Draining { open: 1 } },
        PATIENCE,
    )
    .await;
    for _ in 0..3 {
        assert_ne!(engine.http().get("app.localhost", "/").await.upstream(), "slow", "no new request while leaving");
    }
    assert!(!leaving.is_finished(), "it waits for the open request");
    gate.open();
    assert_eq!(held.await.unwrap().upstream(), "slow", "its open request finished");
    tokio::time::timeout(PATIENCE, leaving).await.unwrap().unwrap();
    let status = engine.handle.status().await;
    let app = status.targets.iter().find(|t| t.name == "app").unwrap();
    assert!(app.upstreams.iter().all(|u| u.url != slow.url()), "gone once drained");

    engine.handle.detach(first.id, "done").await;
    engine.handle.detach(second.id, "done").await;
    assert!(engine.handle.status().await.targets.iter().all(|t| t.name != "app"), "the created Target went with them");
    assert_eq!(engine.http().get("app.localhost", "/").await.status.as_u16(), 404);
    let left = engine
        .handle
        .recent_changes()
        .iter()
        .filter(|e| matches!(&***e, Event::Live(l) if !l.joined && l.reason.as_deref() == Some("the command exited")))
        .count();
    assert_eq!(left, 1);
}

#[tokio::test]
async fn a_live_upstream_joins_the_configured_target_of_its_name_and_is_told_when_shadowed() {
    let configured = TestUpstream::new().name("configured").start().await;
    let joined = TestUpstream::new().name("joined").start().await;
    let engine = TestEngine::start(&config_with(&json!([
        {"name": "web", "match": {"host": "web.localhost"}, "upstreams": [{"url": configured.url()}]},
        {"name": "everything", "upstreams": [{"url": configured.url()}]}
    ])))
    .await;
    let attached = engine.handle.attach(live("web", &joined.url(), 1)).await.unwrap();
    assert_eq!(attached.shadowed_by, None);
    let a = engine.http().get("web.localhost", "/").await.upstream().to_owned();
    let b = engine.http().get("web.localhost", "/").await.upstream().to_owned();
    assert_eq!([a.as_str(), b.as_str()], ["configured", "joined"], "joined the configured Target's rotation");

    let shadowed = engine.handle.attach(live("docs", &joined.url(), 2)).await.unwrap();
    assert_eq!(shadowed.shadowed_by.as_deref(), Some("everything"), "a catch-all comes first for docs.localhost");

    let twice = engine.handle.attach(live("web", &joined.url(), 1)).await.unwrap_err();
    assert!(twice.to_string().contains("already an Upstream of web"), "{twice}");
    let far = engine.handle.attach(live("web", "http://192.0.2.1:80", 1)).await.unwrap_err();
    assert!(far.to_string().contains("not on this machine"), "{far}");
}
