//! Sticky Targets and pinned browsers: a cookie keeps a browser on one Upstream while other browsers keep
//! balancing (here); the pin and unpin links Roundabout answers itself and what the Upstream never sees (our
//! cookies) in [`pinning`]; links that name the wrong thing, the pin links in status and the reserved
//! `/.roundabout/` prefix in [`links`].

mod links;
mod pinning;

use http::Method;
use http::header::{ACCEPT, COOKIE, SET_COOKIE};
use http_body_util::Empty;
use roundabout_engine::Affinity;
use serde_json::{Value, json};

use crate::support::{Http, Reply, RunningUpstream, TestEngine, TestUpstream, config_with, dead_port, next_request};

/// The first 8 hex digits of SHA-256 of `text`: how Upstream ids and cookie names are made.
pub(super) fn hash8(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref()[..4].iter().fold(String::new(), |hex, b| hex + &format!("{b:02x}"))
}

/// The sticky cookie's name for Target `target`.
pub(super) fn sticky_name(target: &str) -> String {
    format!("roundabout_sticky_{}", hash8(target))
}

/// The pin cookie's name for Target `target`.
pub(super) fn pin_name(target: &str) -> String {
    format!("roundabout_pin_{}", hash8(target))
}

/// `GET path` on `host` with these Cookie headers (one field each), as a browser when `html`.
pub(super) async fn get(http: &Http, host: &str, path: &str, cookies: &[&str], html: bool) -> Reply {
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
pub(super) fn set_cookies(reply: &Reply) -> Vec<String> {
    reply.headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// The `name=value` a Set-Cookie asks the browser to send back.
pub(super) fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Upstreams `a`, `b` and `c`.
pub(super) async fn three() -> [RunningUpstream; 3] {
    [
        TestUpstream::new().name("a").start().await,
        TestUpstream::new().name("b").start().await,
        TestUpstream::new().name("c").start().await,
    ]
}

/// A Target `app` on `app.localhost` over `upstreams`, sticky or not.
pub(super) fn app(upstreams: &[&RunningUpstream], sticky: bool) -> Value {
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
pub(super) fn answered<'a>(reply: &Reply, all: &'a [RunningUpstream; 3]) -> &'a RunningUpstream {
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
