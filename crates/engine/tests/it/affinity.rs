//! Sticky Targets and pinned browsers: a cookie keeps a browser on one Upstream while other browsers keep
//! balancing; the pin and unpin links Roundabout answers itself; what the Upstream never sees (our cookies); the
//! pin links in status; and the reserved `/.roundabout/` prefix.

use http::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use http::{Method, StatusCode};
use http_body_util::Empty;
use roundabout_engine::{Affinity, EngineError, EngineOptions};
use serde_json::{Value, json};

use crate::support::{
    Http, Https, Reply, RunningUpstream, TestEngine, TestUpstream, config_with, dead_port, next_request, parse_config,
};

/// The first 8 hex digits of SHA-256 of `text`: how Upstream ids and cookie names are made.
fn hash8(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..4].iter().fold(String::new(), |hex, b| hex + &format!("{b:02x}"))
}

/// The sticky cookie's name for Target `target`.
fn sticky_name(target: &str) -> String {
    format!("roundabout_sticky_{}", hash8(target))
}

/// The pin cookie's name for Target `target`.
fn pin_name(target: &str) -> String {
    format!("roundabout_pin_{}", hash8(target))
}

/// `GET path` on `host` with these Cookie headers (one field each), as a browser when `html`.
async fn get(http: &Http, host: &str, path: &str, cookies: &[&str], html: bool) -> Reply {
    let mut request = http.request(Method::GET, host, path);
    for cookie in cookies {
        request = request.header(COOKIE, *cookie);
    }
    if html {
        request = request.header(ACCEPT, "text/html,*/*");
    }
    http.send(request.body(Empty::new()).unwrap()).await
}

/// Every Set-Cookie of a reply.
fn set_cookies(reply: &Reply) -> Vec<String> {
    reply.headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// The `name=value` a Set-Cookie asks the browser to send back.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Upstreams `a`, `b` and `c`.
async fn three() -> [RunningUpstream; 3] {
    [
        TestUpstream::new().name("a").start().await,
        TestUpstream::new().name("b").start().await,
        TestUpstream::new().name("c").start().await,
    ]
}

/// A Target `app` on `app.localhost` over `upstreams`, sticky or not.
fn app(upstreams: &[&RunningUpstream], sticky: bool) -> Value {
    let upstreams: Vec<Value> = upstreams.iter().map(|u| json!({"url": u.url()})).collect();
    json!({"name": "app", "match": {"host": "app.localhost"}, "sticky": sticky, "upstreams": upstreams})
}

#[tokio::test]
async fn a_sticky_target_keeps_a_browser_on_its_upstream_while_cookieless_clients_round_robin() {
    let ups = three().await;
    let [a, b, c] = &ups;
    let engine = TestEngine::start(&config_with(&json!([app(&[a, b, c], true)]))).await;
    let http = engine.http();
    let mut events = engine.handle.subscribe();
    let sticky_to =
        |u: &RunningUpstream| format!("{}={}; Path=/; HttpOnly; SameSite=Lax", sticky_name("app"), hash8(&u.url()));

    let first = get(&http, "app.localhost", "/", &[], false).await;
    assert_eq!(first.upstream(), "a");
    assert_eq!(set_cookies(&first), [sticky_to(a)], "a browser new to the Target is given a cookie");
    assert_eq!(next_request(&mut events).await.affinity, None, "the balancer chose");
    let cookie = pair(&sticky_to(a));

    let mut cookieless = Vec::new();
    for i in 0..20 {
        let kept = get(&http, "app.localhost", &format!("/kept/{i}"), &[&cookie], false).await;
        assert_eq!(kept.upstream(), "a", "request {i} left its Upstream");
        assert!(set_cookies(&kept).is_empty(), "the cookie is already right: nothing to set");
        assert_eq!(next_request(&mut events).await.affinity, Some(Affinity::Sticky));
        let other = get(&http, "app.localhost", &format!("/other/{i}"), &[], false).await;
        assert_eq!(set_cookies(&other), [sticky_to(answered(&other, &ups))], "no cookie: one is set every time");
        assert_eq!(next_request(&mut events).await.affinity, None);
        cookieless.push(other.upstream().to_owned());
    }
    let rotation: Vec<&str> = ["b", "c", "a"].iter().copied().cycle().take(20).collect();
    assert_eq!(cookieless, rotation, "sticky requests do not turn the rotation of the others");
    assert_eq!((a.count(), b.count(), c.count()), (1 + 20 + 6, 7, 7));
}

/// The upstream (among `a`, `b`, `c`) that answered `reply`.
fn answered<'a>(reply: &Reply, all: &'a [RunningUpstream; 3]) -> &'a RunningUpstream {
    let i = ["a", "b", "c"].iter().position(|n| *n == reply.upstream()).expect("one of a, b, c answered");
    &all[i]
}

