//! Per-connection deadlines that a handler cannot enforce, because they run before (or between)
//! requests: the request head (request line and headers) must arrive within the request timeout,
//! and an idle keep-alive connection is closed after the idle timeout.
//!
//! Without them a client could hold a connection forever by sending half a request head, or by
//! opening connections and never using them (hyper has a header timeout, but axum's `serve`
//! gives it no timer, so it is off). The handler-side timeout ([`super::middleware::guard`])
//! covers the body and the answer; this covers what comes before the handler starts.
//!
//! [`TimedListener`] wraps each accepted socket in a [`TimedIo`]. The IO wrapper sees bytes, not
//! requests, so the server tells it when a request head has become a request: [`ConnHandle`] is
//! handed to every request as connect info, and the middleware calls [`ConnHandle::handler_started`].
//! A connection is in one of three phases:
//!
//! - **idle** (after connecting, or after writing an answer): closed if nothing arrives within the
//!   idle timeout;
//! - **head** (bytes of a request read, no handler started yet): closed if the handler has not
//!   started within the request timeout of the first byte;
//! - **busy** (a handler runs): no deadline here; the handler's own timeout answers 408.
//!
//! A deadline passing closes the connection (the read fails with `TimedOut`; hyper drops it):
//! there is no request to answer yet.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// The two deadlines, from the configured limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    pub head: Duration,
    pub idle: Duration,
}

/// Accepts TCP connections and wraps them in [`TimedIo`], with `TCP_NODELAY` set.
pub(crate) struct TimedListener {
    inner: TcpListener,
    deadlines: Deadlines,
}

impl TimedListener {
    pub(crate) fn new(inner: TcpListener, deadlines: Deadlines) -> Self {
        TimedListener { inner, deadlines }
    }
}

impl axum::serve::Listener for TimedListener {
    type Io = TimedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TimedIo, SocketAddr) {
        // axum's own accept loop logs and backs off on errors such as EMFILE.
        let (tcp, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        // Small request and answer: Nagle's algorithm would hold answers back for the peer's
        // delayed ACK (up to 40 ms), far beyond the time spent scoring.
        let _ = tcp.set_nodelay(true);
        (TimedIo::new(tcp, self.deadlines), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// What the request side tells the connection: how many handlers have started on it.
#[derive(Debug, Default)]
struct Shared {
    started: AtomicU64,
}

/// A connection's handle, given to each request as axum connect info.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle(Arc<Shared>);

impl ConnHandle {
    /// A handler is running: the request head is complete, the head deadline no longer applies.
    pub(crate) fn handler_started(&self) {
        self.0.started.fetch_add(1, Ordering::Relaxed);
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TimedListener>> for ConnHandle {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TimedListener>) -> Self {
        ConnHandle(stream.io().shared.clone())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Reading a request head; the value is the handler count when its first byte arrived.
    Head(u64),
    Busy,
}

/// A TCP stream with the idle and head deadlines of the module docs.
pub(crate) struct TimedIo {
    tcp: TcpStream,
    shared: Arc<Shared>,
    deadlines: Deadlines,
    phase: Phase,
    timer: Pin<Box<Sleep>>,
}

impl TimedIo {
    fn new(tcp: TcpStream, deadlines: Deadlines) -> Self {
        TimedIo {
            tcp,
            shared: Arc::default(),
            deadlines,
            phase: Phase::Idle,
            timer: Box::pin(tokio::time::sleep(deadlines.idle)),
        }
    }

    /// Whether the current phase's deadline has passed (registering for a wake-up if not).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if let Phase::Head(at_start) = self.phase {
            if self.shared.started.load(Ordering::Relaxed) != at_start {
                self.phase = Phase::Busy;
            }
        }
        match self.phase {
            Phase::Busy => false,
            Phase::Idle | Phase::Head(_) => self.timer.as_mut().poll(cx).is_ready(),
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.tcp).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && this.phase == Phase::Idle {
                    this.phase = Phase::Head(this.shared.started.load(Ordering::Relaxed));
                    this.timer.as_mut().reset(Instant::now() + this.deadlines.head);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.expired(cx) => {
                let what = if this.phase == Phase::Idle { "idle connection" } else { "request head" };
                tracing::debug!(what, "connection deadline passed; closing");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))))
            }
            other => other,
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let res = Pin::new(&mut this.tcp).poll_write(cx, data);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            // An answer is going out: the connection is idle again once it is written.
            this.phase = Phase::Idle;
            this.timer.as_mut().reset(Instant::now() + this.deadlines.idle);
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let res = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.phase = Phase::Idle;
            this.timer.as_mut().reset(Instant::now() + this.deadlines.idle);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
