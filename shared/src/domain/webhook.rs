//! Outbound webhooks, the pure part: event types, the endpoint as an admin registers it
//! ([`WebhookSpec::parse`]), which URLs and addresses may receive them ([`WebhookUrl`],
//! [`forbidden_address`]), the Standard Webhooks signing secret and signature ([`Secret`],
//! [`signature`]), the retry schedule ([`retry_after`]) and the stored endpoint and delivery.
//!
//! Standard Webhooks (standardwebhooks.com): every request carries `webhook-id` (the message id,
//! the same on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature`:
//! space-separated `v1,{base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")}`, one per valid
//! secret. The secret is `whsec_` + base64 of 32 random bytes.

use super::{
    ids::{random_token, IssuerId, WebhookId},
    json::Obj,
    text, FieldError, Invalid,
};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What happened, as a receiver subscribes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "award.issued")]
    AwardIssued,
    #[serde(rename = "award.revoked")]
    AwardRevoked,
    #[serde(rename = "award.reissued")]
    AwardReissued,
    #[serde(rename = "award.expired")]
    AwardExpired,
    #[serde(rename = "award.shared")]
    AwardShared,
    #[serde(rename = "award.viewed")]
    AwardViewed,
    #[serde(rename = "batch.completed")]
    BatchCompleted,
    #[serde(rename = "batch.failed")]
    BatchFailed,
    #[serde(rename = "email.bounced")]
    EmailBounced,
    #[serde(rename = "email.complained")]
    EmailComplained,
    /// `POST /v1/webhooks/{id}/test`: sent to that endpoint only, whatever it subscribes to.
    #[serde(rename = "webhook.test")]
    Test,
}

impl EventType {
    /// Every type an endpoint can subscribe to.
    pub const ALL: [EventType; 10] = [
        Self::AwardIssued,
        Self::AwardRevoked,
        Self::AwardReissued,
        Self::AwardExpired,
        Self::AwardShared,
        Self::AwardViewed,
        Self::BatchCompleted,
        Self::BatchFailed,
        Self::EmailBounced,
        Self::EmailComplained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwardIssued => "award.issued",
            Self::AwardRevoked => "award.revoked",
            Self::AwardReissued => "award.reissued",
            Self::AwardExpired => "award.expired",
            Self::AwardShared => "award.shared",
            Self::AwardViewed => "award.viewed",
            Self::BatchCompleted => "batch.completed",
            Self::BatchFailed => "batch.failed",
            Self::EmailBounced => "email.bounced",
            Self::EmailComplained => "email.complained",
            Self::Test => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Invalid::new(format!(
                    "unknown event type `{s}`; expected one of: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ))
                .ko("알 수 없는 이벤트 종류입니다.")
            })
    }

    /// What an endpoint gets when it names no types: everything but `award.viewed` (one event
    /// per badge opened is more than most receivers want; it is there for those who choose it).
    pub fn defaults() -> Vec<EventType> {
        Self::ALL
            .into_iter()
            .filter(|t| *t != Self::AwardViewed)
            .collect()
    }
}

