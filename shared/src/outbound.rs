//! Outbound HTTP to addresses admins chose (webhooks, the issuer's logo on share cards), without
//! letting them reach inside: the host name is resolved here, *every* address it has is checked
//! ([`forbidden_address`]) and the connection goes to a checked address (so a second lookup cannot
//! swap in 127.0.0.1 — no DNS rebinding); `https` certificates are verified for the host name;
//! redirects are never followed (a 3xx is the answer); the whole exchange has a deadline; at most
//! [`KEEP`] bytes of a webhook's answer are read (a GET says how many). Hosts on the local stack's
//! allow-list skip the address check, nothing else.

use crate::domain::webhook::{forbidden_address, AllowedHosts};
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};
use tokio::io::{AsyncRead, AsyncWrite};

/// How much of a response body is read (and kept).
pub const KEEP: usize = 1024;

/// An answer: the status code, the start of the body and how long it took.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header, as sent (a receiver asking to be left alone for a while).
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    /// The whole body came (it ended before the deadline and within what is kept).
    pub complete: bool,
    pub latency: Duration,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboundError {
    /// Refused before anything was sent (the address is not public, the URL cannot be used).
    #[error("not sent: {0}")]
    Refused(String),
    /// Not sent: no connection could be made (DNS, connection, TLS, or the deadline before
    /// any of the request was written). The receiver has certainly not got it.
    #[error("not sent: {0}")]
    Unreached(String),
    /// Sent, or being sent, without an HTTP answer (the exchange failed or the deadline came):
    /// the receiver may have got it.
    #[error("{0}")]
    Failed(String),
}

#[derive(Clone, Default)]
pub struct Outbound {
    allowed: AllowedHosts,
    tls: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
}

impl Outbound {
    pub fn new(allowed: AllowedHosts) -> Self {
        Self {
            allowed,
            tls: Arc::default(),
        }
    }

    pub fn allowed(&self) -> &AllowedHosts {
        &self.allowed
    }

    /// POSTs `body` with `headers` to `url`. The answer's status must come within `deadline`
    /// (else it is a failure); its body is read until then, and what came is kept (at most
    /// [`KEEP`] bytes).
    pub async fn post(
        &self,
        url: &url::Url,
        headers: &[(&str, String)],
        body: String,
        deadline: Duration,
    ) -> Result<Answer, OutboundError> {
        let post = request(hyper::Method::POST, url, headers, body)?;
        self.send(url, post, deadline, KEEP).await
    }

    /// A `GET` or `POST` with `headers`, keeping at most `keep` bytes of the answer (a
    /// provider's answer about 100 messages is longer than a webhook's).
    pub async fn call(
        &self,
        method: &str,
        url: &url::Url,
        headers: &[(&str, String)],
        body: String,
        deadline: Duration,
        keep: usize,
    ) -> Result<Answer, OutboundError> {
        let method = match method {
            "GET" => hyper::Method::GET,
            "POST" => hyper::Method::POST,
            other => return Err(OutboundError::Refused(format!("method {other}"))),
        };
        let req = request(method, url, headers, body)?;
        self.send(url, req, deadline, keep).await
    }

    /// GETs `url` under the same rules, keeping at most `keep` bytes of the body.
    pub async fn get(
        &self,
        url: &url::Url,
        deadline: Duration,
        keep: usize,
    ) -> Result<Answer, OutboundError> {
        let get = request(hyper::Method::GET, url, &[], String::new())?;
        self.send(url, get, deadline, keep).await
    }

    async fn send(
        &self,
        url: &url::Url,
        request: hyper::Request<String>,
        deadline: Duration,
        keep: usize,
    ) -> Result<Answer, OutboundError> {
        let started = Instant::now();
        let until = tokio::time::Instant::now() + deadline;
        let no_answer = || {
            let secs = deadline.as_secs_f32().round();
            OutboundError::Failed(format!("no answer within {secs} s"))
        };
        let unreached = |_: tokio::time::error::Elapsed| {
            let secs = deadline.as_secs_f32().round();
            OutboundError::Unreached(format!("no connection within {secs} s"))
        };
        let addrs = tokio::time::timeout_at(until, self.addresses(url))
            .await
            .map_err(unreached)??;
        let tcp = tokio::time::timeout_at(until, connect(&addrs))
            .await
            .map_err(unreached)??;
        let (head, body, complete) = if url.scheme() == "https" {
            let tls = tokio::time::timeout_at(until, self.tls_connect(url, tcp))
                .await
                .map_err(unreached)??;
            exchange(tls, request, until, keep)
                .await
                .map_err(|e| e.unwrap_or_else(no_answer))?
        } else {
            exchange(tcp, request, until, keep)
                .await
                .map_err(|e| e.unwrap_or_else(no_answer))?
        };
        Ok(Answer {
            status: head.0,
            retry_after: head.1,
            body,
            complete,
            latency: started.elapsed(),
        })
    }

