//! Property tests of the loopback request reader: whatever bytes a local process or a page
//! sends, in whatever pieces, the reader never panics, keeps at most [`MAX_REQUEST`] bytes
//! (plus one read), answers only a complete head, and gives up after [`REQUEST_TIMEOUT`].

use std::pin::Pin;
use std::task::{Context, Poll};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio::io::ReadBuf;

use super::*;

/// A client that sends its bytes in the given pieces, then either closes or goes silent.
#[derive(Debug)]
struct Client {
    pieces: Vec<Vec<u8>>,
    next: usize,
    offset: usize,
    /// Bytes the reader has taken.
    taken: usize,
    /// Whether, out of pieces, the client stays connected and silent instead of closing.
    hangs: bool,
}

impl AsyncRead for Client {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let Some(piece) = this.pieces.get(this.next) else {
            // Pending with no waker: only the timeout can end the read.
            return if this.hangs {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            };
        };
        let n = (piece.len() - this.offset).min(buf.remaining());
        buf.put_slice(&piece[this.offset..this.offset + n]);
        this.offset += n;
        this.taken += n;
        if this.offset == piece.len() {
            (this.next, this.offset) = (this.next + 1, 0);
        }
        Poll::Ready(Ok(()))
    }
}

fn client(pieces: Vec<Vec<u8>>, hangs: bool) -> Client {
    Client {
        pieces: pieces.into_iter().filter(|p| !p.is_empty()).collect(),
        next: 0,
        offset: 0,
        taken: 0,
        hangs,
    }
}

const END: &[u8] = b"\r\n\r\n";

fn ends_head_within(bytes: &[u8], limit: usize) -> bool {
    bytes[..bytes.len().min(limit)].windows(4).any(|w| w == END)
}

/// Pieces of arbitrary bytes, of requests, and of oversized heads.
fn pieces() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let request = (
        "[A-Z]{0,8}",
        "[ -~]{0,64}",
        proptest::collection::vec("[ -~]{0,40}", 0..6),
    )
        .prop_map(|(method, target, headers)| {
            format!(
                "{method} {target} HTTP/1.1\r\n{}\r\n\r\n",
                headers.join("\r\n")
            )
            .into_bytes()
        });
    let whole = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        request,
        (1usize..4).prop_map(|k| vec![b'a'; k * MAX_REQUEST / 2]),
        (0usize..64).prop_map(|k| {
            let mut v = vec![b'x'; MAX_REQUEST - 2 + k];
            v.extend_from_slice(END);
            v
        }),
    ];
    (whole, proptest::collection::vec(1usize..3000, 0..8)).prop_map(|(bytes, cuts)| {
        let mut pieces = Vec::new();
        let mut rest = bytes.as_slice();
        for cut in cuts {
            let (piece, tail) = rest.split_at(cut.min(rest.len()));
            pieces.push(piece.to_vec());
            rest = tail;
        }
        pieces.push(rest.to_vec());
        pieces
    })
}

#[test]
fn no_input_makes_the_reader_panic_or_overread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let mut runner = TestRunner::new(Config::with_cases(1024));
    runner
        .run(&(pieces(), any::<bool>()), |(pieces, hangs)| {
            let sent = pieces.concat();
            let result = rt.block_on(read_request_within(client(pieces, hangs)));
            match result {
                Ok((_, stream)) => {
                    // A complete head within the limit, and nothing kept beyond it.
                    prop_assert!(ends_head_within(&sent, MAX_REQUEST));
                    prop_assert!(stream.taken <= MAX_REQUEST);
                }
                Err(e) => {
                    // Refused: the head was too long, never ended, or the client went quiet.
                    let complete = ends_head_within(&sent, MAX_REQUEST - 2048);
                    prop_assert!(!complete, "a complete short head was refused: {e}");
                }
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_silent_or_trickling_client_is_dropped_at_the_time_limit() {
    let started = tokio::time::Instant::now();
    let trickle = client(vec![b"GET /oauth/x?code=".to_vec()], true);
    let err = read_request_within(trickle).await.expect_err("times out");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(started.elapsed(), REQUEST_TIMEOUT);
}

#[test]
fn no_head_makes_the_parser_panic_and_host_is_known_only_once() {
    let mut runner = TestRunner::new(Config::with_cases(2048));
    let strategy = (
        "[^\r\n]*",
        proptest::collection::vec(("[Hh][Oo][Ss][Tt]|[a-z]{1,6}", "[ -~]{0,20}"), 0..5),
    );
    runner
        .run(&strategy, |(line, headers)| {
            let text: Vec<String> = headers.iter().map(|(n, v)| format!("{n}:{v}")).collect();
            let head = parse_head(&format!("{line}\r\n{}\r\n\r\n", text.join("\r\n")));
            let hosts = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
                .count();
            // The request line is never read as a header, even when it looks like one.
            prop_assert_eq!(head.host.is_some(), hosts == 1);
            Ok(())
        })
        .unwrap();
}