/// Why an address may not receive webhooks; `None` for a public unicast address. Loopback,
/// private, carrier-grade NAT, link-local (169.254.0.0/16, the instance metadata address among
/// them), unique-local and site-local IPv6, multicast, documentation and reserved ranges; IPv6
/// forms that embed an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let why = match (a, b, c) {
        (0, ..) => "an unspecified address (0.0.0.0/8)",
        (10, ..) => "a private address (10.0.0.0/8)",
        (100, 64..=127, _) => "a carrier-grade NAT address (100.64.0.0/10)",
        (127, ..) => "a loopback address (127.0.0.0/8)",
        (169, 254, _) => "a link-local address (169.254.0.0/16, where instance metadata lives)",
        (172, 16..=31, _) => "a private address (172.16.0.0/12)",
        (192, 0, 0 | 2) | (192, 88, 99) | (198, 51, 100) | (203, 0, 113) => {
            "a reserved or documentation address"
        }
        (192, 168, _) => "a private address (192.168.0.0/16)",
        (198, 18 | 19, _) => "a benchmarking address (198.18.0.0/15)",
        (224..=239, ..) => "a multicast address",
        (240..=255, ..) => "a reserved or broadcast address",
        _ => return None,
    };
    Some(why)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => Some("an unspecified address (::)"),
        [0, 0, 0, 0, 0, 0, 0, 1] => Some("a loopback address (::1)"),
        // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d): judged as IPv4.
        [0, 0, 0, 0, 0, 0 | 0xffff, hi, lo] => forbidden_v4(embedded(hi, lo)),
        // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address; 6to4 (2002::/16) too.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] | [0x2002, hi, lo, ..] => forbidden_v4(embedded(hi, lo)),
        [0x2001, 0x0db8, ..] => Some("a documentation address (2001:db8::/32)"),
        [0x2001, 0, ..] => Some("a Teredo tunnel address (2001::/32)"),
        [0x2001, x, ..] if x < 0x0200 => Some("a special-purpose address (2001::/23)"),
        // Only global unicast (2000::/3) is public: everything else (unique-local fc00::/7,
        // link-local fe80::/10, multicast ff00::/8, discard 100::/64, local-use NAT64
        // 64:ff9b:1::/48, the rest of ::/8) is not.
        [x, ..] if x & 0xe000 != 0x2000 => Some(match x {
            _ if x & 0xfe00 == 0xfc00 => "a unique-local address (fc00::/7)",
            _ if x & 0xffc0 == 0xfe80 => "a link-local address (fe80::/10)",
            _ if x & 0xff00 == 0xff00 => "a multicast address (ff00::/8)",
            _ => "not a global unicast address (outside 2000::/3)",
        }),
        _ => None,
    }
}

/// Host names that receive webhooks without the address and `https`/443 rules: none in AWS;
/// the local stack names its own loopback receivers (`WEBHOOK_ALLOWED_HOSTS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// A comma-separated list of host names.
    pub fn parse(list: &str) -> Self {
        Self(
            list.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    pub fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

const KO_URL: &str = "웹훅 주소는 443 포트의 공개 https:// 주소여야 합니다.";

/// An endpoint URL: `https` on port 443, a host name or a public IP address, no user name or
/// password, no fragment, at most 2,048 characters — or any `http(s)` URL on an allowed host
/// (local stack only). Where the host name points is checked when each request is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, allowed: &AllowedHosts) -> Result<Self, Invalid> {
        let url = Self::read(raw)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if allowed.allows(&host) {
            return Ok(Self(url.to_string()));
        }
        if url.scheme() != "https" {
            return Err(Invalid::new(format!(
                "webhooks are sent only to https:// URLs, not {}://",
                url.scheme()
            ))
            .ko(format!(
                "웹훅은 https:// 주소로만 보냅니다 ({}://는 안 됩니다).",
                url.scheme()
            )));
        }
        if url.port().is_some_and(|p| p != 443) {
            return Err(Invalid::new("webhooks are sent only to port 443")
                .ko("웹훅은 443 포트로만 보냅니다."));
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip))?,
            _ if host == "localhost" || host.ends_with(".localhost") => {
                return Err(Invalid::new("`localhost` cannot receive webhooks").ko(KO_URL))
            }
            _ => {}
        }
        Ok(Self(url.to_string()))
    }

    /// The syntax every endpoint URL has, allowed host or not.
    fn read(raw: &str) -> Result<url::Url, Invalid> {
        let raw = raw.trim();
        if raw.len() > super::url::MAX_URL_LEN {
            return Err(Invalid::new("URL is longer than 2,048 characters")
                .ko("URL은 2,048자를 넘을 수 없습니다."));
        }
        let url = url::Url::parse(raw)
            .map_err(|e| Invalid::new(format!("not a valid URL ({e})")).ko(KO_URL))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(Invalid::new("must be an https:// URL with a host name").ko(KO_URL));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Invalid::new(
                "URL must not carry a user name or password (use the signature to authenticate us)",
            )
            .ko(
                "URL에 사용자 이름이나 비밀번호를 넣을 수 없습니다 (요청은 서명으로 확인하세요).",
            ));
        }
        if url.fragment().is_some() {
            return Err(Invalid::new("URL must not have a #fragment")
                .ko("URL에 #으로 시작하는 부분을 넣을 수 없습니다."));
        }
        Ok(url)
    }

    /// The stored form, already checked.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&self.0).unwrap_or_else(|_| unreachable_url())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL that cannot be sent to (for a stored URL that no longer parses: never in practice).
