//! `roundabout upstream add|remove|enable|disable TARGET URL` as an edit of a config: the same function serves the
//! running instance (which applies and saves the result) and the CLI when nothing runs (which saves it to the file).
//! Adding to a Target that does not exist creates it, matching `TARGET.localhost`, as `roundabout run` does.

use super::ControlError;
use super::protocol::UpstreamAction;
use crate::config::{Config, TargetConfig, UpstreamConfig};

/// The config with the edit made. The caller validates it (through apply or save) before anything changes.
pub fn edit_upstream(config: &Config, action: UpstreamAction, target: &str, url: &str) -> Result<Config, ControlError> {
    let mut next = config.clone();
    let url = url.trim();
    if action == UpstreamAction::Add && !config.targets.iter().any(|t| t.name == target) {
        next.targets
            .push(TargetConfig::named(target, UpstreamConfig { url: url.to_owned(), enabled: true, weight: 1 }));
        return Ok(next);
    }
    let names = || config.targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    let Some(found) = next.targets.iter_mut().find(|t| t.name == target) else {
        let known = names();
        return Err(ControlError::Edit {
            code: "unknown_target",
            message: if known.is_empty() {
                format!("there is no Target named \"{target}\" (the config has none); add one in the app or the file")
            } else {
                format!("there is no Target named \"{target}\"; the Targets are: {known}")
            },
        });
    };
    let position = found.upstreams.iter().position(|u| same_url(&u.url, url));
    match (action, position) {
        (UpstreamAction::Add, Some(_)) => {
            return Err(ControlError::Edit {
                code: "already_there",
                message: format!("{url} is already an Upstream of {target}"),
            });
        }
        (UpstreamAction::Add, None) => {
            found.upstreams.push(UpstreamConfig { url: url.to_owned(), enabled: true, weight: 1 });
        }
        (_, None) => {
            let listed: Vec<&str> = found.upstreams.iter().map(|u| u.url.as_str()).collect();
            return Err(ControlError::Edit {
                code: "unknown_upstream",
                message: if listed.is_empty() {
                    format!("{target} has no Upstreams; add one with: roundabout upstream add {target} {url}")
                } else {
                    format!("{url} is not an Upstream of {target}; its Upstreams are: {}", listed.join(", "))
                },
            });
        }
        (UpstreamAction::Remove, Some(i)) => {
            found.upstreams.remove(i);
        }
        (UpstreamAction::Enable | UpstreamAction::Disable, Some(i)) => {
            found.upstreams[i].enabled = action == UpstreamAction::Enable;
        }
    }
    Ok(next)
}

/// Equal URLs, ignoring case and a trailing slash (`http://Localhost:3000/` is `http://localhost:3000`).
fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config() -> Config {
        Config::from_value(&json!({"version": 1, "targets": [
            {"name": "app", "upstreams": [{"url": "http://localhost:3000"}, {"url": "http://localhost:3001"}]},
            {"name": "api", "upstreams": []}
        ]}))
        .unwrap()
    }

    fn urls(config: &Config, target: usize) -> Vec<(String, bool)> {
        config.targets[target].upstreams.iter().map(|u| (u.url.clone(), u.enabled)).collect()
    }

    #[test]
    fn each_action_changes_exactly_its_upstream() {
        let c = config();
        let added = edit_upstream(&c, UpstreamAction::Add, "api", " http://localhost:9000 ").unwrap();
        assert_eq!(urls(&added, 1), [("http://localhost:9000".to_owned(), true)]);
        assert_eq!(added.targets[0], c.targets[0]);
        let disabled = edit_upstream(&c, UpstreamAction::Disable, "app", "http://LOCALHOST:3001/").unwrap();
        assert_eq!(
            urls(&disabled, 0),
            [("http://localhost:3000".to_owned(), true), ("http://localhost:3001".to_owned(), false)]
        );
        let enabled = edit_upstream(&disabled, UpstreamAction::Enable, "app", "http://localhost:3001").unwrap();
        assert_eq!(enabled, c);
        let removed = edit_upstream(&c, UpstreamAction::Remove, "app", "http://localhost:3000").unwrap();
        assert_eq!(urls(&removed, 0), [("http://localhost:3001".to_owned(), true)]);
    }

    #[test]
    fn mistakes_are_named_with_what_exists() {
        let c = config();
        let message = |r: Result<Config, ControlError>| r.unwrap_err().to_string();
        assert!(
            message(edit_upstream(&c, UpstreamAction::Enable, "web", "http://x:1")).contains("Targets are: app, api")
        );
        assert!(message(edit_upstream(&c, UpstreamAction::Add, "app", "http://localhost:3000")).contains("already"));
        let missing = message(edit_upstream(&c, UpstreamAction::Remove, "app", "http://localhost:4000"));
        assert!(missing.contains("http://localhost:3000, http://localhost:3001"), "{missing}");
        let none = message(edit_upstream(&c, UpstreamAction::Disable, "api", "http://localhost:4000"));
        assert!(none.contains("roundabout upstream add api http://localhost:4000"), "{none}");
        let empty = Config::empty();
        assert!(message(edit_upstream(&empty, UpstreamAction::Remove, "x", "http://a:1")).contains("has none"));
    }

    #[test]
    fn adding_to_a_missing_target_creates_it_on_its_localhost_name() {
        let c = config();
        let added = edit_upstream(&c, UpstreamAction::Add, "web", "http://[::1]:5173").unwrap();
        assert_eq!(&added.targets[..2], &c.targets[..]);
        let web = &added.targets[2];
        assert_eq!((web.name.as_str(), web.matcher.host.as_deref()), ("web", Some("web.localhost")));
        assert_eq!(urls(&added, 2), [("http://[::1]:5173".to_owned(), true)]);
    }
}
