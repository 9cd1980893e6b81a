use serde_json::json;

use super::*;
use crate::config::{HealthConfig, Strategy};

fn issues(v: &Value) -> Vec<String> {
    decode(v).unwrap_err().iter().map(ToString::to_string).collect()
}

#[test]
fn the_issue_example_is_valid() {
    let v = json!({
      "version": 1,
      "listeners": [ { "name": "web", "bind": "127.0.0.1:8800", "enabled": true } ],
      "targets": [
        { "name": "foo", "match": { "host": "app.localhost", "path": "/foo" },
          "upstreams": [ { "url": "http://localhost:8000" } ] },
        { "name": "api", "match": { "host": "*.app.localhost", "path_prefix": "/api", "port": 8800,
                                    "methods": ["GET", "POST"], "headers": { "X-Env": "dev" } },
          "upstreams": [ { "url": "http://localhost:8001" }, { "url": "http://localhost:8002", "enabled": false } ],
          "strategy": "round_robin", "preserve_host": true },
        { "name": "rest", "match": {}, "upstreams": [ { "url": "http://localhost:8003/base?k=v" } ] }
      ]
    });
    let config = decode(&v).unwrap();
    assert_eq!(config.targets.len(), 3);
    assert!(!config.targets[1].upstreams[1].enabled);
    assert_eq!(config.targets[1].matcher.port, Some(8800));
    // Saving and reading back loses nothing.
    assert_eq!(Config::from_json(&config.to_json()).unwrap(), config);
}