fn unreachable_url() -> url::Url {
    url::Url::parse("https://invalid.invalid/").unwrap_or_else(|_| unreachable!())
}

fn check_ip(ip: IpAddr) -> Result<(), Invalid> {
    match forbidden_address(ip) {
        Some(why) => Err(Invalid::new(format!(
            "{ip} is {why}; webhooks are sent only to public addresses"
        ))
        .ko(format!(
            "{ip}은(는) 공개 주소가 아닙니다 ({why}). 웹훅은 공개 주소로만 보냅니다."
        ))),
        None => Ok(()),
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = Invalid;
    /// A stored URL: its syntax is checked again; the host rules were checked when it was
    /// registered and are checked against its addresses at every send.
    fn try_from(s: String) -> Result<Self, Invalid> {
        Self::read(&s).map(|u| Self(u.to_string()))
    }
}

impl From<WebhookUrl> for String {
    fn from(u: WebhookUrl) -> String {
        u.0
    }
}

pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret, `whsec_` + base64 of 32 random bytes. Shown to the admin once, when it is
/// made; `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret(String);

impl Secret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source is available");
        Self(format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key bytes (the base64 after the prefix).
    fn key(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(self.0.trim_start_matches(SECRET_PREFIX))
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `v1,{base64 HMAC-SHA256}` of `{id}.{timestamp}.{body}`, for one secret.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret.key())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature(secrets: &[&Secret], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A secret and, for one being replaced, until when it still signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    pub secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<DateTime<Utc>>,
}

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// When attempt `n + 1` follows failed attempt `n` (1-based): about 5 days in all — 1 min, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 14 h, then daily — so an endpoint down for a weekend still gets
/// everything, and one that never answers is switched off at the end ([`FAILING_LIMIT`]). The
/// first retry is a minute, not seconds: retries are Scheduler `at()` schedules, which fire to the
/// minute. `None` after the last attempt. Each wait gets up to 10 % jitter, so endpoints that
/// failed together are not all retried in the same second.
pub fn retry_after(attempt: u32, jitter: f64) -> Option<Duration> {
    const MINUTES: [i64; 11] = [1, 5, 30, 120, 300, 600, 840, 1440, 1440, 1440, 1440];
    let base = *MINUTES.get(usize::try_from(attempt.checked_sub(1)?).ok()?)?;
    Some(jittered(Duration::minutes(base), jitter))
}

/// `wait` and up to 10 % more (`jitter` in 0..=1), to the second.
pub fn jittered(wait: Duration, jitter: f64) -> Duration {
    let secs = wait.num_seconds();
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let extra = (secs as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as i64;
    Duration::seconds(secs + extra)
}

/// The longest wait a receiver's `Retry-After` can add: the schedule's longest gap.
pub const ASKED_WAIT_MAX: Duration = Duration::hours(24);

/// How long a receiver answering `429 Too Many Requests` or `503 Service Unavailable` asked to be
/// left alone by its `Retry-After` (seconds, or an HTTP date; RFC 9110 §10.2.3), at most
/// [`ASKED_WAIT_MAX`]. `None` for any other answer, or a header that says nothing readable.
/// The next attempt waits for the longer of this and the schedule ([`retry_after`]).
pub fn asked_wait(status: u16, retry_after: Option<&str>, now: DateTime<Utc>) -> Option<Duration> {
    if status != 429 && status != 503 {
        return None;
    }
    let raw = retry_after?.trim();
    let wait = if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        Duration::seconds(
            raw.parse::<i64>()
                .unwrap_or(i64::MAX)
                .min(ASKED_WAIT_MAX.num_seconds()),
        )
    } else {
        DateTime::parse_from_rfc2822(raw).ok()?.with_timezone(&Utc) - now
    };
    (wait > Duration::zero()).then(|| wait.min(ASKED_WAIT_MAX))
}

/// An endpoint that has failed every attempt for this long is switched off, and its admins
/// are told.
pub const FAILING_LIMIT: Duration = Duration::days(5);

/// A delivery that failed for good, or an endpoint switched off: the deadline the retry
/// schedule gives (the sum of [`retry_after`] without jitter, about 5.1 days).
pub fn schedule_span() -> Duration {
    (1..)
        .map_while(|n| retry_after(n, 0.0))
        .fold(Duration::zero(), |a, b| a + b)
}

/// The fields an endpoint has; any other is refused.
pub const FIELDS: &[&str] = &["url", "events", "description", "enabled"];

/// An endpoint as an admin registers or edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    pub url: WebhookUrl,
    pub events: Vec<EventType>,
    pub description: String,
    pub enabled: bool,
}

impl WebhookSpec {
    /// A create, or the merged result of a PATCH. `events` left out: [`EventType::defaults`].
    pub fn parse(o: &Obj<'_>, allowed: &AllowedHosts) -> Result<Self, FieldError> {
        o.only(FIELDS)?;
        let url = o.req("url", |s| WebhookUrl::parse(s, allowed))?;
        let events = match o.array("events")? {
            None => EventType::defaults(),
            Some(_) => event_types(o)?,
        };
        Ok(Self {
            url,
            events,
            description: o
                .parse("description", |s| text::line(s, text::NAME_MAX))?
                .unwrap_or_default(),
            enabled: o.bool("enabled")?.unwrap_or(true),
        })
    }
}

/// `events`: known types, each once, at least one.
fn event_types(o: &Obj<'_>) -> Result<Vec<EventType>, FieldError> {
    let field = o.path("events");
    let mut out = Vec::new();
    for (i, raw) in o.strings("events", 32)?.into_iter().enumerate() {
        let t = EventType::parse(raw).map_err(|e| e.at(format!("{field}[{i}]")))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() {
        return Err(FieldError::new(field, "name at least one event type")
            .ko("보낼 이벤트를 하나 이상 고르세요."));
    }
    out.sort();
    Ok(out)
}

/// A secret rotation requested with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub key: String,
    pub at: DateTime<Utc>,
}

/// A registered endpoint (the item `ISSUER#{iid}#WEBHOOKS`/`WEBHOOK#{wid}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub issuer_id: IssuerId,
    pub url: WebhookUrl,
    pub events: Vec<EventType>,
    #[serde(default)]
    pub description: String,
    pub enabled: bool,
    /// The current secret first; a rotated-out one until its `retires_at`.
    pub secrets: Vec<SigningSecret>,
    /// Makes message ids unguessable (they are derived from it and the event, so a retried
    /// stream record makes the same delivery). Never shown.
    pub salt: String,
    /// Since when every attempt has failed (cleared by a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Why it was switched off by us (not by an admin), and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// The rotation that made the current secret, when its request had an `Idempotency-Key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

impl Webhook {
    pub fn new(issuer_id: IssuerId, spec: WebhookSpec, now: DateTime<Utc>) -> Self {
        Self {
            id: WebhookId::generate(),
            issuer_id,
            url: spec.url,
            events: spec.events,
            description: spec.description,
            enabled: spec.enabled,
            secrets: vec![SigningSecret {
                secret: Secret::generate(),
                retires_at: None,
            }],
            salt: random_token(),
            failing_since: None,
            disabled_reason: None,
            rotation: None,
            created_at: now,
            version: 1,
        }
    }

    /// The editable fields, as a spec (what a PATCH is merged into).
    pub fn spec_json(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url.as_str(),
            "events": self.events,
            "description": self.description,
            "enabled": self.enabled,
        })
    }

    /// Applies an edit. Switching an endpoint back on, or pointing it elsewhere, clears why we
    /// had switched it off and since when it failed.
    pub fn apply(&mut self, spec: WebhookSpec) {
        if (spec.enabled && !self.enabled) || spec.url != self.url {
            self.disabled_reason = None;
            self.failing_since = None;
        }
        self.url = spec.url;
        self.events = spec.events;
        self.description = spec.description;
        self.enabled = spec.enabled;
    }

    pub fn wants(&self, t: EventType) -> bool {
        self.enabled && (t == EventType::Test || self.events.contains(&t))
    }

    /// The secrets that sign at `now`: the current one, and one rotated out less than
    /// [`ROTATION_OVERLAP`] ago.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&Secret> {
        self.secrets
            .iter()
            .filter(|s| s.retires_at.is_none_or(|t| t > now))
            .map(|s| &s.secret)
            .collect()
    }

    /// The secret the rotation requested with `key` made, while it is the current one and for
    /// [`ROTATION_OVERLAP`]: a request sent again (its answer lost) gets it instead of rotating
    /// twice, which would end the secret the receiver still uses at once.
    pub fn rotated_with(&self, key: &str, now: DateTime<Utc>) -> Option<&Secret> {
        let r = self.rotation.as_ref()?;
        (r.key == key && now < r.at + ROTATION_OVERLAP)
            .then(|| self.secrets.first().map(|s| &s.secret))
            .flatten()
    }

    /// A new current secret; the one it replaces signs too for [`ROTATION_OVERLAP`], and any
    /// older one stops at once (so rotating twice in a row ends a leaked secret). `key`: the
    /// request's `Idempotency-Key`, remembered for [`Webhook::rotated_with`]. Answers the new
    /// secret.
    pub fn rotate(&mut self, now: DateTime<Utc>, key: Option<String>) -> Secret {
        self.rotation = key.map(|key| Rotation { key, at: now });
        let fresh = Secret::generate();
        self.secrets.retain(|s| s.retires_at.is_none());
        for s in &mut self.secrets {
            s.retires_at = Some(now + ROTATION_OVERLAP);
        }
        self.secrets.insert(
            0,
            SigningSecret {
                secret: fresh.clone(),
                retires_at: None,
            },
        );
        fresh
    }

    /// The SHA-256 of the current secret, in hex: what a create's `Idempotency-Key` record
    /// keeps to tell, later, whether the endpoint still has the secret it was made with.
    pub fn secret_digest(&self) -> Option<String> {
        let s = self.secrets.first()?;
        Some(hex::encode(Sha256::digest(s.secret.expose().as_bytes())))
    }

    /// What lists show of the current secret: a fingerprint (never any of its key bytes).
    pub fn secret_fingerprint(&self) -> Option<String> {
        let s = self.secrets.first()?;
        Some(hex::encode(
            &Sha256::digest(s.secret.expose().as_bytes())[..4],
        ))
    }

    /// The message id of an event at this endpoint: `msg_` + 22 characters of
    /// sha256(salt, event key). The same event (a retried stream record) is the same message.
    pub fn message_id(&self, event_key: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update(b"|");
        h.update(event_key.as_bytes());
        let digest = h.finalize();
        format!(
            "msg_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
        )
    }
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// An attempt is in flight (claimed until `claimed_until`).
    Sending,
    Succeeded,
    /// Every attempt of the schedule failed (it can still be retried by hand).
    Failed,
    /// Not sent: the endpoint was switched off or removed meanwhile.
    Cancelled,
}

