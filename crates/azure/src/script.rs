//! A scripted HTTP/1.1 responder on 127.0.0.1 for the client's unit tests: it answers requests
//! with canned responses in order and records what it was sent.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A canned answer: status, extra headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

pub struct Script {
    pub endpoint: String,
    /// `(method, path with query, when)` of every request, in order.
    pub seen: Arc<Mutex<Vec<(String, String, Instant)>>>,
}

/// Serves `replies` in order (then 500s), `{endpoint}` in headers and bodies replaced by the
/// server's own URL.
pub async fn serve(replies: Vec<Reply>) -> Script {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(vec![]));
    let (log, base) = (seen.clone(), endpoint.clone());
    tokio::spawn(async move {
        let mut replies = replies.into_iter();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![];
            let mut chunk = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            let head_end = loop {
                let Ok(n) = socket.read(&mut chunk).await else { break None };
                if n == 0 {
                    break None;
                }
                buffer.extend_from_slice(&chunk[..n]);
                if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0usize);
            while buffer.len() < head_end + length {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let mut words = head.split_whitespace();
            let (method, path) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
            log.lock().unwrap().push((method, path, Instant::now()));
            let (status, headers, body) = replies.next().unwrap_or((500, vec![], String::new()));
            let body = body.replace("{endpoint}", &base);
            let mut response =
                format!("HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
            for (name, value) in headers {
                response.push_str(&format!("{name}: {}\r\n", value.replace("{endpoint}", &base)));
            }
            response.push_str("\r\n");
            response.push_str(&body);
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    Script { endpoint, seen }
}

impl Script {
    pub fn requests(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().iter().map(|(m, p, _)| (m.clone(), p.clone())).collect()
    }
}
