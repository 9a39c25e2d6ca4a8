//! The connections the API is served on: how many at once, how long each may keep the server
//! waiting, and the fault body on the errors hyper answers itself.
//!
//! A [`Listener`] accepts a connection only while fewer than `max_connections` are open; further
//! clients wait in the kernel's listen backlog (costing the process no file descriptor) until one
//! closes, so the connections already accepted keep being served. Each [`Connection`] carries a
//! [`Clock`](clock) that closes it when a client is slow to send a request's head, or idle too long
//! between requests; [`Connections`] gives each connection a [`Tracked`] service that keeps the
//! clock informed and limits the time a request's body may take. [`fault`] rewrites hyper's
//! bodyless 4xx answers.

mod clock;
mod fault;
mod tracked;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

pub use clock::Timeouts;
pub use tracked::Tracked;

use clock::{Clock, Expired};

/// Connections open now.
const OPEN: &str = "fulcrum_http_connections_open";
/// Connections that waited for a free slot before being accepted.
const LIMIT_WAITS: &str = "fulcrum_http_connection_limit_waits_total";
/// Connections or requests cut off by a timeout, by phase.
const TIMEOUTS: &str = "fulcrum_http_connection_timeouts_total";

/// Describe the connection metrics, for the exposition's `HELP`.
pub fn describe_metrics() {
    metrics::describe_gauge!(OPEN, "Connections to the API open now.");
    metrics::describe_counter!(
        LIMIT_WAITS,
        "Connections that waited in the listen backlog for one of server.max_connections."
    );
    metrics::describe_counter!(
        TIMEOUTS,
        "Connections closed, or requests answered 408, because the client was too slow, by \
         phase (header_read, idle, body_read)."
    );
}

/// How many connections, and how long each may wait in each phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// The timeouts of each connection.
    pub timeouts: Timeouts,
}

/// A TCP listener that accepts up to [`Limits::max_connections`] connections at once.
pub struct Listener {
    tcp: TcpListener,
    slots: Arc<Semaphore>,
    timeouts: Timeouts,
}

impl Listener {
    /// Serve `tcp` within `limits`.
    pub fn new(tcp: TcpListener, limits: Limits) -> Listener {
        Listener {
            tcp,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            timeouts: limits.timeouts,
        }
    }

    /// A free slot, waited for when every slot is taken.
    async fn slot(&self) -> OwnedSemaphorePermit {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return slot;
        }
        metrics::counter!(LIMIT_WAITS).increment(1);
        match self.slots.clone().acquire_owned().await {
            Ok(slot) => slot,
            Err(closed) => unreachable!("the listener never closes its slots: {closed}"),
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let slot = self.slot().await;
        let (stream, addr) = axum::serve::Listener::accept(&mut self.tcp).await;
        metrics::gauge!(OPEN).increment(1.0);
        let clock = Arc::new(Clock::new(self.timeouts));
        let connection = Connection {
            inner: stream,
            pending: Vec::new(),
            timer: Box::pin(tokio::time::sleep(self.timeouts.header_read)),
            expired: None,
            clock,
            _slot: slot,
        };
        (connection, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The make-service of [`axum::serve`] on a [`Listener`]: each connection gets `app` as a
/// [`Tracked`] service reporting to that connection's clock.
#[derive(Clone)]
pub struct Connections<S>(pub S);

impl<S: Clone> tower::Service<IncomingStream<'_, Listener>> for Connections<S> {
    type Response = Tracked<S>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Tracked<S>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, incoming: IncomingStream<'_, Listener>) -> Self::Future {
        let clock = incoming.io().clock.clone();
        std::future::ready(Ok(Tracked::new(self.0.clone(), clock)))
    }
}

/// A connection of a [`Listener`]: it holds one slot, is closed (its reads and writes fail) when
/// its clock's deadline passes, and gives hyper's own error answers a fault body.
pub struct Connection {
    inner: TcpStream,
    /// A rewritten answer not yet written out.
    pending: Vec<u8>,
    /// Fires at the clock's deadline.
    timer: Pin<Box<Sleep>>,
    /// The timeout that closed the connection, once one did.
    expired: Option<Expired>,
    clock: Arc<Clock>,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Connection {
    fn drop(&mut self) {
        metrics::gauge!(OPEN).decrement(1.0);
    }
}

impl Connection {
    /// Write out what is pending; ready when nothing is left.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = Pin::new(&mut self.inner).poll_write(cx, &self.pending);
            let n = ready!(self.io_pending(written, cx))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// `poll`, unless it is pending past the clock's deadline: then the connection times out.
    fn io_pending<T>(
        &mut self,
        poll: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            return poll;
        }
        if self.expired.is_none() {
            let Some((until, expired)) = self.clock.deadline(cx.waker()) else {
                return Poll::Pending;
            };
            if self.timer.deadline() != until {
                self.timer.as_mut().reset(until);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            metrics::counter!(TIMEOUTS, "phase" => expired.label()).increment(1);
            self.expired = Some(expired);
        }
        let label = self.expired.map_or("", Expired::label);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connection closed: {label} timeout"),
        )))
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_read();
        }
        self.io_pending(read, cx)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(status) = fault::bare_client_error(buf) {
            self.pending = fault::with_fault(status);
            // Written as far as hyper knows; the rest goes out on the next write, flush or
            // shutdown.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.io_pending(written, cx)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        let flushed = Pin::new(&mut self.inner).poll_flush(cx);
        self.io_pending(flushed, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        let shut = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.io_pending(shut, cx)
    }
}
