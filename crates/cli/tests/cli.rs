//! The CLI as a user runs it: the real binary, real config files in temp dirs, real upstreams on ephemeral ports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use serde_json::json;
use support::{Roundabout, Upstream, dead_port, eventually, get, roundabout, text, write_config};

#[test]
fn config_path_is_in_the_users_config_dir() {
    let home = tempfile::tempdir().unwrap();
    let out = roundabout(&["config-path"], home.path());
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), home.path().join("roundabout/config.json").display().to_string());
}

#[test]
fn ca_prints_the_path_of_the_local_ca_and_creates_it_once() {
    let home = tempfile::tempdir().unwrap();
    let first = roundabout(&["ca"], home.path());
    assert!(first.status.success(), "{}", text(&first.stderr));
    let path = std::path::PathBuf::from(text(&first.stdout).trim());
    assert!(path.starts_with(home.path()), "in the user's data directory: {path:?}");
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let again = roundabout(&["ca"], home.path());
    assert_eq!(text(&again.stdout), text(&first.stdout));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem, "the same CA, not a new one");
}

#[test]
fn a_certificate_for_any_other_name_signed_with_the_cas_key_is_refused_by_openssl() {
    let home = tempfile::tempdir().unwrap();
    let ca_path = std::path::PathBuf::from(text(&roundabout(&["ca"], home.path()).stdout).trim());
    let key_path = ca_path.with_file_name("roundabout-ca-key.pem");
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(&ca_path).unwrap(),
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(&key_path).unwrap()).unwrap(),
    )
    .unwrap();
    let verify = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
        let leaf_path = home.path().join(format!("{name}.pem"));
        std::fs::write(&leaf_path, leaf.pem()).unwrap();
        let ca = ca_path.to_str().unwrap();
        Command::new("openssl").args(["verify", "-CAfile", ca, leaf_path.to_str().unwrap()]).output().unwrap()
    };
    let local = verify("app.localhost");
    assert!(local.status.success(), "{}{}", text(&local.stdout), text(&local.stderr));
    let stolen = verify("example.com");
    assert!(!stolen.status.success(), "a leaf for example.com verified");
    let said = text(&stolen.stdout) + &text(&stolen.stderr);
    assert!(said.contains("permitted subtree violation"), "{said}");
}

#[test]
fn trust_installs_reports_and_removes_the_ca_store_by_store() {
    let home = tempfile::tempdir().unwrap();
    let (db, anchors) = (home.path().join("nssdb"), home.path().join("anchors"));
    std::fs::create_dir_all(&anchors).unwrap();
    let only = ["--nss-db", db.to_str().unwrap(), "--anchors", anchors.to_str().unwrap()];
    let run = |extra: &[&str]| roundabout(&[&["trust"][..], extra, &only[..]].concat(), home.path());

    let installed = run(&[]);
    let out = text(&installed.stdout);
    assert!(installed.status.success(), "{out}{}", text(&installed.stderr));
    assert!(out.starts_with("Roundabout's local CA: "), "{out}");
    assert_eq!(out.matches("✓").count(), 2, "{out}");
    assert!(out.contains(": trusted (installed)"), "{out}");
    assert!(out.contains("export NODE_EXTRA_CA_CERTS=\""), "{out}");

    let status = text(&run(&["--status"]).stdout);
    assert_eq!(status.matches(": trusted").count(), 2, "{status}");
    let removed = run(&["--remove"]);
    let out = text(&removed.stdout);
    assert!(removed.status.success(), "{out}");
    assert_eq!(out.matches(": not trusted (removed)").count(), 2, "{out}");
    assert_eq!(text(&run(&["--status"]).stdout).matches(": not trusted").count(), 2);
}

