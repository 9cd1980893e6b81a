//! The control socket: one instance per config file, and what a terminal can ask it (status, log, Upstream edits,
//! live Upstreams that leave when their connection closes). Real sockets in a temporary directory.

use std::path::Path;

use crate::support::{PATIENCE, TestEngine, TestUpstream, config_with, eventually};
use roundabout_engine::control::{
    Address, Claim, ControlClient, ControlError, ControlServer, InstanceKind, Reply, Request, UpstreamAction,
};
use roundabout_engine::{ConfigStore, Event, LiveUpstream};
use serde_json::json;

/// An engine serving a config file in a temp dir, with its control socket there too.
struct Served {
    engine: TestEngine,
    server: ControlServer,
    config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn served(targets: &serde_json::Value) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let value = config_with(targets);
    std::fs::write(&config, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    let engine = TestEngine::start(&value).await;
    let claim = Claim::take_at(Address::in_dir(dir.path(), &config), &config).await.unwrap();
    let server = claim.serve(engine.handle.clone(), ConfigStore::new(&config), InstanceKind::Serve).unwrap();
    Served { engine, server, config, _dir: dir }
}

async fn client(served: &Served) -> ControlClient {
    ControlClient::connect_at(served.server.address()).await.unwrap().expect("the instance answers")
}

#[tokio::test]
async fn one_instance_per_config_file_and_the_second_is_told_who_runs_it() {
    let served = served(&json!([])).await;
    let again = Claim::take_at(served.server.address().clone(), &served.config).await.unwrap_err();
    let ControlError::AlreadyRunning { instance: Some(instance), .. } = &again else { panic!("{again:?}") };
    assert_eq!((instance.kind, instance.pid), (InstanceKind::Serve, std::process::id()));
    let message = again.to_string();
    assert!(
        message.contains("already running")
            && message.contains("roundabout serve, pid")
            && message.contains("try roundabout status"),
        "{message}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&served.server.address().socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the user can open the socket");
    }

    // Once it stops, the config file is free again, and nothing answers on its address.
    let address = served.server.address().clone();
    served.server.stop().await;
    assert!(ControlClient::connect_at(&address).await.unwrap().is_none(), "nothing runs there any more");
    Claim::take_at(address, &served.config).await.expect("free again");
}

#[tokio::test]
async fn status_and_upstream_edits_go_through_the_instance_and_are_saved() {
    let up = TestUpstream::new().start().await;
    let served = served(&json!([{"name": "app", "upstreams": [{"url": up.url()}]}])).await;
    let mut client = client(&served).await;
    let Reply::Hello { instance } = client.call(&Request::Hello).await.unwrap() else { panic!("not hello") };
    assert_eq!(instance.config, served.config);
    let Reply::Status { status } = client.call(&Request::Status).await.unwrap() else { panic!("not status") };
    assert_eq!(status.targets[0].upstreams[0].url, up.url());

    let disable = Request::Upstream { action: UpstreamAction::Disable, target: "app".into(), url: up.url() };
    let Reply::Status { status } = client.call(&disable).await.unwrap() else { panic!("not status") };
    assert!(!status.targets[0].upstreams[0].enabled, "applied");
    let saved = ConfigStore::new(&served.config).load().await.unwrap().unwrap();
    assert!(!saved.targets[0].upstreams[0].enabled, "and saved");
    assert_eq!(served.engine.http().get("app.localhost", "/").await.status.as_u16(), 503);

    let wrong = Request::Upstream { action: UpstreamAction::Enable, target: "nope".into(), url: up.url() };
    let refused = client.call(&wrong).await.unwrap_err();
    assert_eq!(refused.code(), "unknown_target");
    assert!(refused.to_string().contains("the Targets are: app"), "{refused}");
    let bad = Request::Upstream { action: UpstreamAction::Add, target: "app".into(), url: "ftp://x".into() };
    let invalid = client.call(&bad).await.unwrap_err();
    assert_eq!(invalid.code(), "invalid_config", "{invalid}");
    assert!(ConfigStore::new(&served.config).load().await.unwrap().unwrap() == saved, "nothing saved");
}

