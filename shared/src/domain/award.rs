use super::{
    email::Email,
    ids::{AwardId, BatchId, IssuerId, TemplateId},
    locale::Locale,
    url::WebUrl,
    Invalid,
};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<WebUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub email: Email,
    pub name: String,
    /// For KakaoTalk and SMS. Like the email, it is on no public page or document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<super::phone::Phone>,
}

/// The recipient's identity as published in Open Badges: `sha256$hex(sha256(email + salt))`,
/// the address lower-cased as Badgr (Canvas Credentials) hashes it when it issues and matches
/// its users' addresses on import: `Kim.Minsu@…` on a roster and `kim.minsu@…` in a backpack
/// are one person. (Awards issued before 2026-12-07 keep the hash they were issued with: the
/// address as written, its domain lower-cased.) The email itself never leaves the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedIdentity {
    pub salt: String,
    pub hash: String,
}

impl HashedIdentity {
    pub fn new(email: &Email) -> Self {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source is available");
        let salt = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(salt);
        Self::with_salt(email, salt)
    }

    pub fn with_salt(email: &Email, salt: String) -> Self {
        let address = email.as_str().to_ascii_lowercase();
        let digest = Sha256::digest(format!("{address}{salt}").as_bytes());
        Self {
            hash: format!("sha256${}", hex::encode(digest)),
            salt,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// An issued badge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Award {
    pub id: AwardId,
    pub issuer_id: IssuerId,
    pub template_id: TemplateId,
    pub recipient: Recipient,
    pub identity: HashedIdentity,
    pub issued_on: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    pub notify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<AwardId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<AwardId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<BatchId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A random secret in the award's unsubscribe links (email footer, `List-Unsubscribe`): only
    /// the recipient's mail holds it, so a badge link alone cannot unsubscribe anyone. Never
    /// published (not in the API's answers, the page or the Open Badges JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_token: Option<String>,
}

/// What a verifier sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwardStatus {
    Valid,
    Expired {
        on: DateTime<Utc>,
    },
    Revoked {
        reason: String,
        at: DateTime<Utc>,
    },
    /// Re-issued: the newer award replaces this one.
    Superseded {
        by: AwardId,
    },
}

impl AwardStatus {
    pub fn code(&self) -> &'static str {
        match self {
            AwardStatus::Valid => "valid",
            AwardStatus::Expired { .. } => "expired",
            AwardStatus::Revoked { .. } => "revoked",
            AwardStatus::Superseded { .. } => "superseded",
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, AwardStatus::Valid)
    }
}

impl Award {
    /// Whether `token` is this award's unsubscribe secret (compared in constant time). An award
    /// without one (issued before unsubscribe links carried it) accepts none.
    pub fn unsubscribe_allowed(&self, token: Option<&str>) -> bool {
        match (self.unsubscribe_token.as_deref(), token) {
            (Some(mine), Some(given)) => super::ids::same_secret(mine, given),
            _ => false,
        }
    }

    /// Whether its recipient can be given a working unsubscribe link: awards issued before
    /// 2026-11-30 have no token, so promotional messages skip them.
    pub fn can_unsubscribe(&self) -> bool {
        self.unsubscribe_token.is_some()
    }

    /// Revocation outranks supersession, which outranks expiry.
    pub fn status(&self, now: DateTime<Utc>) -> AwardStatus {
        if let Some(r) = &self.revocation {
            return AwardStatus::Revoked {
                reason: r.reason.clone(),
                at: r.at,
            };
        }
        if let Some(by) = &self.superseded_by {
            return AwardStatus::Superseded { by: by.clone() };
        }
        match self.expires_on {
            Some(on) if on <= now => AwardStatus::Expired { on },
            _ => AwardStatus::Valid,
        }
    }
}

/// Why an award could not be issued, before any storage is touched: the one wording of each
/// refusal, in English and Korean, for the API, the console and a CSV row alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueRuleError {
    /// Not the issuer's template (another issuer's is not found either).
    #[error("template {0} not found")]
    TemplateNotFound(TemplateId),
    #[error("template {0} is archived; restore it or use another template")]
    TemplateArchived(TemplateId),
    /// Said without the instants, which would be UTC: a Seoul admin's `2026-03-01` is
    /// `2026-02-28 15:00:00 UTC`.
    #[error("expires_on must be later than issued_on (now when not given; a date without a time is midnight in the issuer's time zone)")]
    ExpiresBeforeIssued {
        issued: DateTime<Utc>,
        expires: DateTime<Utc>,
    },
    #[error("issued_on is a later day than today in the issuer's time zone: Open Badges verifiers refuse a badge before its issue date (a date without a time is midnight in that zone; later today counts as now)")]
    IssuedInFuture,
}

