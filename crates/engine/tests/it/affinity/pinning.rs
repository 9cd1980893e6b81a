//! The pin link pins a browser (sticky Target or not), a pinned Upstream is used whatever its health and nothing
//! else is tried when it fails, unpin clears it, and our cookies never reach an Upstream.

use http::StatusCode;
use http::header::LOCATION;
use roundabout_engine::Affinity;
use serde_json::json;

use super::{app, get, hash8, pair, pin_name, set_cookies, three};
use crate::support::{Http, Reply, TestEngine, TestUpstream, config_with, dead_port, next_request};

/// Opens the pin link of Upstream `upstream` of Target `target` as a browser on `host`.
async fn pin(http: &Http, host: &str, target: &str, upstream: &str) -> Reply {
    let path = format!("/.roundabout/pin?target={target}&upstream={}", hash8(upstream));
    get(http, host, &path, &[], true).await
}

#[tokio::test]
async fn the_pin_link_sets_the_cookie_and_every_request_carrying_it_goes_to_that_upstream() {
    let [a, b, c] = three().await;
    for sticky in [false, true] {
        let engine = TestEngine::start(&config_with(&json!([app(&[&a, &b, &c], sticky)]))).await;
        let http = engine.http();
        let mut events = engine.handle.subscribe();
        let linked = pin(&http, "app.localhost", "app", &b.url()).await;
        assert_eq!(linked.status, StatusCode::SEE_OTHER);
        assert_eq!(linked.headers[LOCATION], "/");
        let want = format!("{}={}; Path=/; Max-Age=34560000; HttpOnly; SameSite=Lax", pin_name("app"), hash8(&b.url()));
        assert_eq!(set_cookies(&linked), [&*want]);
        assert!(
            linked.body.contains(&format!("pinned to Upstream {} of Target &quot;app&quot;", b.addr())),
            "{}",
            linked.body
        );
        assert!(linked.body.contains("<a href=\"/.roundabout/unpin?target=app\">"), "{}", linked.body);
        let logged = next_request(&mut events).await;
        assert_eq!((logged.status, logged.target.as_deref(), logged.upstream.as_deref()), (303, Some("app"), None));
        assert!(logged.error.as_deref().unwrap().starts_with("pinned this browser to "), "{logged:?}");

        let cookie = pair(&want);
        let mut others = Vec::new();
        for i in 0..10 {
            let pinned = get(&http, "app.localhost", &format!("/{i}"), &[&cookie], false).await;
            assert_eq!(pinned.upstream(), "b", "sticky: {sticky}");
            assert!(set_cookies(&pinned).is_empty(), "a pinned request sets no sticky cookie");
            let event = next_request(&mut events).await;
            assert_eq!(
                (event.affinity, event.upstream.as_deref()),
                (Some(Affinity::Pinned), Some(&*b.addr().to_string()))
            );
            others.push(get(&http, "app.localhost", "/", &[], false).await.upstream().to_owned());
            next_request(&mut events).await;
        }
        assert_eq!(&others[..3], ["a", "b", "c"], "other browsers keep balancing");
    }
}

#[tokio::test]
async fn a_pinned_upstream_is_used_while_unhealthy_and_its_failure_is_not_sent_elsewhere() {
    let sick = TestUpstream::new().name("sick").status(503).start().await;
    let well = TestUpstream::new().name("well").start().await;
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let target = json!({"name": "app", "upstreams": [{"url": sick.url()}, {"url": dead}, {"url": well.url()}],
                        "health": {"passive": {"fail_statuses": [503], "cool_down_ms": 600_000}}});
    let engine = TestEngine::start(&config_with(&json!([target]))).await;
    let http = engine.http();
    for _ in 0..9 {
        get(&http, "app.localhost", "/", &[], false).await;
    }
    engine.wait_health("app", &sick.url(), |h| matches!(h, roundabout_engine::HealthState::Unhealthy { .. })).await;
    let to_sick = format!("{}={}", pin_name("app"), hash8(&sick.url()));
    let before = sick.count();
    let reply = get(&http, "app.localhost", "/", &[&to_sick], false).await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (503, "sick"), "the developer sees the one they pinned");
    assert_eq!(sick.count(), before + 1);

    let to_dead = format!("{}={}", pin_name("app"), hash8(&dead));
    let mut events = engine.handle.subscribe();
    let served_well = well.count();
    let failed = get(&http, "app.localhost", "/x", &[&to_dead], true).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
    let label = dead.trim_start_matches("http://");
    assert!(
        failed
            .body
            .contains(&format!("Upstream {label} of Target &quot;app&quot; failed, and this browser is pinned to it")),
        "{}",
        failed.body
    );
    assert!(
        failed.body.contains("<a href=\"/.roundabout/unpin?target=app\">Unpin this browser</a>"),
        "{}",
        failed.body
    );
    assert_eq!(well.count(), served_well, "no other Upstream was tried");
    let event = next_request(&mut events).await;
    assert_eq!((event.status, event.failed.len(), event.affinity), (502, 1, Some(Affinity::Pinned)));
}

