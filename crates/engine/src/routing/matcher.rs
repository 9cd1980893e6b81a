//! A Target's matcher, compiled once per config so matching a request allocates nothing.

use std::fmt::Write;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::config::{HostPattern, MatchConfig};

/// What the Mux looks at in a request. Borrowed from the request; nothing is copied.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// Host without port or trailing dot (any case).
    pub host: &'a str,
    /// Request path, as sent.
    pub path: &'a str,
    /// Port of the Listener socket the request arrived on.
    pub port: u16,
    /// Request method.
    pub method: &'a Method,
    /// Request headers.
    pub headers: &'a HeaderMap,
}

/// A compiled matcher: every present rule must accept.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    host: Option<HostPattern>,
    path: Option<String>,
    path_prefix: Option<String>,
    port: Option<u16>,
    methods: Vec<Method>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Matcher {
    /// Compiles a validated matcher. Values the validator would reject are reported, not panicked on.
    pub fn compile(config: &MatchConfig) -> Result<Self, String> {
        let host = config.host.as_deref().map(HostPattern::parse).transpose()?;
        let path_prefix = config.path_prefix.as_deref().map(|p| {
            let trimmed = p.trim_end_matches('/');
            if trimmed.is_empty() { "/".to_owned() } else { trimmed.to_owned() }
        });
        let methods = config
            .methods
            .iter()
            .map(|m| {
                Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).map_err(|_| format!("bad method {m:?}"))
            })
            .collect::<Result<_, _>>()?;
        let headers = config
            .headers
            .iter()
            .map(|(k, v)| {
                let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("bad header name {k:?}"))?;
                let value = HeaderValue::from_str(v).map_err(|_| format!("bad header value {v:?}"))?;
                Ok((name, value))
            })
            .collect::<Result<_, String>>()?;
        Ok(Matcher { host, path: config.path.clone(), path_prefix, port: config.port, methods, headers })
    }

    /// True when every rule accepts the request.
    pub fn accepts(&self, req: &RequestView<'_>) -> bool {
        self.host.as_ref().is_none_or(|h| h.accepts(req.host))
            && self.path.as_ref().is_none_or(|p| p == req.path)
            && self.path_prefix.as_ref().is_none_or(|p| prefix_on_segment(req.path, p))
            && self.port.is_none_or(|p| p == req.port)
            && (self.methods.is_empty() || self.methods.contains(req.method))
            && self.headers.iter().all(|(name, value)| req.headers.get_all(name).iter().any(|v| v == value))
    }

    /// The host pattern, for the "no Target matched" page.
    pub fn host(&self) -> Option<&HostPattern> {
        self.host.as_ref()
    }

    /// A one-line description for pages and logs: `app.localhost/api/*`.
    pub fn describe(&self) -> String {
        let mut out = self.host.as_ref().map_or_else(|| "any host".to_owned(), HostPattern::display);
        if let Some(p) = &self.path {
            out.push_str(p);
        } else if let Some(p) = &self.path_prefix {
            out.push_str(p.trim_end_matches('/'));
            out.push_str("/*");
        }
        if let Some(port) = self.port {
            let _ = write!(out, " (port {port})");
        }
        if !self.methods.is_empty() {
            let names: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
            let _ = write!(out, " [{}]", names.join(", "));
        }
        out
    }
}

/// `/api` accepts `/api`, `/api/` and `/api/x`, never `/apix`; `/` accepts everything.
fn prefix_on_segment(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(host: &'a str, path: &'a str, method: &'a Method, headers: &'a HeaderMap) -> RequestView<'a> {
        RequestView { host, path, port: 8800, method, headers }
    }

    fn accepts(config: &MatchConfig, host: &str, path: &str) -> bool {
        let headers = HeaderMap::new();
        Matcher::compile(config).unwrap().accepts(&head(host, path, &Method::GET, &headers))
    }

    fn host(h: &str) -> MatchConfig {
        MatchConfig { host: Some(h.into()), ..MatchConfig::default() }
    }

    #[test]
    fn exact_host_is_case_insensitive() {
        assert!(accepts(&host("app.localhost"), "APP.localhost", "/"));
        assert!(accepts(&host("App.Localhost."), "app.localhost", "/"));
        assert!(!accepts(&host("app.localhost"), "x.app.localhost", "/"));
    }

    #[test]
    fn wildcard_host_needs_at_least_one_label() {
        let c = host("*.app.localhost");
        assert!(accepts(&c, "a.app.localhost", "/"));
        assert!(accepts(&c, "a.b.APP.localhost", "/"));
        assert!(!accepts(&c, "app.localhost", "/"));
        assert!(!accepts(&c, "xapp.localhost", "/"));
        assert!(!accepts(&c, "é.app.localhos", "/"));
    }

    #[test]
    fn path_is_exact_and_prefix_is_segment_aware() {
        let exact = MatchConfig { path: Some("/foo".into()), ..MatchConfig::default() };
        assert!(accepts(&exact, "h", "/foo"));
        assert!(!accepts(&exact, "h", "/foo/"));
        let prefix = MatchConfig { path_prefix: Some("/api".into()), ..MatchConfig::default() };
        assert!(accepts(&prefix, "h", "/api"));
        assert!(accepts(&prefix, "h", "/api/"));
        assert!(accepts(&prefix, "h", "/api/x/y"));
        assert!(!accepts(&prefix, "h", "/apix"));
        assert!(!accepts(&prefix, "h", "/"));
        let slash = MatchConfig { path_prefix: Some("/api/".into()), ..MatchConfig::default() };
        assert!(accepts(&slash, "h", "/api"));
        let root = MatchConfig { path_prefix: Some("/".into()), ..MatchConfig::default() };
        assert!(accepts(&root, "h", "/anything"));
    }

    #[test]
    fn port_methods_and_headers() {
        let c = MatchConfig {
            port: Some(8800),
            methods: vec!["get".into(), "POST".into()],
            headers: [("X-Env".to_owned(), "dev".to_owned())].into(),
            ..MatchConfig::default()
        };
        let m = Matcher::compile(&c).unwrap();
        let mut headers = HeaderMap::new();
        assert!(!m.accepts(&head("h", "/", &Method::GET, &headers)));
        headers.insert("x-env", HeaderValue::from_static("dev"));
        assert!(m.accepts(&head("h", "/", &Method::GET, &headers)));
        assert!(!m.accepts(&head("h", "/", &Method::PUT, &headers)));
        let mut other_port = head("h", "/", &Method::POST, &headers);
        other_port.port = 9000;
        assert!(!m.accepts(&other_port));
        headers.insert("x-env", HeaderValue::from_static("prod"));
        assert!(!m.accepts(&head("h", "/", &Method::GET, &headers)));
    }

    #[test]
    fn empty_matcher_accepts_everything() {
        assert!(accepts(&MatchConfig::default(), "", "/whatever"));
    }

    #[test]
    fn describe_reads_like_the_config() {
        let c = MatchConfig {
            host: Some("*.a.localhost".into()),
            path_prefix: Some("/api".into()),
            ..MatchConfig::default()
        };
        assert_eq!(Matcher::compile(&c).unwrap().describe(), "*.a.localhost/api/*");
    }
}
