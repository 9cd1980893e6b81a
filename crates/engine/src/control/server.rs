//! The instance's side of the control socket: one task accepting connections, one per connection reading requests
//! and answering them from the engine. Nothing here is on the request path.

use std::sync::Arc;

use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::{Listener, Stream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

use super::claim::Claim;
use super::edit::edit_upstream;
use super::protocol::{Instance, Reply, Request, UpstreamAction};
use super::{ControlError, local};
use crate::config::{ConfigIssue, ConfigStore};
use crate::engine::{EngineError, EngineHandle};
use crate::event::{Event, Received};

/// The longest request line read; a longer one closes the connection.
const MAX_LINE: u64 = 64 * 1024;

/// The running control socket; stops (and removes the socket) when dropped.
#[derive(Debug)]
pub struct ControlServer {
    task: JoinHandle<()>,
    claim: Arc<Claim>,
}

impl ControlServer {
    pub(super) fn start(
        listener: Listener,
        claim: Claim,
        instance: Instance,
        engine: EngineHandle,
        store: ConfigStore,
    ) -> ControlServer {
        let claim = Arc::new(claim);
        let shared = Arc::new(Shared {
            instance,
            engine,
            store,
            claim: Arc::clone(&claim),
            edits: tokio::sync::Mutex::default(),
        });
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(stream) => {
                        tokio::spawn(connection(stream, Arc::clone(&shared)));
                    }
                    Err(e) => {
                        tracing::warn!("control socket: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                }
            }
        });
        ControlServer { task, claim }
    }

    /// Where clients connect.
    pub fn address(&self) -> &super::Address {
        self.claim.address()
    }

    /// Stops answering and frees the config file for another instance (the socket goes a moment later).
    pub fn close(&self) {
        self.task.abort();
        self.claim.release();
    }

    /// Stops answering, removes the socket and frees the config file for another instance; returns once done.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        self.claim.release();
    }
}

/// What every connection needs.
#[derive(Debug)]
struct Shared {
    instance: Instance,
    engine: EngineHandle,
    store: ConfigStore,
    claim: Arc<Claim>,
    /// One Upstream edit at a time: each reads the config, changes it, applies and saves it.
    edits: tokio::sync::Mutex<()>,
}

/// A connection (buffered for reading lines; writes go straight through) and its buffers.
struct Conn {
    io: BufReader<Stream>,
    line: Vec<u8>,
    /// Reply lines not yet written.
    out: Vec<u8>,
}

impl Conn {
    /// The next request; `None` when the client hung up or sent too long a line; `Some(Err)` for a line that is
    /// not a request.
    async fn request(&mut self) -> Option<Result<Request, String>> {
        self.line.clear();
        let read = (&mut self.io).take(MAX_LINE).read_until(b'\n', &mut self.line).await.ok()?;
        if read == 0 || self.line.last() != Some(&b'\n') {
            return None;
        }
        Some(serde_json::from_slice(&self.line).map_err(|e| e.to_string()))
    }

    /// Writes one reply line (held back while `more` are coming); false when the client is gone.
    async fn reply(&mut self, reply: &Reply, more: bool) -> bool {
        if serde_json::to_writer(&mut self.out, reply).is_err() {
            return false;
        }
        self.out.push(b'\n');
        more || self.flush().await
    }

    /// Writes the held-back reply lines; false when the client is gone.
    async fn flush(&mut self) -> bool {
        let written = self.io.get_mut().write_all(&self.out).await.is_ok();
        self.out.clear();
        written
    }

    async fn error(&mut self, code: &str, message: String, issues: Vec<ConfigIssue>) -> bool {
        self.reply(&Reply::Error { code: code.to_owned(), message, issues }, false).await
    }
}

async fn connection(stream: Stream, shared: Arc<Shared>) {
    if !local::same_user(&stream, shared.claim.address()) {
        return;
    }
    let mut conn = Conn { io: BufReader::new(stream), line: Vec::new(), out: Vec::new() };
    while let Some(request) = conn.request().await {
        let request = match request {
            Ok(request) => request,
            Err(e) => {
                let message = format!("not a request ({e}); the README's \"Control socket\" section lists them");
                if conn.error("bad_request", message, Vec::new()).await {
                    continue;
                }
                return;
            }
        };
        let open = match request {
            Request::Hello => conn.reply(&Reply::Hello { instance: shared.instance.clone() }, false).await,
            Request::Status => conn.reply(&Reply::Status { status: shared.engine.status().await }, false).await,
            Request::Log { follow, target } => log(&mut conn, &shared.engine, follow, target.as_deref()).await,
            Request::Upstream { action, target, url } => {
                let edited = {
                    let _one = shared.edits.lock().await;
                    edit(&shared, action, &target, &url).await
                };
                match edited {
                    Ok(()) => conn.reply(&Reply::Status { status: shared.engine.status().await }, false).await,
                    Err(Refusal { code, message, issues }) => conn.error(code, message, issues).await,
                }
            }
            Request::Join { upstream } => return join(conn, &shared.engine, upstream).await,
            Request::Leave { .. } => {
                let message = "this connection added no live Upstream; send join first".to_owned();
                conn.error("not_joined", message, Vec::new()).await
            }
        };
        if !open {
            return;
        }
    }
}

