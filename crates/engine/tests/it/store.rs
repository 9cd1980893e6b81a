//! The config file on disk: atomic saves that round-trip, a broken hand edit kept aside, a missing file meaning a
//! first run, and an invalid file reported with every issue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::{config_with, parse_config};
use roundabout_engine::{Config, ConfigStore, StoreError};
use serde_json::json;

fn sample(upstream: &str) -> Config {
    parse_config(&config_with(&json!([
        {"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": upstream}]},
        {"name": "rest", "upstreams": [{"url": "http://localhost:3001/base?k=v", "enabled": false}],
         "preserve_host": false}
    ])))
}

#[tokio::test]
async fn save_round_trips_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("nested/dir/config.json"));
    let config = sample("http://localhost:3000");
    let outcome = store.save(&config).await.unwrap();
    assert_eq!(outcome.kept_aside, None);
    assert_eq!(store.load().await.unwrap(), Some(config.clone()));
    assert_eq!(std::fs::read_to_string(store.path()).unwrap(), config.to_json());
    let names: Vec<_> =
        std::fs::read_dir(store.path().parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["config.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_sees_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("config.json"));
    let (a, b) = (sample("http://localhost:3000"), sample(&format!("http://localhost:4000/{}", "x".repeat(20_000))));
    store.save(&a).await.unwrap();
    let (text_a, text_b) = (a.to_json(), b.to_json());
    let done = Arc::new(AtomicBool::new(false));
    let reader = std::thread::spawn({
        let (path, done) = (store.path().to_owned(), Arc::clone(&done));
        move || {
            let mut reads = 0u32;
            while !done.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text == text_a || text == text_b, "read a partial file of {} bytes", text.len());
                reads += 1;
            }
            reads
        }
    });
    for i in 0..100 {
        store.save(if i % 2 == 0 { &b } else { &a }).await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[tokio::test]
async fn saving_over_an_unparsable_file_keeps_a_copy_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("config.json"));
    let hand_edit = "{ \"version\": 1, \"targets\": [ { \"name\": \"half-typed\"";
    std::fs::write(store.path(), hand_edit).unwrap();
    let config = sample("http://localhost:3000");

    let aside = store.save(&config).await.unwrap().kept_aside.expect("the broken file was kept");
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("config.json.broken-"), "{name}");
    assert_eq!(aside.parent(), store.path().parent());
    assert_eq!(std::fs::read_to_string(&aside).unwrap(), hand_edit);
    assert_eq!(store.load().await.unwrap(), Some(config.clone()));

    // Saving over a valid file keeps nothing aside.
    assert_eq!(store.save(&config).await.unwrap().kept_aside, None);
}

#[tokio::test]
async fn a_missing_file_is_a_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("absent/config.json"));
    assert_eq!(store.load().await.unwrap(), None);
}

#[tokio::test]
async fn an_invalid_file_reports_every_issue_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = ConfigStore::new(dir.path().join("config.json"));
    let invalid = json!({"version": 1, "listners": [],
    "listeners": [{"bind": "99999"}],
    "targets": [
        {"name": "a", "upstreams": [{"url": "ftp://x"}]},
        {"name": "a", "match": {"path": "nope", "port": 0}}
    ]});
    std::fs::write(store.path(), serde_json::to_string_pretty(&invalid).unwrap()).unwrap();
    let Err(StoreError::Invalid { path, issues }) = store.load().await else { panic!("accepted an invalid file") };
    assert_eq!(path, store.path());
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "listners",
            "listeners[0].bind",
            "targets[0].upstreams[0].url",
            "targets[1].name",
            "targets[1].match.path",
            "targets[1].match.port"
        ]
    );
    assert!(issues.0[0].message.contains("did you mean \"listeners\"?"), "{issues}");
    let message = StoreError::Invalid { path, issues }.to_string();
    assert!(message.contains("is not a valid config"), "{message}");
}
