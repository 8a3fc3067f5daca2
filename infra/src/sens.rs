//! A local stand-in for NAVER Cloud SENS (AlimTalk and SMS), served at `/_local/sens` beside the
//! local API Gateway: it checks every request as SENS documents it — the signature
//! (`x-ncp-apigw-signature-v2` over `{METHOD} {path}\n{timestamp}\n{access key}` with the secret
//! key; 401 otherwise), a timestamp within 5 minutes, the service ids, the channel, the registered
//! template (AlimTalk content must be the approved text with only its `#{…}` variables filled),
//! the registered sender number, at most 100 recipients, SMS/LMS sizes in EUC-KR bytes — and, for
//! advertising (`contentType: AD`), `(광고)` first, a free opt-out, and not at night in Korea
//! (the stand-in's clock: the time a test simulates, else now). Messages it accepts are recorded
//! (`/_local/outbox` shows them); a number ending in `0000` has no KakaoTalk, so its AlimTalk
//! goes as the SMS fallback.

use accolade::domain::kakao::{euc_kr_len, is_night, DAY1_BUTTON, DAY1_TEMPLATE};
use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The local account: what `make dev` and the tests configure an issuer with.
pub const ACCESS_KEY: &str = "LOCALACCESSKEY0000001";
pub const SECRET_KEY: &str = "local-sens-secret-key-0000000000000001";
pub const CHANNEL: &str = "@accolade-local";
pub const ALIMTALK_SERVICE: &str = "ncp:kkobizmsg:kr:0000001:accolade-local";
pub const SMS_SERVICE: &str = "ncp:sms:kr:0000001:accolade-local";
pub const TEMPLATE_CODE: &str = "ACCOLADE_DAY1";
pub const SENDER: &str = "0212345678";

/// The stand-in's base URL on the local server (`localhost`: the functions' outbound client
/// lets http reach the local stack's hosts only).
pub fn local_url(public_base_url: &str) -> String {
    format!(
        "{}/_local/sens",
        public_base_url
            .trim_end_matches('/')
            .replace("127.0.0.1", "localhost")
    )
}

/// One message the stand-in accepted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    /// `alimtalk`, `sms` (promotional) or `fallback` (an AlimTalk that went as SMS/LMS).
    pub kind: &'static str,
    pub to: String,
    pub subject: Option<String>,
    pub content: String,
    pub button: Option<String>,
    pub advertising: bool,
    pub request_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    messages: Vec<Message>,
    /// Requests answered, refused ones included: `(path, recipients, status)`.
    requests: Vec<(String, usize, u16)>,
    /// Queries (`GET`) answered, refused ones included: `(path and query, status)`.
    queries: Vec<(String, u16)>,
    /// Answers to give the next queries instead of handling them (status codes).
    query_faults: Vec<u16>,
    clock: Option<DateTime<Utc>>,
    /// Answers to give next instead of handling (status codes), for fault tests.
    faults: Vec<u16>,
    /// Numbers whose message makes SENS refuse the whole request (400), as a message it will
    /// not take does.
    refused: Vec<String>,
    /// Answers are held until this instant has passed (a run's deadline passing mid-request).
    hold: Option<DateTime<Utc>>,
}

#[derive(Clone, Default)]
pub struct StandIn(Arc<Mutex<Inner>>);

