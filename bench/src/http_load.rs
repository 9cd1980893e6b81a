//! Paced HTTP load, for the desktop app under a fixed rate ("the UI at 20k requests/s"): wrk is closed-loop and
//! offers whatever the proxy answers, so the rate would depend on the thing measured. Here keep-alive HTTP/1.1
//! connections share one schedule of tickets, ticket n due n/rate seconds after the start: the offered rate holds
//! whatever the latency. A connection whose ticket is overdue sends at once to catch up; a run that still ends
//! short of the plan says that it fell behind, rather than quietly measuring a lower rate.
//! Prints one JSON line at the end.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::quantile::nearest_rank;

/// Longest one request may take before it counts as an error and its connection is replaced: bounds a run against
/// a proxy that stopped answering.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Share of the planned requests that must have been sent for the run to count as having kept the rate; the rest
/// of a percent allows for the last tickets still waiting on a slow answer when the time is up.
const KEPT_PACE: f64 = 0.99;
/// Distinct error messages quoted in the output; further ones are only counted.
const QUOTED_ERRORS: usize = 5;

/// What to load, how fast and for how long.
#[derive(Debug, Clone, Args)]
pub struct HttpLoadArgs {
    /// Where to send `GET`s: `http://host:port/path`.
    #[arg(long)]
    pub url: String,
    /// A Host header other than the URL's authority (the proxy routes by it).
    #[arg(long)]
    pub host: Option<String>,
    /// Requests per second to offer, spread evenly over the run.
    #[arg(long, default_value_t = 20_000)]
    pub rate: u32,
    /// Keep-alive connections sharing the schedule. They bound the latency the rate can absorb: on average each
    /// request must be answered within connections/rate seconds (32 at 20,000/s: 1.6 ms).
    #[arg(long, default_value_t = 32)]
    pub connections: u32,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,
}

/// The schedule every connection takes its next request from: ticket n is due n/rate seconds after the start, and
/// `rate * secs` tickets fill the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    rate: u64,
    secs: u64,
}

impl Schedule {
    /// `rate` requests per second for `secs` seconds.
    pub fn new(rate: u32, secs: u64) -> Schedule {
        Schedule { rate: u64::from(rate), secs }
    }

    /// How many requests the run should send.
    pub fn planned(&self) -> u64 {
        self.rate * self.secs
    }

    /// The length of the run.
    pub fn length(&self) -> Duration {
        Duration::from_secs(self.secs)
    }

    /// When ticket `n` is due, counted from the start; computed from n rather than added up, so it does not drift
    /// over a million tickets.
    pub fn due(&self, ticket: u64) -> Duration {
        let nanos = u128::from(ticket) * 1_000_000_000 / u128::from(self.rate.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Whether sending `sent` requests means the run kept the rate (see [`KEPT_PACE`]).
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    pub fn kept_pace(&self, sent: u64) -> bool {
        sent as f64 >= self.planned() as f64 * KEPT_PACE
    }
}

/// What one connection saw.
#[derive(Debug, Default)]
struct Tally {
    /// Microseconds from sending to the end of the response body, one per answered request.
    latencies_us: Vec<u32>,
    /// Microseconds each request was sent after its ticket was due: the generator's own lateness.
    lags_us: Vec<u32>,
    /// Answers outside 200..=299.
    non_2xx: u64,
    /// Requests that got no answer: connect, send or read failures and timeouts.
    errors: u64,
    /// The first distinct error messages.
    quoted: Vec<String>,
    /// When the last answer arrived.
    last_answer: Option<Instant>,
}

impl Tally {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.quoted.len() < QUOTED_ERRORS && !self.quoted.contains(&message) {
            self.quoted.push(message);
        }
    }

    fn merge(&mut self, mut other: Tally) {
        self.latencies_us.append(&mut other.latencies_us);
        self.lags_us.append(&mut other.lags_us);
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
        for message in other.quoted {
            if self.quoted.len() < QUOTED_ERRORS && !self.quoted.contains(&message) {
                self.quoted.push(message);
            }
        }
        self.last_answer = self.last_answer.max(other.last_answer);
    }
}

/// Where the requests go and what they carry; every request is the same `GET`.
#[derive(Debug)]
struct Destination {
    /// `host:port` to connect to.
    authority: String,
    /// The request target: path and query.
    path: Uri,
    host: HeaderValue,
}

impl Destination {
    fn parse(args: &HttpLoadArgs) -> Result<Destination, String> {
        let url: Uri = args.url.parse().map_err(|e| format!("bad --url {}: {e}", args.url))?;
        if url.scheme_str() != Some("http") {
            return Err(format!("expected an http:// URL, got {}", args.url));
        }
        let authority = url.authority().ok_or_else(|| format!("no host:port in {}", args.url))?.to_string();
        let path = url.path_and_query().map_or("/", |p| p.as_str()).parse().map_err(|e| format!("bad path: {e}"))?;
        let host = args.host.as_deref().unwrap_or(&authority);
        let host = HeaderValue::from_str(host).map_err(|e| format!("bad host {host}: {e}"))?;
        Ok(Destination { authority, path, host })
    }

