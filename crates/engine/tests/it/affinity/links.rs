//! Links that name the wrong Target, host or Upstream; what stays forwarded under `/.roundabout/`; matchers there
//! refused; and the pin links status gives.

use http::Method;
use http_body_util::Empty;
use roundabout_engine::{EngineError, EngineOptions};
use serde_json::json;

use super::{app, get, hash8, set_cookies, three};
use crate::support::{Https, TestEngine, TestUpstream, config_with, parse_config};

#[tokio::test]
async fn wrong_links_get_pages_that_say_what_to_open_instead_and_set_nothing() {
    let [a, b, _c] = three().await;
    let targets = json!([
        app(&[&a, &b], false),
        {"name": "the api+", "match": {"host": "*.api.localhost"}, "upstreams": [{"url": b.url()}]},
        {"name": "rest", "upstreams": [{"url": a.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let port = engine.addr.port();

    let unknown = get(&http, "app.localhost", "/.roundabout/pin?target=nope&upstream=00000000", &[], false).await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("no Target is named \"nope\"") && unknown.body.contains("  - the api+"),
        "{}",
        unknown.body
    );

    let missing = get(&http, "app.localhost", "/.roundabout/unpin", &[], false).await;
    assert_eq!(missing.status, 400);
    assert!(missing.body.contains("this link names no Target"), "{}", missing.body);

    let path = format!("/.roundabout/pin?target=app&upstream={}", hash8(&a.url()));
    let elsewhere = get(&http, "other.localhost", &path, &[], false).await;
    assert_eq!(elsewhere.status, 400);
    assert!(
        elsewhere.body.contains("Target \"app\" does not answer on host \"other.localhost\""),
        "{}",
        elsewhere.body
    );
    let there = format!("Open it on app.localhost: http://app.localhost:{port}{path}");
    assert!(elsewhere.body.contains(&there), "{there:?} missing from {}", elsewhere.body);

    let wild = get(&http, "api.localhost", "/.roundabout/unpin?target=the%20api%2B", &[], false).await;
    assert_eq!(wild.status, 400, "the name is percent-decoded, and the host checked: {}", wild.body);
    assert!(wild.body.contains("Open the link on a host matching *.api.localhost"), "{}", wild.body);
    let right = get(&http, "x.api.localhost", "/.roundabout/unpin?target=the%20api%2B", &[], false).await;
    assert_eq!(right.status, 303);
    assert!(right.body.contains("no longer pinned for Target \"the api+\""), "{}", right.body);

    let stranger = get(&http, "app.localhost", "/.roundabout/pin?target=app&upstream=0123abcd", &[], false).await;
    assert_eq!(stranger.status, 404);
    assert!(stranger.body.contains("Target \"app\" has no Upstream with id \"0123abcd\""), "{}", stranger.body);
    for u in [&a, &b] {
        let line = format!("  - {}: {}", hash8(&u.url()), u.url());
        assert!(stranger.body.contains(&line), "{line:?} missing from {}", stranger.body);
    }
    for reply in [&unknown, &missing, &elsewhere, &wild, &stranger] {
        assert!(set_cookies(reply).is_empty());
    }
    assert_eq!((a.count(), b.count()), (0, 0));

    let other = get(&http, "app.localhost", "/.roundabout/other", &[], false).await;
    assert_eq!((other.status.as_u16(), other.json()["path"].as_str()), (200, Some("/.roundabout/other")));
    let posted = http.request(Method::POST, "app.localhost", &path).body(Empty::new()).unwrap();
    assert_eq!(http.send(posted).await.status, 200, "only GET is a pin link; the rest is forwarded");
}

#[tokio::test]
async fn matchers_under_the_reserved_prefix_are_refused_by_validation() {
    let up = TestUpstream::new().start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let bad = config_with(
        &json!([{"name": "admin", "match": {"path_prefix": "/.roundabout"}, "upstreams": [{"url": up.url()}]}]),
    );
    let issues = roundabout_engine::Config::from_value(&bad).unwrap_err();
    let text = issues.to_string();
    assert!(text.starts_with("targets[0].match.path_prefix: \"/.roundabout/\" is reserved"), "{text}");
    let mut typed = parse_config(&config_with(&json!([{"name": "admin", "upstreams": [{"url": up.url()}]}])));
    typed.targets[0].matcher.path = Some("/.roundabout/pin".into());
    let Err(EngineError::Invalid(issues)) = engine.handle.apply(typed, "test").await else { panic!("accepted") };
    assert_eq!(issues.0[0].path, "targets[0].match.path");
    assert!(issues.0[0].message.contains("reserved"), "{issues}");
}

#[tokio::test]
async fn status_gives_pin_links_on_the_first_running_listener_https_first() {
    let [a, b, _c] = three().await;
    let targets = json!([app(&[&a, &b], false),
                         {"name": "any", "upstreams": [{"url": a.url()}]},
                         {"name": "wild", "match": {"host": "*.w.localhost"}, "upstreams": [{"url": a.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let port = engine.addr.port();
    let status = engine.handle.status().await;
    let pin_b = format!("http://app.localhost:{port}/.roundabout/pin?target=app&upstream={}", hash8(&b.url()));
    assert_eq!(status.targets[0].upstreams[1].pin_url.as_deref(), Some(pin_b.as_str()));
    assert_eq!(status.targets[0].unpin_url, Some(format!("http://app.localhost:{port}/.roundabout/unpin?target=app")));
    assert_eq!(status.targets[1].unpin_url, Some(format!("http://localhost:{port}/.roundabout/unpin?target=any")));
    assert_eq!(
        (status.targets[2].unpin_url.as_deref(), status.targets[2].upstreams[0].pin_url.as_deref()),
        (None, None)
    );
    let linked = get(&engine.http(), "app.localhost", pin_b.split_once(&port.to_string()).unwrap().1, &[], false).await;
    assert_eq!(linked.status, 303, "the status link works: {}", linked.body);

    let live = roundabout_engine::LiveUpstream {
        target: "dev".into(),
        url: b.url(),
        command: "vite".into(),
        pid: 7,
        cwd: "/src".into(),
        branch: None,
    };
    engine.handle.attach(live).await.unwrap();
    let status = engine.handle.status().await;
    let dev = status.targets.iter().find(|t| t.name == "dev").unwrap();
    let pin_live = format!("http://dev.localhost:{port}/.roundabout/pin?target=dev&upstream={}", hash8(&b.url()));
    assert_eq!(dev.upstreams[0].pin_url.as_deref(), Some(pin_live.as_str()), "live Upstreams get pin links too");

    engine.handle.set_listener_enabled("web", false).await.unwrap();
    let status = engine.handle.status().await;
    assert!(status.targets.iter().all(|t| t.unpin_url.is_none()), "no Listener runs: no links");

    let ca = tempfile::tempdir().unwrap();
    let config = json!({"version": 1, "targets": [app(&[&a, &b], false)], "listeners": [
        {"name": "plain", "bind": "127.0.0.1:0"}, {"name": "secure", "bind": "127.0.0.1:0", "tls": true}]});
    let options = EngineOptions { ca_dir: Some(ca.path().to_path_buf()), ..EngineOptions::default() };
    let secure = TestEngine::start_with(&config, options).await;
    let tls_port = crate::support::listener_addr(&secure.handle, 1).await.unwrap().port();
    let status = secure.handle.status().await;
    let pin_a = format!("https://app.localhost:{tls_port}/.roundabout/pin?target=app&upstream={}", hash8(&a.url()));
    assert_eq!(status.targets[0].upstreams[0].pin_url.as_deref(), Some(pin_a.as_str()), "HTTPS preferred");
    let pem = std::fs::read_to_string(ca.path().join("roundabout-ca.pem")).unwrap();
    let https = Https::new(crate::support::listener_addr(&secure.handle, 1).await.unwrap(), &pem);
    let (linked, _) = https.get("app.localhost", pin_a.split_once(&tls_port.to_string()).unwrap().1, true).await;
    assert_eq!(linked.status, 303, "over HTTP/2 too: {}", linked.body);
}
