//! A hand-written HTTP server on loopback for the faults a real server will
//! not produce on demand: stalls, bodies trickled a byte at a time or cut
//! off mid-way, endless or hundreds-of-megabytes bodies, garbage, hostile
//! text. Real servers (`prometheus.rs`, `alertmanager.rs`...) are for
//! everything else.
//!
//! A [`FakeServer`] binds `127.0.0.1` (a free port, or a given one to play
//! "the server comes back"), and answers every request with what its
//! handler returns for it; the handler can be swapped while it runs
//! ([`FakeServer::set`]). A stall or a stream lasts until the client hangs
//! up (or the server is dropped, or [`STREAM_LIMIT`] passes), so a client
//! that gives up frees the server's thread at once. Dropping the server
//! stops the acceptor and frees the port.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Longest a stall or a stream goes on when the client never hangs up.
pub const STREAM_LIMIT: Duration = Duration::from_secs(30);

/// One request as the handler sees it.
#[derive(Clone, Debug)]
pub struct FakeRequest {
    pub method: String,
    /// The path without the query string (`/api/v1/query`).
    pub path: String,
    /// The query string's pairs, percent-decoded.
    pub query: Vec<(String, String)>,
}

impl FakeRequest {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum FakeReply {
    /// A whole answer with its `Content-Length`.
    Body {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Reads the request and never answers.
    Stall,
    /// The status line and headers at once, then the body one byte every
    /// `every`.
    Trickle { body: Vec<u8>, every: Duration },
    /// Headers that declare `declared` bytes, then only `body`, then the
    /// connection is closed.
    CutShort { declared: usize, body: Vec<u8> },
    /// A chunked answer that sends `body` as a first chunk, then closes in
    /// the middle of a second chunk.
    CutChunked { body: Vec<u8> },
    /// 200 with a body that never ends (chunked), or, with `declared`, a
    /// `Content-Length` of that many bytes actually streamed: filler bytes
    /// until the client hangs up.
    Endless { declared: Option<u64> },
}

impl FakeReply {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> FakeReply {
        FakeReply::Body {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }

    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> FakeReply {
        FakeReply::Body {
            status,
            content_type: "text/plain; version=0.0.4",
            body: body.into(),
        }
    }

    /// An error page as a proxy or a load balancer writes one.
    pub fn html(status: u16, title: &str) -> FakeReply {
        FakeReply::Body {
            status,
            content_type: "text/html",
            body: format!(
                "<html>\n<head><title>{title}</title></head>\n<body><center><h1>{title}</h1></center><hr><center>nginx</center></body>\n</html>\n"
            )
            .into_bytes(),
        }
    }
}

type Handler = Arc<dyn Fn(&FakeRequest) -> FakeReply + Send + Sync>;

/// A fake HTTP server on 127.0.0.1; stopped on drop.
pub struct FakeServer {
    port: u16,
    handler: Arc<RwLock<Handler>>,
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    /// On a free port.
    pub fn start(handler: impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        FakeServer::serve(listener, Arc::new(handler))
    }

    /// On `port` (one a test knows is free because it found the connection
    /// refused there), to play a server that comes back.
    pub fn start_on(
        port: u16,
        handler: impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        FakeServer::serve(listener, Arc::new(handler))
    }

    /// Answers every request with a copy of `reply`.
    pub fn always(reply: FakeReply) -> Self {
        FakeServer::start(move |_| reply.clone())
    }

