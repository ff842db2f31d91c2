//! Bridges between the synchronous engine and HTTP bodies: engine work runs on tokio's
//! blocking pool; request bodies become `Read`ers for it, and what it writes becomes a
//! streamed response body. A client that goes away closes the channel, so the writer's
//! next write fails with BrokenPipe and the engine stops (nothing keeps running).

use std::io::{self, Read, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::error::{ApiError, ApiResult};
use crate::engine::Engine;

/// Chunks buffered between a writer thread and the connection.
const DEPTH: usize = 16;
/// A writer sends what it has once this much is buffered (or on flush).
const CHUNK: usize = 64 * 1024;

/// Runs `f` against the engine on the blocking pool.
pub async fn blocking<T, F>(engine: &Arc<Engine>, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> ApiResult<T> + Send + 'static,
{
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(|e| ApiError::internal(format!("engine worker failed: {e}")))?
}

/// The writing end of a streamed response body.
pub struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl BodyWriter {
    /// A writer and the response body it feeds.
    pub fn new() -> (BodyWriter, Body) {
        let (tx, rx) = mpsc::channel(DEPTH);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (
            BodyWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
            },
            Body::from_stream(stream),
        )
    }

    /// True once the client has gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// A probe for "the client has gone" that can be held beside the writer.
    pub fn probe(&self) -> ClientProbe {
        ClientProbe(self.tx.clone())
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Ends the body with an error (the client sees a broken transfer, never a body that
    /// looks complete but is short).
    pub fn fail(mut self, message: String) {
        let _ = self.send();
        let _ = self.tx.blocking_send(Err(io::Error::other(message)));
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.tx.is_closed() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client went away",
            ));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

pub struct ClientProbe(mpsc::Sender<Result<Bytes, io::Error>>);

impl ClientProbe {
    pub fn gone(&self) -> bool {
        self.0.is_closed()
    }
}

/// Streams what `f` writes as the response body, from a blocking thread. An error after
/// the first byte ends the body abruptly.
pub fn stream_body<F>(engine: &Arc<Engine>, f: F) -> Body
where
    F: FnOnce(&Engine, &mut BodyWriter) -> ApiResult<()> + Send + 'static,
{
    let (mut w, body) = BodyWriter::new();
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || match f(&engine, &mut w) {
        Ok(()) => {
            let _ = w.flush();
        }
        Err(e) => w.fail(e.message),
    });
    body
}

/// A request body as a blocking `Read` (for the engine on the blocking pool).
pub struct BodyReader {
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
    cur: Bytes,
}

impl BodyReader {
    pub fn new(body: Body) -> BodyReader {
        let (tx, rx) = mpsc::channel(DEPTH);
        tokio::spawn(async move {
            let mut s = body.into_data_stream();
            while let Some(item) = s.next().await {
                let item = item.map_err(|e| io::Error::other(format!("reading the request: {e}")));
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        BodyReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// One JSON document per line (Docker's progress and event streams).
pub fn write_json_line<W: Write, T: serde::Serialize>(w: &mut W, v: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, v).map_err(io::Error::other)?;
    w.write_all(b"\n")?;
    w.flush()
}
