//! Identifiers. Every id carries 122 random bits (a v4 UUID) written as 22 base64url characters, so
//! none can be guessed or enumerated. All but award ids carry a short type prefix, so an id passed
//! in the wrong place is rejected with a clear message instead of a confusing "not found".

use super::Invalid;
use base64::Engine;
use std::fmt;

const TOKEN_LEN: usize = 22;

/// 128 bits of which 122 are random, base64url without padding (22 chars).
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// Whether a presented secret (a CSRF token, an unsubscribe token) equals the expected one,
/// comparing every byte whatever differs first, so timing does not reveal how much was right.
pub fn same_secret(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn is_token(s: &str) -> bool {
    s.len() == TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, random_token()))
            }

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s.strip_prefix($prefix) {
                    Some(rest) if is_token(rest) => Ok(Self(s.to_owned())),
                    _ => Err(Invalid::new(format!(
                        concat!("not a valid ", $what, " (expected `", $prefix, "` followed by {} letters, digits, `-` or `_`)"),
                        TOKEN_LEN
                    ))
                    .ko(format!(
                        concat!("올바른 ID가 아닙니다 (`", $prefix, "` 뒤에 영문·숫자·`-`·`_` {}자)."),
                        TOKEN_LEN
                    ))),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).map_err(|e| e.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// An institution (tenant).
    IssuerId, "iss_", "issuer id");
id_type!(
    /// A badge template (the Open Badges `BadgeClass`).
    TemplateId, "tpl_", "template id");
id_type!(
    /// An API key's public id (never the secret).
    ApiKeyId, "key_", "API key id");
id_type!(
    /// A CSV bulk-issuance batch.
    BatchId, "bat_", "batch id");
id_type!(
    /// A webhook endpoint.
    WebhookId, "whk_", "webhook id");
id_type!(
    /// An issued badge. No prefix: it appears in every public URL (`/b/{id}`), so it stays short.
    AwardId, "", "award id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_differ() {
        let a = AwardId::generate();
        let b = AwardId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
        assert_eq!(AwardId::parse(a.as_str()).unwrap(), a);
        let t = TemplateId::generate();
        assert!(t.as_str().starts_with("tpl_"));
        assert_eq!(TemplateId::parse(t.as_str()).unwrap(), t);
    }

    #[test]
    fn secrets_match_only_in_full() {
        let t = random_token();
        assert!(same_secret(&t, &t.clone()));
        assert!(!same_secret(&t, &t[..21]));
        assert!(!same_secret(&t, ""));
        let mut other = t.clone().into_bytes();
        other[21] = if other[21] == b'A' { b'B' } else { b'A' };
        assert!(!same_secret(&t, &String::from_utf8(other).unwrap()));
    }

    #[test]
    fn wrong_prefix_or_shape_is_rejected() {
        let t = TemplateId::generate();
        assert!(IssuerId::parse(t.as_str()).is_err());
        assert!(AwardId::parse("short").is_err());
        assert!(AwardId::parse("../../etc/passwd/aaaaaaaaa").is_err());
        assert!(AwardId::parse("aaaaaaaaaaaaaaaaaaaaa.").is_err());
        assert!(AwardId::parse("").is_err());
        let msg = TemplateId::parse("tpl_x").unwrap_err().0;
        assert!(msg.contains("template id"), "{msg}");
    }
}