#[test]
fn curl_trusting_only_the_local_ca_gets_https_over_http2_and_http1() {
    let home = tempfile::tempdir().unwrap();
    let up = Upstream::start("secure-dev");
    let config = home.path().join("config.json");
    write_config(
        &config,
        &json!({"version": 1, "listeners": [{"name": "secure", "bind": "127.0.0.1:0", "tls": true}],
                "targets": [{"name": "app", "match": {"host": "app.localhost"}, "upstreams": [{"url": up.url()}]}]}),
    );
    let serve = Roundabout::spawn(&["serve", "--config", config.to_str().unwrap()], home.path());
    let port = serve.listener_port("secure");
    let ca = text(&roundabout(&["ca"], home.path()).stdout).trim().to_owned();
    let url = format!("https://app.localhost:{port}/");
    let resolve = format!("app.localhost:{port}:127.0.0.1");
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = Command::new("curl")
            .args(["-sS", "--cacert", &ca, flag, "--resolve", &resolve, "-w", "\n%{http_version}", &url])
            .output()
            .unwrap();
        let said = text(&out.stdout);
        assert!(out.status.success(), "{flag}: {said}{}", text(&out.stderr));
        assert!(said.starts_with("served by secure-dev"), "{said}");
        assert!(said.ends_with(&format!("\n{version}")), "{flag}: {said}");
    }
    // Without the CA, curl refuses the certificate: what it trusts is the local CA and nothing else.
    let untrusted = Command::new("curl").args(["-sS", "--resolve", &resolve, &url]).output().unwrap();
    assert!(!untrusted.status.success());
}

#[test]
fn doctor_names_each_problem_with_its_fix() {
    let home = tempfile::tempdir().unwrap();
    let live = Upstream::start("live");
    let dead = format!("http://127.0.0.1:{}", dead_port());
    let config = home.path().join("config.json");
    let free = dead_port();
    write_config(
        &config,
        &json!({"version": 1, "listeners": [{"name": "web", "bind": format!("127.0.0.1:{free}")}],
                "targets": [{"name": "app", "upstreams": [{"url": live.url()}, {"url": dead}]}]}),
    );
    let out = roundabout(&["doctor", "--config", config.to_str().unwrap()], home.path());
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let found = |needle: &str| {
        report.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}:\n{report}")).to_owned()
    };
    assert!(found("listener web").contains("✗ listener web (127.0.0.1:"), "{report}");
    assert!(found("listener web").contains("start Roundabout"), "{report}");
    assert!(found(&live.url()).contains("✓"), "{report}");
    assert!(found(&dead).contains("✗") && found(&dead).contains("is the dev server running?"), "{report}");
    assert!(found("local CA").contains("not created yet"), "{report}");
    assert!(report.ends_with("problems found.\n"), "{report}");

    let serve = Roundabout::spawn(&["serve", "--config", config.to_str().unwrap()], home.path());
    serve.listener_port("web");
    let report = text(&roundabout(&["doctor", "--config", config.to_str().unwrap()], home.path()).stdout);
    assert!(report.contains("✓ listener web"), "{report}");
}

#[test]
fn check_lists_every_problem_with_its_path() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let bad = json!({"version": 1, "listeners": [{"bind": "nope"}],
        "targets": [{"name": "a", "upstreams": [{"url": "ftp://x"}]}, {"name": "a", "match": {"hots": "x"}}]});
    write_config(&file, &bad);
    let out = roundabout(&["check", "--config", file.to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("has 4 problems"), "{err}");
    for expected in [
        "listeners[0].bind: \"nope\" is not a bind address",
        "targets[0].upstreams[0].url: scheme \"ftp\" is not supported; use http or https",
        "targets[1].name: two targets are named \"a\"",
        "targets[1].match.hots: unknown field \"hots\"; did you mean \"host\"?",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
}

#[test]
fn check_accepts_a_valid_file_and_warns_about_exposure() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let weighted = json!({"name": "api", "upstreams": [{"url": "http://localhost:3001", "weight": 3}]});
    write_config(
        &file,
        &json!({"version": 1, "listeners": [{"name": "lan", "bind": "0.0.0.0:8800"}], "targets": [weighted]}),
    );
    let out = roundabout(&["check", "--config", file.to_str().unwrap()], home.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("is valid: 1 listener(s), 1 target(s)"));
    assert!(text(&out.stderr).contains("exposes your upstreams to the network"));
    assert!(text(&out.stderr).contains("target api gives its upstreams weights"), "{}", text(&out.stderr));
}