impl StandIn {
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }
    pub fn requests(&self) -> Vec<(String, usize, u16)> {
        self.lock().requests.clone()
    }
    /// The result queries answered: `(path and query, status)`.
    pub fn queries(&self) -> Vec<(String, u16)> {
        self.lock().queries.clone()
    }
    /// The next per-message result queries (`…/messages/{messageId}`) are answered with these
    /// statuses (429…) before any check.
    pub fn fail_next_queries(&self, statuses: &[u16]) {
        self.lock().query_faults.extend_from_slice(statuses);
    }
    /// The provider's "now" for the night rule (a test that fires schedules at a time sets it).
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.lock().clock = Some(at);
    }
    /// The next requests are answered with these statuses (429, 500…) before any check.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.lock().faults.extend_from_slice(statuses);
    }
    /// A request with a message to `number` (digits) is refused whole with 400, as SENS
    /// refuses a request for one message it will not take.
    pub fn refuse_requests_to(&self, number: &str) {
        self.lock().refused.push(number.to_owned());
    }
    /// Each answer is held until `at` has passed on the clock, as a slow provider's answer
    /// arrives after a run's deadline; `None` answers at once again.
    pub fn hold_answers_until(&self, at: Option<DateTime<Utc>>) {
        self.lock().hold = at;
    }
    async fn held(&self) {
        let hold = self.lock().hold;
        while hold.is_some_and(|h| Utc::now() <= h) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/alimtalk/v2/services/{service}/messages",
                post(alimtalk).get(results),
            )
            .route(
                "/sms/v2/services/{service}/messages",
                post(sms).get(results),
            )
            .route(
                "/sms/v2/services/{service}/messages/{message}",
                get(sms_result),
            )
            .with_state(self.clone())
    }
}

type Answer = (StatusCode, Json<Value>);

fn error(status: StatusCode, code: &str, message: &str) -> Answer {
    (
        status,
        Json(json!({ "error": { "errorCode": code, "message": message } })),
    )
}

fn bad(message: impl Into<String>) -> Answer {
    let m: String = message.into();
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "status": 400, "errorMessage": m })),
    )
}

/// The path and query as signed (below the stand-in's own prefix).
fn signed_path(uri: &OriginalUri) -> String {
    let pq = uri.0.path_and_query().map_or("", |p| p.as_str());
    pq.trim_start_matches("/_local/sens").to_owned()
}

/// The gateway's checks: the signature over the path as received, and the timestamp.
fn authenticate(headers: &HeaderMap, method: &str, path: &str) -> Result<(), Answer> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let denied = || error(StatusCode::UNAUTHORIZED, "200", "Authentication Failed");
    let ts: i64 = h("x-ncp-apigw-timestamp").parse().map_err(|_| denied())?;
    if (Utc::now().timestamp_millis() - ts).abs() >= 5 * 60 * 1000 {
        return Err(denied());
    }
    if h("x-ncp-iam-access-key") != ACCESS_KEY {
        return Err(denied());
    }
    let expected = accolade::messaging::sens::signature(SECRET_KEY, method, path, ts, ACCESS_KEY);
    if h("x-ncp-apigw-signature-v2") != expected {
        return Err(denied());
    }
    Ok(())
}

/// The common part of both APIs: faults, signature, service id, JSON body, 1–100 messages.
fn admit(
    s: &StandIn,
    headers: &HeaderMap,
    uri: &OriginalUri,
    service: &str,
    body: &str,
) -> Result<(Value, Vec<Value>), Answer> {
    let path = signed_path(uri);
    if let Some(fault) = next_fault(&mut s.lock().faults) {
        return Err(fault);
    }
    authenticate(headers, "POST", &path)?;
    let v: Value = serde_json::from_str(body).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    own_service(&path, service)?;
    let messages = v["messages"].as_array().cloned().unwrap_or_default();
    if messages.is_empty() || messages.len() > 100 {
        return Err(bad(format!(
            "messages: 1 to 100 recipients, not {}",
            messages.len()
        )));
    }
    for m in &messages {
        let to = m["to"].as_str().unwrap_or_default();
        if to.is_empty() || !to.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(format!("messages[].to must be digits only: `{to}`")));
        }
        if s.lock().refused.iter().any(|r| r == to) {
            return Err(bad(format!(
                "messages[].to: `{to}` cannot receive messages"
            )));
        }
    }
    Ok((v, messages))
}

fn log(s: &StandIn, path: &str, n: usize, status: StatusCode) {
    s.lock()
        .requests
        .push((path.to_owned(), n, status.as_u16()));
}

