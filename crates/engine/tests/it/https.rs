//! HTTPS Listeners: certificates from the engine's local CA for the local name a client asks for, HTTP/2 and
//! HTTP/1.1 by ALPN into the same Mux, balancing and log as plain Listeners, and plain Listeners that redirect.

use futures_util::{SinkExt, StreamExt};
use http::Version;
use roundabout_engine::EngineOptions;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Https, TestEngine, TestUpstream, listener_addr, raw_exchange};

/// An engine with an HTTPS Listener (first) and a plain one that redirects to it, over `targets`; its CA in a
/// temporary directory. Returns the engine, an HTTPS client trusting the CA, and the CA's directory.
async fn engine(targets: &Value) -> (TestEngine, Https, tempfile::TempDir) {
    let ca = tempfile::tempdir().unwrap();
    let config = json!({"version": 1, "targets": targets, "listeners": [
        {"name": "secure", "bind": "127.0.0.1:0", "tls": true},
        {"name": "plain", "bind": "127.0.0.1:0", "redirect_https": true}]});
    let options = EngineOptions { ca_dir: Some(ca.path().to_path_buf()), ..EngineOptions::default() };
    let engine = TestEngine::start_with(&config, options).await;
    let pem = std::fs::read_to_string(ca.path().join("roundabout-ca.pem")).expect("the CA was created on first need");
    let https = Https::new(engine.addr, &pem);
    (engine, https, ca)
}

#[tokio::test]
async fn http2_and_http1_over_tls_reach_the_same_routes_with_a_certificate_for_the_name_asked() {
    let a = TestUpstream::new().name("a").start().await;
    let b = TestUpstream::new().name("b").start().await;
    let targets = json!([{"name": "app", "match": {"host": "app.localhost"},
                          "upstreams": [{"url": a.url()}, {"url": b.url()}]}]);
    let (engine, https, _ca) = engine(&targets).await;

    let over_h2 = https.get_all("app.localhost", &["/1", "/2", "/3", "/4"], true).await;
    let served: Vec<&str> = over_h2.iter().map(|(r, _)| r.upstream()).collect();
    assert_eq!(served, ["a", "b", "a", "b"], "round-robin over one HTTP/2 connection");
    for (reply, version) in &over_h2 {
        assert_eq!((reply.status.as_u16(), *version), (200, Version::HTTP_2));
        let echo = reply.json();
        assert_eq!(echo["headers"]["x-forwarded-proto"][0], "https");
        assert_eq!(echo["headers"]["host"][0], "app.localhost", "the authority becomes the Host the upstream sees");
    }
    let (reply, version) = https.get("app.localhost", "/h1", false).await;
    assert_eq!((reply.status.as_u16(), version), (200, Version::HTTP_11));
    assert_eq!(reply.json()["headers"]["x-forwarded-proto"][0], "https");
    let status = engine.handle.status().await;
    assert_eq!(status.targets[0].upstreams.iter().map(|u| u.requests).sum::<u64>(), 5);
}

#[tokio::test]
async fn a_name_that_is_not_local_gets_no_certificate_and_no_name_gets_localhosts() {
    let up = TestUpstream::new().name("dev").start().await;
    let (_engine, https, _ca) = engine(&json!([{"name": "all", "upstreams": [{"url": up.url()}]}])).await;
    let refused = https.connect("example.com", &[b"h2"], true).await;
    assert!(refused.is_err(), "a certificate for example.com was served");
    https.connect("localhost", &[b"h2"], false).await.expect("no SNI: the localhost certificate");
    https.connect("api.app.localhost", &[b"http/1.1"], true).await.expect("any name under localhost");
    assert_eq!(up.count(), 0);
}

#[tokio::test]
async fn a_plain_listener_can_redirect_every_request_to_the_https_one() {
    let up = TestUpstream::new().name("dev").start().await;
    let (engine, _https, _ca) = engine(&json!([{"name": "all", "upstreams": [{"url": up.url()}]}])).await;
    let plain = listener_addr(&engine.handle, 1).await.unwrap();
    let answer =
        raw_exchange(plain, b"GET /a?b=1 HTTP/1.1\r\nHost: app.localhost:8080\r\nConnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 307"), "{answer}");
    let location = format!("location: https://app.localhost:{}/a?b=1\r\n", engine.addr.port());
    assert!(answer.contains(&location), "{answer}");
    assert_eq!(up.count(), 0, "a redirect is not proxied");
}

#[tokio::test]
async fn a_websocket_over_http2_reaches_the_upstream_as_an_http1_upgrade_and_echoes() {
    let up = TestUpstream::new().name("hmr").websocket().start().await;
    let (_engine, https, _ca) = engine(&json!([{"name": "all", "upstreams": [{"url": up.url()}]}])).await;
    let mut ws = https.websocket_over_h2("app.localhost", "/hmr").await;
    for text in ["hello", "again"] {
        ws.send(Message::text(text)).await.unwrap();
        let echo = tokio::time::timeout(crate::support::PATIENCE, ws.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(echo, Message::text(text));
    }
    let seen = up.requests().into_iter().find(|r| r.path == "/hmr").expect("the upgrade reached the upstream");
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.headers["upgrade"], "websocket");
    assert!(seen.headers.contains_key("sec-websocket-key"), "a key made for the HTTP/1.1 handshake");
}