#[test]
fn check_explains_a_missing_file() {
    let home = tempfile::tempdir().unwrap();
    let out = roundabout(&["check"], home.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not exist; `roundabout serve` creates a starter config"));
}

#[test]
fn the_committed_json_schema_is_current() {
    let home = tempfile::tempdir().unwrap();
    let out = roundabout(&["schema"], home.path());
    assert!(out.status.success());
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/roundabout.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(committed, &out.stdout).unwrap();
    }
    let on_disk = std::fs::read_to_string(committed).unwrap_or_default();
    assert!(
        on_disk == text(&out.stdout),
        "schema/roundabout.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test -p roundabout`"
    );
}

#[test]
fn demo_rotates_over_three_upstreams_and_logs_each_request() {
    let home = tempfile::tempdir().unwrap();
    let demo = Roundabout::spawn(&["demo", "--bind", "127.0.0.1:0"], home.path());
    let port = demo.listener_port("demo");
    let bodies: Vec<String> = (0..3).map(|_| get(port, "demo.localhost", "/hi").1).collect();
    for (i, body) in bodies.iter().enumerate() {
        assert!(body.contains(&format!("demo upstream {} of 3", i + 1)), "{bodies:#?}");
    }
    let logged = || demo.stdout().iter().filter(|l| l.starts_with("GET demo.localhost/hi -> 127.0.0.1:")).count();
    eventually("three request lines", || (logged() == 3).then_some(())).expect("one log line per request");
    assert!(!home.path().join("roundabout").exists(), "demo must not write a config");
}

#[test]
fn running_out_of_file_descriptors_is_survived_and_serving_resumes() {
    let home = tempfile::tempdir().unwrap();
    let demo = Roundabout::spawn_with_fd_limit(&["demo", "--bind", "127.0.0.1:0"], home.path(), 64);
    let port = demo.listener_port("demo");
    let upstreams: Vec<u16> = demo.listening_ports().into_iter().filter(|p| *p != port).collect();
    assert_eq!(upstreams.len(), 3, "the demo's own upstreams listen too");
    // More connections than it may open: its accepts fail (EMFILE) until these close.
    let hogs: Vec<std::net::TcpStream> =
        (0..100).filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", upstreams[0])).ok()).collect();
    demo.stderr_line("an accept failure", |l| l.contains("accept failed"));
    drop(hogs);
    let served = eventually("every demo upstream answering again", || {
        let mut seen: Vec<String> = (0..3).map(|_| get(port, "demo.localhost", "/").1).collect();
        seen.sort();
        seen.iter().enumerate().all(|(i, body)| body.contains(&format!("demo upstream {} of 3", i + 1))).then_some(seen)
    });
    assert!(served.is_some(), "{:#?}", demo.stdout());
}

/// A config whose Target `app` (host app.localhost) tries a dead port, then a live upstream; one failure makes an
/// Upstream unhealthy for 10 s.
fn dead_then_live() -> (tempfile::TempDir, std::path::PathBuf, u16, Upstream) {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let (dead, live) = (dead_port(), Upstream::start("live"));
    write_config(
        &file,
        &json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}],
        "targets": [{"name": "app", "match": {"host": "app.localhost"},
                     "health": {"passive": {"failures": 1, "cool_down_ms": 10_000}},
                     "upstreams": [{"url": format!("http://127.0.0.1:{dead}")}, {"url": live.url()}]}]}),
    );
    (home, file, dead, live)
}

