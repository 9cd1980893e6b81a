//! Bodies stream through frame by frame in both directions: large transfers arrive intact without being held in
//! memory, a held-back SSE stream delivers its first event at once, and a client that stops reading stops the
//! upstream (back-pressure).

use std::time::Duration;

use crate::support::pattern::{PatternBody, PatternCheck};
use crate::support::{Gate, PATIENCE, TestEngine, TestUpstream, config_with, eventually};
use http::Method;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http_body_util::{BodyExt, Empty};
use serde_json::json;

const MIB: u64 = 1024 * 1024;

async fn engine_for(url: &str) -> TestEngine {
    TestEngine::start(&config_with(&json!([{"name": "app", "upstreams": [{"url": url}]}]))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_download_arrives_intact() {
    let up = TestUpstream::new().download(64 * MIB).start().await;
    let engine = engine_for(&up.url()).await;
    let http = engine.http();
    let response = http.send_head(http.request(Method::GET, "app.localhost", "/big").body(Empty::new()).unwrap()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_LENGTH], (64 * MIB).to_string().as_str());
    let mut body = response.into_body();
    let mut check = PatternCheck::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame.expect("body frames arrive").data_ref() {
                check.feed(data);
            }
        }
    });
    read.await.expect("64 MiB within a minute");
    assert_eq!((check.len, check.intact), (64 * MIB, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_upload_arrives_intact_with_and_without_content_length() {
    let up = TestUpstream::new().start().await;
    let engine = engine_for(&up.url()).await;
    let http = engine.http();
    let sized = http.request(Method::POST, "app.localhost", "/upload").body(PatternBody::new(64 * MIB)).unwrap();
    let echo = http.send(sized).await.json();
    assert_eq!((echo["body_len"].as_u64(), echo["body_is_pattern"].as_bool()), (Some(64 * MIB), Some(true)));
    assert_eq!(echo["headers"]["content-length"][0], (64 * MIB).to_string());

    let chunked = http.request(Method::PUT, "app.localhost", "/upload").body(PatternBody::chunked(16 * MIB)).unwrap();
    let echo = http.send(chunked).await.json();
    assert_eq!((echo["body_len"].as_u64(), echo["body_is_pattern"].as_bool()), (Some(16 * MIB), Some(true)));
    assert_eq!(echo["headers"]["transfer-encoding"][0], "chunked");
}

#[tokio::test]
async fn an_sse_stream_delivers_its_first_event_while_the_upstream_holds_the_rest() {
    let gate = Gate::new();
    let up = TestUpstream::new().held_stream("data: one\n\n", "data: two\n\n", &gate).start().await;
    let engine = engine_for(&up.url()).await;
    let http = engine.http();
    let response =
        http.send_head(http.request(Method::GET, "app.localhost", "/events").body(Empty::new()).unwrap()).await;
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[TRANSFER_ENCODING], "chunked");
    let mut body = response.into_body();
    // The upstream cannot send "two" before the gate opens, so this only completes if "one" was passed on alone.
    let first = tokio::time::timeout(PATIENCE, body.frame()).await.expect("the first event is not held back");
    assert_eq!(first.unwrap().unwrap().into_data().unwrap(), "data: one\n\n");
    gate.open();
    let rest = tokio::time::timeout(PATIENCE, body.collect()).await.unwrap().unwrap().to_bytes();
    assert_eq!(rest, "data: two\n\n");
}

#[tokio::test]
async fn a_client_that_stops_reading_stops_the_upstream() {
    let up = TestUpstream::new().download(1024 * MIB).start().await;
    let engine = engine_for(&up.url()).await;
    let http = engine.http();
    let response = http.send_head(http.request(Method::GET, "app.localhost", "/").body(Empty::new()).unwrap()).await;
    assert_eq!(response.status(), 200);
    // Read nothing more; wait until the upstream has stopped producing (five equal readings in a row), then look at
    // how far it got. A proxy that buffered the response would run on to the full 1 GiB.
    let (mut last, mut same) = (u64::MAX, 0);
    eventually(
        || {
            let now = up.produced();
            same = if now == last { same + 1 } else { 0 };
            last = now;
            let settled = same >= 5;
            async move { settled }
        },
        Duration::from_secs(30),
    )
    .await;
    assert!(up.produced() < 64 * MIB, "the upstream ran {} MiB ahead of the client", up.produced() / MIB);
    drop(response);
}
