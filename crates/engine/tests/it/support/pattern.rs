//! Large bodies that are generated and checked on the fly, so a 64 MiB transfer never sits in memory in the test
//! either. Byte `i` of a pattern body is `i % 251`: a prime period, so a lost, repeated or reordered chunk shows.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

const PERIOD: usize = 251;
/// Largest chunk a [`PatternBody`] yields.
const CHUNK: usize = 64 * 1024;

/// `PERIOD + CHUNK` bytes of the pattern, so any chunk at any offset is one zero-copy slice of it.
fn block() -> &'static Bytes {
    static BLOCK: OnceLock<Bytes> = OnceLock::new();
    BLOCK.get_or_init(|| (0..PERIOD + CHUNK).map(|i| u8::try_from(i % PERIOD).unwrap_or(0)).collect::<Vec<u8>>().into())
}

/// A body of `len` pattern bytes with an exact size hint (so it is sent with Content-Length).
#[derive(Debug)]
pub struct PatternBody {
    sent: u64,
    len: u64,
    exact: bool,
    produced: Option<Arc<AtomicU64>>,
}

impl PatternBody {
    /// `len` bytes, announced with Content-Length.
    pub fn new(len: u64) -> Self {
        PatternBody { sent: 0, len, exact: true, produced: None }
    }

    /// `len` bytes without a size hint, so HTTP/1 sends them chunked.
    pub fn chunked(len: u64) -> Self {
        PatternBody { sent: 0, len, exact: false, produced: None }
    }

    /// Adds every byte handed to the sender to `produced`, so a test can see how far ahead of the reader it got.
    pub fn counting(mut self, produced: Arc<AtomicU64>) -> Self {
        self.produced = Some(produced);
        self
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let remaining = self.len - self.sent;
        if remaining == 0 {
            return Poll::Ready(None);
        }
        let n = usize::try_from(remaining).map_or(CHUNK, |r| r.min(CHUNK));
        let start = usize::try_from(self.sent % PERIOD as u64).unwrap_or(0);
        self.sent += n as u64;
        if let Some(produced) = &self.produced {
            produced.fetch_add(n as u64, Relaxed);
        }
        Poll::Ready(Some(Ok(Frame::data(block().slice(start..start + n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.len
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact { SizeHint::with_exact(self.len - self.sent) } else { SizeHint::default() }
    }
}

/// Checks a stream of chunks against the pattern without keeping them.
#[derive(Debug, Default, Clone, Copy)]
pub struct PatternCheck {
    /// Bytes seen so far.
    pub len: u64,
    /// False once any byte differed from the pattern.
    pub intact: bool,
}

impl PatternCheck {
    /// A check that has seen nothing yet.
    pub fn new() -> Self {
        PatternCheck { len: 0, intact: true }
    }

    /// Feeds the next chunk.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let n = data.len().min(CHUNK);
            let start = usize::try_from(self.len % PERIOD as u64).unwrap_or(0);
            self.intact &= data[..n] == block()[start..start + n];
            self.len += n as u64;
            data = &data[n..];
        }
    }
}
