//! Decoding of a Target's balancing `strategy`, its `health` settings, and whole numbers within a range, with the
//! same path-aware reporting as the rest of the config.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use super::{Decoder, child};
use crate::config::{ActiveHealthConfig, HealthConfig, PassiveHealthConfig, Strategy};

impl Decoder {
    /// A whole number in `range`, or `default` when absent; `unit` is appended in messages (e.g. " ms").
    pub(super) fn whole(
        &mut self,
        map: &Map<String, Value>,
        path: &str,
        key: &str,
        default: u64,
        range: RangeInclusive<u64>,
        unit: &str,
    ) -> u64 {
        let Some(value) = map.get(key) else { return default };
        match value.as_u64() {
            Some(n) if range.contains(&n) => n,
            _ if value.is_number() => {
                let (lo, hi) = (range.start(), range.end());
                self.issue(
                    &child(path, key),
                    format!("{value} is out of range; use a whole number from {lo} to {hi}{unit}"),
                );
                default
            }
            _ => {
                self.wrong_type(&child(path, key), "a whole number", value);
                default
            }
        }
    }

    pub(super) fn strategy(&mut self, obj: &Map<String, Value>, path: &str) -> Strategy {
        let Some(name) = self.string(obj, path, "strategy") else { return Strategy::default() };
        if let Some(s) = Strategy::ALL.into_iter().find(|s| s.as_str() == name) {
            return s;
        }
        let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        self.issue(
            &child(path, "strategy"),
            format!("strategy \"{name}\" is not supported; use one of {}", known.join(", ")),
        );
        Strategy::default()
    }

    pub(super) fn health(&mut self, v: &Value, path: &str) -> HealthConfig {
        let Some(obj) = self.object(v, path, &["passive", "active"]) else { return HealthConfig::default() };
        let passive = obj.get("passive").map(|p| self.passive(p, &child(path, "passive"))).unwrap_or_default();
        let active = match obj.get("active") {
            None | Some(Value::Null) => None,
            Some(a) => self.active(a, &child(path, "active")),
        };
        HealthConfig { passive, active }
    }

    fn passive(&mut self, v: &Value, path: &str) -> PassiveHealthConfig {
        let known = ["enabled", "failures", "cool_down_ms", "fail_statuses"];
        let defaults = PassiveHealthConfig::default();
        let Some(obj) = self.object(v, path, &known) else { return defaults };
        let enabled = self.boolean(obj, path, "enabled", true);
        let failures = self.whole(obj, path, "failures", defaults.failures.into(), 1..=1000, "");
        let cool_down_ms = self.whole(obj, path, "cool_down_ms", defaults.cool_down_ms, 1..=3_600_000, " ms");
        let mut fail_statuses = Vec::new();
        for (i, s) in self.list(obj, path, "fail_statuses").iter().enumerate() {
            match s.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(n) if (500..=599).contains(&n) => fail_statuses.push(n),
                _ => self.issue(
                    &format!("{path}.fail_statuses[{i}]"),
                    format!("{s} is not a server error status; list statuses from 500 to 599, e.g. 502"),
                ),
            }
        }
        PassiveHealthConfig {
            enabled,
            failures: u32::try_from(failures).unwrap_or(defaults.failures),
            cool_down_ms,
            fail_statuses,
        }
    }

    fn active(&mut self, v: &Value, path: &str) -> Option<ActiveHealthConfig> {
        let known = ["path", "interval_ms", "timeout_ms", "expect_status", "healthy_threshold", "unhealthy_threshold"];
        let d = ActiveHealthConfig::default();
        let obj = self.object(v, path, &known)?;
        let check_path = self.string(obj, path, "path").unwrap_or(d.path);
        if !check_path.starts_with('/') {
            self.issue(&child(path, "path"), "\"path\" must start with \"/\", e.g. \"/health\"");
        }
        let interval_ms = self.whole(obj, path, "interval_ms", d.interval_ms, 50..=3_600_000, " ms");
        let timeout_ms = self.whole(obj, path, "timeout_ms", d.timeout_ms, 10..=600_000, " ms");
        let expect = self.whole(obj, path, "expect_status", d.expect_status.into(), 100..=599, "");
        let healthy = self.whole(obj, path, "healthy_threshold", d.healthy_threshold.into(), 1..=100, "");
        let unhealthy = self.whole(obj, path, "unhealthy_threshold", d.unhealthy_threshold.into(), 1..=100, "");
        Some(ActiveHealthConfig {
            path: check_path,
            interval_ms,
            timeout_ms,
            expect_status: u16::try_from(expect).unwrap_or(d.expect_status),
            healthy_threshold: u32::try_from(healthy).unwrap_or(d.healthy_threshold),
            unhealthy_threshold: u32::try_from(unhealthy).unwrap_or(d.unhealthy_threshold),
        })
    }
}