/// A send request, as either API: admitted (signature, service, 1–100 recipients), handled by
/// `handle` (the body and its messages), then logged with its recipients.
type Handler = fn(&StandIn, Value, Vec<Value>) -> Answer;

fn logged(
    handle: Handler,
    s: &StandIn,
    service: &str,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &str,
) -> Answer {
    let answer = match admit(s, headers, uri, service, body) {
        Ok((v, messages)) => handle(s, v, messages),
        Err(refused) => refused,
    };
    let n = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["messages"].as_array().map(Vec::len))
        .unwrap_or(0);
    log(s, uri.0.path(), n, answer.0);
    answer
}

async fn alimtalk(
    State(s): State<StandIn>,
    axum::extract::Path(service): axum::extract::Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    s.held().await;
    logged(handle_alimtalk, &s, &service, &uri, &headers, &body)
}

fn handle_alimtalk(s: &StandIn, v: Value, messages: Vec<Value>) -> Answer {
    if v["plusFriendId"] != CHANNEL {
        return bad("plusFriendId: not a channel of this account");
    }
    if v["templateCode"] != TEMPLATE_CODE {
        return bad("templateCode: no approved template with this code");
    }
    for m in &messages {
        let content = m["content"].as_str().unwrap_or_default();
        if !matches_template(DAY1_TEMPLATE, content) {
            return bad(
                "content differs from the approved template (only #{variables} may change)",
            );
        }
        let b = &m["buttons"][0];
        if m["buttons"].as_array().map(Vec::len) != Some(1)
            || b["type"] != "WL"
            || b["name"] != DAY1_BUTTON
            || !b["linkMobile"]
                .as_str()
                .is_some_and(|l| l.starts_with("http"))
        {
            return bad("buttons differ from the approved template's web-link button");
        }
        let f = &m["failoverConfig"];
        if m["useSmsFailover"] == true
            && (f["from"] != SENDER || f["content"].as_str().is_none_or(|c| euc_kr_len(c) > 2000))
        {
            return bad(
                "failoverConfig: from must be a registered sender, content at most 2,000 bytes",
            );
        }
    }
    let request_id = accolade::domain::ids::random_token();
    let mut answers = Vec::new();
    let mut inner = s.lock();
    for (i, m) in messages.iter().enumerate() {
        let to = m["to"].as_str().unwrap_or_default().to_owned();
        let no_kakao = to.ends_with("0000");
        let failover = no_kakao && m["useSmsFailover"] == true;
        inner.messages.push(Message {
            kind: if failover { "fallback" } else { "alimtalk" },
            subject: failover.then(|| {
                m["failoverConfig"]["subject"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }),
            content: if failover {
                &m["failoverConfig"]["content"]
            } else {
                &m["content"]
            }
            .as_str()
            .unwrap_or_default()
            .to_owned(),
            button: m["buttons"][0]["linkMobile"].as_str().map(str::to_owned),
            to: to.clone(),
            advertising: false,
            request_id: request_id.clone(),
            at: Utc::now(),
        });
        answers.push(json!({
            "messageId": format!("{request_id}-{i}"), "to": to, "countryCode": "82",
            "requestStatusCode": "A000", "requestStatusName": "success",
            "requestStatusDesc": "성공", "useSmsFailover": m["useSmsFailover"],
        }));
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "requestId": request_id, "requestTime": Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
            "statusCode": "202", "statusName": "success", "messages": answers,
        })),
    )
}

