//! Turns JSON into a [`Config`], collecting *every* problem with its JSON path instead of stopping at the first
//! (serde's derive stops at one and does not say where). Structure and values are checked in one walk.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::{BindAddress, HostPattern, UpstreamUrl};
use super::{
    CONFIG_VERSION, Config, ConfigIssue, ConfigIssues, ListenerConfig, MatchConfig, RESERVED_PATH_PREFIX, TargetConfig,
    UpstreamConfig,
};

/// Decodes a whole config; `Err` holds every problem found.
pub(super) fn decode(value: &Value) -> Result<Config, ConfigIssues> {
    let mut d = Decoder { issues: Vec::new() };
    let config = d.config(value);
    match config {
        Some(config) if d.issues.is_empty() => Ok(config),
        _ if d.issues.is_empty() => Err(ConfigIssues::one("$", "the config could not be read")),
        _ => Err(ConfigIssues(d.issues)),
    }
}

struct Decoder {
    issues: Vec<ConfigIssue>,
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Decoder {
    fn issue(&mut self, path: &str, message: impl Into<String>) {
        let path = if path.is_empty() { "$".to_owned() } else { path.to_owned() };
        self.issues.push(ConfigIssue { path, message: message.into() });
    }

    fn wrong_type(&mut self, path: &str, expected: &str, found: &Value) {
        self.issue(path, format!("expected {expected}, found {}", kind(found)));
    }

    /// An object whose keys are all in `known`; unknown keys are reported with a suggestion.
    fn object<'v>(&mut self, v: &'v Value, path: &str, known: &[&str]) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = v else {
            self.wrong_type(path, "an object", v);
            return None;
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let hint = match known.iter().find(|k| close(k, key)) {
                    Some(k) => format!("did you mean \"{k}\"?"),
                    None => format!("known fields: {}", known.join(", ")),
                };
                self.issue(&child(path, key), format!("unknown field \"{key}\"; {hint}"));
            }
        }
        Some(map)
    }

    fn string(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<String> {
        match map.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(&child(path, key), "a string", other);
                None
            }
        }
    }

    fn required_string(&mut self, map: &Map<String, Value>, path: &str, key: &str) -> Option<String> {
        if !map.contains_key(key) {
            self.issue(&child(path, key), format!("\"{key}\" is required"));
        }
        self.string(map, path, key)
    }

    fn boolean(&mut self, map: &Map<String, Value>, path: &str, key: &str, default: bool) -> bool {
        match map.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.wrong_type(&child(path, key), "true or false", other);
                default
            }
        }
    }

    fn list<'v>(&mut self, map: &'v Map<String, Value>, path: &str, key: &str) -> &'v [Value] {
        match map.get(key) {
            None => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.wrong_type(&child(path, key), "a list", other);
                &[]
            }
        }
    }

    fn config(&mut self, v: &Value) -> Option<Config> {
        let map = self.object(v, "", &["$schema", "version", "demo", "listeners", "targets"])?;
        let version = match map.get("version") {
            None => {
                self.issue("version", format!("\"version\" is required; add \"version\": {CONFIG_VERSION}"));
                CONFIG_VERSION
            }
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(CONFIG_VERSION)) => CONFIG_VERSION,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > u64::from(CONFIG_VERSION)) => {
                self.issue("version", format!("version {n} is from a newer Roundabout; upgrade Roundabout to use it"));
                CONFIG_VERSION
            }
            Some(other) => {
                self.issue("version", format!("version must be {CONFIG_VERSION}, found {other}"));
                CONFIG_VERSION
            }
        };
        let schema = self.string(map, "", "$schema");
        let demo = self.boolean(map, "", "demo", false);
        let listeners = self.listeners(map);
        let targets = self.targets(map);
        Some(Config { schema, version, demo, listeners, targets })
    }

    fn listeners(&mut self, map: &Map<String, Value>) -> Vec<ListenerConfig> {
        let mut out = Vec::new();
        let mut names = HashSet::new();
        let mut addrs = Vec::new();
        for (i, item) in self.list(map, "", "listeners").iter().enumerate() {
            let path = format!("listeners[{i}]");
            let Some(obj) = self.object(item, &path, &["name", "bind", "enabled", "tls", "redirect_https"]) else {
                continue;
            };
            let name = self.string(obj, &path, "name");
            let bind = self.required_string(obj, &path, "bind");
            let enabled = self.boolean(obj, &path, "enabled", true);
            let tls = self.boolean(obj, &path, "tls", false);
            let redirect_https = self.boolean(obj, &path, "redirect_https", false);
            if tls && redirect_https {
                let why = "an HTTPS listener cannot redirect to HTTPS; remove \"redirect_https\" (or \"tls\")";
                self.issue(&child(&path, "redirect_https"), why);
            }
            let Some(bind) = bind else { continue };
            match BindAddress::parse(&bind) {
                Ok(parsed) => {
                    for addr in &parsed.addrs {
                        if addr.port() != 0 && addrs.contains(addr) {
                            self.issue(&child(&path, "bind"), format!("{addr} is already used by another listener"));
                        }
                    }
                    addrs.extend(parsed.addrs);
                }
                Err(e) => self.issue(&child(&path, "bind"), e),
            }
            let listener = ListenerConfig { name, bind, enabled, tls, redirect_https };
            if !names.insert(Config::listener_name(&listener).to_owned()) {
                self.issue(
                    &path,
                    format!("two listeners are named \"{}\"; names must be unique", Config::listener_name(&listener)),
                );
            }
            out.push(listener);
        }
        if let Some(i) = out.iter().position(|l| l.redirect_https)
            && !out.iter().any(|l| l.tls)
        {
            let why = "there is no listener with \"tls\": true to redirect to; add one, or remove \"redirect_https\"";
            self.issue(&format!("listeners[{i}].redirect_https"), why);
        }
        out
    }

    fn targets(&mut self, map: &Map<String, Value>) -> Vec<TargetConfig> {
        let mut out = Vec::new();
        let mut names = HashSet::new();
        for (i, item) in self.list(map, "", "targets").iter().enumerate() {
            let path = format!("targets[{i}]");
            let known = ["name", "match", "upstreams", "strategy", "health", "preserve_host", "sticky"];
            let Some(obj) = self.object(item, &path, &known) else { continue };
            let name = self.required_string(obj, &path, "name").unwrap_or_default();
            if obj.contains_key("name") && name.trim().is_empty() {
                self.issue(&child(&path, "name"), "the name is empty; give the target a name");
            } else if !name.is_empty() && !names.insert(name.clone()) {
                self.issue(&child(&path, "name"), format!("two targets are named \"{name}\"; names must be unique"));
            }
            let matcher = obj.get("match").map(|m| self.matcher(m, &child(&path, "match"))).unwrap_or_default();
            let upstreams = self.upstreams(obj, &path);
            let strategy = self.strategy(obj, &path);
            let health = obj.get("health").map(|h| self.health(h, &child(&path, "health"))).unwrap_or_default();
            let preserve_host = self.boolean(obj, &path, "preserve_host", true);
            let sticky = self.boolean(obj, &path, "sticky", false);
            out.push(TargetConfig { name, matcher, upstreams, strategy, health, preserve_host, sticky });
        }
        out
    }

    fn matcher(&mut self, v: &Value, path: &str) -> MatchConfig {
        let known = ["host", "path", "path_prefix", "port", "methods", "headers"];
        let Some(obj) = self.object(v, path, &known) else { return MatchConfig::default() };
        let host = self.string(obj, path, "host");
        if let Some(Err(e)) = host.as_deref().map(HostPattern::parse) {
            self.issue(&child(path, "host"), e);
        }
        let exact = self.string(obj, path, "path");
        let prefix = self.string(obj, path, "path_prefix");
        for (key, value) in [("path", &exact), ("path_prefix", &prefix)] {
            if value.as_deref().is_some_and(|p| !p.starts_with('/')) {
                self.issue(&child(path, key), format!("\"{key}\" must start with \"/\""));
            } else if value.as_deref().is_some_and(reserved) {
                let why = format!(
                    "\"{RESERVED_PATH_PREFIX}\" is reserved for Roundabout's own pin and unpin links; choose a {key} \
                     outside it"
                );
                self.issue(&child(path, key), why);
            }
        }
        if exact.is_some() && prefix.is_some() {
            self.issue(path, "use either \"path\" or \"path_prefix\", not both");
        }
        let port = match obj.get("port") {
            None => None,
            Some(Value::Number(n)) => {
                if let Some(p) = n.as_u64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) {
                    Some(p)
                } else {
                    self.issue(&child(path, "port"), format!("port {n} is out of range; use 1 to 65535"));
                    None
                }
            }
            Some(other) => {
                self.wrong_type(&child(path, "port"), "a port number", other);
                None
            }
        };
        let mut methods = Vec::new();
        for (i, m) in self.list(obj, path, "methods").iter().enumerate() {
            let at = format!("{path}.methods[{i}]");
            match m {
                Value::String(s)
                    if http::Method::from_bytes(s.trim().to_ascii_uppercase().as_bytes()).is_ok()
                        && !s.trim().is_empty() =>
                {
                    methods.push(s.trim().to_ascii_uppercase());
                }
                Value::String(s) => {
                    self.issue(&at, format!("\"{s}\" is not an HTTP method; write one like GET or POST"));
                }
                other => self.wrong_type(&at, "a method name", other),
            }
        }
        let headers = self.headers(obj, path);
        MatchConfig { host, path: exact, path_prefix: prefix, port, methods, headers }
    }

    fn headers(&mut self, obj: &Map<String, Value>, path: &str) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::new();
        let Some(v) = obj.get("headers") else { return headers };
        let Value::Object(map) = v else {
            self.wrong_type(&child(path, "headers"), "an object of header names to values", v);
            return headers;
        };
        for (name, value) in map {
            let at = format!("{path}.headers.{name}");
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.issue(&at, format!("\"{name}\" is not a valid header name"));
            }
            match value {
                Value::String(s) if http::HeaderValue::from_str(s).is_ok() => {
                    headers.insert(name.clone(), s.clone());
                }
                Value::String(_) => self.issue(&at, "the value has characters a header cannot carry"),
                other => self.wrong_type(&at, "a string", other),
            }
        }
        headers
    }

    fn upstreams(&mut self, obj: &Map<String, Value>, path: &str) -> Vec<UpstreamConfig> {
        let mut out = Vec::new();
        for (i, item) in self.list(obj, path, "upstreams").iter().enumerate() {
            let at = format!("{path}.upstreams[{i}]");
            let Some(u) = self.object(item, &at, &["url", "enabled", "weight"]) else { continue };
            let url = self.required_string(u, &at, "url");
            let enabled = self.boolean(u, &at, "enabled", true);
            let weight = self.whole(u, &at, "weight", 1, 1..=100, "");
            let Some(url) = url else { continue };
            if let Err(e) = UpstreamUrl::parse(&url) {
                self.issue(&child(&at, "url"), e);
            }
            out.push(UpstreamConfig { url, enabled, weight: u32::try_from(weight).unwrap_or(1) });
        }
        out
    }
}

/// True for a path (or path prefix) at or under [`RESERVED_PATH_PREFIX`]: `/.roundabout`, `/.roundabout/`,
/// `/.roundabout/pin`. A prefix of `/.roundabout` accepts the pin link too (prefixes match on segment boundaries).
fn reserved(path: &str) -> bool {
    let reserved = RESERVED_PATH_PREFIX.trim_end_matches('/');
    path.strip_prefix(reserved).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A typo away: same length give or take one and at most two differing characters.
fn close(known: &str, typed: &str) -> bool {
    let (a, b) = (known.as_bytes(), typed.to_ascii_lowercase().into_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()] <= 2
}

#[path = "decode_health.rs"]
mod health;

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