    /// The addresses to connect to: the host's, every one of them checked (and, but for an
    /// allowed host, only `https` on 443: a URL stored under older rules is checked again).
    async fn addresses(&self, url: &url::Url) -> Result<Vec<SocketAddr>, OutboundError> {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(443);
        if !self.allowed.allows(host) && (url.scheme() != "https" || port != 443) {
            return Err(OutboundError::Refused(format!(
                "{}://…:{port} is not https on port 443",
                url.scheme()
            )));
        }
        let addrs: Vec<SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            _ => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| OutboundError::Unreached(format!("could not resolve {host}: {e}")))?
                .collect(),
        };
        if !self.allowed.allows(host) {
            if let Some((addr, why)) = addrs
                .iter()
                .find_map(|a| forbidden_address(a.ip()).map(|why| (a, why)))
            {
                let named = match url.host() {
                    Some(url::Host::Domain(_)) => {
                        format!("{host} resolves to {}, which is", addr.ip())
                    }
                    _ => format!("{} is", addr.ip()),
                };
                return Err(OutboundError::Refused(format!(
                    "{named} {why}; only public addresses are reached"
                )));
            }
        }
        if addrs.is_empty() {
            return Err(OutboundError::Unreached(format!("{host} has no address")));
        }
        Ok(addrs)
    }

    async fn tls_connect(
        &self,
        url: &url::Url,
        tcp: tokio::net::TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, OutboundError> {
        let host = url.host_str().unwrap_or_default();
        let name = rustls::pki_types::ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )
        .map_err(|e| OutboundError::Refused(format!("{host} is not a usable TLS name: {e}")))?;
        let config = self.tls.get_or_init(tls_config).clone();
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| OutboundError::Unreached(format!("TLS with {host} failed: {e}")))
    }
}

/// A connection to the first of the (checked) addresses that takes one.
async fn connect(addrs: &[SocketAddr]) -> Result<tokio::net::TcpStream, OutboundError> {
    let mut last = String::new();
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = format!("could not connect to {addr}: {e}"),
        }
    }
    Err(OutboundError::Unreached(last))
}