#[tokio::test]
async fn a_followed_log_streams_requests_of_its_target_after_the_recent_changes() {
    let up = TestUpstream::new().start().await;
    let served = served(&json!([
        {"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": up.url()}]},
        {"name": "other", "upstreams": [{"url": up.url()}]}
    ]))
    .await;
    let mut quick = client(&served).await;
    quick.send(&Request::Log { follow: false, target: None }).await.unwrap();
    let mut changes = 0;
    loop {
        match quick.next().await.unwrap().unwrap() {
            Reply::Event { event } => {
                assert!(!matches!(event, Event::Request(_)));
                changes += 1;
            }
            Reply::Done => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(changes >= 1, "the config applied at startup is a recent change");

    let mut follower = client(&served).await;
    follower.send(&Request::Log { follow: true, target: Some("app".into()) }).await.unwrap();
    eventually(|| async { served.engine.handle.status().await.log_readers == 1 }, PATIENCE).await;
    served.engine.http().get("anything.localhost", "/skipped").await;
    served.engine.http().get("app.localhost", "/wanted").await;
    let request = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(Reply::Event { event: Event::Request(r) }) = follower.next().await.unwrap() {
                return r;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!((request.target.as_deref(), request.path.as_str()), (Some("app"), "/wanted"));
    drop(follower);
    eventually(|| async { served.engine.handle.status().await.log_readers == 0 }, PATIENCE).await;
}

#[tokio::test]
async fn a_live_upstream_leaves_when_its_connection_closes() {
    let dev = TestUpstream::new().name("dev").start().await;
    let served = served(&json!([])).await;
    let mut runner = client(&served).await;
    let upstream = LiveUpstream {
        target: "app".into(),
        url: dev.url(),
        command: "vite".into(),
        pid: 4242,
        cwd: "/src/app".into(),
        branch: None,
    };
    let Reply::Joined { label, shadowed_by } = runner.call(&Request::Join { upstream }).await.unwrap() else {
        panic!("not joined")
    };
    assert_eq!((label, shadowed_by), (format!("{} (pid 4242)", dev.addr()), None));
    assert_eq!(served.engine.http().get("app.localhost", "/").await.upstream(), "dev");
    let text = std::fs::read_to_string(&served.config).unwrap();
    assert!(!text.contains(&dev.url()), "never written to the config");

    // The runner is killed: its connection closes, and the Upstream goes.
    drop(runner);
    eventually(
        || async { served.engine.handle.status().await.targets.iter().all(|t| t.name != "app") },
        std::time::Duration::from_secs(2),
    )
    .await;
    assert_eq!(served.engine.http().get("app.localhost", "/").await.status.as_u16(), 404);
}

#[tokio::test]
async fn a_line_that_is_not_a_request_is_answered_and_the_connection_stays() {
    let served = served(&json!([])).await;
    let address = served.server.address().clone();
    let mut raw = interprocess_raw(&address).await;
    raw.write_line(b"{\"op\":\"reboot\"}").await;
    let reply = raw.read_line().await;
    assert!(reply.contains("\"bad_request\"") && reply.contains("Control socket"), "{reply}");
    raw.write_line(b"{\"op\":\"hello\"}").await;
    assert!(raw.read_line().await.contains("\"hello\""));
    assert!(Path::new(&address.socket).exists());
}

/// A client that writes raw lines, to send what the typed client cannot.
struct Raw(tokio::io::BufReader<interprocess::local_socket::tokio::Stream>);

async fn interprocess_raw(address: &Address) -> Raw {
    use interprocess::local_socket::tokio::prelude::*;
    use interprocess::local_socket::{GenericFilePath, ToFsName};
    let name = address.socket.as_path().to_fs_name::<GenericFilePath>().unwrap();
    Raw(tokio::io::BufReader::new(interprocess::local_socket::tokio::Stream::connect(name).await.unwrap()))
}

impl Raw {
    async fn write_line(&mut self, line: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.0.get_mut().write_all(&[line, b"\n"].concat()).await.unwrap();
    }

    async fn read_line(&mut self) -> String {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        tokio::time::timeout(PATIENCE, self.0.read_line(&mut line)).await.unwrap().unwrap();
        line
    }
}