/// Why an Upstream edit was refused, as the error reply says it.
struct Refusal {
    code: &'static str,
    message: String,
    issues: Vec<ConfigIssue>,
}

impl From<EngineError> for Refusal {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(issues) => Refusal {
                code: "invalid_config",
                message: "that change would make the config invalid; nothing changed".to_owned(),
                issues: issues.0,
            },
            other => Refusal { code: other.code(), message: other.to_string(), issues: Vec::new() },
        }
    }
}

/// Applies and saves an Upstream edit.
async fn edit(shared: &Shared, action: UpstreamAction, target: &str, url: &str) -> Result<(), Refusal> {
    let config = shared.engine.config().await;
    let next = edit_upstream(&config, action, target, url).map_err(|e| Refusal {
        code: if let ControlError::Edit { code, .. } = e { code } else { "edit" },
        message: e.to_string(),
        issues: Vec::new(),
    })?;
    shared.engine.apply(next.clone(), &format!("roundabout upstream {}", action.as_str())).await?;
    shared.store.save(&next).await.map_err(EngineError::Store)?;
    Ok(())
}

/// Sends the recent changes, then (with `follow`) every event until the client hangs up. False when the connection
/// is over.
async fn log(conn: &mut Conn, engine: &EngineHandle, follow: bool, target: Option<&str>) -> bool {
    // Subscribed first, so nothing falls between the recent changes and the stream; what is in both is sent once.
    let mut events = follow.then(|| engine.subscribe());
    let recent = engine.recent_changes();
    for event in &recent {
        if concerns(event, target) && !conn.reply(&Reply::Event { event: (**event).clone() }, true).await {
            return false;
        }
    }
    let sent =
        |event: &Arc<Event>| !matches!(**event, Event::Request(_)) && recent.iter().any(|r| Arc::ptr_eq(r, event));
    let Some(events) = events.as_mut() else { return conn.reply(&Reply::Done, false).await };
    if !conn.flush().await {
        return false;
    }
    let mut probe = [0u8; 1];
    loop {
        tokio::select! {
            received = events.recv() => {
                let Some(mut received) = received else { return false };
                loop {
                    let reply = match &received {
                        Received::Event(event) if concerns(event, target) && !sent(event) => {
                            Reply::Event { event: (**event).clone() }
                        }
                        Received::Event(_) => {
                            let Some(next) = events.try_recv() else { break };
                            received = next;
                            continue;
                        }
                        Received::Missed(count) => Reply::Missed { count: *count },
                    };
                    if !conn.reply(&reply, true).await {
                        return false;
                    }
                    let Some(next) = events.try_recv() else { break };
                    received = next;
                }
                if !conn.flush().await {
                    return false;
                }
            }
            // A follower sends nothing more: anything read (or the end) means it is done.
            _ = conn.io.read(&mut probe) => return false,
        }
    }
}

/// True when `event` belongs in a log of `target` (every event without one).
fn concerns(event: &Event, target: Option<&str>) -> bool {
    let Some(target) = target else { return true };
    match event {
        Event::Request(r) => r.target.as_deref() == Some(target),
        Event::Health(h) => &*h.target == target,
        Event::Live(l) => l.upstream.target == target,
        Event::Listener(_) | Event::ConfigApplied { .. } | Event::ConfigRejected { .. } => false,
    }
}

/// Adds a live Upstream until the client leaves or hangs up.
async fn join(mut conn: Conn, engine: &EngineHandle, upstream: crate::event::LiveUpstream) {
    let attached = match engine.attach(upstream).await {
        Ok(attached) => attached,
        Err(e) => {
            conn.error(e.code(), e.to_string(), Vec::new()).await;
            return;
        }
    };
    let joined = Reply::Joined { label: attached.label, shadowed_by: attached.shadowed_by };
    if !conn.reply(&joined, false).await {
        engine.detach(attached.id, "roundabout run went away").await;
        return;
    }
    loop {
        match conn.request().await {
            Some(Ok(Request::Leave { reason })) => {
                engine.detach(attached.id, &reason).await;
                conn.reply(&Reply::Done, false).await;
                return;
            }
            Some(_) => {
                let message = "a joined connection only accepts leave".to_owned();
                if !conn.error("joined", message, Vec::new()).await {
                    break;
                }
            }
            None => break,
        }
    }
    engine.detach(attached.id, "roundabout run went away (its connection closed)").await;
}
