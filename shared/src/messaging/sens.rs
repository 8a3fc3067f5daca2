//! NAVER Cloud SENS (Simple & Easy Notification Service), from its API documentation:
//! - every request is signed: `x-ncp-apigw-signature-v2` = base64 HMAC-SHA256, keyed with the
//!   secret key, of `{METHOD} {path?query}\n{timestamp ms}\n{access key}`, with the same timestamp
//!   in `x-ncp-apigw-timestamp` (the gateway refuses one 5 minutes or more off) and the access key
//!   in `x-ncp-iam-access-key`;
//! - AlimTalk: `POST /alimtalk/v2/services/{serviceId}/messages`, `plusFriendId`, `templateCode`,
//!   up to 100 `messages` (`to`, `content`, `buttons`, `useSmsFailover`, `failoverConfig`);
//! - SMS: `POST /sms/v2/services/{serviceId}/messages`, `type` SMS/LMS, `contentType` `AD` for
//!   advertising, `from` (a registered number), up to 100 `messages` (`to`, `subject`, `content`);
//! - both answer 202 with a `requestId` (AlimTalk also a `messageId` per message); 401 for a bad
//!   signature, 429 when throttled.

use super::{
    Accepted, Account, AlimTalk, Channel, Delivery, Listed, Provider, ProviderError, Request, Sms,
};
use crate::domain::kakao::euc_kr_len;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub struct Sens;

/// The production API.
pub const BASE_URL: &str = "https://sens.apigw.ntruss.com";

/// The signature of a request: base64 HMAC-SHA256 of `{method} {uri}\n{timestamp}\n{access key}`.
pub fn signature(
    secret: &str,
    method: &str,
    uri: &str,
    timestamp: i64,
    access_key: &str,
) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("{method} {uri}\n{timestamp}\n{access_key}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn signed(a: &Account<'_>, uri: String, body: Value, now_ms: i64) -> Request {
    signed_as("POST", a, uri, body.to_string(), now_ms)
}

fn signed_as(
    method: &'static str,
    a: &Account<'_>,
    uri: String,
    body: String,
    now_ms: i64,
) -> Request {
    let c = a.credentials;
    Request {
        method,
        url: format!("{}{uri}", a.base_url.trim_end_matches('/')),
        headers: vec![
            ("content-type", "application/json; charset=utf-8".into()),
            ("x-ncp-apigw-timestamp", now_ms.to_string()),
            ("x-ncp-iam-access-key", c.access_key.clone()),
            (
                "x-ncp-apigw-signature-v2",
                signature(&c.secret_key, method, &uri, now_ms, &c.access_key),
            ),
        ],
        body,
    }
}