impl IssueRuleError {
    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TemplateNotFound(_) | Self::TemplateArchived(_) => "template_id",
            Self::ExpiresBeforeIssued { .. } => "expires_on",
            Self::IssuedInFuture => "issued_on",
        }
    }

    /// The refusal in English and Korean.
    pub fn invalid(&self) -> Invalid {
        let ko = match self {
            Self::TemplateNotFound(t) => format!("템플릿 {t}을(를) 찾을 수 없습니다."),
            Self::TemplateArchived(t) => {
                format!("템플릿 {t}은(는) 보관되어 있습니다. 복원하거나 다른 템플릿을 쓰세요.")
            }
            Self::ExpiresBeforeIssued { .. } => "만료일(expires_on)은 발급일(issued_on, 없으면 지금)보다 뒤여야 합니다 (시각 없는 날짜는 발급 기관 시간대의 자정입니다).".into(),
            Self::IssuedInFuture => "발급일이 발급 기관 시간대의 오늘보다 뒤입니다. Open Badges 검증기는 발급일 전의 배지를 유효하지 않다고 봅니다 (시각 없는 날짜는 그 시간대의 자정이고, 오늘 중 나중 시각은 지금으로 기록됩니다).".into(),
        };
        Invalid::new(self.to_string()).ko(ko)
    }
}

pub fn check_dates(
    issued: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
) -> Result<(), IssueRuleError> {
    match expires {
        Some(e) if e <= issued => Err(IssueRuleError::ExpiresBeforeIssued { issued, expires: e }),
        _ => Ok(()),
    }
}

/// What the domain's tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// An award of fresh ids to `kim@example.ac.kr`, issued and recorded at `now`, valid ten
    /// days, in no batch or cohort.
    pub fn award(now: DateTime<Utc>) -> Award {
        let email = Email::parse("kim@example.ac.kr").unwrap();
        Award {
            id: AwardId::generate(),
            issuer_id: IssuerId::generate(),
            template_id: TemplateId::generate(),
            identity: HashedIdentity::new(&email),
            recipient: Recipient {
                email,
                name: "김민수".into(),
                phone: None,
            },
            issued_on: now,
            expires_on: Some(now + chrono::Duration::days(10)),
            narrative: None,
            evidence: vec![],
            external_id: None,
            locale: None,
            notify: true,
            revocation: None,
            superseded_by: None,
            supersedes: None,
            batch_id: None,
            cohort: None,
            created_at: now,
            unsubscribe_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn award() -> Award {
        test_support::award(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
    }

    #[test]
    fn status_precedence() {
        let mut a = award();
        let t0 = a.issued_on;
        assert_eq!(a.status(t0), AwardStatus::Valid);
        assert!(matches!(
            a.status(t0 + Duration::days(10)),
            AwardStatus::Expired { .. }
        ));
        a.superseded_by = Some(AwardId::generate());
        assert_eq!(a.status(t0).code(), "superseded");
        a.revocation = Some(Revocation {
            reason: "cheating".into(),
            at: t0,
        });
        assert_eq!(a.status(t0 + Duration::days(20)).code(), "revoked");
    }

    #[test]
    fn identity_hash_matches_open_badges_rule() {
        let email = Email::parse("test@example.com").unwrap();
        let id = HashedIdentity::with_salt(&email, "salt".into());
        // sha256("test@example.comsalt")
        let want = hex::encode(Sha256::digest(b"test@example.comsalt"));
        assert_eq!(id.hash, format!("sha256${want}"));
        assert_ne!(
            HashedIdentity::new(&email).salt,
            HashedIdentity::new(&email).salt
        );
        // A roster's capitals are hashed as a backpack holds the address: lower-cased.
        let roster = Email::parse("Kim.Minsu@Hanbit.AC.kr").unwrap();
        let id = HashedIdentity::with_salt(&roster, "salt".into());
        let want = hex::encode(Sha256::digest(b"kim.minsu@hanbit.ac.krsalt"));
        assert_eq!(id.hash, format!("sha256${want}"));
    }

    #[test]
    fn dates_must_be_ordered() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(check_dates(t, Some(t)).is_err());
        assert!(check_dates(t, Some(t + Duration::seconds(1))).is_ok());
        assert!(check_dates(t, None).is_ok());
    }
}
