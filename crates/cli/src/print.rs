//! How events look in a terminal: one line per request (`GET app.localhost/x -> 127.0.0.1:3001 200 1.2ms`), failed
//! attempts inline with their cause (`-> 127.0.0.1:3002 refused -> 127.0.0.1:3003 200`), Upstream health changes
//! (`127.0.0.1:3002 unhealthy after 3 failures (connection refused); retry in 10s`), and Listener and config
//! changes in words. With `--json`, one object per line.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use roundabout_engine::event::{ListenerEvent, LiveEvent, seconds};
use roundabout_engine::{Affinity, Event, HealthEvent, HealthState, ListenerState, Received, RequestEvent};

/// Writes events to stdout (requests) and stderr (problems), in text or JSON lines.
pub struct Printer {
    json: bool,
    color: bool,
    quiet: bool,
}

/// Lines gathered for one write: under load the log goes out in one `write` per batch, not one per request.
#[derive(Default)]
pub struct Lines {
    out: String,
    err: String,
}

impl Lines {
    /// True when the batch is big enough to write now.
    pub fn full(&self) -> bool {
        self.out.len() + self.err.len() >= 64 * 1024
    }

    /// Writes and clears the batch; a closed pipe (`| head`) is not an error worth a panic.
    pub fn flush(&mut self) {
        if !self.err.is_empty() {
            let _ = std::io::stderr().lock().write_all(self.err.as_bytes());
            self.err.clear();
        }
        if !self.out.is_empty() {
            let _ = std::io::stdout().lock().write_all(self.out.as_bytes());
            self.out.clear();
        }
    }

    fn out(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn err(&mut self, line: &str) {
        self.err.push_str(line);
        self.err.push('\n');
    }
}

impl Printer {
    /// A printer; colour only when stdout is a terminal and `NO_COLOR` is unset. A quiet one prints changes
    /// (Listeners, health, config) but no request lines.
    pub fn new(json: bool, quiet: bool) -> Self {
        let color = !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Printer { json, color, quiet }
    }

    /// True when request lines are left out.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Adds one received item to the batch.
    pub fn received(&self, received: &Received, lines: &mut Lines) {
        match received {
            Received::Event(event) => self.event(event, lines),
            Received::Missed(n) if self.json => lines.out(&format!("{{\"type\":\"missed\",\"count\":{n}}}")),
            Received::Missed(n) => lines.err(&format!("({n} log lines skipped: the terminal could not keep up)")),
        }
    }

    /// Adds one event to the batch.
    pub fn event(&self, event: &Event, lines: &mut Lines) {
        if self.json {
            // Events are plain data; serializing cannot fail.
            lines.out(&serde_json::to_string(event).unwrap_or_default());
            return;
        }
        match event {
            Event::Request(r) => {
                self.write_request(r, &mut lines.out);
                lines.out.push('\n');
            }
            Event::Health(h) => lines.err(&health_line(h)),
            Event::Listener(l) => lines.err(&listener_line(l)),
            Event::Live(l) => lines.err(&live_line(l)),
            Event::ConfigApplied { source, listeners, targets } => {
                lines.err(&format!("config applied from {source}: {listeners} listener(s), {targets} target(s)"));
            }
            Event::ConfigRejected { source, issues } => {
                let mut text = format!("config edit in {source} rejected; still serving the last good config:");
                for issue in issues {
                    let _ = write!(text, "\n  {issue}");
                }
                lines.err(&text);
            }
        }
    }

    /// `GET app.localhost/api/users -> 127.0.0.1:3001 200 1.2ms`; failed attempts come first, each with its cause:
    /// `GET app.localhost/ -> 127.0.0.1:3002 refused -> 127.0.0.1:3003 200 0.8ms`; a browser pinned to its Upstream
    /// (or kept there by a sticky Target) says so: `-> 127.0.0.1:3001 [pinned] 200 1.2ms`.
    #[cfg(test)]
    pub fn request_line(&self, r: &RequestEvent) -> String {
        let mut line = String::new();
        self.write_request(r, &mut line);
        line
    }

