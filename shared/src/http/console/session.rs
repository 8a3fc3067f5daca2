//! Console sessions: an API key is exchanged once for a signed, expiring cookie
//! (`__Host-accolade_session`: `HttpOnly; Secure; SameSite=Strict; Path=/`, no `Domain`; the
//! `__Host-` prefix makes browsers refuse the name from any other host, so a sibling subdomain
//! cannot plant its own session under it: RFC 6265bis §4.1.3.2). The cookie holds the issuer, the key id,
//! the expiry and a random nonce, signed with HMAC-SHA-256; every request re-checks that the key
//! is still active, so revoking the key ends its sessions. Forms carry a CSRF token derived from
//! the nonce (and `POST`s from another origin are refused before any handler runs).

use crate::{
    app::App,
    domain::{
        api_key::Scope,
        ids::{ApiKeyId, IssuerId},
        issuer::Issuer,
        locale::Locale,
    },
    http::auth::Caller,
};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap},
    response::{IntoResponse, Redirect, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const COOKIE: &str = "__Host-accolade_session";
pub const LANG_COOKIE: &str = "accolade_lang";
/// How long a sign-in lasts.
pub const LIFETIME_HOURS: i64 = 8;

fn mac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// What a valid cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub issuer_id: IssuerId,
    pub key_id: ApiKeyId,
    pub expires: i64,
    /// When the admin signed in, in milliseconds (sessions end by sign-in time).
    pub signed_in_ms: i64,
    pub nonce: String,
}

impl Claims {
    pub fn signed_in(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.signed_in_ms).unwrap_or_default()
    }
}

pub fn sign(key: &[u8], c: &Claims) -> String {
    let payload = format!(
        "v2|{}|{}|{}|{}|{}",
        c.issuer_id, c.key_id, c.expires, c.signed_in_ms, c.nonce
    );
    format!(
        "{}.{}",
        B64.encode(payload.as_bytes()),
        B64.encode(mac(key, &payload))
    )
}

/// The claims of a cookie value, if its signature is right and it has not expired.
pub fn verify(key: &[u8], value: &str, now: DateTime<Utc>) -> Option<Claims> {
    let (p, sig) = value.split_once('.')?;
    let payload = String::from_utf8(B64.decode(p).ok()?).ok()?;
    let sig = B64.decode(sig).ok()?;
    let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
    m.update(payload.as_bytes());
    m.verify_slice(&sig).ok()?;
    let mut parts = payload.split('|');
    if parts.next()? != "v2" {
        return None;
    }
    let c = Claims {
        issuer_id: IssuerId::parse(parts.next()?).ok()?,
        key_id: ApiKeyId::parse(parts.next()?).ok()?,
        expires: parts.next()?.parse().ok()?,
        signed_in_ms: parts.next()?.parse().ok()?,
        nonce: parts.next()?.to_owned(),
    };
    (c.expires > now.timestamp() && parts.next().is_none()).then_some(c)
}

pub fn csrf_token(key: &[u8], nonce: &str) -> String {
    B64.encode(mac(key, &format!("csrf|{nonce}")))
}

pub fn new_nonce() -> String {
    let mut b = [0u8; 18];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    B64.encode(b)
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The session cookie: `__Host-` asks for exactly these attributes (`Secure`, `Path=/`, no
/// `Domain`).
pub fn set_cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// The console language: the remembered choice, else the browser's, else the issuer's default.
pub fn lang(headers: &HeaderMap, fallback: Locale) -> Locale {
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|v| Locale::parse(&v).ok()) {
        return l;
    }
    match headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    {
        Some(a) if a.trim_start().starts_with("ko") => Locale::Ko,
        Some(a) if a.trim_start().starts_with("en") => Locale::En,
        _ => fallback,
    }
}

/// A signed-in admin.
#[derive(Clone)]
pub struct Session {
    pub caller: Caller,
    pub issuer: Issuer,
    pub csrf: String,
    pub lang: Locale,
    /// This request's path and query (the language switch comes back here).
    pub here: String,
}

impl Session {
    /// Whether a submitted form or header token belongs to this session.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| crate::domain::ids::same_secret(&self.csrf, t))
    }
}

impl FromRequestParts<App> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/console");
            Redirect::to(&format!(
                "/console/login?next={}",
                crate::urls::encode(next)
            ))
            .into_response()
        };
        let key = app.session_key().await.map_err(super::page::failed)?;
        let Some(claims) = cookie(&parts.headers, COOKIE).and_then(|v| verify(key, &v, Utc::now()))
        else {
            return Err(to_login());
        };
        let active = app
            .store
            .get_api_key(&claims.issuer_id, &claims.key_id)
            .await
            .map_err(super::page::failed)?
            .is_some_and(|k| k.admits_session(claims.signed_in()));
        if !active {
            return Err(to_login());
        }
        let issuer = app
            .store
            .get_issuer(&claims.issuer_id)
            .await
            .map_err(super::page::failed)?
            .ok_or_else(to_login)?;
        let lang = lang(&parts.headers, issuer.profile.default_locale);
        Ok(Session {
            // Only an admin key's session gets this far (`admits_session`).
            caller: Caller {
                issuer_id: claims.issuer_id,
                key_id: claims.key_id,
                scope: Scope::Admin,
            },
            csrf: csrf_token(key, &claims.nonce),
            issuer,
            lang,
            here: if parts.method == axum::http::Method::GET {
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "/console".into())
            } else {
                parts.uri.path().to_owned()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_signed_and_expire() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = Utc::now();
        let c = Claims {
            issuer_id: IssuerId::generate(),
            key_id: ApiKeyId::generate(),
            expires: now.timestamp() + 60,
            signed_in_ms: now.timestamp_millis(),
            nonce: new_nonce(),
        };
        let v = sign(key, &c);
        assert_eq!(verify(key, &v, now), Some(c.clone()));
        assert_eq!(verify(b"another key", &v, now), None);
        assert_eq!(verify(key, &v, now + chrono::Duration::seconds(61)), None);
        // A payload edited to another issuer fails the signature.
        let (p, sig) = v.split_once('.').unwrap();
        let forged = String::from_utf8(B64.decode(p).unwrap())
            .unwrap()
            .replace(c.issuer_id.as_str(), IssuerId::generate().as_str());
        assert_eq!(
            verify(key, &format!("{}.{sig}", B64.encode(forged)), now),
            None
        );
        assert_eq!(verify(key, "garbage", now), None);
        assert_ne!(csrf_token(key, "a"), csrf_token(key, "b"));
    }
}