/// Reads an error answer (or nothing) as SENS words it: the API gateway's `error` object, or
/// the service's own `errorMessage` / `statusMessage` / `statusName`.
fn refusal(status: u16, v: &Value) -> ProviderError {
    let e = &v["error"];
    let text = e["message"]
        .as_str()
        .or(v["errorMessage"].as_str())
        .or(v["statusMessage"].as_str())
        .or(v["statusName"].as_str())
        .unwrap_or("no readable answer");
    // The gateway's table types `errorCode` as an integer; examples show strings.
    let code = match &e["errorCode"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let said = format!("HTTP {status}: {code} {text}");
    match status {
        // Throttled, or not taken: the gateway answered before the service had it. And the
        // issuer's keys refused (wrong, rotated, or the project without the channel): nothing
        // was taken, and once an admin fixes the settings the same messages go.
        401 | 403 | 429 | 503 => ProviderError::Retry(said),
        // A 500 or 504 (Endpoint Timeout) may come after the service took the messages.
        500..=599 => ProviderError::Unknown(said),
        400 => ProviderError::Invalid(said),
        _ => ProviderError::Refused(said),
    }
}

/// One message of a result list: AlimTalk's `messageStatusName` (`success`, `processing`,
/// `fail`; a failed one with `useSmsFailover` went as SMS), or SMS's `status` (`READY`,
/// `PROCESSING`, `COMPLETED`) with `statusName` (`success`, `fail`).
fn delivery(channel: Channel, m: &Value) -> Delivery {
    let why = || {
        m["messageStatusDesc"]
            .as_str()
            .or(m["statusMessage"].as_str())
            .unwrap_or("failed")
            .to_owned()
    };
    match channel {
        Channel::AlimTalk => match m["messageStatusName"].as_str() {
            Some("success") => Delivery::Delivered,
            Some("fail") if m["useSmsFailover"] == true => Delivery::FellBack,
            Some("fail") => Delivery::Failed(why()),
            _ => Delivery::Pending,
        },
        Channel::Sms => match (m["status"].as_str(), m["statusName"].as_str()) {
            (Some("COMPLETED"), Some("success")) => Delivery::Delivered,
            (Some("COMPLETED"), _) => Delivery::Failed(why()),
            _ => Delivery::Pending,
        },
    }
}

impl Provider for Sens {
    fn alimtalk(&self, a: &Account<'_>, messages: &[AlimTalk], now_ms: i64) -> Request {
        let s = a.settings;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| {
                // A subject only for LMS: SENS documents none for SMS.
                let mut failover =
                    json!({"type": "SMS", "from": s.sms_sender, "content": m.fallback});
                if euc_kr_len(&m.fallback) > 90 {
                    failover["type"] = json!("LMS");
                    failover["subject"] = json!(m.fallback_subject);
                }
                json!({
                    "countryCode": "82",
                    "to": m.to.national(),
                    "content": m.content,
                    "buttons": [{
                        "type": "WL",
                        "name": m.button.0,
                        "linkMobile": m.button.1,
                        "linkPc": m.button.1,
                    }],
                    "useSmsFailover": true,
                    "failoverConfig": failover,
                })
            })
            .collect();
        let body = json!({
            "plusFriendId": s.channel_id,
            "templateCode": s.day1_template_code,
            "messages": messages,
        });
        let uri = format!("/alimtalk/v2/services/{}/messages", s.alimtalk_service_id);
        signed(a, uri, body, now_ms)
    }

    fn promotions(&self, a: &Account<'_>, messages: &[Sms], now_ms: i64) -> Request {
        let s = a.settings;
        // One type for the request: LMS when any message is over an SMS's 90 bytes; subjects
        // only then (SENS documents none for SMS).
        let long = messages.iter().any(|m| euc_kr_len(&m.content) > 90);
        let subject = |m: &Sms| long.then(|| m.subject.clone());
        let mut body = json!({
            "type": if long { "LMS" } else { "SMS" },
            "contentType": "AD",
            "countryCode": "82",
            "from": s.sms_sender,
            "content": messages.first().map(|m| m.content.as_str()).unwrap_or_default(),
            "messages": messages.iter().map(|m| {
                let mut one = json!({"to": m.to.national(), "content": m.content});
                if let Some(s) = subject(m) {
                    one["subject"] = json!(s);
                }
                one
            }).collect::<Vec<_>>(),
        });
        if let Some(s) = messages.first().and_then(subject) {
            body["subject"] = json!(s);
        }
        let uri = format!("/sms/v2/services/{}/messages", s.sms_service_id);
        signed(a, uri, body, now_ms)
    }

    fn results(&self, a: &Account<'_>, channel: Channel, request_id: &str, now_ms: i64) -> Request {
        let s = a.settings;
        let id = crate::urls::encode(request_id);
        let uri = match channel {
            Channel::AlimTalk => format!(
                "/alimtalk/v2/services/{}/messages?requestId={id}&pageSize=100",
                s.alimtalk_service_id
            ),
            Channel::Sms => format!(
                "/sms/v2/services/{}/messages?requestId={id}&pageSize=100",
                s.sms_service_id
            ),
        };
        signed_as("GET", a, uri, String::new(), now_ms)
    }

    /// SENS's request list: AlimTalk's items say what became of each message; an SMS
    /// request's list names its messages (`messageId`, `to`) and says nothing more — each is
    /// asked for at `…/messages/{messageId}`.
    fn deliveries(
        &self,
        channel: Channel,
        status: u16,
        body: &[u8],
    ) -> Result<Listed, ProviderError> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(refusal(status, &v));
        }
        let mut listed = Listed::default();
        for m in v["messages"].as_array().into_iter().flatten() {
            let Some(to) = m["to"].as_str().map(national) else {
                continue;
            };
            let said = channel == Channel::AlimTalk || m["status"].is_string();
            match m["messageId"].as_str() {
                Some(id) if !said => listed.ask.push((to, id.to_owned())),
                _ => listed.known.push((to, delivery(channel, m))),
            }
        }
        Ok(listed)
    }

    fn result(&self, a: &Account<'_>, channel: Channel, message_id: &str, now_ms: i64) -> Request {
        let s = a.settings;
        let id = crate::urls::encode(message_id);
        let uri = match channel {
            Channel::AlimTalk => format!(
                "/alimtalk/v2/services/{}/messages/{id}",
                s.alimtalk_service_id
            ),
            Channel::Sms => format!("/sms/v2/services/{}/messages/{id}", s.sms_service_id),
        };
        signed_as("GET", a, uri, String::new(), now_ms)
    }

    /// `GET …/messages/{messageId}`: its one message, as a list item.
    fn delivery(
        &self,
        channel: Channel,
        status: u16,
        body: &[u8],
    ) -> Result<Delivery, ProviderError> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(refusal(status, &v));
        }
        Ok(v["messages"]
            .as_array()
            .and_then(|m| m.first())
            .map_or(Delivery::Pending, |m| delivery(channel, m)))
    }

    fn accepted(
        &self,
        status: u16,
        body: &[u8],
        sent: &[String],
    ) -> Result<Accepted, ProviderError> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(refusal(status, &v));
        }
        // Any 2xx took the request, even one without a readable body.
        let request_id = v["requestId"]
            .as_str()
            .unwrap_or("(no requestId)")
            .to_owned();
        let listed = v["messages"].as_array().cloned().unwrap_or_default();
        // SENS does not promise its answer lists the messages in the order sent: each is found
        // by its number (`to`); one it does not name takes the next item that names none, and
        // in an answer that names none, its place.
        let by_number = |to: &str| {
            listed.iter().find(|m| {
                m["to"]
                    .as_str()
                    .is_some_and(|n| national(n) == national(to))
            })
        };
        let named = listed.iter().any(|m| m["to"].is_string());
        let mut unnamed = listed.iter().filter(|m| !m["to"].is_string());
        let messages = sent
            .iter()
            .enumerate()
            .map(|(i, to)| match named {
                true => message(by_number(to).or_else(|| unnamed.next())),
                false => message(listed.get(i)),
            })
            .collect();
        Ok(Accepted {
            request_id,
            messages,
        })
    }
}