    /// Appends [`request_line`](Self::request_line) to `out` without allocating a line of its own: under load the
    /// log is written at tens of thousands of lines a second.
    fn write_request(&self, r: &RequestEvent, out: &mut String) {
        // Pieces pushed one by one rather than through `write!`: this runs once per request.
        let by = r.upstream.as_deref().unwrap_or("roundabout");
        for piece in [r.method.as_str(), " ", &r.host, &r.path, " ->"] {
            out.push_str(piece);
        }
        for failed in &r.failed {
            for piece in [" ", &failed.upstream, " ", short_cause(&failed.error), " ->"] {
                out.push_str(piece);
            }
        }
        out.push(' ');
        out.push_str(by);
        match r.affinity {
            Some(Affinity::Pinned) => out.push_str(" [pinned]"),
            Some(Affinity::Sticky) => out.push_str(" [sticky]"),
            None => {}
        }
        out.push(' ');
        if self.color {
            for piece in ["\x1b[", color_code(r.status), "m"] {
                out.push_str(piece);
            }
            out.push_str(itoa::Buffer::new().format(r.status));
            out.push_str("\x1b[0m");
        } else {
            out.push_str(itoa::Buffer::new().format(r.status));
        }
        out.push(' ');
        write_latency(out, r.latency_us);
        if let Some(error) = &r.error {
            for piece in [" (", error, ")"] {
                out.push_str(piece);
            }
        }
    }
}

/// `127.0.0.1:3002 unhealthy after 3 failures (connection refused); retry in 10s`
pub fn health_line(h: &HealthEvent) -> String {
    let reason = h.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    let u = &h.upstream;
    match h.health {
        HealthState::Healthy => format!("{u} healthy again{reason}"),
        HealthState::Failing { failures, threshold } => format!("{u} failing {failures}/{threshold}{reason}"),
        HealthState::Unhealthy { failures, retry_in_ms, .. } => {
            let plural = if failures == 1 { "" } else { "s" };
            format!("{u} unhealthy after {failures} failure{plural}{reason}; retry in {}", seconds(retry_in_ms))
        }
        HealthState::Probation => format!("{u} on probation: the next request tests it"),
        HealthState::Disabled => format!("{u} disabled"),
        HealthState::Draining { open } => format!("{u} draining: {open} open connection(s) finishing"),
    }
}

/// A failed attempt's cause in a word where there is one: `refused`, `reset`, `timed out`, `closed`.
fn short_cause(error: &str) -> &str {
    match error {
        "connection refused" => "refused",
        "connection reset" => "reset",
        "connect timed out" | "timed out" => "timed out",
        "closed the connection before answering" => "closed",
        other => other,
    }
}

/// Tells what a Listener is doing, e.g. `listener web: running on 127.0.0.1:8800, [::1]:8800`.
pub fn listener_line(l: &ListenerEvent) -> String {
    match l.state {
        ListenerState::Running => format!("listener {}: running on {}", l.name, l.addresses.join(", ")),
        ListenerState::Stopped => format!("listener {}: stopped", l.name),
        ListenerState::Failed => format!("listener {}: {}", l.name, l.error.as_deref().unwrap_or("failed")),
    }
}

/// `app: localhost:41234 (pid 4242) joined (npm run dev in ~/src/app, branch feature)`, or `… left (why)`.
pub fn live_line(l: &LiveEvent) -> String {
    let u = &l.upstream;
    if l.joined {
        let branch = u.branch.as_deref().map(|b| format!(", branch {b}")).unwrap_or_default();
        format!("{}: {} joined ({} in {}{branch})", u.target, l.label, u.command, u.cwd)
    } else {
        let reason = l.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        format!("{}: {} left{reason}", u.target, l.label)
    }
}

/// `1.2ms` below a second, `2.50s` from there, rounded half up, in integers (once per request line).
fn write_latency(out: &mut String, us: u64) {
    let (whole, fraction, digits, unit) = if us >= 1_000_000 {
        let hundredths = us.saturating_add(5_000) / 10_000;
        (hundredths / 100, hundredths % 100, 2, "s")
    } else {
        let tenths = (us + 50) / 100;
        (tenths / 10, tenths % 10, 1, "ms")
    };
    out.push_str(itoa::Buffer::new().format(whole));
    out.push('.');
    if digits == 2 && fraction < 10 {
        out.push('0');
    }
    out.push_str(itoa::Buffer::new().format(fraction));
    out.push_str(unit);
}

fn color_code(status: u16) -> &'static str {
    match status {
        200..=299 => "32",
        300..=399 => "36",
        400..=499 => "33",
        _ => "31",
    }
}