#[tokio::test]
async fn a_target_that_is_not_sticky_ignores_the_cookie_and_sets_none() {
    let [a, b, _c] = three().await;
    let engine = TestEngine::start(&config_with(&json!([app(&[&a, &b], false)]))).await;
    let http = engine.http();
    let cookie = format!("{}={}", sticky_name("app"), hash8(&b.url()));
    let served: Vec<String> = {
        let mut served = Vec::new();
        for _ in 0..4 {
            let reply = get(&http, "app.localhost", "/", &[&cookie], false).await;
            assert!(set_cookies(&reply).is_empty(), "{:?}", set_cookies(&reply));
            served.push(reply.upstream().to_owned());
        }
        served
    };
    assert_eq!(served, ["a", "b", "a", "b"]);
}

#[tokio::test]
async fn a_sticky_cookie_for_a_disabled_upstream_is_replaced() {
    let ups = three().await;
    let [a, b, c] = &ups;
    let engine = TestEngine::start(&config_with(&json!([app(&[a, b, c], true)]))).await;
    let http = engine.http();
    let on_b = format!("{}={}", sticky_name("app"), hash8(&b.url()));
    assert_eq!(get(&http, "app.localhost", "/", &[&on_b], false).await.upstream(), "b");

    let mut off = app(&[a, b, c], true);
    off["upstreams"][1]["enabled"] = json!(false);
    engine.apply(&config_with(&json!([off]))).await;
    let mut events = engine.handle.subscribe();
    let moved = get(&http, "app.localhost", "/", &[&on_b], false).await;
    assert_ne!(moved.upstream(), "b");
    let replaced = format!("{}={}", sticky_name("app"), hash8(&answered(&moved, &ups).url()));
    assert_eq!(set_cookies(&moved).iter().map(|s| pair(s)).collect::<Vec<_>>(), [&*replaced]);
    assert_eq!(next_request(&mut events).await.affinity, None);
    for _ in 0..3 {
        let reply = get(&http, "app.localhost", "/", &[&replaced], false).await;
        assert_eq!((reply.upstream(), set_cookies(&reply).len()), (moved.upstream(), 0), "kept on the new one");
    }
    assert_eq!(b.count(), 1);
}

#[tokio::test]
async fn a_sticky_upstream_that_cannot_be_reached_hands_the_browser_to_the_next() {
    let live = TestUpstream::new().name("live").start().await;
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let target = json!({"name": "app", "sticky": true, "upstreams": [{"url": live.url()}, {"url": dead}]});
    let engine = TestEngine::start(&config_with(&json!([target]))).await;
    let on_dead = format!("{}={}", sticky_name("app"), hash8(&dead));
    let mut events = engine.handle.subscribe();
    let reply = get(&engine.http(), "app.localhost", "/", &[&on_dead], false).await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "live"), "the usual retry rule");
    assert_eq!(pair(&set_cookies(&reply)[0]), format!("{}={}", sticky_name("app"), hash8(&live.url())));
    let event = next_request(&mut events).await;
    assert_eq!((event.failed.len(), event.affinity), (1, None), "tried first, then not the reason: {event:?}");
}

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
async fn wrong_links_get_pages_that_say_what_to_open_instead_and_set_nothing() {
    let [a, b, _c] = three().await;
    let targets = json!([
        app(&[&a, &b], false),
        {"name": "my api", "match": {"host": "*.api.localhost"}, "upstreams": [{"url": b.url()}]},
        {"name": "rest", "upstreams": [{"url": a.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let port = engine.addr.port();

    let unknown = get(&http, "app.localhost", "/.roundabout/pin?target=nope&upstream=00000000", &[], false).await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("no Target is named \"nope\"") && unknown.body.contains("  - my api"),
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

    let wild = get(&http, "api.localhost", "/.roundabout/unpin?target=my%20api", &[], false).await;
    assert_eq!(wild.status, 400, "the name is percent-decoded, and the host checked: {}", wild.body);
    assert!(wild.body.contains("Open the link on a host matching *.api.localhost"), "{}", wild.body);
    let right = get(&http, "x.api.localhost", "/.roundabout/unpin?target=my%20api", &[], false).await;
    assert_eq!(right.status, 303);

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
    let reply = get(&http, "app.localhost", "/", &[&mixed, "roundabout_pin_=kept; z=1", &pinned], false).await;
    assert_eq!(seen(&reply), ["theme=dark;  session=\"a b\"; last=x=y", "roundabout_pin_=kept; z=1"]);
    let untouched = "a=1;b=2 ;  c=\"x\"";
    assert_eq!(seen(&get(&http, "app.localhost", "/", &[untouched], false).await), [untouched]);
    let only_ours = get(&http, "app.localhost", "/", &[&pinned], false).await;
    assert!(only_ours.json()["headers"].get("cookie").is_none(), "{}", only_ours.body);
    assert!(get(&http, "app.localhost", "/", &[], false).await.json()["headers"].get("cookie").is_none());
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