/// One attempt's outcome, as the deliveries list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// The first 1 KB of the response body (UTF-8, lossy).
    #[serde(default)]
    pub response: String,
    /// Why it failed, when it did not get an HTTP answer or was refused before sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the receiver asked to be left alone ([`asked_wait`]); not stored.
    #[serde(skip)]
    pub asked_wait: Option<Duration>,
}

impl Attempt {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|c| (200..300).contains(&c))
    }

    /// What went wrong, in a few words: the error, or the status code.
    pub fn failure(&self) -> String {
        self.error
            .clone()
            .or_else(|| self.status_code.map(|c| format!("HTTP {c}")))
            .unwrap_or_else(|| "no answer".into())
    }
}

/// A failure as [`Attempt::failure`] words it, said in Korean for the console's Korean pages
/// and a Korean admin's switch-off notice: what happened, then the words as recorded (the
/// network's or the receiver's, which stay as they came). `outbound`'s tests hold its texts to
/// these patterns.
pub fn failure_ko(failure: &str) -> String {
    let code = failure.strip_prefix("HTTP ");
    if let Some(code) = code.filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit())) {
        return format!("수신 서버가 HTTP {code} 오류로 응답했습니다");
    }
    match failure_gist_ko(failure) {
        Some(gist) => format!("{gist} ({failure})"),
        None => failure.to_owned(),
    }
}