/// A phone number's digits (`010-1234-5678` and `01012345678` alike).
fn digits(n: &str) -> String {
    n.chars().filter(char::is_ascii_digit).collect()
}

/// A number as SENS may write it back, national: digits only, `+82 10…` as `010…`.
fn national(n: &str) -> String {
    let d = digits(n);
    match d.strip_prefix("82") {
        Some(rest) if !d.starts_with('0') => format!("0{rest}"),
        _ => d,
    }
}

/// One message of an AlimTalk answer: taken (`requestStatusCode` `A000`, or none given), with
/// its id; or refused alone, with SENS's reason.
fn message(m: Option<&Value>) -> Result<Option<String>, String> {
    let Some(m) = m else {
        return Ok(None);
    };
    match m["requestStatusCode"].as_str() {
        None | Some("A000") => Ok(m["messageId"].as_str().map(str::to_owned)),
        Some(code) => Err(format!(
            "refused by the provider: {code} {}",
            m["requestStatusDesc"].as_str().unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_what_sens_said_and_keys_trouble_waits() {
        let said = |status, v: Value| refusal(status, &v);
        let bad_template =
            json!({"status": 400, "errorMessage": "템플릿 내용이 일치하지 않습니다"});
        match said(400, bad_template) {
            ProviderError::Invalid(why) => assert!(why.contains("템플릿 내용이"), "{why}"),
            other => panic!("{other:?}"),
        }
        let gateway = json!({"error": {"errorCode": "200", "message": "Authentication Failed"}});
        match said(401, gateway) {
            ProviderError::Retry(why) => assert!(why.contains("Authentication Failed"), "{why}"),
            other => panic!("keys trouble waits: {other:?}"),
        }
        assert!(matches!(said(403, json!({})), ProviderError::Retry(_)));
        assert!(matches!(said(429, json!({})), ProviderError::Retry(_)));
        assert!(matches!(said(504, json!({})), ProviderError::Unknown(_)));
    }

    #[test]
    fn the_documented_signature() {
        // The string signed is `POST /sms/v2/services/ncp:sms:kr:1:x/messages\n1700000000000\nAK`;
        // its HMAC-SHA256 under `SK`, base64 (computed with `openssl dgst -sha256 -hmac SK -binary
        // | base64`, as NAVER's own sample does).
        let s = signature(
            "SK",
            "POST",
            "/sms/v2/services/ncp:sms:kr:1:x/messages",
            1_700_000_000_000,
            "AK",
        );
        assert_eq!(s, "dKgGHQobjUCZBXlJ4nTqENGwf2erRQxmAUU5NqBv0JU=");
        assert_ne!(
            s,
            signature(
                "SK2",
                "POST",
                "/sms/v2/services/ncp:sms:kr:1:x/messages",
                1_700_000_000_000,
                "AK"
            )
        );
    }

    #[test]
    fn answers() {
        let two = ["01011112222".to_owned(), "01033334444".to_owned()];
        let ok = br#"{"requestId":"R1","statusCode":"202","messages":[{"messageId":"M1"},{"messageId":"M2"}]}"#;
        let a = Sens.accepted(202, ok, &two).unwrap();
        assert_eq!(a.request_id, "R1");
        assert_eq!(
            a.messages,
            vec![Ok(Some("M1".into())), Ok(Some("M2".into()))]
        );
        let one_refused = br#"{"requestId":"R2","messages":[{"messageId":"M1","requestStatusCode":"A000"},{"requestStatusCode":"E104","requestStatusDesc":"invalid number"}]}"#;
        let a = Sens.accepted(202, one_refused, &two).unwrap();
        assert!(matches!(&a.messages[1], Err(why) if why.contains("E104")));
        // Listed in another order than sent: each is its number's.
        let reordered = br#"{"requestId":"R3","messages":[{"to":"010-3333-4444","requestStatusCode":"E104","requestStatusDesc":"invalid number"},{"to":"01011112222","messageId":"M1","requestStatusCode":"A000"}]}"#;
        let a = Sens.accepted(202, reordered, &two).unwrap();
        assert_eq!(a.messages[0], Ok(Some("M1".into())));
        assert!(matches!(&a.messages[1], Err(why) if why.contains("E104")));
        // Written back internationally, or one item without its number.
        let partly = br#"{"messages":[{"requestStatusCode":"E104","requestStatusDesc":"invalid number"},{"to":"821011112222","messageId":"M1"}]}"#;
        let a = Sens.accepted(202, partly, &two).unwrap();
        assert_eq!(a.messages[0], Ok(Some("M1".into())));
        assert!(matches!(&a.messages[1], Err(why) if why.contains("E104")));
        assert!(
            Sens.accepted(202, b"", &two[..1]).unwrap().messages[0].is_ok(),
            "a 2xx took it"
        );
        assert!(matches!(
            Sens.accepted(504, b"{}", &two),
            Err(ProviderError::Unknown(_))
        ));
        assert!(matches!(
            Sens.accepted(503, b"{}", &two),
            Err(ProviderError::Retry(_))
        ));
        let list = br#"{"messages":[{"to":"01011112222","messageStatusName":"success"},{"to":"01033334444","messageStatusName":"fail","useSmsFailover":true},{"to":"01055556666","messageStatusName":"fail","messageStatusDesc":"blocked"},{"to":"01077778888","messageStatusName":"processing"}]}"#;
        let d = Sens.deliveries(Channel::AlimTalk, 200, list).unwrap().known;
        assert_eq!(
            d.iter().map(|(_, x)| x.word()).collect::<Vec<_>>(),
            vec![
                Some("delivered"),
                Some("fallback_sms"),
                Some("failed"),
                None
            ]
        );
        let sms = br#"{"messages":[{"to":"01011112222","status":"COMPLETED","statusName":"success"},{"to":"01033334444","status":"READY"}]}"#;
        let d = Sens.deliveries(Channel::Sms, 200, sms).unwrap().known;
        assert_eq!(d[0].1, Delivery::Delivered);
        assert_eq!(d[1].1, Delivery::Pending);
        // SENS's SMS request list names the messages only: each is asked for by its id.
        let ids = br#"{"requestId":"R","statusCode":"202","messages":[{"messageId":"M-1","to":"01011112222","from":"0212345678"}]}"#;
        let l = Sens.deliveries(Channel::Sms, 200, ids).unwrap();
        assert_eq!(l.ask, vec![("01011112222".to_owned(), "M-1".to_owned())]);
        assert!(l.known.is_empty());
        let one = br#"{"statusCode":"202","messages":[{"to":"01011112222","status":"COMPLETED","statusCode":"3015","statusName":"fail","statusMessage":"no such number"}]}"#;
        assert_eq!(
            Sens.delivery(Channel::Sms, 200, one).unwrap(),
            Delivery::Failed("no such number".into())
        );
        assert_eq!(
            Sens.delivery(Channel::Sms, 200, b"{}").unwrap(),
            Delivery::Pending
        );
        let denied = br#"{"error":{"errorCode":"200","message":"Authentication Failed"}}"#;
        let numeric = br#"{"error":{"errorCode":210,"message":"Permission Denied"}}"#;
        assert!(
            matches!(Sens.accepted(401, numeric, &two), Err(ProviderError::Retry(m)) if m.contains("210 Permission Denied"))
        );
        assert!(
            matches!(Sens.accepted(401, denied, &two), Err(ProviderError::Retry(m)) if m.contains("Authentication Failed"))
        );
        assert!(matches!(
            Sens.accepted(429, b"{}", &two),
            Err(ProviderError::Retry(_))
        ));
    }
}
