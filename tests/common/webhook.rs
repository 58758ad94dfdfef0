//! A small HTTP server standing in for an app's push receiver: it records every POST
//! (body, signature header, arrival time) and answers each with the next scripted status
//! (200 once the script is used up).
#![allow(dead_code)]

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request received.
#[derive(Clone, Debug)]
pub struct Post {
    pub path: String,
    pub body: String,
    /// The `X-Acs-Signature` header.
    pub signature: Option<String>,
    pub at: Instant,
    /// The status it was answered with.
    pub status: u16,
}

pub struct Webhook {
    pub url: String,
    posts: Arc<Mutex<Vec<Post>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Webhook {
    /// Listens on 127.0.0.1 (a free port); POSTs to `/push`.
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the webhook");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/push", listener.local_addr().unwrap());
        let posts: Arc<Mutex<Vec<Post>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s, st) = (posts.clone(), script.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        serve(stream, &p, &s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Webhook {
            url,
            posts,
            script,
            stop,
            thread: Some(thread),
        }
    }

    /// The next requests get these statuses, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.script.lock().extend(statuses.iter().copied());
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().clone()
    }

    /// Waits until `n` requests arrived; all of them.
    pub fn wait_posts(&self, n: usize, timeout: Duration) -> Vec<Post> {
        super::wait_until(timeout, || self.posts.lock().len() >= n);
        self.posts()
    }
}

fn serve(stream: std::net::TcpStream, posts: &Mutex<Vec<Post>>, script: &Mutex<VecDeque<u16>>) {
    let mut r = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut len = 0usize;
    let mut signature = None;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "x-acs-signature" => signature = Some(v),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; len];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let status = script.lock().pop_front().unwrap_or(200);
    posts.lock().push(Post {
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
        signature,
        at: Instant::now(),
        status,
    });
    let mut w = stream;
    let _ = write!(
        w,
        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
