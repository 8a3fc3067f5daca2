//! The local server's own pages: `/_local/outbox`, every email the emulator's SES accepted, newest
//! first, with its headers, plain-text part, and HTML part rendered in a sandboxed frame; and
//! `/_local/failures`, what reached the on-failure destinations (events Lambda gave up on).

use accolade::email::mime;
use maud::{html, DOCTYPE};

/// One received message.
pub struct Received {
    pub source: String,
    pub destinations: Vec<String>,
    pub parsed: mime::Parsed,
}

/// Reads moto's SES state (`/moto-api/data.json?service=ses`, see infra/scripts/moto_server.py).
pub async fn fetch(endpoint: &str) -> Result<Vec<Received>, String> {
    let body = crate::moto::request(endpoint, "GET", "/moto-api/data.json?service=ses", "").await?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("unexpected answer: {e}"))?;
    let mut out: Vec<Received> = v["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| Received {
            source: m["source"].as_str().unwrap_or_default().to_owned(),
            destinations: m["destinations"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            parsed: mime::parse(m["raw_data"].as_str().unwrap_or_default()),
        })
        .collect();
    out.reverse();
    Ok(out)
}

pub fn render(mails: &[Received]) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Outbox (local)" }
                style { "body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:1000px;color:#1b1b1f}article{border:1px solid #d4d4d8;border-radius:10px;margin:1rem 0;padding:1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;font-size:.9rem}dt{color:#52525b}pre{white-space:pre-wrap;background:#f5f6f8;padding:.75rem;border-radius:8px}iframe{width:100%;height:640px;border:1px solid #d4d4d8;border-radius:8px}" }
            }
            body {
                h1 { "Outbox — " (mails.len()) " emails received by the local SES" }
                p { "Newest first. Nothing here leaves this machine." }
                @for m in mails {
                    article {
                        h2 { (m.parsed.header("Subject").unwrap_or("(no subject)")) }
                        dl {
                            dt { "Envelope" } dd { (m.source) " → " (m.destinations.join(", ")) }
                            @for (k, v) in &m.parsed.headers {
                                @if k != "Content-Type" && k != "MIME-Version" { dt { (k) } dd { (v) } }
                            }
                        }
                        details { summary { "Plain text" } pre { (m.parsed.text) } }
                        iframe sandbox="" title="HTML part" srcdoc=(m.parsed.html) {}
                    }
                }
            }
        }
    }
    .into_string()
}

/// `/_local/outbox` and `/_local/failures`, to sit beside the local API Gateway.
pub fn routes(endpoint: String, lambda: crate::lambda::LocalLambda) -> axum::Router {
    use axum::response::IntoResponse;
    let outbox = axum::routing::get(move || {
        let endpoint = endpoint.clone();
        async move {
            match fetch(&endpoint).await {
                Ok(mails) => axum::response::Html(render(&mails)).into_response(),
                Err(err) => (axum::http::StatusCode::BAD_GATEWAY, err).into_response(),
            }
        }
    });
    let failures = axum::routing::get(move || {
        let lambda = lambda.clone();
        async move { axum::Json(lambda.failures()) }
    });
    axum::Router::new()
        .route("/_local/outbox", outbox)
        .route("/_local/failures", failures)
}