/// rustls with aws-lc and the system's roots (`SSL_CERT_FILE`: a receiver may use any public CA).
fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = crate::aws::root_bundle() {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
        roots.add_parsable_certificates(certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("aws-lc supports the default protocol versions"))
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn request(
    method: hyper::Method,
    url: &url::Url,
    headers: &[(&str, String)],
    body: String,
) -> Result<hyper::Request<String>, OutboundError> {
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let json = method == hyper::Method::POST;
    let agent = if json {
        "Accolade-Webhooks/1"
    } else {
        "Accolade/1"
    };
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(target)
        .header("host", host)
        .header("user-agent", agent);
    let typed = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if json && !typed {
        req = req.header("content-type", "application/json");
    }
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.body(body)
        .map_err(|e| OutboundError::Refused(format!("request could not be built: {e}")))
}

/// Stops the connection's task when the exchange ends, however it ends (a dropped `JoinHandle`
/// alone would leave it running).
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What an answer's head says: its status and its `Retry-After`.
type Head = (u16, Option<String>);

/// One request on a fresh connection: the status (by `until`; `Err(None)` when it did not come),
/// at most `keep` bytes of the body, as much as came by `until`, and whether that was all of it.
async fn exchange<S>(
    io: S,
    request: hyper::Request<String>,
    until: tokio::time::Instant,
    keep: usize,
) -> Result<(Head, Vec<u8>, bool), Option<OutboundError>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let failed =
        |e: hyper::Error| Some(OutboundError::Failed(format!("HTTP exchange failed: {e}")));
    let (mut sender, connection) =
        tokio::time::timeout_at(until, http1::handshake(TokioIo::new(io)))
            .await
            .map_err(|_| None)?
            .map_err(failed)?;
    let _driver = AbortOnDrop(tokio::spawn(connection));
    let res = tokio::time::timeout_at(until, sender.send_request(request))
        .await
        .map_err(|_| None)?
        .map_err(failed)?;
    let retry_after = res
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let head = (res.status().as_u16(), retry_after);
    let mut body = res.into_body();
    let mut kept = Vec::new();
    let mut complete = false;
    // The status is the answer: a body that is slow, endless or broken only ends the reading.
    while kept.len() <= keep {
        match tokio::time::timeout_at(until, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    kept.extend_from_slice(&data);
                }
            }
            Ok(None) => {
                complete = kept.len() <= keep;
                break;
            }
            _ => break,
        }
    }
    kept.truncate(keep);
    Ok((head, kept, complete))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn local() -> Outbound {
        Outbound::new(AllowedHosts::parse("localhost"))
    }

    async fn listener() -> (tokio::net::TcpListener, u16) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    }

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    async fn post(o: &Outbound, to: &str, secs: u64) -> Result<Answer, OutboundError> {
        o.post(&url(to), &[], "{}".into(), Duration::from_secs(secs))
            .await
    }

    #[tokio::test]
    async fn a_certificate_no_root_trusts_is_refused() {
        use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
        let certs =
            vec![CertificateDer::from_pem_slice(include_bytes!("testdata/localhost.crt")).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("testdata/localhost.key")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (l, port) = listener().await;
        tokio::spawn(async move {
            while let Ok((tcp, _)) = l.accept().await {
                let _ = acceptor.accept(tcp).await;
            }
        });
        let e = post(&local(), &format!("https://localhost:{port}/h"), 5)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("TLS with localhost failed"), "{e}");
        said_in_korean(&e);
        assert!(
            matches!(e, OutboundError::Unreached(_)),
            "nothing was sent: {e}"
        );
    }

    /// Told apart for those who must not send twice (KakaoTalk): a port nobody listens on is
    /// "not sent"; a receiver that took the request and never answered may have got it.
    #[tokio::test]
    async fn an_unreachable_receiver_is_unreached_and_a_silent_one_failed() {
        let (l, port) = listener().await;
        drop(l);
        let e = post(&local(), &format!("http://localhost:{port}/h"), 5)
            .await
            .unwrap_err();
        assert!(matches!(e, OutboundError::Unreached(_)), "{e}");
        said_in_korean(&e);
        let port = silent_receiver().await;
        let e = post(&local(), &format!("http://localhost:{port}/h"), 1)
            .await
            .unwrap_err();
        assert!(matches!(e, OutboundError::Failed(_)), "{e}");
        said_in_korean(&e);
    }

    /// The console and the switch-off notice say each failure in Korean by its words.
    fn said_in_korean(e: &OutboundError) {
        let ko = crate::domain::webhook::failure_ko(&e.to_string());
        assert!(
            ko.ends_with(&format!("({e})")) && !ko.starts_with("보내지 않았습니다"),
            "{ko}"
        );
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_before_connecting() {
        let e = post(&Outbound::default(), "https://localhost/h", 5)
            .await
            .unwrap_err();
        assert!(matches!(e, OutboundError::Refused(_)), "{e}");
        said_in_korean(&e);
        assert!(
            e.to_string().contains("resolves to") && e.to_string().contains("loopback"),
            "{e}"
        );
    }

    /// A receiver that takes connections and never answers: its port.
    async fn silent_receiver() -> u16 {
        let (l, port) = listener().await;
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = l.accept().await {
                held.push(tcp);
            }
        });
        port
    }

    #[tokio::test]
    async fn a_receiver_that_never_answers_is_a_failure_at_the_deadline() {
        let port = silent_receiver().await;
        let e = post(&local(), &format!("http://localhost:{port}/h"), 1)
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "no answer within 1 s");
    }

    #[tokio::test]
    async fn the_status_counts_and_at_most_a_kilobyte_of_an_endless_body_is_read() {
        let (l, port) = listener().await;
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n";
                let _ = tcp.write_all(head.as_bytes()).await;
                let _ = tcp.write_all(&[b'x'; 3000]).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
        });
        let a = post(&local(), &format!("http://localhost:{port}/h"), 2)
            .await
            .unwrap();
        assert_eq!((a.status, a.body.len(), a.complete), (200, KEEP, false));
    }

    #[tokio::test]
    async fn a_get_keeps_what_it_asks_for_and_says_whether_that_was_all() {
        let (l, port) = listener().await;
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let n = tcp.read(&mut buf).await.unwrap_or(0);
                let short = String::from_utf8_lossy(&buf[..n]).starts_with("GET /short ");
                let (len, sent) = if short { (10, 10) } else { (5000, 3000) };
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
                let _ = tcp.write_all(head.as_bytes()).await;
                let _ = tcp.write_all(&vec![b'x'; sent]).await;
                if !short {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        });
        let get = |path: &'static str| {
            let o = local();
            async move {
                let u = url(&format!("http://localhost:{port}{path}"));
                o.get(&u, Duration::from_secs(2), 4000).await.unwrap()
            }
        };
        let a = get("/short").await;
        assert_eq!((a.status, a.body.len(), a.complete), (200, 10, true));
        let a = get("/cut").await;
        assert_eq!(
            (a.body.len(), a.complete),
            (3000, false),
            "cut at the deadline"
        );
    }
}