#[test]
fn serve_logs_the_upstream_of_each_request_and_failed_attempts() {
    let (home, file, dead, live) = dead_then_live();
    let serve = Roundabout::spawn(&["serve", "--config", file.to_str().unwrap()], home.path());
    let port = serve.listener_port("web");
    assert_eq!(get(port, "app.localhost", "/api/users?x=1"), (200, "served by live".to_owned()));
    serve.stderr_line("health change", |l| {
        l == format!("127.0.0.1:{dead} unhealthy after 1 failure (connection refused); retry in 10s")
    });
    let served = format!("GET app.localhost/api/users?x=1 -> 127.0.0.1:{dead} refused -> 127.0.0.1:{} 200 ", live.port);
    serve.stdout_line("served line", |l| l.starts_with(&served) && l.ends_with("ms"));
    assert_eq!(get(port, "other.localhost", "/").0, 404);
    serve.stdout_line("404 line", |l| l.starts_with("GET other.localhost/ -> roundabout 404"));
    assert!(serve.interrupt().success());
}

#[test]
fn serve_quiet_prints_changes_but_no_request_lines() {
    let (home, file, dead, _live) = dead_then_live();
    let serve = Roundabout::spawn(&["serve", "--quiet", "--config", file.to_str().unwrap()], home.path());
    let port = serve.listener_port("web");
    for _ in 0..3 {
        assert_eq!(get(port, "app.localhost", "/").0, 200);
    }
    serve.stderr_line("health change", |l| l.starts_with(&format!("127.0.0.1:{dead} unhealthy after 1 failure")));
    let (status, stdout) = serve.interrupt_and_collect();
    assert!(status.success());
    assert!(stdout.iter().all(|l| !l.starts_with("GET ")), "quiet printed request lines: {stdout:?}");
}

#[test]
fn serve_json_prints_one_object_per_line() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let up = Upstream::start("a");
    write_config(
        &file,
        &json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}],
        "targets": [{"name": "all", "upstreams": [{"url": up.url()}]}]}),
    );
    let serve = Roundabout::spawn(&["serve", "--json", "--config", file.to_str().unwrap()], home.path());
    let listener = serve.stdout_line("a listener object", |l| l.contains("\"type\":\"listener\""));
    let listener: serde_json::Value = serde_json::from_str(&listener).unwrap();
    assert_eq!((listener["name"].as_str(), listener["state"].as_str()), (Some("web"), Some("running")));
    let port = listener["addresses"][0].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    get(port, "x.localhost", "/j");
    let line = serve.stdout_line("a request object", |l| l.contains("\"type\":\"request\""));
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (value["target"].as_str(), value["status"].as_u64(), value["path"].as_str()),
        (Some("all"), Some(200), Some("/j"))
    );
    assert_eq!(value["upstream"].as_str().unwrap(), format!("127.0.0.1:{}", up.port));
    for l in serve.stdout() {
        serde_json::from_str::<serde_json::Value>(&l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"));
    }
}

#[test]
fn serve_applies_valid_edits_live_and_keeps_the_last_good_config() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let (one, two) = (Upstream::start("one"), Upstream::start("two"));
    let config = |url: String| {
        json!({"version": 1, "listeners": [{"name": "web", "bind": "127.0.0.1:0"}],
        "targets": [{"name": "app", "upstreams": [{"url": url}]}]})
    };
    write_config(&file, &config(one.url()));
    let serve = Roundabout::spawn(&["serve", "--config", file.to_str().unwrap()], home.path());
    let port = serve.listener_port("web");
    assert_eq!(get(port, "app.localhost", "/").1, "served by one");

    write_config(&file, &config(two.url()));
    eventually("the edit applies", || (get(port, "app.localhost", "/").1 == "served by two").then_some(()))
        .expect("a valid edit is applied without a restart, on the same port");

    std::fs::write(&file, "{ \"version\": 1, \"targets\": [ {\"name\": 5} ] }").unwrap();
    serve.stderr_line("the rejection", |l| l.contains("rejected; still serving the last good config"));
    serve.stderr_line("the issue path", |l| l.trim() == "targets[0].name: expected a string, found a number");
    assert_eq!(get(port, "app.localhost", "/").1, "served by two");
}