/// A line on stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// A line on stderr.
pub fn err(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

#[cfg(test)]
mod tests {
    use roundabout_engine::event::FailedAttempt;

    use super::*;

    fn event(upstream: Option<&str>, status: u16, us: u64, error: Option<&str>) -> RequestEvent {
        RequestEvent {
            at_ms: 0,
            listener: "web".into(),
            method: "GET".parse().unwrap(),
            host: "app.localhost".into(),
            path: "/api/users".into(),
            target: Some("api".into()),
            upstream: upstream.map(Into::into),
            status,
            latency_us: us,
            error: error.map(Into::into),
            failed: vec![],
            affinity: None,
        }
    }

    #[test]
    fn request_lines_read_like_the_issue() {
        let p = Printer { json: false, color: false, quiet: false };
        assert_eq!(
            p.request_line(&event(Some("127.0.0.1:3001"), 200, 1234, None)),
            "GET app.localhost/api/users -> 127.0.0.1:3001 200 1.2ms"
        );
        assert_eq!(
            p.request_line(&event(None, 404, 80, Some("no Target matched"))),
            "GET app.localhost/api/users -> roundabout 404 0.1ms (no Target matched)"
        );
        assert!(p.request_line(&event(Some("u"), 200, 2_500_000, None)).ends_with("200 2.50s"));
        for (us, shown) in [(0, "0.0ms"), (49, "0.0ms"), (50, "0.1ms"), (999_949, "999.9ms"), (1_004_999, "1.00s")] {
            assert!(p.request_line(&event(Some("u"), 200, us, None)).ends_with(&format!("200 {shown}")), "{us}");
        }
        assert!(p.request_line(&event(Some("u"), 200, 61_050_000, None)).ends_with("200 61.05s"));
        let mut retried = event(Some("127.0.0.1:3003"), 200, 800, None);
        retried.failed = vec![FailedAttempt { upstream: "127.0.0.1:3002".into(), error: "connection refused".into() }];
        assert_eq!(
            p.request_line(&retried),
            "GET app.localhost/api/users -> 127.0.0.1:3002 refused -> 127.0.0.1:3003 200 0.8ms"
        );
        let mut pinned = event(Some("127.0.0.1:3001"), 503, 800, None);
        pinned.affinity = Some(Affinity::Pinned);
        assert_eq!(p.request_line(&pinned), "GET app.localhost/api/users -> 127.0.0.1:3001 [pinned] 503 0.8ms");
        let mut sticky = event(Some("127.0.0.1:3002"), 200, 800, None);
        sticky.affinity = Some(Affinity::Sticky);
        assert!(p.request_line(&sticky).ends_with("-> 127.0.0.1:3002 [sticky] 200 0.8ms"));
    }

    #[test]
    fn health_lines_read_like_the_issue() {
        let mut h = HealthEvent {
            at_ms: 0,
            target: "api".into(),
            upstream: "127.0.0.1:3002".into(),
            url: "http://127.0.0.1:3002".into(),
            health: HealthState::Unhealthy { failures: 3, retry_at_ms: 10_000, retry_in_ms: 10_000 },
            reason: Some("connection refused".into()),
        };
        assert_eq!(health_line(&h), "127.0.0.1:3002 unhealthy after 3 failures (connection refused); retry in 10s");
        h.health = HealthState::Failing { failures: 1, threshold: 3 };
        assert_eq!(health_line(&h), "127.0.0.1:3002 failing 1/3 (connection refused)");
        (h.health, h.reason) = (HealthState::Healthy, None);
        assert_eq!(health_line(&h), "127.0.0.1:3002 healthy again");
    }
}