#[tokio::test]
async fn a_pin_to_a_disabled_upstream_waits_until_it_is_enabled_again() {
    let [a, b, _c] = three().await;
    let mut target = app(&[&a, &b], false);
    target["upstreams"][1]["enabled"] = json!(false);
    let engine = TestEngine::start(&config_with(&json!([target]))).await;
    let http = engine.http();
    let linked = pin(&http, "app.localhost", "app", &b.url()).await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER);
    assert!(linked.body.contains("It is disabled: until it is enabled again"), "{}", linked.body);
    let cookie = pair(&set_cookies(&linked)[0]);
    let mut events = engine.handle.subscribe();
    let balanced = get(&http, "app.localhost", "/", &[&cookie], false).await;
    assert_eq!((balanced.upstream(), next_request(&mut events).await.affinity), ("a", None));
    target["upstreams"][1]["enabled"] = json!(true);
    engine.apply(&config_with(&json!([target]))).await;
    let pinned = get(&http, "app.localhost", "/", &[&cookie], false).await;
    assert_eq!((pinned.upstream(), next_request(&mut events).await.affinity), ("b", Some(Affinity::Pinned)));
    let enabled = pin(&http, "app.localhost", "app", &b.url()).await;
    assert!(!enabled.body.contains("disabled"), "{}", enabled.body);
}

#[tokio::test]
async fn unpin_clears_the_cookie_and_the_browser_balances_again() {
    let [a, b, _c] = three().await;
    let engine = TestEngine::start(&config_with(&json!([app(&[&a, &b], false)]))).await;
    let http = engine.http();
    let mut events = engine.handle.subscribe();
    let reply = get(&http, "app.localhost", "/.roundabout/unpin?target=app", &[], false).await;
    assert_eq!((reply.status, reply.headers[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/"));
    let cleared = format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax", pin_name("app"));
    assert_eq!(set_cookies(&reply), [cleared]);
    assert!(reply.body.contains("no longer pinned for Target \"app\""), "{}", reply.body);
    let event = next_request(&mut events).await;
    assert_eq!(
        (event.status, event.target.as_deref(), event.error.as_deref()),
        (303, Some("app"), Some("unpinned this browser"))
    );
    assert_eq!((a.count(), b.count()), (0, 0), "answered by Roundabout, not forwarded");
}

#[tokio::test]
async fn our_cookies_never_reach_the_upstream_and_the_others_arrive_byte_for_byte() {
    let [a, _b, _c] = three().await;
    let engine = TestEngine::start(&config_with(&json!([app(&[&a], true)]))).await;
    let http = engine.http();
    let seen = |reply: &Reply| -> Vec<String> {
        let cookies = reply.json()["headers"]["cookie"].clone();
        cookies.as_array().map(|c| c.iter().map(|v| v.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
    };
    let pinned = format!("{}={}", pin_name("app"), hash8(&a.url()));
    let mixed = format!("theme=dark;  session=\"a b\";{pinned}; roundabout_sticky_0badf00d=12345678; last=x=y");
    let reply =
        get(&http, "app.localhost", "/", &[&mixed, "roundabout_pin_=kept; z=1", &format!("{pinned};;")], false).await;
    assert_eq!(seen(&reply), ["theme=dark;  session=\"a b\"; last=x=y", "roundabout_pin_=kept; z=1"]);
    let untouched = "a=1;b=2 ;  c=\"x\"";
    assert_eq!(seen(&get(&http, "app.localhost", "/", &[untouched], false).await), [untouched]);
    let only_ours = get(&http, "app.localhost", "/", &[&pinned], false).await;
    assert!(only_ours.json()["headers"].get("cookie").is_none(), "{}", only_ours.body);
    assert!(get(&http, "app.localhost", "/", &[], false).await.json()["headers"].get("cookie").is_none());
}