    fn serve(listener: TcpListener, handler: Handler) -> Self {
        let port = listener.local_addr().expect("a bound address").port();
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let handler = Arc::new(RwLock::new(handler));
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let acceptor = {
            let (handler, stop, hits) = (handler.clone(), stop.clone(), hits.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            hits.fetch_add(1, Ordering::SeqCst);
                            let handler = handler.read().unwrap_or_else(|e| e.into_inner()).clone();
                            let stop = stop.clone();
                            std::thread::spawn(move || answer(stream, &handler, &stop));
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        FakeServer {
            port,
            handler,
            stop,
            hits,
            acceptor: Some(acceptor),
        }
    }

    /// Answers from now on with `handler`.
    pub fn set(&self, handler: impl Fn(&FakeRequest) -> FakeReply + Send + Sync + 'static) {
        *self.handler.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(handler);
    }

    /// Answers from now on with a copy of `reply`.
    pub fn set_reply(&self, reply: FakeReply) {
        self.set(move |_| reply.clone());
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads one request head; `None` if the client sent no complete one.
fn read_request(stream: &mut TcpStream) -> Option<FakeRequest> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&buf[..n]);
        if head.len() > 1 << 20 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let target = first.next()?;
    let url = reqwest::Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    Some(FakeRequest {
        method,
        path: url.path().to_owned(),
        query: url.query_pairs().into_owned().collect(),
    })
}

/// True once the client has closed its end (or the server stops); waits
/// `for_at_most` meanwhile.
fn client_gone(stream: &mut TcpStream, stop: &AtomicBool, for_at_most: Duration) -> bool {
    if stop.load(Ordering::SeqCst) {
        return true;
    }
    let _ = stream.set_read_timeout(Some(for_at_most.max(Duration::from_millis(1))));
    let mut buf = [0u8; 512];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

fn head(status: u16, content_type: &str, length: Option<u64>) -> String {
    let length = length.map_or_else(
        || "Transfer-Encoding: chunked\r\n".to_owned(),
        |n| format!("Content-Length: {n}\r\n"),
    );
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{length}Connection: close\r\n\r\n",
        reason(status)
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Whatever",
    }
}

fn answer(mut stream: TcpStream, handler: &Handler, stop: &AtomicBool) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let started = Instant::now();
    let within_limit = || started.elapsed() < STREAM_LIMIT;
    match handler(&request) {
        FakeReply::Body {
            status,
            content_type,
            body,
        } => {
            let _ =
                stream.write_all(head(status, content_type, Some(body.len() as u64)).as_bytes());
            let _ = stream.write_all(&body);
        }
        FakeReply::Stall => {
            while within_limit() && !client_gone(&mut stream, stop, Duration::from_millis(50)) {}
        }
        FakeReply::Trickle { body, every } => {
            let _ =
                stream.write_all(head(200, "application/json", Some(body.len() as u64)).as_bytes());
            for byte in body {
                if stream.write_all(&[byte]).is_err()
                    || !within_limit()
                    || client_gone(&mut stream, stop, every)
                {
                    return;
                }
            }
        }
        FakeReply::CutShort { declared, body } => {
            let _ =
                stream.write_all(head(200, "application/json", Some(declared as u64)).as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
        }
        FakeReply::CutChunked { body } => {
            let _ = stream.write_all(head(200, "application/json", None).as_bytes());
            let _ = stream.write_all(format!("{:x}\r\n", body.len()).as_bytes());
            let _ = stream.write_all(&body);
            // A second chunk announced as 4 KiB, of which 3 bytes come.
            let _ = stream.write_all(b"\r\n1000\r\n[1,");
            let _ = stream.flush();
        }
        FakeReply::Endless { declared } => {
            let _ = stream.write_all(head(200, "application/json", declared).as_bytes());
            let filler = vec![b' '; 64 * 1024];
            let chunk = match declared {
                Some(_) => filler,
                None => {
                    let mut c = format!("{:x}\r\n", filler.len()).into_bytes();
                    c.extend_from_slice(&filler);
                    c.extend_from_slice(b"\r\n");
                    c
                }
            };
            let mut sent = 0u64;
            while within_limit()
                && !stop.load(Ordering::SeqCst)
                && declared.is_none_or(|n| sent < n)
                && stream.write_all(&chunk).is_ok()
            {
                sent += chunk.len() as u64;
            }
        }
    }
}