fn failure_gist_ko(f: &str) -> Option<String> {
    const NOT_SENT: [(&str, &str); 7] = [
        (
            "is not https on port 443",
            "https(443 포트) 주소가 아니어서",
        ),
        ("only public addresses are reached", "공개 주소가 아니어서"),
        ("no connection within", "정해진 시간 안에 연결되지 않아"),
        ("could not resolve", "도메인 주소(DNS)를 찾지 못해"),
        ("has no address", "도메인에 IP 주소가 없어"),
        ("could not connect to", "수신 서버에 연결하지 못해"),
        ("TLS with", "TLS(HTTPS) 연결에 실패해 (인증서를 확인하세요)"),
    ];
    if let Some(rest) = f.strip_prefix("not sent: ") {
        let why = NOT_SENT.iter().find(|(en, _)| rest.contains(en));
        return Some(
            format!("{} 보내지 않았습니다", why.map_or("", |(_, ko)| *ko))
                .trim_start()
                .to_owned(),
        );
    }
    if f.ends_with("redirects are not followed") {
        return Some(
            "리디렉션 응답은 따라가지 않습니다. 최종 주소를 엔드포인트로 등록하세요".into(),
        );
    }
    if let Some(secs) = f
        .strip_prefix("no answer within ")
        .and_then(|s| s.strip_suffix(" s"))
    {
        return Some(format!("{secs}초 안에 응답이 없었습니다"));
    }
    if f.starts_with("HTTP exchange failed") {
        return Some("보내는 중 연결이 끊겨 응답을 받지 못했습니다".into());
    }
    (f == "no answer").then(|| "응답이 없었습니다".into())
}

