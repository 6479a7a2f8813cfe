//! Stand-in collectors for benchmarks/span.sh, on 127.0.0.1 only (std only; built with rustc).
//!
//!   span-collector up PORTFILE      answers every request with 200 and an empty body
//!   span-collector silent PORTFILE  accepts connections and never answers (holds them open)
//!
//! Writes the chosen ephemeral port to PORTFILE, then serves until killed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

fn answer(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            break;
        }
    }
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, portfile) = (args[1].as_str(), &args[2]);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    std::fs::write(portfile, l.local_addr().unwrap().port().to_string()).unwrap();
    let mut held = Vec::new();
    for s in l.incoming().flatten() {
        if mode == "up" {
            thread::spawn(move || answer(s));
        } else {
            held.push(s);
        }
    }
}
