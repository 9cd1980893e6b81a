//! Routing through a real Listener: Targets in order, host/path/port/method/header matchers, and the 404 page.

use crate::support::{Http, TestEngine, TestUpstream, config_with, listener_addr, parse_config};
use http::Method;
use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::Empty;
use roundabout_engine::{Engine, EngineOptions};
use serde_json::json;

#[tokio::test]
async fn the_first_matching_target_in_order_wins() {
    let foo = TestUpstream::new().name("foo").start().await;
    let api = TestUpstream::new().name("api").start().await;
    let app = TestUpstream::new().name("app").start().await;
    let rest = TestUpstream::new().name("rest").start().await;
    let targets = json!([
        {"name": "foo", "match": {"host": "app.localhost", "path": "/foo"}, "upstreams": [{"url": foo.url()}]},
        {"name": "api", "match": {"host": "*.app.localhost", "path_prefix": "/api"}, "upstreams": [{"url": api.url()}]},
        {"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": app.url()}]},
        {"name": "rest", "match": {}, "upstreams": [{"url": rest.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    for (host, path, expected) in [
        ("app.localhost", "/foo", "foo"),
        ("app.localhost", "/bar", "app"),
        ("app.localhost", "/foo/deeper", "app"),
        ("x.app.localhost", "/api", "api"),
        ("x.app.localhost", "/api/users?id=1", "api"),
        ("x.app.localhost", "/apix", "rest"),
        ("x.app.localhost", "/", "rest"),
        ("elsewhere.localhost", "/", "rest"),
    ] {
        assert_eq!(http.get(host, path).await.upstream(), expected, "{host}{path}");
    }
    assert_eq!((foo.count(), api.count(), app.count(), rest.count()), (1, 2, 2, 3));

    // The catch-all moved first swallows everything, however specific the others are.
    let mut reordered = targets.as_array().unwrap().clone();
    reordered.rotate_right(1);
    engine.apply(&config_with(&json!(reordered))).await;
    assert_eq!(http.get("app.localhost", "/foo").await.upstream(), "rest");
}

#[tokio::test]
async fn hosts_match_case_insensitively_ignoring_port_and_trailing_dot() {
    let exact = TestUpstream::new().name("exact").start().await;
    let wild = TestUpstream::new().name("wild").start().await;
    let targets = json!([
        {"name": "exact", "match": {"host": "app.localhost"}, "upstreams": [{"url": exact.url()}]},
        {"name": "wild", "match": {"host": "*.Shop.localhost"}, "upstreams": [{"url": wild.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    for host in ["app.localhost", "APP.LocalHost", "app.localhost:8800", "app.localhost.", "App.Localhost.:1"] {
        assert_eq!(http.get(host, "/").await.upstream(), "exact", "{host}");
    }
    for host in ["a.shop.localhost", "A.B.SHOP.localhost:3000", "x.shop.localhost."] {
        assert_eq!(http.get(host, "/").await.upstream(), "wild", "{host}");
    }
    for host in ["shop.localhost", "xshop.localhost", "x.app.localhost", "app.localhost.evil"] {
        assert_eq!(http.get(host, "/").await.status, 404, "{host}");
    }
}

#[tokio::test]
async fn path_is_exact_and_path_prefix_respects_segments() {
    let health = TestUpstream::new().name("health").start().await;
    let api = TestUpstream::new().name("api").start().await;
    let targets = json!([
        {"name": "health", "match": {"path": "/health"}, "upstreams": [{"url": health.url()}]},
        {"name": "api", "match": {"path_prefix": "/api/"}, "upstreams": [{"url": api.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    assert_eq!(http.get("h.localhost", "/health").await.upstream(), "health");
    assert_eq!(http.get("h.localhost", "/health?verbose=1").await.upstream(), "health");
    assert_eq!(http.get("h.localhost", "/health/").await.status, 404);
    assert_eq!(http.get("h.localhost", "/healthz").await.status, 404);
    assert_eq!(http.get("h.localhost", "/api").await.upstream(), "api");
    assert_eq!(http.get("h.localhost", "/api/v1/x").await.upstream(), "api");
    assert_eq!(http.get("h.localhost", "/apis").await.status, 404);
}

#[tokio::test]
async fn port_matches_the_port_of_the_listener_the_request_came_in_on() {
    let by_port = TestUpstream::new().name("by-port").start().await;
    let other = TestUpstream::new().name("other").start().await;
    let listeners = json!([{"name": "a", "bind": "127.0.0.1:0"}, {"name": "b", "bind": "127.0.0.1:0"}]);
    let start = json!({"version": 1, "listeners": listeners, "targets": []});
    let handle = Engine::start(parse_config(&start), EngineOptions::default()).await.unwrap();
    let a = listener_addr(&handle, 0).await.unwrap();
    let b = listener_addr(&handle, 1).await.unwrap();
    // Only now is b's real port known; the apply keeps both Listeners where they are.
    let routed = json!({"version": 1, "listeners": listeners, "targets": [
        {"name": "by-port", "match": {"port": b.port()}, "upstreams": [{"url": by_port.url()}]},
        {"name": "other", "match": {}, "upstreams": [{"url": other.url()}]}
    ]});
    handle.apply(parse_config(&routed), "test").await.unwrap();
    assert_eq!((listener_addr(&handle, 0).await, listener_addr(&handle, 1).await), (Some(a), Some(b)));
    assert_eq!(Http::new(b).get("app.localhost", "/").await.upstream(), "by-port");
    assert_eq!(Http::new(a).get("app.localhost", "/").await.upstream(), "other");
    handle.shutdown().await;
}

#[tokio::test]
async fn methods_and_headers_must_all_match() {
    let posts = TestUpstream::new().name("posts").start().await;
    let dev = TestUpstream::new().name("dev").start().await;
    let rest = TestUpstream::new().name("rest").start().await;
    let targets = json!([
        {"name": "posts", "match": {"methods": ["post", "PUT"]}, "upstreams": [{"url": posts.url()}]},
        {"name": "dev", "match": {"headers": {"X-Env": "dev"}}, "upstreams": [{"url": dev.url()}]},
        {"name": "rest", "match": {}, "upstreams": [{"url": rest.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let send = |method: Method, env: Option<&'static str>| {
        let mut req = http.request(method, "app.localhost", "/");
        if let Some(env) = env {
            req = req.header("x-env", env);
        }
        http.send(req.body(Empty::new()).unwrap())
    };
    assert_eq!(send(Method::GET, None).await.upstream(), "rest");
    assert_eq!(send(Method::POST, None).await.upstream(), "posts");
    assert_eq!(send(Method::PUT, Some("dev")).await.upstream(), "posts");
    assert_eq!(send(Method::GET, Some("dev")).await.upstream(), "dev");
    assert_eq!(send(Method::DELETE, Some("prod")).await.upstream(), "rest");
}

#[tokio::test]
async fn no_match_is_a_404_that_lists_the_configured_hosts() {
    let app = TestUpstream::new().name("app").start().await;
    let targets = json!([
        {"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": app.url()}]},
        {"name": "api", "match": {"host": "*.api.localhost", "path_prefix": "/v1"}, "upstreams": [{"url": app.url()}]}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();

    let text = http.get("nope.localhost", "/x").await;
    assert_eq!(text.status, 404);
    assert!(text.headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    for needle in ["nope.localhost/x", "app.localhost", "*.api.localhost/v1/*"] {
        assert!(text.body.contains(needle), "{needle:?} missing from:\n{}", text.body);
    }
    assert!(!text.body.contains('<'), "curl gets plain text:\n{}", text.body);

    let req = http.request(Method::GET, "nope.localhost", "/x").header(ACCEPT, "text/html,*/*;q=0.8");
    let html = http.send(req.body(Empty::new()).unwrap()).await;
    assert_eq!(html.status, 404);
    assert!(html.headers[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(html.body.contains("<li>app.localhost"), "{}", html.body);
    assert!(html.body.contains("*.api.localhost/v1/*"), "{}", html.body);
    assert_eq!(app.count(), 0, "nothing was forwarded");
}
