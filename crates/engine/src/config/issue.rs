//! Problems found in a config, each with the JSON path it is at, so a person (or the app's form) can find it.

use std::fmt;

use serde::Serialize;

/// One problem in a config: where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigIssue {
    /// JSON path such as `targets[1].upstreams[0].url`, or `line 3, column 7` for a syntax error.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in one config; never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ConfigIssues(pub Vec<ConfigIssue>);

impl ConfigIssues {
    /// A single problem at `path`.
    pub fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssues(vec![ConfigIssue { path: path.into(), message: message.into() }])
    }

    /// A JSON syntax error, located by line and column.
    pub fn syntax(error: &serde_json::Error) -> Self {
        let text = error.to_string();
        // serde_json appends " at line L column C"; the location goes in the path instead.
        let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
        Self::one(format!("line {}, column {}", error.line(), error.column()), format!("invalid JSON: {message}"))
    }

    /// The problems, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &ConfigIssue> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigIssues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigIssues {}
