//! Dev servers as they really behave: `localhost` meaning either loopback family, restarts on the same port, and
//! connections closed right after a response.

use std::net::{Ipv4Addr, SocketAddr};

use crate::support::{RunningUpstream, TestEngine, TestUpstream, config_with, next_request};
use serde_json::json;
use socket2::{Domain, Socket, Type};

/// An upstream on `[::1]` only, and a socket that holds the same port on 127.0.0.1 without listening, so a
/// connection to `127.0.0.1:port` is refused rather than reaching some other test's server.
async fn ipv6_only_upstream() -> (RunningUpstream, Socket) {
    for _ in 0..20 {
        let up = TestUpstream::new().name("v6").ipv6_only().start().await;
        let reserve = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        if reserve.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, up.addr().port())).into()).is_ok() {
            return (up, reserve);
        }
    }
    panic!("no port free on both loopback families");
}

#[tokio::test]
async fn localhost_reaches_a_dev_server_listening_on_127_0_0_1_only() {
    let up = TestUpstream::new().name("v4").start().await;
    let url = format!("http://localhost:{}", up.addr().port());
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": url}]}]))).await;
    let reply = engine.http().get("app.localhost", "/").await;
    assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "v4"));
}

#[tokio::test]
async fn localhost_reaches_a_dev_server_listening_on_ipv6_only() {
    let (up, _reserved) = ipv6_only_upstream().await;
    let url = format!("http://localhost:{}", up.addr().port());
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": url}]}]))).await;
    let mut events = engine.handle.subscribe();
    for _ in 0..3 {
        let reply = engine.http().get("app.localhost", "/").await;
        assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "v6"), "{}", reply.body);
        assert!(next_request(&mut events).await.failed.is_empty());
    }
}

#[tokio::test]
async fn a_dev_server_restarted_on_the_same_port_is_served_without_stale_connection_errors() {
    let up = TestUpstream::new().name("first").start().await;
    let port = up.addr().port();
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let http = engine.http();
    for _ in 0..5 {
        assert_eq!(http.get("app.localhost", "/").await.upstream(), "first");
    }
    assert_eq!(up.connections(), 1, "keep-alive: the proxy reused its pooled connection");

    up.stop().await;
    let down = http.get("app.localhost", "/").await;
    assert_eq!(down.status, 502, "{}", down.body);
    let failures_while_down = engine.counters("app", &format!("http://127.0.0.1:{port}")).await.1;

    let again = TestUpstream::new().name("second").port(port).start().await;
    let mut events = engine.handle.subscribe();
    for i in 0..10 {
        let reply = http.get("app.localhost", &format!("/{i}")).await;
        assert_eq!((reply.status.as_u16(), reply.upstream()), (200, "second"), "request {i}: {}", reply.body);
        assert!(next_request(&mut events).await.failed.is_empty());
    }
    assert_eq!(engine.counters("app", &again.url()).await.1, failures_while_down);
}

async fn sequential_requests_succeed(up: &RunningUpstream) {
    let engine = TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}]))).await;
    let http = engine.http();
    let mut events = engine.handle.subscribe();
    for i in 0..30 {
        let reply = http.get("app.localhost", &format!("/{i}")).await;
        assert_eq!(reply.status, 200, "request {i}: {}", reply.body);
        let event = next_request(&mut events).await;
        assert!(event.failed.is_empty(), "request {i}: {:?}", event.failed);
    }
    assert_eq!(up.count(), 30);
}

#[tokio::test]
async fn an_upstream_answering_connection_close_causes_no_errors() {
    let up = TestUpstream::new().close_after(1).start().await;
    sequential_requests_succeed(&up).await;
    assert_eq!(up.connections(), 30);
}

#[tokio::test]
async fn an_upstream_closing_the_connection_after_each_response_causes_no_errors() {
    let up = TestUpstream::new().close_silently().start().await;
    sequential_requests_succeed(&up).await;
}
