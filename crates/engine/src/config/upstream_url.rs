//! An Upstream's URL, split once at config time so the request path only joins strings.

use http::uri::{Authority, PathAndQuery, Scheme, Uri};

/// A parsed `http(s)://host:port/base?query` Upstream address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// `host:port` as written (the port may be implied by the scheme).
    pub authority: Authority,
    /// Host without brackets, lowercased: used to detect an Upstream that is Roundabout itself.
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
    /// Path prefix joined with every request path; empty when the URL has none (or only `/`).
    pub base_path: String,
    /// Query merged in front of every request's query.
    pub base_query: Option<String>,
    /// Short name for logs: `127.0.0.1:3001` or `localhost:8003/base`.
    pub label: String,
}

impl UpstreamUrl {
    /// Parses and checks an Upstream URL; the error says what to write instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|e| format!("\"{text}\" is not a valid URL ({e}); write it like http://localhost:3000"))?;
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::HTTP,
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::HTTPS,
            Some(other) => return Err(format!("scheme \"{other}\" is not supported; use http or https")),
            None => return Err(format!("\"{text}\" has no scheme; write it like http://{text}")),
        };
        let authority = uri.authority().cloned().ok_or_else(|| format!("\"{text}\" has no host"))?;
        if authority.as_str().contains('@') {
            return Err("credentials in upstream URLs are not supported; remove the user:password@ part".into());
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if host.is_empty() {
            return Err(format!("\"{text}\" has no host"));
        }
        let port = authority.port_u16().unwrap_or(if scheme == Scheme::HTTPS { 443 } else { 80 });
        let path = uri.path();
        let base_path = if path == "/" { String::new() } else { path.to_owned() };
        let base_query = uri.query().filter(|q| !q.is_empty()).map(str::to_owned);
        let label = format!("{authority}{base_path}");
        Ok(UpstreamUrl { scheme, authority, host, port, base_path, base_query, label })
    }

    /// The origin-form URI (`/base/path?query`) to send for a request to `uri`; `None` when the joined path is not
    /// a valid URI. With no base path or query the request's own path and query are reused as they are.
    pub fn origin_form(&self, uri: &Uri) -> Option<Uri> {
        match uri.path_and_query() {
            Some(pq) if self.base_path.is_empty() && self.base_query.is_none() && pq.as_str().starts_with('/') => {
                Some(Uri::from(pq.clone()))
            }
            _ => self.path_and_query(uri.path(), uri.query()).parse::<PathAndQuery>().ok().map(Uri::from),
        }
    }

    /// The path and query to request from this Upstream, as the seed's Director built them:
    /// the base path joined to the request path with one slash, the base query before the request's.
    pub fn path_and_query(&self, request_path: &str, request_query: Option<&str>) -> String {
        let query = request_query.filter(|q| !q.is_empty());
        let mut out = String::with_capacity(
            self.base_path.len()
                + request_path.len()
                + 2
                + self.base_query.as_ref().map_or(0, String::len)
                + query.map_or(0, str::len),
        );
        join_path(&mut out, &self.base_path, request_path);
        match (self.base_query.as_deref(), query) {
            (Some(a), Some(b)) => {
                out.push('?');
                out.push_str(a);
                out.push('&');
                out.push_str(b);
            }
            (Some(q), None) | (None, Some(q)) => {
                out.push('?');
                out.push_str(q);
            }
            (None, None) => {}
        }
        out
    }
}

/// Joins with exactly one slash between the two parts (Go's `singleJoiningSlash`).
fn join_path(out: &mut String, base: &str, path: &str) {
    if base.is_empty() {
        if !path.starts_with('/') {
            out.push('/');
        }
        out.push_str(path);
        return;
    }
    out.push_str(base);
    match (base.ends_with('/'), path.starts_with('/')) {
        (true, true) => out.push_str(&path[1..]),
        (false, false) => {
            out.push('/');
            out.push_str(path);
        }
        _ => out.push_str(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pq(url: &str, path: &str, query: Option<&str>) -> String {
        UpstreamUrl::parse(url).unwrap().path_and_query(path, query)
    }

    #[test]
    fn joins_paths_with_one_slash() {
        assert_eq!(pq("http://h:1", "/x", None), "/x");
        assert_eq!(pq("http://h:1/", "/x", None), "/x");
        assert_eq!(pq("http://h:1/base", "/x", None), "/base/x");
        assert_eq!(pq("http://h:1/base/", "/x", None), "/base/x");
        assert_eq!(pq("http://h:1/base", "/", None), "/base/");
        assert_eq!(pq("http://h:1/base", "", None), "/base/");
        assert_eq!(pq("http://h:1", "", None), "/");
    }

    #[test]
    fn merges_queries_base_first() {
        assert_eq!(pq("http://h:1/base?k=v", "/x", Some("a=1")), "/base/x?k=v&a=1");
        assert_eq!(pq("http://h:1/base?k=v", "/x", None), "/base/x?k=v");
        assert_eq!(pq("http://h:1", "/x", Some("a=1")), "/x?a=1");
        assert_eq!(pq("http://h:1", "/x", Some("")), "/x");
    }

    #[test]
    fn origin_form_reuses_or_joins() {
        let plain = UpstreamUrl::parse("http://h:1").unwrap();
        let based = UpstreamUrl::parse("http://h:1/base?k=v").unwrap();
        let origin: Uri = "/x?a=1".parse().unwrap();
        let absolute: Uri = "http://app.localhost:8800".parse().unwrap();
        assert_eq!(plain.origin_form(&origin).unwrap(), "/x?a=1");
        assert_eq!(plain.origin_form(&absolute).unwrap(), "/");
        assert_eq!(based.origin_form(&origin).unwrap(), "/base/x?k=v&a=1");
        assert_eq!(based.origin_form(&absolute).unwrap(), "/base/?k=v");
    }

    #[test]
    fn keeps_encoded_paths_as_sent() {
        assert_eq!(pq("http://h:1/a%20b", "/c%2Fd", None), "/a%20b/c%2Fd");
    }

    #[test]
    fn labels_and_ports() {
        let u = UpstreamUrl::parse("http://LocalHost:3001").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.label.as_str()), ("localhost", 3001, "LocalHost:3001"));
        let u = UpstreamUrl::parse("https://[::1]/base").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.label.as_str()), ("::1", 443, "[::1]/base"));
    }

    #[test]
    fn rejects_what_it_cannot_proxy_to() {
        assert!(UpstreamUrl::parse("ftp://h/").unwrap_err().contains("use http or https"));
        assert!(UpstreamUrl::parse("localhost:3000").is_err());
        assert!(UpstreamUrl::parse("http://u:p@h/").unwrap_err().contains("credentials"));
        assert!(UpstreamUrl::parse("not a url").is_err());
        assert!(UpstreamUrl::parse("/relative").is_err());
    }
}
