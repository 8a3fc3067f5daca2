//! API keys: `acc_` + 43 characters (256 random bits). Only the SHA-256 of a key is stored; the
//! plaintext is shown once, when the key is created.

use super::{ids::ApiKeyId, ids::IssuerId, Invalid};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "acc_";

/// A key's secret as presented by a client. Never logged, never stored.
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source is available");
        Self(format!(
            "{KEY_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let ok = s.len() == KEY_PREFIX.len() + 43
            && s.starts_with(KEY_PREFIX)
            && s[KEY_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new(
                "not an Accolade API key (they start with `acc_`)",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256: what the table stores and looks keys up by. A fast hash is right here: the
    /// secret has 256 random bits, so there is nothing to brute-force.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The first characters, shown in listings so admins can tell keys apart.
    pub fn hint(&self) -> String {
        format!("{}…", &self.0[..KEY_PREFIX.len() + 6])
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    /// What the key may do. Keys stored before scopes existed read as `admin` (full rights).
    #[serde(default)]
    pub scope: Scope,
    pub issuer_id: IssuerId,
    pub name: String,
    pub hint: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Console sessions signed in with this key before this time are over (set by signing out:
    /// a copied cookie stops working too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_ended_at: Option<DateTime<Utc>>,
    /// When the secret was last replaced by a create sent again with its `Idempotency-Key`
    /// (none: the secret is the one it was made with, at `created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_set_at: Option<DateTime<Utc>>,
}

/// How long a key's secret is safe from a create sent again with its `Idempotency-Key`: longer
/// than the api function's 29 s, so a send still running when its retry was answered (or a
/// duplicate of it) cannot replace the secret that answer gave.
pub const SECRET_HELD_FOR: chrono::Duration = chrono::Duration::seconds(60);

/// What a key may do. An `integration` key (an LMS, an HR system) issues, revokes and reads
/// badges and manages templates; only an `admin` key also manages API keys and the issuer's
/// settings, and signs in to the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    Admin,
    Integration,
}

impl Scope {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "admin" => Ok(Self::Admin),
            "integration" => Ok(Self::Integration),
            other => Err(Invalid::new(format!(
                "`{other}` is not a key scope (integration, admin)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Integration => "integration",
        }
    }
}

impl ApiKey {
    pub fn new(
        issuer_id: IssuerId,
        name: String,
        scope: Scope,
        secret: &ApiKeySecret,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ApiKeyId::generate(),
            scope,
            issuer_id,
            name,
            hint: secret.hint(),
            key_hash: secret.hash(),
            created_at: now,
            revoked_at: None,
            sessions_ended_at: None,
            secret_set_at: None,
        }
    }

    /// How long before a create sent again may replace this key's secret at `now` (zero: it
    /// may now).
    pub fn secret_held(&self, now: DateTime<Utc>) -> chrono::Duration {
        let since = self.secret_set_at.unwrap_or(self.created_at);
        (since + SECRET_HELD_FOR - now).max(chrono::Duration::zero())
    }

    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Whether a console session signed in at `signed_in` with this key still holds.
    pub fn admits_session(&self, signed_in: DateTime<Utc>) -> bool {
        self.is_active()
            && self.scope == Scope::Admin
            && self.sessions_ended_at.is_none_or(|ended| signed_in > ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_parse_hash() {
        let k = ApiKeySecret::generate();
        let again = ApiKeySecret::parse(k.expose()).unwrap();
        assert_eq!(k.hash(), again.hash());
        assert_eq!(k.hash().len(), 64);
        assert_ne!(k.hash(), ApiKeySecret::generate().hash());
        assert!(ApiKeySecret::parse("acc_short").is_err());
        assert!(ApiKeySecret::parse("Bearer x").is_err());
        assert!(!format!("{k:?}").contains(&k.expose()[4..]));
    }
}