#[test]
fn reports_every_problem_with_its_path() {
    let v = json!({
      "version": 1,
      "listners": [],
      "listeners": [ { "bind": "nope" }, { "bind": 8800 } ],
      "targets": [
        { "name": "a", "match": { "hots": "x" }, "upstreams": [ { "url": "ftp://h/" } ] },
        { "name": "a", "match": { "port": 70000, "methods": ["G T"] }, "upstreams": [ { "url": "http://h", "enabled": "no" } ], "strategy": "fastest" },
        { "upstreams": {} }
      ]
    });
    let found = issues(&v);
    let expect = [
        "listners: unknown field \"listners\"; did you mean \"listeners\"?",
        "listeners[0].bind: \"nope\" is not a bind address",
        "listeners[1].bind: expected a string, found a number",
        "targets[0].match.hots: unknown field \"hots\"; did you mean \"host\"?",
        "targets[0].upstreams[0].url: scheme \"ftp\" is not supported; use http or https",
        "targets[1].name: two targets are named \"a\"",
        "targets[1].match.port: port 70000 is out of range",
        "targets[1].match.methods[0]: \"G T\" is not an HTTP method",
        "targets[1].upstreams[0].enabled: expected true or false, found a string",
        "targets[1].strategy: strategy \"fastest\" is not supported",
        "targets[2].name: \"name\" is required",
        "targets[2].upstreams: expected a list, found an object",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn version_is_required_and_checked() {
    assert!(issues(&json!({}))[0].starts_with("version: \"version\" is required"));
    assert!(issues(&json!({"version": 2}))[0].contains("newer Roundabout"));
    assert!(issues(&json!({"version": "1"}))[0].contains("version must be 1"));
    assert!(issues(&json!([]))[0].starts_with("$: expected an object"));
}

#[test]
fn duplicate_binds_and_path_rules() {
    let v = json!({"version": 1,
        "listeners": [ {"bind": "8800"}, {"bind": "127.0.0.1:8800"} ],
        "targets": [ {"name": "t", "match": {"path": "x", "path_prefix": "/y", "host": "*"}} ]});
    let found = issues(&v);
    assert!(found.iter().any(|f| f.starts_with("listeners[1].bind: 127.0.0.1:8800 is already used")), "{found:#?}");
    assert!(found.iter().any(|f| f.starts_with("targets[0].match.path: \"path\" must start with \"/\"")), "{found:#?}");
    assert!(found.iter().any(|f| f.starts_with("targets[0].match: use either")), "{found:#?}");
    assert!(found.iter().any(|f| f.starts_with("targets[0].match.host: \"*\" would match every host")), "{found:#?}");
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = Config::from_json("{\n  \"version\": 1,\n}").unwrap_err();
    assert_eq!(e.0[0].path, "line 3, column 1");
    assert!(e.0[0].message.starts_with("invalid JSON: trailing comma"), "{e}");
}

#[test]
fn typed_configs_validate_with_the_same_rules() {
    let mut c = Config::starter(8800, 8443);
    assert!(c.validate().is_ok());
    c.listeners[0].bind = "x".into();
    assert!(c.validate().unwrap_err().to_string().starts_with("listeners[0].bind:"));
}

#[test]
fn strategies_weights_and_health_settings_decode_and_round_trip() {
    let v = json!({"version": 1, "targets": [
        { "name": "api", "strategy": "weighted_round_robin",
          "upstreams": [ { "url": "http://localhost:3001", "weight": 5 }, { "url": "http://localhost:3002" } ],
          "health": { "passive": { "failures": 2, "cool_down_ms": 200, "fail_statuses": [502, 503] },
                      "active": { "path": "/health", "interval_ms": 100 } } },
        { "name": "plain", "upstreams": [ { "url": "http://localhost:3003" } ] }
    ]});
    let config = decode(&v).unwrap();
    let api = &config.targets[0];
    assert_eq!((api.strategy, api.upstreams[0].weight, api.upstreams[1].weight), (Strategy::WeightedRoundRobin, 5, 1));
    assert_eq!((api.health.passive.failures, api.health.passive.cool_down_ms), (2, 200));
    assert_eq!(api.health.passive.fail_statuses, [502, 503]);
    let active = api.health.active.as_ref().unwrap();
    assert_eq!((active.path.as_str(), active.interval_ms, active.expect_status), ("/health", 100, 200));
    let plain = &config.targets[1];
    assert_eq!(plain.health, HealthConfig::default(), "passive checks on, active off, by default");
    assert!(plain.health.passive.enabled && plain.health.active.is_none());
    assert!(!config.to_json().contains("\"health\": {}"), "defaults are left out of the file");
    assert_eq!(Config::from_json(&config.to_json()).unwrap(), config);
    for s in Strategy::ALL {
        let v = json!({"version": 1, "targets": [{"name": "t", "strategy": s.as_str()}]});
        assert_eq!(decode(&v).unwrap().targets[0].strategy, s);
    }
}

#[test]
fn bad_health_settings_are_reported_with_their_paths() {
    let v = json!({"version": 1, "targets": [
        { "name": "t", "strategy": "fastest", "upstreams": [ { "url": "http://h", "weight": 0 } ],
          "health": { "pasive": {}, "active": { "path": "health", "interval_ms": "5s", "expect_status": 700 } } },
        { "name": "u", "health": { "passive": { "failures": 0, "fail_statuses": [404] } } }
    ]});
    let found = issues(&v);
    let expect = [
        "targets[0].upstreams[0].weight: 0 is out of range; use a whole number from 1 to 100",
        "targets[0].strategy: strategy \"fastest\" is not supported; use one of round_robin, weighted_round_robin",
        "targets[0].health.pasive: unknown field \"pasive\"; did you mean \"passive\"?",
        "targets[0].health.active.path: \"path\" must start with \"/\"",
        "targets[0].health.active.interval_ms: expected a whole number, found a string",
        "targets[0].health.active.expect_status: 700 is out of range",
        "targets[1].health.passive.failures: 0 is out of range; use a whole number from 1 to 1000",
        "targets[1].health.passive.fail_statuses[0]: 404 is not a server error status",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn sticky_decodes_round_trips_and_is_left_out_when_false() {
    let v = json!({"version": 1, "targets": [
        { "name": "app", "sticky": true, "upstreams": [ { "url": "http://localhost:3001" } ] },
        { "name": "plain", "upstreams": [ { "url": "http://localhost:3002" } ] }
    ]});
    let config = decode(&v).unwrap();
    assert!(config.targets[0].sticky);
    assert!(!config.targets[1].sticky, "off by default");
    let saved = config.to_json();
    assert_eq!(saved.matches("\"sticky\"").count(), 1, "only the sticky Target says so: {saved}");
    assert_eq!(Config::from_json(&saved).unwrap(), config);
    let wrong = json!({"version": 1, "targets": [{"name": "t", "sticky": "yes"}]});
    assert!(issues(&wrong)[0].starts_with("targets[0].sticky: expected true or false"), "{:?}", issues(&wrong));
}

#[test]
fn matchers_under_the_reserved_prefix_are_refused() {
    let refused = ["/.roundabout", "/.roundabout/", "/.roundabout/pin", "/.roundabout/x/y"];
    for (key, path) in refused.iter().flat_map(|p| [("path", *p), ("path_prefix", *p)]) {
        let v = json!({"version": 1, "targets": [{"name": "t", "match": {key: path}}]});
        let found = issues(&v);
        let want = format!("targets[0].match.{key}: \"/.roundabout/\" is reserved for Roundabout's own pin and unpin");
        assert!(found.len() == 1 && found[0].starts_with(&want), "{key} {path}: {found:#?}");
    }
    for path in ["/.roundaboutx", "/roundabout/pin", "/", "/app/.roundabout/pin"] {
        for key in ["path", "path_prefix"] {
            let v = json!({"version": 1, "targets": [{"name": "t", "match": {key: path}}]});
            assert!(decode(&v).is_ok(), "{key} {path} is not reserved");
        }
    }
}
