//! What the Upstream receives and what the client gets back: path join, query merge, Host, X-Forwarded-*, and
//! hop-by-hop headers stripped in both directions.

use crate::support::{TestEngine, TestUpstream, config_with};
use http::Method;
use http_body_util::Empty;
use serde_json::{Value, json};

/// The values the echo upstream reports for header `name` (lowercase).
fn header<'a>(echo: &'a Value, name: &str) -> Vec<&'a str> {
    echo["headers"][name].as_array().map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[tokio::test]
async fn upstream_path_is_joined_and_queries_are_merged() {
    let up = TestUpstream::new().start().await;
    let url = format!("{}/base?k=v", up.url());
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": url}]}]))).await;
    let http = engine.http();
    for (path, expected) in [
        ("/x?a=1", "/base/x?k=v&a=1"),
        ("/x", "/base/x?k=v"),
        ("/", "/base/?k=v"),
        ("/a%20b/c?q=%2F&r", "/base/a%20b/c?k=v&q=%2F&r"),
    ] {
        assert_eq!(http.get("app.localhost", path).await.json()["path"], expected, "{path}");
    }
}

#[tokio::test]
async fn host_is_preserved_unless_the_target_says_otherwise() {
    let up = TestUpstream::new().start().await;
    let targets = json!([
        {"name": "kept", "match": {"host": "kept.localhost"}, "upstreams": [{"url": up.url()}]},
        {"name": "replaced", "match": {"host": "replaced.localhost"}, "upstreams": [{"url": up.url()}],
         "preserve_host": false}
    ]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let http = engine.http();
    let kept = http.get("kept.localhost:8800", "/").await.json();
    assert_eq!(header(&kept, "host"), ["kept.localhost:8800"]);
    let replaced = http.get("replaced.localhost:8800", "/").await.json();
    assert_eq!(header(&replaced, "host"), [up.addr().to_string().as_str()]);
    assert_eq!(header(&replaced, "x-forwarded-host"), ["replaced.localhost:8800"]);
}

#[tokio::test]
async fn x_forwarded_headers_are_set_and_appended() {
    let up = TestUpstream::new().start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let http = engine.http();
    let echo = http.get("app.localhost:8800", "/").await.json();
    assert_eq!(header(&echo, "x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(header(&echo, "x-forwarded-proto"), ["http"]);
    assert_eq!(header(&echo, "x-forwarded-host"), ["app.localhost:8800"]);

    let req = http.request(Method::GET, "app.localhost", "/").header("x-forwarded-for", "10.0.0.1");
    let echo = http.send(req.body(Empty::new()).unwrap()).await.json();
    assert_eq!(header(&echo, "x-forwarded-for"), ["10.0.0.1, 127.0.0.1"]);

    // Several lines (several proxies before this one) are all kept, in order.
    let req = http
        .request(Method::GET, "app.localhost", "/")
        .header("x-forwarded-for", "10.0.0.1, 10.0.0.2")
        .header("x-forwarded-for", "10.0.0.3");
    let echo = http.send(req.body(Empty::new()).unwrap()).await.json();
    assert_eq!(header(&echo, "x-forwarded-for"), ["10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1"]);
}

#[tokio::test]
async fn hop_by_hop_request_headers_do_not_reach_the_upstream() {
    let up = TestUpstream::new().start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let http = engine.http();
    let req = http
        .request(Method::GET, "app.localhost", "/")
        .header("connection", "keep-alive, X-Secret")
        .header("x-secret", "1")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("proxy-connection", "keep-alive")
        .header("te", "gzip")
        .header("x-kept", "yes");
    let echo = http.send(req.body(Empty::new()).unwrap()).await.json();
    for gone in ["connection", "x-secret", "keep-alive", "proxy-authorization", "proxy-connection", "te"] {
        assert!(header(&echo, gone).is_empty(), "{gone} reached the upstream: {echo}");
    }
    assert_eq!(header(&echo, "x-kept"), ["yes"]);
    assert_eq!(up.requests()[0].headers.get("x-secret"), None);
}

#[tokio::test]
async fn hop_by_hop_response_headers_do_not_reach_the_client() {
    let up = TestUpstream::new()
        .header("connection", "X-Hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("proxy-authenticate", "Basic realm=\"dev\"")
        .header("x-kept", "yes")
        .start()
        .await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!(reply.status, 200);
    for gone in ["connection", "x-hop", "keep-alive", "proxy-authenticate"] {
        assert!(!reply.headers.contains_key(gone), "{gone} reached the client: {:?}", reply.headers);
    }
    assert_eq!(reply.headers["x-kept"], "yes");
}

#[tokio::test]
async fn an_h2c_client_is_forwarded_as_http1_with_its_authority_as_host() {
    let up = TestUpstream::new().name("dev").start().await;
    let targets = json!([{"name": "by-ip", "match": {"host": "127.0.0.1"}, "upstreams": [{"url": up.url()}]}]);
    let engine = TestEngine::start(&config_with(&targets)).await;
    let h2 = crate::support::Http::http2(engine.addr);
    let req = http::Request::get(format!("http://{}/h2?x=1", engine.addr)).body(Empty::new()).unwrap();
    let reply = h2.send(req).await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "dev"), "{}", reply.body);
    let echo = reply.json();
    assert_eq!(echo["path"], "/h2?x=1");
    assert_eq!(header(&echo, "host"), [engine.addr.to_string().as_str()]);
}

#[tokio::test]
async fn expect_100_continue_is_answered_and_the_body_forwarded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = TestUpstream::new().start().await;
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let mut stream = tokio::net::TcpStream::connect(engine.addr).await.unwrap();
    let head = "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\
                Connection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // Like curl: send the body only after the interim response.
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(crate::support::PATIENCE, stream.read(&mut byte))
            .await
            .expect("100 Continue")
            .unwrap();
        assert_eq!(n, 1, "closed before 100 Continue: {}", String::from_utf8_lossy(&interim));
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));
    stream.write_all(b"hello").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(crate::support::PATIENCE, stream.read_to_end(&mut rest)).await.unwrap().unwrap();
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.starts_with("HTTP/1.1 200"), "{rest}");
    assert!(rest.contains("\"body\":\"hello\""), "{rest}");
}