/// The first of `faults` (status codes a test asked for), taken, as the gateway's refusal.
fn next_fault(faults: &mut Vec<u16>) -> Option<Answer> {
    if faults.is_empty() {
        return None;
    }
    let st = StatusCode::from_u16(faults.remove(0)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(error(st, "410", "Throttle Limited"))
}

/// The gateway's checks of a query (`GET`): the signature and timestamp, then the path's
/// service id, which must be the API's own (SMS or AlimTalk, by the path). Answers the signed
/// path.
fn admit_get(uri: &OriginalUri, headers: &HeaderMap, service: &str) -> Result<String, Answer> {
    let path = signed_path(uri);
    authenticate(headers, "GET", &path)?;
    own_service(&path, service)?;
    Ok(path)
}

/// The path's service id must be its API's own (SMS or AlimTalk, by the path): 404 otherwise,
/// as SENS answers a service id it does not know.
fn own_service(path: &str, service: &str) -> Result<(), Answer> {
    let ours = if path.starts_with("/sms/") {
        SMS_SERVICE
    } else {
        ALIMTALK_SERVICE
    };
    match service == ours {
        true => Ok(()),
        false => Err(error(StatusCode::NOT_FOUND, "300", "Not Found Exception")),
    }
}

/// `answer`, logged as the answer to query `uri`.
fn queried(s: &StandIn, uri: &OriginalUri, answer: Answer) -> Answer {
    s.lock().queries.push((signed_path(uri), answer.0.as_u16()));
    answer
}

/// `GET …/messages?requestId=`: what became of a request's messages. An AlimTalk to a number
/// without KakaoTalk failed and went as SMS (`useSmsFailover`); everything else was delivered.
async fn results(
    State(s): State<StandIn>,
    axum::extract::Path(service): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let path = match admit_get(&uri, &headers, &service) {
        Ok(path) => path,
        Err(denied) => return queried(&s, &uri, denied),
    };
    let sms = path.starts_with("/sms/");
    let Some(id) = q.get("requestId") else {
        return bad("requestId is required");
    };
    let list: Vec<Value> = s
        .messages()
        .into_iter()
        .filter(|m| &m.request_id == id)
        .enumerate()
        .map(|(i, m)| match (sms, m.kind) {
            // As SENS lists an SMS request: its messages' ids, not what became of them.
            (true, _) => json!({"messageId": format!("{id}-{i}"), "to": m.to, "from": SENDER,
                "countryCode": "82", "contentType": if m.advertising { "AD" } else { "COMM" }}),
            (false, "fallback") => json!({"to": m.to, "messageStatusCode": "3019", "messageStatusName": "fail",
                "messageStatusDesc": "not a KakaoTalk user", "useSmsFailover": true}),
            (false, _) => json!({"to": m.to, "messageStatusCode": "0000", "messageStatusName": "success", "useSmsFailover": true}),
        })
        .collect();
    let list =
        json!({"requestId": id, "statusCode": "202", "statusName": "success", "messages": list});
    queried(&s, &uri, (StatusCode::OK, Json(list)))
}

/// `GET /sms/v2/services/{service}/messages/{messageId}`: what became of one SMS/LMS (a
/// message id is `{requestId}-{its place in the request}`, as the list names it).
async fn sms_result(
    State(s): State<StandIn>,
    axum::extract::Path((service, message)): axum::extract::Path<(String, String)>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let fault = next_fault(&mut s.lock().query_faults);
    if let Some(denied) = fault.map_or_else(|| admit_get(&uri, &headers, &service).err(), Some) {
        return queried(&s, &uri, denied);
    }
    let found = message.rsplit_once('-').and_then(|(request, i)| {
        let i: usize = i.parse().ok()?;
        s.messages()
            .into_iter()
            .filter(|m| m.request_id == request)
            .nth(i)
    });
    let Some(m) = found else {
        return queried(
            &s,
            &uri,
            error(StatusCode::NOT_FOUND, "300", "Not Found Exception"),
        );
    };
    let one = json!({"to": m.to, "from": SENDER, "countryCode": "82", "content": m.content,
        "status": "COMPLETED", "statusCode": "0", "statusName": "success", "statusMessage": "성공"});
    let answer = json!({"statusCode": "202", "statusName": "success", "messages": [one]});
    queried(&s, &uri, (StatusCode::OK, Json(answer)))
}

/// Whether `content` is `template` with each `#{…}` replaced by some one-line text.
pub fn matches_template(template: &str, content: &str) -> bool {
    let mut parts = template.split("#{");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = content.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts
        .map(|p| p.split_once('}').map_or(p, |(_, literal)| literal))
        .collect();
    for (i, literal) in pieces.iter().enumerate() {
        let last = i + 1 == pieces.len();
        let found = if literal.is_empty() && last {
            Some(rest.len())
        } else if last {
            rest.strip_suffix(literal).map(str::len)
        } else {
            rest.find(literal)
        };
        let Some(at) = found.filter(|at| *at > 0 && !rest[..*at].contains('\n')) else {
            return false;
        };
        rest = &rest[at + literal.len()..];
    }
    rest.is_empty()
}

async fn sms(
    State(s): State<StandIn>,
    axum::extract::Path(service): axum::extract::Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    s.held().await;
    logged(handle_sms, &s, &service, &uri, &headers, &body)
}

fn handle_sms(s: &StandIn, v: Value, messages: Vec<Value>) -> Answer {
    if v["from"] != SENDER {
        return bad("from: not a registered sender number");
    }
    let kind = v["type"].as_str().unwrap_or_default();
    let limit = match kind {
        "SMS" => 90,
        "LMS" | "MMS" => 2000,
        _ => return bad("type: SMS, LMS or MMS"),
    };
    let ad = v["contentType"] == "AD";
    let now = s.lock().clock.unwrap_or_else(Utc::now);
    if ad && is_night(now) {
        return bad("advertising between 21:00 and 08:00 (KST) needs separate consent: refused");
    }
    for m in &messages {
        let content = m["content"]
            .as_str()
            .or(v["content"].as_str())
            .unwrap_or_default();
        let subject = m["subject"]
            .as_str()
            .or(v["subject"].as_str())
            .unwrap_or_default();
        if euc_kr_len(content) > limit || euc_kr_len(subject) > 40 {
            return bad(format!(
                "{kind}: content over {limit} bytes or subject over 40 bytes (EUC-KR)"
            ));
        }
        if ad
            && !(content.starts_with("(광고)")
                && (content.contains("무료수신거부") || content.contains("무료거부")))
        {
            return bad(
                "advertising must start with (광고) and give a free opt-out (무료수신거부)",
            );
        }
    }
    let request_id = accolade::domain::ids::random_token();
    let mut inner = s.lock();
    for m in &messages {
        inner.messages.push(Message {
            kind: "sms",
            to: m["to"].as_str().unwrap_or_default().to_owned(),
            subject: m["subject"].as_str().map(str::to_owned),
            content: m["content"]
                .as_str()
                .or(v["content"].as_str())
                .unwrap_or_default()
                .to_owned(),
            button: None,
            advertising: ad,
            request_id: request_id.clone(),
            at: now,
        });
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "requestId": request_id, "requestTime": Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
            "statusCode": "202", "statusName": "success",
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matching() {
        let t = "#{이름}님, #{기관}에서 발급.\n배지: #{배지}";
        assert!(matches_template(
            t,
            "김민수님, 한국대학교에서 발급.\n배지: SQL 기초"
        ));
        assert!(!matches_template(
            t,
            "김민수님, 한국대학교에서 발급했어요.\n배지: SQL"
        ));
        assert!(!matches_template(t, "님, 한국대학교에서 발급.\n배지: SQL"));
        assert!(!matches_template(
            t,
            "김민수님, 한국\n대학교에서 발급.\n배지: SQL"
        ));
        assert!(matches_template(
            DAY1_TEMPLATE,
            &accolade::messaging::text::fill(
                DAY1_TEMPLATE,
                &[
                    ("이름", "A"),
                    ("기관", "B"),
                    ("배지", "C"),
                    ("발급일", "2026년 12월 1일")
                ],
            )
        ));
    }
}
