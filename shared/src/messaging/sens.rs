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

use super::{Accepted, Account, AlimTalk, Provider, ProviderError, Request, Sms};
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
    let c = a.credentials;
    Request {
        method: "POST",
        url: format!("{}{uri}", a.base_url.trim_end_matches('/')),
        headers: vec![
            ("content-type", "application/json; charset=utf-8".into()),
            ("x-ncp-apigw-timestamp", now_ms.to_string()),
            ("x-ncp-iam-access-key", c.access_key.clone()),
            (
                "x-ncp-apigw-signature-v2",
                signature(&c.secret_key, "POST", &uri, now_ms, &c.access_key),
            ),
        ],
        body: body.to_string(),
    }
}

impl Provider for Sens {
    fn alimtalk(&self, a: &Account<'_>, messages: &[AlimTalk], now_ms: i64) -> Request {
        let s = a.settings;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| {
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
                    "failoverConfig": {
                        "type": if euc_kr_len(&m.fallback) > 90 { "LMS" } else { "SMS" },
                        "from": s.sms_sender,
                        "subject": m.fallback_subject,
                        "content": m.fallback,
                    },
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
        let long = messages.iter().any(|m| euc_kr_len(&m.content) > 90);
        let body = json!({
            "type": if long { "LMS" } else { "SMS" },
            "contentType": "AD",
            "countryCode": "82",
            "from": s.sms_sender,
            "subject": messages.first().map(|m| m.subject.as_str()).unwrap_or_default(),
            "content": messages.first().map(|m| m.content.as_str()).unwrap_or_default(),
            "messages": messages.iter().map(|m| json!({
                "to": m.to.national(),
                "subject": m.subject,
                "content": m.content,
            })).collect::<Vec<_>>(),
        });
        let uri = format!("/sms/v2/services/{}/messages", s.sms_service_id);
        signed(a, uri, body, now_ms)
    }

    fn accepted(&self, status: u16, body: &[u8], n: usize) -> Result<Accepted, ProviderError> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let said = || {
            let e = &v["error"];
            let text = e["message"]
                .as_str()
                .or(v["statusName"].as_str())
                .unwrap_or("no readable answer");
            format!(
                "HTTP {status}: {} {text}",
                e["errorCode"].as_str().unwrap_or_default()
            )
        };
        match status {
            202 | 200 => {}
            429 | 500..=599 => return Err(ProviderError::Retry(said())),
            _ => return Err(ProviderError::Refused(said())),
        }
        let request_id = v["requestId"]
            .as_str()
            .ok_or_else(|| ProviderError::Retry(format!("HTTP {status} without a requestId")))?
            .to_owned();
        let ids = v["messages"].as_array().cloned().unwrap_or_default();
        let message_ids = (0..n)
            .map(|i| {
                ids.get(i)
                    .and_then(|m| m["messageId"].as_str())
                    .map(str::to_owned)
            })
            .collect();
        Ok(Accepted {
            request_id,
            message_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ok = br#"{"requestId":"R1","statusCode":"202","messages":[{"messageId":"M1"},{"messageId":"M2"}]}"#;
        let a = Sens.accepted(202, ok, 2).unwrap();
        assert_eq!(a.request_id, "R1");
        assert_eq!(a.message_ids, vec![Some("M1".into()), Some("M2".into())]);
        let denied = br#"{"error":{"errorCode":"200","message":"Authentication Failed"}}"#;
        assert!(
            matches!(Sens.accepted(401, denied, 1), Err(ProviderError::Refused(m)) if m.contains("Authentication Failed"))
        );
        assert!(matches!(
            Sens.accepted(429, b"{}", 1),
            Err(ProviderError::Retry(_))
        ));
    }
}
