//! Dev servers started from the terminal: `roundabout run` behind a running `serve`, and the commands that talk to
//! the running instance (`status`, `log`, `upstream`). Real processes: the binary, and small Node servers that
//! read PORT like a dev server does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Roundabout, Upstream, eventually, get, roundabout, text, write_config};

/// A dev server in one line: answers `served by $NAME` on $PORT and $HOST, like the ones `run` starts.
/// `/slow` answers after 200 ms, so a request can be in flight when the dev server is stopped.
const DEV_SERVER: &str = "require('http').createServer((q, s) => { q.resume(); \
                          setTimeout(() => s.end('served by ' + process.env.NAME), q.url === '/slow' ? 200 : 0) })\
                          .listen(+process.env.PORT, process.env.HOST)";

/// `roundabout run --config CONFIG --name app -- node -e DEV_SERVER` with NAME=`name`.
fn run_dev_server(home: &Path, config: &str, name: &str) -> Roundabout {
    let node = Command::new("node").arg("--version").output();
    assert!(node.is_ok_and(|o| o.status.success()), "these tests need Node.js (scripts/setup installs it)");
    let mut command = Command::new(env!("CARGO_BIN_EXE_roundabout"));
    command.env("NAME", name).current_dir(home);
    Roundabout::spawn_command(
        command,
        &["run", "--config", config, "--name", "app", "--", "node", "-e", DEV_SERVER],
        home,
    )
}

fn status_json(home: &Path, config: &str) -> Value {
    let out = roundabout(&["status", "--json", "--config", config], home);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The live Upstreams of Target `app` in `status --json`: (url, dev server pid).
fn live_upstreams(status: &Value) -> Vec<(String, u64)> {
    let targets = status["status"]["targets"].as_array().cloned().unwrap_or_default();
    let Some(app) = targets.iter().find(|t| t["name"] == "app") else { return Vec::new() };
    app["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["url"].as_str().unwrap().to_owned(), u["live"]["pid"].as_u64().unwrap_or(0)))
        .collect()
}

/// `POST path` with a small body through 127.0.0.1:`port`; returns (status, body).
fn post(port: u16, host: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(support::DEADLINE)).unwrap();
    write!(stream, "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

fn kill(pid: u32, signal: &str) {
    Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
}

#[test]
fn dev_servers_started_with_run_are_balanced_leave_cleanly_and_never_touch_the_config() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    write_config(&file, &json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}]}));
    let before = std::fs::read(&file).unwrap();
    let config = file.to_str().unwrap();
    let serve = Roundabout::spawn(&["serve", "--config", config], home.path());
    let port = serve.listener_port("web");

    let mut a = run_dev_server(home.path(), config, "a");
    let b = run_dev_server(home.path(), config, "b");
    for run in [&a, &b] {
        run.stderr_line("joined", |l| l.contains(" joined app; open http://app.localhost:"));
    }
    let mut served: Vec<String> = (0..4).map(|_| get(port, "app.localhost", "/").1).collect();
    assert_ne!(served[0], served[1], "round-robin over the two: {served:?}");
    assert_eq!((&served[0], &served[1]), (&served[2], &served[3]));
    served.sort();
    assert_eq!(served, ["served by a", "served by a", "served by b", "served by b"]);

    // status (text and JSON) and the followed log show them as live Upstreams.
    let status = text(&roundabout(&["status", "--config", config], home.path()).stdout);
    assert!(status.contains("app app.localhost round_robin [live: roundabout run]"), "{status}");
    assert!(status.contains("[live: node -e require('http')"), "{status}");
    let live = live_upstreams(&status_json(home.path(), config));
    assert_eq!(live.len(), 2, "{live:?}");
    let log = Roundabout::spawn(&["log", "--follow", "--config", config], home.path());
    log.stderr_line("the recent join", |l| l.starts_with("app: localhost:") && l.contains("joined (node -e"));
    let logged = eventually("a followed request", || {
        get(port, "app.localhost", "/followed");
        log.stdout().into_iter().find(|l| l.starts_with("GET app.localhost/followed -> localhost:"))
    });
    assert!(logged.is_some(), "log --follow printed no request: {:?}", log.stdout());

    // A second serve of the same config is refused, saying who runs it.
    let second = roundabout(&["serve", "--config", config], home.path());
    let said = text(&second.stderr);
    assert!(!second.status.success());
    assert!(
        said.contains("Roundabout is already running for")
            && said.contains(&format!("(roundabout serve, pid {}); try roundabout status", serve.pid())),
        "{said}"
    );

    // Ctrl-C to one `run` while slow POSTs (never sent twice) keep both busy: it leaves first, letting its open
    // requests finish before its dev server gets the signal, so none fails.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    statuses.push(post(port, "app.localhost", "/slow"));
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                statuses
            })
        })
        .collect();
    eventually("requests under way", || (sent.load(Ordering::Relaxed) >= 4).then_some(()));
    kill(a.pid(), "-INT");
    let exited = a.wait();
    assert_eq!(exited.code(), Some(130), "run exits as its dev server did (SIGINT): {:?}", a.stderr());
    stop.store(true, Ordering::Relaxed);
    let statuses: Vec<(u16, String)> = load.into_iter().flat_map(|l| l.join().unwrap()).collect();
    assert!(statuses.iter().all(|(status, _)| *status == 200), "a request failed: {statuses:?}");
    assert!(statuses.iter().any(|(_, body)| body == "served by b"));
    assert!((0..4).all(|_| get(port, "app.localhost", "/").1 == "served by b"), "a left");

    // SIGKILL of the other `run`: the instance sees its connection close and removes it within 2 s.
    let orphan = live_upstreams(&status_json(home.path(), config))[0].1;
    let killed = Instant::now();
    kill(b.pid(), "-KILL");
    while !live_upstreams(&status_json(home.path(), config)).is_empty() {
        assert!(killed.elapsed() < Duration::from_secs(2), "the killed run's Upstream is still there");
    }
    kill(u32::try_from(orphan).unwrap(), "-TERM");
    assert_eq!(get(port, "app.localhost", "/").0, 404);
    assert_eq!(std::fs::read(&file).unwrap(), before, "the config file is byte-for-byte unchanged");
    drop(log);
    assert!(serve.interrupt().success());
}

