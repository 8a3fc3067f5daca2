//! The local server's own pages: `/_local/outbox`, every email the emulator's SES accepted, newest
//! first, with its headers, plain-text part, and HTML part rendered in a sandboxed frame; and
//! `/_local/failures`, what reached the on-failure destinations (events Lambda gave up on); and
//! `/_local/webhooks`, every webhook delivery of the local table with its last attempt.

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

/// Every webhook delivery in the table (the administrator's Scan: local only), newest first.
pub async fn deliveries(
    endpoint: &str,
    table: &str,
) -> Result<Vec<accolade::domain::webhook::Delivery>, String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let ddb = aws_sdk_dynamodb::Client::new(&crate::moto::admin_sdk_config(endpoint));
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .filter_expression("#t = :d")
            .expression_attribute_names("#t", "type")
            .expression_attribute_values(":d", AttributeValue::S("webhook_delivery".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        for item in page.items.unwrap_or_default() {
            if let Ok(d) = serde_dynamo::from_item(item) {
                out.push(d);
            }
        }
        start = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
    out.sort_by_key(|d: &accolade::domain::webhook::Delivery| std::cmp::Reverse(d.created_at));
    Ok(out)
}

pub fn render_deliveries(list: &[accolade::domain::webhook::Delivery]) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Webhooks (local)" }
                style { "body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:1100px;color:#1b1b1f}table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{border-bottom:1px solid #e4e4e7;padding:.4rem;text-align:left;vertical-align:top}pre{white-space:pre-wrap;margin:0}" }
            }
            body {
                h1 { "Webhooks — " (list.len()) " deliveries" }
                p { "Newest first: what the webhooks function sent (or tried to), signed as Standard Webhooks." }
                table {
                    thead { tr { th { "Created" } th { "Event" } th { "Endpoint" } th { "State" } th { "Attempts" } th { "Last answer" } th { "Body" } } }
                    tbody { @for d in list {
                        tr {
                            td { (d.created_at.to_rfc3339()) }
                            td { code { (d.event_type.as_str()) } br; code { (d.id) } }
                            td { code { (d.webhook_id) } }
                            td { (format!("{:?}", d.state)) @if let Some(t) = d.next_attempt_at { br; "next " (t.to_rfc3339()) } }
                            td { (d.attempts) }
                            td { @if let Some(a) = &d.last {
                                @if let Some(c) = a.status_code { "HTTP " (c) " · " (a.latency_ms) " ms" }
                                @if let Some(e) = &a.error { br; (e) }
                                @if !a.response.is_empty() { pre { (a.response) } }
                            } }
                            td { details { summary { "JSON" } pre { (d.body) } } }
                        }
                    } }
                }
            }
        }
    }
    .into_string()
}

/// `/_local/outbox/kakao`: every KakaoTalk/SMS message the provider's stand-in accepted, newest
/// first.
fn render_texts(messages: &[crate::sens::Message]) -> String {
    html! {
        (DOCTYPE)
        html lang="ko" {
            head { meta charset="utf-8"; title { "KakaoTalk / SMS outbox" } }
            body style="font-family:sans-serif;max-width:60rem;margin:2rem auto" {
                h1 { "KakaoTalk / SMS (" (messages.len()) ")" }
                p { a href="/_local/outbox" { "Emails" } }
                @for m in messages.iter().rev() {
                    article style="border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0" {
                        p { strong { (m.kind) } " → " (m.to) " · " (m.at.to_rfc3339()) @if m.advertising { " · AD" } }
                        @if let Some(s) = &m.subject { p { strong { (s) } } }
                        pre style="white-space:pre-wrap" { (m.content) }
                        @if let Some(b) = &m.button { p { "Button: " a href=(b) { (b) } } }
                    }
                }
            }
        }
    }
    .into_string()
}

/// `/_local/outbox`, `/_local/failures` and `/_local/webhooks`, beside the local API Gateway.
pub fn routes(endpoint: String, lambda: crate::lambda::LocalLambda) -> axum::Router {
    use axum::response::IntoResponse;
    let endpoint2 = endpoint.clone();
    let outbox = axum::routing::get(move || {
        let endpoint = endpoint.clone();
        async move {
            match fetch(&endpoint).await {
                Ok(mails) => axum::response::Html(render(&mails)).into_response(),
                Err(err) => (axum::http::StatusCode::BAD_GATEWAY, err).into_response(),
            }
        }
    });
    let table = lambda.stack.names.table.clone();
    let sens = lambda.sens.clone();
    let texts = lambda.sens.clone();
    let failures = axum::routing::get(move || {
        let lambda = lambda.clone();
        async move { axum::Json(lambda.failures()) }
    });
    let webhooks = axum::routing::get(move || {
        let (endpoint, table) = (endpoint2.clone(), table.clone());
        async move {
            match deliveries(&endpoint, &table).await {
                Ok(list) => axum::response::Html(render_deliveries(&list)).into_response(),
                Err(err) => (axum::http::StatusCode::BAD_GATEWAY, err).into_response(),
            }
        }
    });
    let messages = axum::routing::get(move || {
        let texts = texts.clone();
        async move { axum::response::Html(render_texts(&texts.messages())) }
    });
    axum::Router::new()
        .nest("/_local/sens", sens.router())
        .route("/_local/outbox/kakao", messages)
        .route("/_local/outbox", outbox)
        .route("/_local/failures", failures)
        .route("/_local/webhooks", webhooks)
}
