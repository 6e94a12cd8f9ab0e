// Blocking HTTPS/1.1 on rustls for the agent's rustls tests (test/e2e/https-requests):
//   rustls-tls <host:port> <path>...                     a client (VECTORED=1: each request
//                                                        written with write_vectored, in two pieces)
//   rustls-tls serve <host:port> <cert.der> <key.der>    a server: 200 for /, 500 for /fail, 404 else
// One keep-alive connection; each path is requested in turn and every response read whole
// (Content-Length bodies). Prints "<status> <path>" per response. The server's certificate is
// not verified: the test's nginx uses a throwaway self-signed one.
use std::io::{IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::SystemTime;

struct AcceptAny;

impl rustls::client::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::Certificate,
        _intermediates: &[rustls::Certificate],
        _server_name: &rustls::ServerName,
        _scts: &mut dyn Iterator<Item = &[u8]>,
        _ocsp: &[u8],
        _now: SystemTime,
    ) -> Result<rustls::client::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::ServerCertVerified::assertion())
    }
}

/// Serves each connection on its own thread until the client closes it.
fn serve(addr: &str, cert: &str, key: &str) {
    let cert = rustls::Certificate(std::fs::read(cert).expect("certificate (DER)"));
    let key = rustls::PrivateKey(std::fs::read(key).expect("private key (DER, PKCS#8)"));
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_safe_defaults()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server certificate"),
    );
    let listener = std::net::TcpListener::bind(addr).expect("listen");
    println!("listening on {}", addr);
    for sock in listener.incoming().flatten() {
        let config = config.clone();
        std::thread::spawn(move || {
            let conn = rustls::ServerConnection::new(config).expect("TLS server");
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut pending = Vec::new();
            let mut chunk = [0u8; 16384];
            loop {
                let end = match pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    Some(i) => i + 4,
                    None => match tls.read(&mut chunk) {
                        Ok(n) if n > 0 => {
                            pending.extend_from_slice(&chunk[..n]);
                            continue;
                        }
                        _ => return,
                    },
                };
                let head = String::from_utf8_lossy(&pending[..end]).to_string();
                pending.drain(..end);
                let path = head.split(' ').nth(1).unwrap_or("");
                let (status, body) = match path {
                    "/" => ("200 OK", "ok\n"),
                    "/fail" => ("500 Internal Server Error", "boom\n"),
                    _ => ("404 Not Found", "missing\n"),
                };
                let response = format!("HTTP/1.1 {}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{}", status, body.len(), body);
                if tls.write_all(response.as_bytes()).and_then(|_| tls.flush()).is_err() {
                    return;
                }
            }
        });
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body and returns its status code. Reads go
/// into a 16 KiB buffer, as HTTP clients read; `pending` keeps bytes past this response.
fn read_response<R: Read>(r: &mut R, pending: &mut Vec<u8>) -> std::io::Result<u16> {
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed mid-response"));
        }
        pending.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&pending[..head_end]).to_string();
    let status: u16 = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = text
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while pending.len() < head_end + length {
        let n = r.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed mid-body"));
        }
        pending.extend_from_slice(&chunk[..n]);
    }
    pending.drain(..head_end + length);
    Ok(status)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 && args[1] == "serve" {
        serve(&args[2], &args[3], &args[4]);
        return;
    }
    if args.len() < 3 {
        eprintln!("usage: rustls-tls <host:port> <path>...");
        std::process::exit(2);
    }
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_custom_certificate_verifier(Arc::new(AcceptAny))
        .with_no_client_auth();
    let name = rustls::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
    let mut sock = TcpStream::connect(&args[1]).expect("connect");
    // Stream, not StreamOwned: only Stream passes write_vectored on to rustls whole.
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    // Host names the server as curl does for port 443: the address without its port.
    let host = args[1].strip_suffix(":443").unwrap_or(&args[1]);
    let vectored = std::env::var("VECTORED").map(|v| v == "1").unwrap_or(false);
    let mut pending = Vec::new();
    for path in &args[2..] {
        let req = format!("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rustls-tls\r\n\r\n", path, host);
        if vectored {
            // Request line, then the headers: one write_vectored call, as hyper writes.
            let (line, headers) = req.split_at(req.find("\r\n").unwrap() + 2);
            let n = tls.write_vectored(&[IoSlice::new(line.as_bytes()), IoSlice::new(headers.as_bytes())]).expect("write_vectored");
            assert_eq!(n, req.len(), "rustls takes a whole request in one call");
        } else {
            tls.write_all(req.as_bytes()).expect("write");
        }
        tls.flush().expect("flush");
        let status = read_response(&mut tls, &mut pending).expect("read");
        println!("{} {}", status, path);
    }
}
