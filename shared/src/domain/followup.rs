//! Follow-up emails: which stages an award gets, when, and in which hour bucket they wait.

use super::{award::Award, ids::AwardId, template::Template};
use chrono::{DateTime, Duration, DurationRound, Utc};
use sha2::{Digest, Sha256};

/// Shards per hour bucket: a 100,000-award hour is 16 partitions of ~6,250 items, not one.
pub const SHARDS: u8 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// A day-1 email SES refused while the account could send nothing (sending paused, an
    /// unverified sender): tried again from an hour bucket, each hour, until SES takes it.
    Day1,
    Day3,
    Day7,
    /// The reminder email before the award expires.
    Expiry,
    /// The moment it expires: no email, the `award.expired` webhook event (every award with an
    /// expiry gets it, whether or not its recipient gets emails).
    Expired,
    /// The day-1 AlimTalk of an award issued by CSV: its batch's bucket, run when the batch ends,
    /// so a file's messages go 100 to a request.
    KakaoDay1,
    /// The promotional day-3 and day-7 KakaoTalk/SMS messages (held out of the night).
    KakaoDay3,
    KakaoDay7,
    /// Asking the provider what became of a KakaoTalk/SMS request's messages (delivered, fell
    /// back to SMS, failed), minutes after it, in the request's own bucket.
    KakaoResult,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Day1 => "day1",
            Stage::Day3 => "day3",
            Stage::Day7 => "day7",
            Stage::Expiry => "expiry",
            Stage::Expired => "expired",
            Stage::KakaoDay1 => "kakao-day1",
            Stage::KakaoDay3 => "kakao-day3",
            Stage::KakaoDay7 => "kakao-day7",
            Stage::KakaoResult => "kakao-result",
        }
    }

    /// A KakaoTalk/SMS stage (sent by `crate::kakao`, a bucket's worth at a time).
    pub fn is_kakao(self) -> bool {
        matches!(
            self,
            Stage::KakaoDay1 | Stage::KakaoDay3 | Stage::KakaoDay7 | Stage::KakaoResult
        )
    }
    pub fn parse(s: &str) -> Option<Stage> {
        match s {
            "day1" => Some(Stage::Day1),
            "day3" => Some(Stage::Day3),
            "day7" => Some(Stage::Day7),
            "expiry" => Some(Stage::Expiry),
            "expired" => Some(Stage::Expired),
            "kakao-day1" => Some(Stage::KakaoDay1),
            "kakao-day3" => Some(Stage::KakaoDay3),
            "kakao-day7" => Some(Stage::KakaoDay7),
            "kakao-result" => Some(Stage::KakaoResult),
            _ => None,
        }
    }
    /// The `?src=` tag of links in this email.
    pub fn source_tag(self) -> &'static str {
        match self {
            Stage::Day1 => "email-day1",
            Stage::Day3 => "email-day3",
            Stage::Day7 => "email-day7",
            Stage::Expiry | Stage::Expired => "email-expiry",
            Stage::KakaoDay1 | Stage::KakaoResult => "kakao-day1",
            Stage::KakaoDay3 => "sms-day3",
            Stage::KakaoDay7 => "sms-day7",
        }
    }
}

/// The hour an instant falls in, as the bucket's name: `2026-11-26T10`.
pub fn bucket_of(t: DateTime<Utc>) -> String {
    t.duration_trunc(Duration::hours(1))
        .unwrap_or(t)
        .format("%Y-%m-%dT%H")
        .to_string()
}

/// When a bucket is handled: the end of its hour (so nothing in it is early).
pub fn bucket_fires_at(bucket: &str) -> Option<DateTime<Utc>> {
    let start =
        chrono::NaiveDateTime::parse_from_str(&format!("{bucket}:00:00"), "%Y-%m-%dT%H:%M:%S")
            .ok()?;
    Some(start.and_utc() + Duration::hours(1))
}

pub fn shard_of(id: &AwardId) -> u8 {
    Sha256::digest(id.as_str().as_bytes())[0] % SHARDS
}

/// The follow-ups an award is due (day 3 and day 7 after it was recorded; the expiry reminder
/// before `expires_on`), by the template's settings (the conditions that depend on
/// the moment of sending are checked again then); and, for every award that expires, the moment
/// it does.
pub fn plan(award: &Award, template: &Template) -> Vec<(Stage, DateTime<Utc>)> {
    let mut out: Vec<(Stage, DateTime<Utc>)> = award
        .expires_on
        .map(|t| (Stage::Expired, t))
        .into_iter()
        .collect();
    if !award.notify {
        return out;
    }
    let f = &template.spec.follow_ups;
    // Counted from when the award was recorded, not its `issued_on`: a back-dated CSV import
    // must not fire day 1, day 3 and day 7 at once.
    if f.day3 {
        out.push((Stage::Day3, award.created_at + Duration::days(3)));
    }
    if f.day7 {
        out.push((Stage::Day7, award.created_at + Duration::days(7)));
    }
    if let (Some(days), Some(expires)) = (f.expiry_reminder_days, award.expires_on) {
        out.push((Stage::Expiry, expires - Duration::days(i64::from(days))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn buckets() {
        let t = Utc.with_ymd_and_hms(2026, 11, 26, 10, 37, 5).unwrap();
        assert_eq!(bucket_of(t), "2026-11-26T10");
        assert_eq!(
            bucket_fires_at("2026-11-26T10").unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 26, 11, 0, 0).unwrap()
        );
        assert!(bucket_fires_at("nonsense").is_none());
        let spread: std::collections::HashSet<u8> =
            (0..200).map(|_| shard_of(&AwardId::generate())).collect();
        assert_eq!(spread.len(), SHARDS as usize);
    }
}