#[test]
fn run_says_what_it_needs_when_nothing_is_running() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    write_config(&file, &json!({"version": 1}));
    let out = roundabout(&["run", "--config", file.to_str().unwrap(), "--", "node", "-e", DEV_SERVER], home.path());
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("Roundabout is not running for") && said.contains("roundabout serve"), "{said}");

    // A name that cannot be a host is refused before anything starts.
    let config = file.to_str().unwrap();
    let out = roundabout(&["run", "--config", config, "--name", "My App", "--", "node", "-e", DEV_SERVER], home.path());
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("\"My App\" cannot be a host name") && said.contains("--name my-app"), "{said}");
}

#[test]
fn upstream_edits_go_through_the_running_instance_or_straight_to_the_file() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let (one, two) = (Upstream::start("one"), Upstream::start("two"));
    write_config(
        &file,
        &json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}],
                "targets": [{"name": "app", "upstreams": [{"url": one.url()}]}]}),
    );
    let config = file.to_str().unwrap();

    // Nothing running: status shows the file, and an edit is saved to it.
    let idle = text(&roundabout(&["status", "--config", config], home.path()).stdout);
    assert!(idle.contains("Roundabout is not running for") && idle.contains(&one.url()), "{idle}");
    let out = roundabout(&["upstream", "add", "app", &two.url(), "--config", config], home.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("nothing is running, so it applies when Roundabout starts"));
    assert!(std::fs::read_to_string(&file).unwrap().contains(&two.url()));

    // Running: applied at once, and saved.
    let serve = Roundabout::spawn(&["serve", "--config", config], home.path());
    let port = serve.listener_port("web");
    let out = roundabout(&["upstream", "disable", "app", &one.url(), "--config", config], home.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("applied by roundabout serve, pid"), "{}", text(&out.stdout));
    assert!((0..3).all(|_| get(port, "x.localhost", "/").1 == "served by two"));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["targets"][0]["upstreams"][0]["enabled"], false);
    let wrong = roundabout(&["upstream", "remove", "web", &one.url(), "--config", config], home.path());
    assert!(!wrong.status.success());
    assert!(text(&wrong.stderr).contains("there is no Target named \"web\"; the Targets are: app"));

    // The control socket is the user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = home.path().join("run/roundabout");
        let socket = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.path().extension().is_some_and(|x| x == "sock"))
            .expect("a control socket");
        assert_eq!(socket.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }
    assert!(serve.interrupt().success());
}

#[test]
fn discovery_lists_loopback_servers_no_target_uses_and_one_command_adds_them() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let routed = Upstream::start("routed");
    let only_v6 = std::net::TcpListener::bind("[::1]:0").expect("IPv6 loopback");
    let v6_port = only_v6.local_addr().unwrap().port();
    write_config(
        &file,
        &json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}],
                "targets": [{"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": routed.url()}]}]}),
    );
    let config = file.to_str().unwrap();
    let serve = Roundabout::spawn(&["serve", "--config", config], home.path());
    let listener_port = serve.listener_port("web");

    let discover = || {
        let out = roundabout(&["discover", "--json", "--config", config], home.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    };
    let found = discover();
    let ports: Vec<u64> = found.iter().filter_map(|s| s["port"].as_u64()).collect();
    assert!(!ports.contains(&u64::from(routed.port)), "a Target's Upstream is in use: {found:?}");
    assert!(!ports.contains(&u64::from(listener_port)), "Roundabout's own Listener is not a dev server: {found:?}");
    let v6 = found.iter().find(|s| s["port"] == v6_port).unwrap_or_else(|| panic!("[::1]:{v6_port} in {found:?}"));
    assert_eq!(v6["address"], format!("[::1]:{v6_port}"));
    assert_eq!(v6["url"], format!("http://[::1]:{v6_port}"), "reached on ::1 exactly, not through 127.0.0.1");
    assert_eq!(v6["pid"], std::process::id());
    assert!(v6["cwd"].as_str().is_some_and(|d| !d.is_empty()) && v6["command"].is_string(), "{v6}");

    let human = text(&roundabout(&["discover", "--config", config], home.path()).stdout);
    let add = format!("roundabout upstream add {} http://[::1]:{v6_port}", v6["suggested_name"].as_str().unwrap());
    assert!(human.contains(&format!("[::1]:{v6_port}")) && human.contains(&add), "{human}");

    // The printed command creates the Target and routes NAME.localhost to it; then it is no longer offered.
    let out =
        roundabout(&["upstream", "add", "v6", &format!("http://[::1]:{v6_port}"), "--config", config], home.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::spawn(move || {
        for mut stream in only_v6.incoming().map_while(Result::ok) {
            use std::io::{Read, Write};
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nfrom v6");
        }
    });
    assert_eq!(get(listener_port, "v6.localhost", "/"), (200, "from v6".to_owned()));
    assert!(discover().iter().all(|s| s["port"] != v6_port));
    assert!(serve.interrupt().success());
}
