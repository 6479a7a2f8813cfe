//! Request heads framed both by `Content-Length` and by `Transfer-Encoding`, seen on the wire.
//!
//! hyper follows RFC 9112 §6.3 for such a request: it drops the `Content-Length`, reads the
//! body as chunked and closes the connection afterwards, so the service never sees that the
//! request was framed two ways, which is how requests are smuggled past a proxy that picks the
//! other framing. The receiver's documented rule is stricter (refuse with 400), so each HTTP/1
//! connection's bytes pass through [`Sniff`], which scans every request head hyper reads and
//! raises the connection's flag when one carries both headers; `dispatch` refuses every request
//! of a flagged connection (hyper has read the head, and so the flag, before it asks).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::server::MAX_HEAD;

/// A connection's stream, scanned as it is read.
pub struct Sniff<S> {
    inner: S,
    /// Bytes since the last head terminator (at most [`MAX_HEAD`] of them: a longer head is
    /// refused by hyper anyway).
    tail: Vec<u8>,
    /// HTTP/2 (the preface) or scanning given up: pass bytes through untouched.
    off: bool,
    started: bool,
    pub both_framings: Arc<AtomicBool>,
}

impl<S> Sniff<S> {
    pub fn new(inner: S) -> Self {
        Sniff {
            inner,
            tail: Vec::new(),
            off: false,
            started: false,
            both_framings: Arc::new(AtomicBool::new(false)),
        }
    }

    fn scan(&mut self, new: &[u8]) {
        if self.off {
            return;
        }
        if !self.started {
            self.started = true;
            if new.starts_with(b"PRI * HTTP/2") {
                self.off = true;
                return;
            }
        }
        self.tail.extend_from_slice(new);
        let mut start = 0;
        while let Some(end) = find(&self.tail[start..], b"\r\n\r\n") {
            if framed_both_ways(&self.tail[start..start + end]) {
                self.both_framings.store(true, Ordering::SeqCst);
            }
            start += end + 4;
        }
        self.tail.drain(..start);
        if self.tail.len() > MAX_HEAD {
            let cut = self.tail.len() - MAX_HEAD;
            self.tail.drain(..cut);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `head` (a request line and header lines) has both framing headers.
pub fn framed_both_ways(head: &[u8]) -> bool {
    let mut lines = head.split(|b| *b == b'\n');
    let request_line = lines.next().unwrap_or_default();
    if find(request_line, b" HTTP/1.").is_none() {
        return false; // a body's bytes, not a head
    }
    let (mut cl, mut te) = (false, false);
    for line in lines {
        let name = line.split(|b| *b == b':').next().unwrap_or_default();
        let name = name.trim_ascii();
        cl |= name.eq_ignore_ascii_case(b"content-length");
        te |= name.eq_ignore_ascii_case(b"transfer-encoding");
    }
    cl && te
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniff<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let new = buf.filled()[before..].to_vec();
            self.scan(&new);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniff<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_framed_both_ways_are_found_in_any_case_and_order() {
        assert!(framed_both_ways(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
        ));
        assert!(framed_both_ways(
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH : 3"
        ));
        assert!(!framed_both_ways(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nX-Transfer-Encoding: chunked"
        ));
        assert!(!framed_both_ways(
            b"Content-Length: 3\r\nTransfer-Encoding: chunked"
        ));
    }

    #[test]
    fn a_head_split_across_reads_is_found() {
        let mut s = Sniff::new(());
        let head = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n";
        for chunk in head.chunks(5) {
            s.scan(chunk);
        }
        assert!(s.both_framings.load(Ordering::SeqCst));
        let mut s = Sniff::new(());
        s.scan(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        s.scan(head);
        assert!(!s.both_framings.load(Ordering::SeqCst), "h2 is not scanned");
    }
}