#[test]
fn serve_reports_a_taken_port_and_keeps_the_other_listeners() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let up = Upstream::start("up");
    write_config(
        &file,
        &json!({"version": 1,
        "listeners": [{"name": "busy", "bind": format!("127.0.0.1:{taken_port}")}, {"name": "web", "bind": "127.0.0.1:0"}],
        "targets": [{"name": "all", "upstreams": [{"url": up.url()}]}]}),
    );
    let serve = Roundabout::spawn(&["serve", "--config", file.to_str().unwrap()], home.path());
    let expected = format!("listener busy: 127.0.0.1:{taken_port} is already in use");
    serve.stderr_line("the in-use error", |l| l.starts_with(&expected));
    assert_eq!(get(serve.listener_port("web"), "x", "/").1, "served by up");
}

#[test]
fn serve_refuses_an_invalid_config_listing_every_problem() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("c.json");
    write_config(&file, &json!({"version": 1, "listeners": [{"bind": "x"}], "targets": [{"name": ""}]}));
    let out = roundabout(&["serve", "--config", file.to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("listeners[0].bind:") && err.contains("targets[0].name: the name is empty"), "{err}");
}

#[test]
fn serve_with_a_missing_explicit_config_says_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let out = roundabout(&["serve", "--config", home.path().join("nope.json").to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not exist; create it, or leave out --config"));
}

#[test]
fn first_serve_writes_a_starter_config_with_http_https_and_the_demo_and_says_which_ports() {
    let home = tempfile::tempdir().unwrap();
    let serve = Roundabout::spawn(&["serve"], home.path());
    let line = serve.stderr_line("the first-run note", |l| l.starts_with("First run: created"));
    let path = home.path().join("roundabout/config.json");
    assert!(line.contains(&path.display().to_string()), "{line}");
    serve.stderr_line("how to remove the demo", |l| l.contains("To remove the demo, delete the line \"demo\": true"));
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["demo"], json!(true));
    let binds = (saved["listeners"][0]["bind"].as_str().unwrap(), saved["listeners"][1]["bind"].as_str().unwrap());
    assert_eq!(saved["listeners"][1]["tls"], json!(true));
    // 80 and 443 when this process may bind them; otherwise 8800 and 8443, and the note says why (no silent fallback).
    if binds == ("127.0.0.1:80", "127.0.0.1:443") {
        serve.stderr_line("the addresses to open", |l| l.contains("http://demo.localhost or https://demo.localhost "));
    } else {
        assert_eq!(binds, ("127.0.0.1:8800", "127.0.0.1:8443"));
        serve.stderr_line("why not 80 and 443", |l| l.starts_with("Ports 80 and 443 are not available ("));
    }
}

#[test]
fn a_privileged_port_without_privilege_says_how_to_get_it() {
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    if start <= 443 {
        eprintln!("skipped: this machine lets every program bind port 443 (ip_unprivileged_port_start = {start})");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // The unprivileged user must be able to read its config.
    std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = home.path().join("config.json");
    write_config(&config, &json!({"version": 1, "listeners": [{"name": "secure", "bind": "127.0.0.1:443"}]}));
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let serve = Roundabout::spawn_unprivileged(&["serve", "--config", config.to_str().unwrap()], home.path());
    let line = serve.stderr_line("the refused bind", |l| l.contains("needs privilege"));
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_roundabout")).unwrap();
    assert!(line.contains(&format!("sudo setcap cap_net_bind_service=+ep {}", binary.display())), "{line}");
    assert!(line.contains("sudo sysctl -w net.ipv4.ip_unprivileged_port_start=80"), "{line}");
}