/// One event for one endpoint (the item `WEBHOOK#{wid}`/`DELIVERY#{msg}`): the body is fixed
/// when it is made, so every attempt sends the same bytes under the same `webhook-id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: WebhookId,
    pub issuer_id: IssuerId,
    pub event_type: EventType,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub state: DeliveryState,
    /// Attempts made (or started) so far.
    pub attempts: u32,
    /// While an attempt is in flight: until when (Unix seconds) its claim holds; a claim that has
    /// run out (its sender died) is taken over by the next message or retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_ends: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Attempt>,
}

/// An event's body: `{"type", "timestamp", "data"}` (Standard Webhooks' recommended shape).
pub fn body(t: EventType, at: DateTime<Utc>, data: &serde_json::Value) -> String {
    serde_json::json!({
        "type": t.as_str(),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// The first `max` bytes of a response body, cut at a character boundary.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned();
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_failure_is_said_in_korean_with_its_words_as_recorded() {
        let cases = [
            ("HTTP 503", "수신 서버가 HTTP 503 오류로 응답했습니다"),
            ("HTTP 302: redirects are not followed", "리디렉션 응답은 따라가지 않습니다. 최종 주소를 엔드포인트로 등록하세요 (HTTP 302: redirects are not followed)"),
            ("no answer within 15 s", "15초 안에 응답이 없었습니다 (no answer within 15 s)"),
            ("not sent: no connection within 15 s", "정해진 시간 안에 연결되지 않아 보내지 않았습니다 (not sent: no connection within 15 s)"),
            ("not sent: could not resolve hooks.example: no such host", "도메인 주소(DNS)를 찾지 못해 보내지 않았습니다 (not sent: could not resolve hooks.example: no such host)"),
            ("not sent: 10.0.0.1 is private; only public addresses are reached", "공개 주소가 아니어서 보내지 않았습니다 (not sent: 10.0.0.1 is private; only public addresses are reached)"),
            ("not sent: method GET", "보내지 않았습니다 (not sent: method GET)"),
            ("HTTP exchange failed: connection reset", "보내는 중 연결이 끊겨 응답을 받지 못했습니다 (HTTP exchange failed: connection reset)"),
            ("no answer", "응답이 없었습니다 (no answer)"),
            ("something new", "something new"),
        ];
        for (en, ko) in cases {
            assert_eq!(failure_ko(en), ko, "{en}");
        }
    }

    use super::*;

    fn none() -> AllowedHosts {
        AllowedHosts::default()
    }

    #[test]
    fn urls_must_be_public_https_on_443() {
        assert!(WebhookUrl::parse("https://lms.example.ac.kr/hooks/accolade", &none()).is_ok());
        assert!(WebhookUrl::parse("https://lms.example.ac.kr:443/h", &none()).is_ok());
        for (bad, says) in [
            ("http://lms.example.ac.kr/h", "https://"),
            ("https://lms.example.ac.kr:8443/h", "port 443"),
            ("https://127.0.0.1/h", "loopback"),
            ("https://2130706433/h", "loopback"),
            ("https://0x7f.1/h", "loopback"),
            ("https://10.0.0.1/h", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[::1]/h", "loopback"),
            ("https://[::ffff:10.1.2.3]/h", "private"),
            ("https://[fd00::1]/h", "unique-local"),
            ("https://[fe80::1]/h", "link-local"),
            ("https://localhost/h", "localhost"),
            ("https://a.localhost/h", "localhost"),
            ("https://user:pw@lms.example.ac.kr/h", "user name"),
            ("https://lms.example.ac.kr/h#x", "fragment"),
            ("ftp://lms.example.ac.kr/h", "https://"),
            ("lms.example.ac.kr/h", "valid URL"),
        ] {
            let e = WebhookUrl::parse(bad, &none()).unwrap_err();
            assert!(e.0.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn allowed_hosts_skip_the_rules() {
        let local = AllowedHosts::parse("localhost, Example.Test");
        assert!(WebhookUrl::parse("http://localhost:9123/h", &local).is_ok());
        assert!(WebhookUrl::parse("http://example.test:80/h", &local).is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9123/h", &local).is_err());
    }

    #[test]
    fn addresses() {
        let f = |s: &str| forbidden_address(s.parse().unwrap());
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2001:db8::1",
        ] {
            assert!(f(bad).is_some(), "{bad}");
        }
        for ok in [
            "8.8.8.8",
            "172.32.0.1",
            "1.1.1.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert_eq!(f(ok), None, "{ok}");
        }
    }

    /// The example of the Standard Webhooks specification's test vectors.
    #[test]
    fn signature_matches_the_reference_vector() {
        let secret = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let other = Secret::generate();
        let both = signature(
            &[&secret, &other],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        );
        assert_eq!(both.split(' ').count(), 2);
    }

    #[test]
    fn rotation_keeps_the_old_secret_for_a_day() {
        let t0 = Utc::now();
        let spec = WebhookSpec {
            url: WebhookUrl::parse("https://x.example/h", &none()).unwrap(),
            events: EventType::defaults(),
            description: String::new(),
            enabled: true,
        };
        let mut w = Webhook::new(IssuerId::generate(), spec, t0);
        let old = w.secrets[0].secret.clone();
        let new = w.rotate(t0, None);
        assert_eq!(w.signing_secrets(t0), vec![&new, &old]);
        assert_eq!(w.signing_secrets(t0 + Duration::hours(25)), vec![&new]);
        let newer = w.rotate(t0 + Duration::hours(1), Some("k".into()));
        assert_eq!(
            w.signing_secrets(t0 + Duration::hours(1)),
            vec![&newer, &new],
            "the oldest stops at once"
        );
        // The request sent again with its key finds the secret it made, for a day.
        assert_eq!(w.rotated_with("k", t0 + Duration::hours(2)), Some(&newer));
        assert_eq!(w.rotated_with("other", t0 + Duration::hours(2)), None);
        assert_eq!(w.rotated_with("k", t0 + Duration::hours(25)), None);
        let latest = w.rotate(t0 + Duration::hours(3), None);
        assert_eq!(
            w.rotated_with("k", t0 + Duration::hours(3)),
            None,
            "{latest:?}"
        );
        assert_ne!(
            w.message_id("award.issued:a"),
            w.message_id("award.issued:b")
        );
        assert_eq!(
            w.message_id("award.issued:a"),
            w.message_id("award.issued:a")
        );
    }

    #[test]
    fn a_receiver_asking_to_wait_is_heard_on_429_and_503_within_a_day() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let asked = |status, h: &str| asked_wait(status, Some(h), now);
        assert_eq!(asked(429, "120"), Some(Duration::seconds(120)));
        assert_eq!(asked(503, " 3600 "), Some(Duration::hours(1)));
        assert_eq!(
            asked(503, "Mon, 07 Dec 2026 05:30:00 GMT"),
            Some(Duration::minutes(150)),
            "an HTTP date"
        );
        assert_eq!(asked(429, "99999999999999999999999"), Some(ASKED_WAIT_MAX));
        assert_eq!(
            asked(429, "Tue, 15 Dec 2026 00:00:00 GMT"),
            Some(ASKED_WAIT_MAX)
        );
        for nothing in [
            "",
            "0",
            "-5",
            "soon",
            "1.5",
            "Sun, 06 Dec 2026 00:00:00 GMT",
        ] {
            assert_eq!(asked(429, nothing), None, "{nothing:?}");
        }
        assert_eq!(asked(500, "120"), None, "only 429 and 503 ask");
        assert_eq!(asked_wait(429, None, now), None);
    }

    #[test]
    fn the_schedule_retries_for_five_days() {
        assert_eq!(retry_after(1, 0.0), Some(Duration::minutes(1)));
        assert_eq!(retry_after(0, 0.0), None);
        assert_eq!(retry_after(12, 0.0), None);
        assert!(retry_after(3, 1.0).unwrap() <= Duration::minutes(33));
        let span = schedule_span();
        assert!(
            span >= FAILING_LIMIT && span < FAILING_LIMIT + Duration::days(1),
            "{span}"
        );
    }

    #[test]
    fn specs() {
        let parse =
            |v: serde_json::Value| WebhookSpec::parse(&Obj::root(v.as_object().unwrap()), &none());
        let s = parse(serde_json::json!({"url": "https://x.example/h"})).unwrap();
        assert!(!s.events.contains(&EventType::AwardViewed) && s.enabled);
        let e = parse(serde_json::json!({"url": "https://x.example/h", "events": ["award.issued", "award.sent"]})).unwrap_err();
        assert_eq!(e.field, "events[1]");
        assert!(e.message.contains("award.revoked"));
        let e = parse(serde_json::json!({"url": "https://x.example/h", "events": []})).unwrap_err();
        assert_eq!(e.field, "events");
        let e = parse(serde_json::json!({"url": "http://x.example/h"})).unwrap_err();
        assert_eq!(e.field, "url");
        assert!(parse(serde_json::json!({"url": "https://x.example/h", "secret": "x"})).is_err());
    }

    #[test]
    fn excerpts_cut_at_characters() {
        assert_eq!(excerpt("가나다".as_bytes(), 4), "가");
        assert_eq!(excerpt(b"ok", 1024), "ok");
    }
}
