//! Body types on both sides of the proxy. Both stream frame by frame, so back-pressure reaches the other side and
//! nothing is buffered whole.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::routing::InFlight;
use crate::server::{ClientBody, ClientBodyError};
use crate::upstream::{UpstreamBody, UpstreamError};

/// The client's request body, held so that a request can go to another Upstream when connecting fails: the body
/// stays in its slot until an attempt actually starts sending it.
#[derive(Debug)]
pub(super) struct RequestBodySource {
    slot: Option<Arc<Mutex<Option<ClientBody>>>>,
    hint: SizeHint,
}

impl RequestBodySource {
    /// Wraps the client's body. Bodies known to be empty need no slot.
    pub(super) fn new(body: ClientBody) -> Self {
        let hint = body.size_hint();
        let slot = (!body.is_end_stream()).then(|| Arc::new(Mutex::new(Some(body))));
        RequestBodySource { slot, hint }
    }

    /// A body for the next attempt.
    pub(super) fn body(&self) -> RequestBody {
        match &self.slot {
            None => RequestBody::Empty,
            Some(slot) => RequestBody::Waiting { slot: Arc::clone(slot), hint: self.hint },
        }
    }

    /// True while no attempt has started sending the body, so a new attempt may carry it.
    pub(super) fn unsent(&self) -> bool {
        self.slot.as_ref().is_none_or(|s| s.lock().is_ok_and(|b| b.is_some()))
    }
}

/// The body sent to an Upstream.
#[derive(Debug)]
pub(crate) enum RequestBody {
    /// No body.
    Empty,
    /// The client's body, taken from its slot on first poll.
    Waiting {
        /// Shared with the [`RequestBodySource`].
        slot: Arc<Mutex<Option<ClientBody>>>,
        /// The client body's size hint, so Content-Length framing is kept.
        hint: SizeHint,
    },
    /// Streaming the client's body.
    Streaming(ClientBody),
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        let this = &mut *self;
        if let RequestBody::Waiting { slot, .. } = this {
            // The lock is held only to move the body out; never across an await.
            let taken = slot.lock().ok().and_then(|mut b| b.take());
            *this = taken.map_or(RequestBody::Empty, RequestBody::Streaming);
        }
        match this {
            RequestBody::Streaming(body) => Pin::new(body).poll_frame(cx),
            _ => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Waiting { .. } => false,
            RequestBody::Streaming(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Empty => SizeHint::with_exact(0),
            RequestBody::Waiting { hint, .. } => *hint,
            RequestBody::Streaming(body) => body.size_hint(),
        }
    }
}

/// The body sent to the client: the Upstream's, streamed, or a page Roundabout wrote itself.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    /// The Upstream's body, and the guard that keeps the request counted in flight until the body ends (so
    /// least-connections and draining see a long download or event stream).
    Upstream {
        /// The body as it arrives; its connection goes back to the pool when it ends.
        body: UpstreamBody<RequestBody>,
        /// Dropped at the end of the body (or when the client goes away).
        open: Option<InFlight>,
    },
    /// A complete page; `None` once sent.
    Page(Option<Bytes>),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = UpstreamError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, UpstreamError>>> {
        match &mut *self {
            ResponseBody::Upstream { body, open } => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                if matches!(polled, Poll::Ready(None | Some(Err(_)))) || body.is_end_stream() {
                    open.take();
                }
                polled
            }
            ResponseBody::Page(page) => Poll::Ready(page.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Upstream { body, .. } => body.is_end_stream(),
            ResponseBody::Page(page) => page.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Upstream { body, .. } => body.size_hint(),
            ResponseBody::Page(page) => SizeHint::with_exact(page.as_ref().map_or(0, |b| b.len() as u64)),
        }
    }
}