    fn request(&self) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = self.path.clone();
        request.headers_mut().insert(HOST, self.host.clone());
        request
    }
}

type Sender = SendRequest<Empty<Bytes>>;

/// Runs the load on one thread (pin it with taskset) and prints the result as a JSON line.
pub fn run(args: &HttpLoadArgs) -> Result<(), String> {
    if args.rate == 0 || args.connections == 0 || args.duration_secs == 0 {
        return Err("--rate, --connections and --duration-secs must be above 0".to_string());
    }
    let destination = Arc::new(Destination::parse(args)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let schedule = Schedule::new(args.rate, args.duration_secs);
    let result = runtime.block_on(load(destination, schedule, args.connections))?;
    if result["kept_pace"] == Value::Bool(false) {
        eprintln!(
            "http-load: FELL BEHIND: sent {} of {} planned requests; raise --connections or lower --rate",
            result["sent"], result["planned"]
        );
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{result}").map_err(|e| format!("cannot print: {e}"))
}

/// Opens every connection first (a proxy that is not there fails the run), then sends on the schedule.
async fn load(destination: Arc<Destination>, schedule: Schedule, connections: u32) -> Result<Value, String> {
    let mut senders = Vec::new();
    for _ in 0..connections {
        senders.push(connect(&destination.authority).await?);
    }
    let tickets = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for sender in senders {
        tasks.spawn(send_on_schedule(Arc::clone(&destination), sender, schedule, start, Arc::clone(&tickets)));
    }
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        total.merge(joined.map_err(|e| format!("a connection task failed: {e}"))?);
    }
    Ok(summarize(total, schedule, start, connections))
}

/// One keep-alive HTTP/1.1 connection with TCP_NODELAY, its I/O driven by a task of its own.
async fn connect(authority: &str) -> Result<Sender, String> {
    let stream = TcpStream::connect(authority).await.map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {authority} failed: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Takes tickets until the plan or the time runs out; each request waits for its ticket's due time, then goes.
async fn send_on_schedule(
    destination: Arc<Destination>,
    sender: Sender,
    schedule: Schedule,
    start: Instant,
    tickets: Arc<AtomicU64>,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender = Some(sender);
    let end = start + schedule.length();
    loop {
        let ticket = tickets.fetch_add(1, Ordering::Relaxed);
        if ticket >= schedule.planned() {
            break;
        }
        let due = start + schedule.due(ticket);
        // Pacing: the ticket's moment, not a wait for something to happen. Returns at once when overdue.
        tokio::time::sleep_until(due).await;
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        tally.lags_us.push(micros(sent - due));
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange(&destination, &mut sender)).await {
            Ok(Ok(status)) => {
                let answered = Instant::now();
                tally.latencies_us.push(micros(answered - sent));
                tally.last_answer = Some(answered);
                if !status.is_success() {
                    tally.non_2xx += 1;
                }
            }
            Ok(Err(message)) => {
                sender = None;
                tally.error(message);
            }
            Err(_) => {
                sender = None;
                tally.error(format!("no answer within {REQUEST_TIMEOUT:?}"));
            }
        }
    }
    tally
}

/// Sends one request and reads its whole body, reconnecting first when the server closed the connection.
async fn exchange(destination: &Destination, sender: &mut Option<Sender>) -> Result<StatusCode, String> {
    let open = match sender {
        Some(open) if !open.is_closed() => open,
        _ => sender.insert(connect(&destination.authority).await?),
    };
    open.ready().await.map_err(|e| format!("connection lost: {e}"))?;
    let response = open.send_request(destination.request()).await.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    response.into_body().collect().await.map_err(|e| format!("body read failed: {e}"))?;
    Ok(status)
}

fn micros(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
}

/// The run as one JSON object: the rate reached, latency, failures, and whether the schedule was kept.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn summarize(mut total: Tally, schedule: Schedule, start: Instant, connections: u32) -> Value {
    total.latencies_us.sort_unstable();
    total.lags_us.sort_unstable();
    let completed = total.latencies_us.len() as u64;
    let sent = completed + total.errors;
    let elapsed = total.last_answer.map_or(schedule.length(), |last| last - start).as_secs_f64();
    json!({
        "target_rps": schedule.rate,
        "connections": connections,
        "duration_secs": schedule.secs,
        "planned": schedule.planned(),
        "sent": sent,
        "completed": completed,
        "achieved_rps": if elapsed > 0.0 { completed as f64 / elapsed } else { 0.0 },
        "p50_us": nearest_rank(&total.latencies_us, 0.50),
        "p99_us": nearest_rank(&total.latencies_us, 0.99),
        "max_us": total.latencies_us.last().copied().unwrap_or(0),
        "non_2xx": total.non_2xx,
        "errors": total.errors,
        "error_samples": total.quoted,
        "lag_p99_us": nearest_rank(&total.lags_us, 0.99),
        "lag_max_us": total.lags_us.last().copied().unwrap_or(0),
        "kept_pace": schedule.kept_pace(sent),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_spread_evenly_over_each_second() {
        let schedule = Schedule::new(20_000, 60);
        assert_eq!(schedule.planned(), 1_200_000);
        assert_eq!(schedule.due(0), Duration::ZERO);
        assert_eq!(schedule.due(1), Duration::from_micros(50));
        assert_eq!(schedule.due(20_000), Duration::from_secs(1));
        // The last ticket is due one interval before the end, not at or after it.
        assert_eq!(schedule.due(schedule.planned() - 1), Duration::from_secs(60) - Duration::from_micros(50));
    }

    #[test]
    fn due_times_do_not_drift_at_rates_that_do_not_divide_a_second() {
        let schedule = Schedule::new(3, 1_000_000);
        assert_eq!(schedule.due(1), Duration::from_nanos(333_333_333));
        assert_eq!(schedule.due(3_000_000), Duration::from_secs(1_000_000));
    }

    #[test]
    fn falling_more_than_a_percent_short_is_behind() {
        let schedule = Schedule::new(1_000, 10);
        assert!(schedule.kept_pace(10_000));
        assert!(schedule.kept_pace(9_900));
        assert!(!schedule.kept_pace(9_899));
    }

    /// A server answering `/ok` with 200 and anything else with 404, on 127.0.0.1:0.
    async fn answering_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = hyper::service::service_fn(|request: Request<hyper::body::Incoming>| async move {
                    let mut response = hyper::Response::new(http_body_util::Full::new(Bytes::from_static(b"x")));
                    if request.uri().path() != "/ok" {
                        *response.status_mut() = StatusCode::NOT_FOUND;
                    }
                    Ok::<_, std::convert::Infallible>(response)
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        authority
    }

    fn destination(authority: &str, path: &str) -> Arc<Destination> {
        let args = HttpLoadArgs {
            url: format!("http://{authority}{path}"),
            host: None,
            rate: 1,
            connections: 1,
            duration_secs: 1,
        };
        Arc::new(Destination::parse(&args).unwrap())
    }

    #[tokio::test]
    async fn a_short_run_sends_exactly_the_plan_and_counts_non_2xx() {
        let authority = answering_server().await;
        let started = Instant::now();
        let result = load(destination(&authority, "/ok"), Schedule::new(400, 1), 4).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(990), "paced over the whole second, not sent at once");
        assert_eq!((result["planned"].as_u64(), result["completed"].as_u64()), (Some(400), Some(400)), "{result}");
        assert_eq!((result["errors"].as_u64(), result["non_2xx"].as_u64()), (Some(0), Some(0)), "{result}");
        assert_eq!(result["kept_pace"], true);

        let result = load(destination(&authority, "/missing"), Schedule::new(100, 1), 2).await.unwrap();
        assert_eq!(result["non_2xx"].as_u64(), Some(100), "{result}");
    }

    #[tokio::test]
    async fn nobody_listening_fails_the_run() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        drop(listener);
        assert!(load(destination(&authority, "/"), Schedule::new(10, 1), 1).await.is_err());
    }

    #[test]
    fn the_destination_splits_the_url_and_takes_the_host_override() {
        let args = HttpLoadArgs {
            url: "http://127.0.0.1:8080/small?x=1".into(),
            host: Some("load.localhost".into()),
            rate: 1,
            connections: 1,
            duration_secs: 1,
        };
        let destination = Destination::parse(&args).unwrap();
        assert_eq!(destination.authority, "127.0.0.1:8080");
        let request = destination.request();
        assert_eq!(request.uri(), "/small?x=1");
        assert_eq!(request.headers()[HOST], "load.localhost");
        let https = HttpLoadArgs { url: "https://example.com/".into(), ..args };
        assert!(Destination::parse(&https).is_err());
    }
}
