use super::{
    color::Color, email::Email, ids::IssuerId, locale::Locale, time::Zone, url::WebUrl, Invalid,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an issuer (institution) can edit about itself. Every field is already validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuerProfile {
    pub name: String,
    pub url: WebUrl,
    pub email: Email,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<WebUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_url: Option<WebUrl>,
    pub primary_color: Color,
    pub accent_color: Color,
    pub default_locale: Locale,
    pub time_zone: Zone,
    /// LinkedIn's numeric organization id: shows the issuer's logo on "Add to profile".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkedin_organization_id: Option<LinkedInOrgId>,
    /// Public pages show `김*수` instead of `김민수`.
    #[serde(default)]
    pub mask_recipient_names: bool,
    /// Email last week's analytics every Monday morning (issuer's time zone).
    #[serde(default = "yes")]
    pub weekly_digest: bool,
    /// Who gets the digest; empty means the issuer's `email`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digest_recipients: Vec<Email>,
}

fn yes() -> bool {
    true
}

impl IssuerProfile {
    /// The weekly digest's recipients (none when it is switched off).
    pub fn digest_to(&self) -> Vec<Email> {
        if !self.weekly_digest {
            return Vec::new();
        }
        self.admins()
    }

    /// Who hears about the issuer's account (the digest, a webhook endpoint switched off): the
    /// digest recipients, or the issuer's email when none are named.
    pub fn admins(&self) -> Vec<Email> {
        if self.digest_recipients.is_empty() {
            vec![self.email.clone()]
        } else {
            self.digest_recipients.clone()
        }
    }
}

impl IssuerProfile {
    /// A profile with the house defaults for everything but the three required fields.
    pub fn new(name: String, url: WebUrl, email: Email) -> Self {
        Self {
            name,
            url,
            email,
            description: None,
            logo_url: None,
            seal_url: None,
            primary_color: Color::parse("#1a4d8f").expect("constant colour"),
            accent_color: Color::parse("#f2a900").expect("constant colour"),
            default_locale: Locale::Ko,
            time_zone: Zone::default(),
            linkedin_organization_id: None,
            mask_recipient_names: false,
            weekly_digest: true,
            digest_recipients: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    pub id: IssuerId,
    #[serde(flatten)]
    pub profile: IssuerProfile,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Issuer {
    pub fn new(profile: IssuerProfile, now: DateTime<Utc>) -> Self {
        Self {
            id: IssuerId::generate(),
            profile,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

/// LinkedIn organization ids are digits only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkedInOrgId(String);

impl LinkedInOrgId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new(
                "LinkedIn organization id is the number in your LinkedIn company page's admin URL (digits only)",
            ).ko("LinkedIn 조직 ID는 숫자만 입력합니다 (회사 페이지 관리자 URL의 숫자)."))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LinkedInOrgId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|e| e.0)
    }
}
impl From<LinkedInOrgId> for String {
    fn from(v: LinkedInOrgId) -> String {
        v.0
    }
}
