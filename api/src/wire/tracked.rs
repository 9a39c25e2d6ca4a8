//! The service of one connection: it tells the connection's [`Clock`] when a request begins and
//! when its answer has been handed over, and gives a request's body the body-read timeout.
//!
//! A body that has not arrived in time ends in an error for the handler that reads it, and the
//! request is answered 408 with Octavia's fault body; the connection closes after it, since the
//! rest of the body was never read.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;
use tower::Service;

use super::clock::Clock;
use crate::fault::fault;

/// A service that reports the requests of one connection to its clock.
#[derive(Clone)]
pub struct Tracked<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, clock: Arc<Clock>) -> Self {
        Tracked { inner, clock }
    }
}

impl<S> Service<Request> for Tracked<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let answering = Answering::begin(self.clock.clone());
        let timed_out = Arc::new(AtomicBool::new(false));
        let request = if request.body().is_end_stream() {
            request
        } else {
            let sleep = Box::pin(tokio::time::sleep(self.clock.timeouts().body_read));
            let timed_out = timed_out.clone();
            request.map(|body| {
                Body::new(DeadlineBody {
                    inner: body,
                    sleep,
                    timed_out,
                })
            })
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let Ok(response) = answer.await;
            let response = if timed_out.load(Ordering::Acquire) {
                metrics::counter!(super::TIMEOUTS, "phase" => "body_read").increment(1);
                request_timeout()
            } else {
                response
            };
            Ok(response.map(|body| {
                Body::new(AnswerBody {
                    inner: body,
                    _answering: answering,
                })
            }))
        })
    }
}

/// Octavia's fault body with 408, closing the connection.
fn request_timeout() -> Response {
    let mut response = fault(
        StatusCode::REQUEST_TIMEOUT,
        "The request body was not received in time.",
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request being answered; the clock learns that it ended when this is dropped (with the
/// answer's body, once hyper has taken all of it, or with the request if it is abandoned).
struct Answering(Arc<Clock>);

impl Answering {
    fn begin(clock: Arc<Clock>) -> Answering {
        clock.request_began();
        Answering(clock)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// An answer's body, holding its request's [`Answering`].
struct AnswerBody {
    inner: Body,
    _answering: Answering,
}

impl HttpBody for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request's body that fails once the body-read timeout has passed.
struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
}

/// The error a [`DeadlineBody`] ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
