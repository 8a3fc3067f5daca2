use super::{
    ids::{IssuerId, TemplateId},
    locale::Locale,
    time::Zone,
    url::WebUrl,
    Invalid,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How long an award of this template stays valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Validity {
    #[default]
    Never,
    DaysAfterIssue {
        days: u32,
    },
    FixedDate {
        date: NaiveDate,
    },
}

pub const MAX_VALIDITY_DAYS: u32 = 36_500;

impl Validity {
    pub fn check(&self) -> Result<(), Invalid> {
        match self {
            Validity::DaysAfterIssue { days } if *days == 0 || *days > MAX_VALIDITY_DAYS => Err(
                Invalid::new(format!("days must be between 1 and {MAX_VALIDITY_DAYS}"))
                    .ko(format!("일수는 1에서 {MAX_VALIDITY_DAYS} 사이여야 합니다.")),
            ),
            _ => Ok(()),
        }
    }

    /// The expiry of an award issued at `issued`, if the template's rule gives one.
    pub fn expiry(&self, issued: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        match self {
            Validity::Never => None,
            Validity::DaysAfterIssue { days } => Some(issued + Duration::days(i64::from(*days))),
            Validity::FixedDate { date } => Some(zone.start_of(*date)),
        }
    }
}

/// Whether one recipient may hold several awards of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReissuePolicy {
    /// Any number of awards per recipient (e.g. yearly participation).
    #[default]
    AllowMultiple,
    /// At most one valid (not revoked, not expired) award per recipient.
    OneActivePerRecipient,
}

/// Where the badge image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemplateImage {
    /// Drawn from the name and the issuer's colours (SVG).
    #[default]
    Generated,
    /// Uploaded to the uploads bucket.
    Uploaded { key: String, content_type: String },
    /// Hosted elsewhere.
    Url { url: WebUrl },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Criteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<WebUrl>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    #[default]
    Active,
    /// Deleted by the admin: no new awards; existing awards stay verifiable.
    Archived,
}

/// Another template of the same issuer, recommended under this one's badges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedBadge {
    pub template_id: TemplateId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub enabled: bool,
}

/// The institution's own advertisement under the badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banner {
    /// `Url` or `Uploaded` (never `Generated`).
    pub image: TemplateImage,
    pub alt: String,
    pub target_url: WebUrl,
    pub enabled: bool,
}

/// The next course to enrol in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_name: Option<String>,
    pub program_url: WebUrl,
    /// Free text such as "8 weeks" / "8주".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub enabled: bool,
}

/// Per-language text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Localized {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ko: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Localized {
    /// The text for `l`, if the admin wrote one.
    pub fn get(&self, l: Locale) -> Option<&str> {
        l.t(self.ko.as_deref(), self.en.as_deref())
    }
}

/// Follow-up emails after issuing (used by notify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUps {
    pub day3: bool,
    pub day7: bool,
    #[serde(default)]
    pub subject: Localized,
    #[serde(default)]
    pub intro: Localized,
    /// Days before expiry to remind the recipient; `None` = no reminder.
    #[serde(default)]
    pub expiry_reminder_days: Option<u32>,
}

impl Default for FollowUps {
    fn default() -> Self {
        Self {
            day3: true,
            day7: true,
            subject: Localized::default(),
            intro: Localized::default(),
            expiry_reminder_days: Some(30),
        }
    }
}

pub const MAX_RELATED: usize = 10;

/// Everything an admin edits on a template. Every field is already validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSpec {
    pub name: String,
    pub description: String,
    pub criteria: Criteria,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub image: TemplateImage,
    #[serde(default)]
    pub validity: Validity,
    #[serde(default)]
    pub reissue_policy: ReissuePolicy,
    /// Ordered recommendations shown under valid badges.
    #[serde(default)]
    pub related: Vec<RelatedBadge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<Banner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<Enrolment>,
    #[serde(default)]
    pub follow_ups: FollowUps,
}

pub const MAX_SKILLS: usize = 30;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub issuer_id: IssuerId,
    #[serde(flatten)]
    pub spec: TemplateSpec,
    #[serde(default)]
    pub status: TemplateStatus,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Template {
    pub fn new(issuer_id: IssuerId, spec: TemplateSpec, now: DateTime<Utc>) -> Self {
        Self {
            id: TemplateId::generate(),
            issuer_id,
            spec,
            status: TemplateStatus::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == TemplateStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expiry_rules() {
        let zone = Zone::default();
        let issued = Utc.with_ymd_and_hms(2026, 1, 10, 3, 0, 0).unwrap();
        assert_eq!(Validity::Never.expiry(issued, zone), None);
        assert_eq!(
            Validity::DaysAfterIssue { days: 365 }.expiry(issued, zone),
            Some(Utc.with_ymd_and_hms(2027, 1, 10, 3, 0, 0).unwrap())
        );
        let fixed = Validity::FixedDate {
            date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        };
        assert_eq!(
            fixed.expiry(issued, zone),
            Some(Utc.with_ymd_and_hms(2026, 12, 30, 15, 0, 0).unwrap())
        );
        assert!(Validity::DaysAfterIssue { days: 0 }.check().is_err());
    }
}
