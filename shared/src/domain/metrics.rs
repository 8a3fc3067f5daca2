//! Metric definitions (pure). Turns summed daily counters into the numbers admins read. The
//! README's "Analytics" section states the same definitions in words; keep them together.

use chrono::{Datelike, Duration, NaiveDate};
use std::collections::BTreeMap;

/// Email stages, in the order reports list them.
pub const STAGES: [&str; 4] = ["day1", "day3", "day7", "expiry"];
/// Email events counted per stage (SES event types, as counter words).
pub const EMAIL_EVENTS: [&str; 7] = [
    "sent",
    "delivered",
    "bounced",
    "complained",
    "opened",
    "clicked",
    "rejected",
];
/// KakaoTalk/SMS stages, and what is counted of each message (`kakao:{stage}:{event}`): sent
/// (the provider took it), then delivered, fallback_sms (AlimTalk could not, SMS went) or failed.
pub const KAKAO_STAGES: [&str; 3] = ["day1", "day3", "day7"];
pub const KAKAO_EVENTS: [&str; 4] = ["sent", "delivered", "fallback_sms", "failed"];
/// Every [`Network`](super::engagement::Network)'s name (a unit test keeps the two equal).
pub const NETWORKS: [&str; 6] = ["linkedin", "x", "facebook", "email", "native", "copy"];
/// Follow-up sources whose enrolment clicks are conversions: each stage's email and text.
pub const CONVERTING: [(&str, [&str; 2]); 2] = [
    ("day3", ["email-day3", "sms-day3"]),
    ("day7", ["email-day7", "sms-day7"]),
];
const EMAIL_SOURCES: [&str; 3] = ["email-day3", "email-day7", "email-expiry"];
const TEXT_SOURCES: [&str; 2] = ["sms-day3", "sms-day7"];

/// Summed counters of any number of day items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<String, i64>);

impl Counts {
    pub fn get(&self, attr: &str) -> i64 {
        self.0.get(attr).copied().unwrap_or(0)
    }

    pub fn add(&mut self, other: &Counts) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }

    /// One stored day item's numbers. `expires` on a day after `today` is a future expiry, not an
    /// expired award, and is left out.
    pub fn of_day(day: NaiveDate, today: NaiveDate, numbers: BTreeMap<String, i64>) -> Counts {
        let mut c = Counts(numbers);
        if day > today {
            c.0.remove("expires");
        }
        c
    }
}

/// `num ÷ den`, or `None` when there is nothing to divide by (never 0 or NaN for "no data").
pub fn rate(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| ((num as f64 / den as f64) * 10_000.0).round() / 10_000.0)
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageEmails {
    pub stage: &'static str,
    /// In [`EMAIL_EVENTS`] order.
    pub events: Vec<(&'static str, i64)>,
}

/// Every metric of one period and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub issued: i64,
    pub revoked: i64,
    pub expired: i64,
    pub emails: Vec<StageEmails>,
    pub delivery_rate: Option<f64>,
    /// KakaoTalk/SMS per stage, in [`KAKAO_STAGES`] and [`KAKAO_EVENTS`] order.
    pub kakao: Vec<StageEmails>,
    /// Day-1 messages that reached the recipient (by KakaoTalk or its SMS fallback) ÷ sent.
    pub kakao_delivery_rate: Option<f64>,
    pub awards_shared: i64,
    pub share_rate: Option<f64>,
    pub shares: i64,
    pub shares_by_network: Vec<(&'static str, i64)>,
    pub linkedin_add_to_profile: i64,
    pub views: i64,
    pub previews: i64,
    pub awards_viewed: i64,
    pub banner_clicks: i64,
    pub enrol_clicks: i64,
    /// `(template id, clicks)` for each recommended badge clicked, most clicked first.
    pub related_clicks: Vec<(String, i64)>,
    /// Banner + enrolment + related clicks made on the badge page (not from an email).
    pub page_clicks: i64,
    /// The same slots clicked from a follow-up email.
    pub email_clicks: i64,
    /// The same slots clicked from a promotional KakaoTalk/SMS text.
    pub text_clicks: i64,
    pub click_through_rate: Option<f64>,
    pub follow_up_conversions: i64,
    pub conversions_by_stage: Vec<(&'static str, i64)>,
}

impl Metrics {
    pub fn from_counts(c: &Counts) -> Metrics {
        let issued = c.get("issued");
        let awards_shared = c.get("awards_shared");
        let views = c.get("views");
        let related = related_clicks(c);
        let (page_clicks, email_clicks, text_clicks) = clicks(c, &related);
        let conversions_by_stage = conversions_by_stage(c);
        Metrics {
            issued,
            revoked: c.get("revoked"),
            expired: c.get("expires"),
            delivery_rate: rate(c.get("email:day1:delivered"), c.get("email:day1:sent")),
            emails: stage_emails(c),
            kakao: stage_events(c, "kakao", &KAKAO_STAGES, &KAKAO_EVENTS),
            kakao_delivery_rate: rate(
                c.get("kakao:day1:delivered") + c.get("kakao:day1:fallback_sms"),
                c.get("kakao:day1:sent"),
            ),
            awards_shared,
            share_rate: rate(awards_shared, issued),
            shares: c.get("shares"),
            shares_by_network: NETWORKS
                .iter()
                .map(|&n| (n, c.get(&format!("share:{n}"))))
                .collect(),
            linkedin_add_to_profile: c.get("click:linkedin-add"),
            views,
            previews: c.get("previews"),
            awards_viewed: c.get("awards_viewed"),
            banner_clicks: c.get("click:banner"),
            enrol_clicks: c.get("click:enrol"),
            related_clicks: related,
            page_clicks,
            email_clicks,
            text_clicks,
            click_through_rate: rate(page_clicks, views),
            follow_up_conversions: conversions_by_stage.iter().map(|(_, n)| n).sum(),
            conversions_by_stage,
        }
    }
}

/// Every email event of every stage, in [`STAGES`] and [`EMAIL_EVENTS`] order.
fn stage_emails(c: &Counts) -> Vec<StageEmails> {
    stage_events(c, "email", &STAGES, &EMAIL_EVENTS)
}

/// `{channel}:{stage}:{event}` of every stage and event, in their order.
fn stage_events(
    c: &Counts,
    channel: &str,
    stages: &[&'static str],
    events: &[&'static str],
) -> Vec<StageEmails> {
    stages
        .iter()
        .map(|&stage| StageEmails {
            stage,
            events: events
                .iter()
                .map(|&e| (e, c.get(&format!("{channel}:{stage}:{e}"))))
                .collect(),
        })
        .collect()
}

/// `(template id, clicks)` of each recommended badge clicked, most clicked first.
fn related_clicks(c: &Counts) -> Vec<(String, i64)> {
    let mut related: Vec<(String, i64)> =
        c.0.iter()
            .filter_map(|(k, v)| {
                let t = k.strip_prefix("click:related-")?;
                (!t.contains(':') && *v != 0).then(|| (t.to_owned(), *v))
            })
            .collect();
    related.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    related
}

/// Clicks of the page's slots (banner, enrolment, the `related` badges): `(made on the badge
/// page, made from a follow-up email, made from a promotional text)`.
fn clicks(c: &Counts, related: &[(String, i64)]) -> (i64, i64, i64) {
    let mut slots = vec!["banner".to_owned(), "enrol".to_owned()];
    slots.extend(related.iter().map(|(t, _)| format!("related-{t}")));
    let all: i64 = slots.iter().map(|s| c.get(&format!("click:{s}"))).sum();
    let from = |sources: &[&str]| -> i64 {
        slots
            .iter()
            .flat_map(|s| sources.iter().map(move |src| format!("click:{s}:{src}")))
            .map(|k| c.get(&k))
            .sum()
    };
    let (email, text) = (from(&EMAIL_SOURCES), from(&TEXT_SOURCES));
    (all - email - text, email, text)
}

/// Enrolment clicks from each converting follow-up stage.
fn conversions_by_stage(c: &Counts) -> Vec<(&'static str, i64)> {
    CONVERTING
        .iter()
        .map(|(stage, sources)| {
            let n = sources
                .iter()
                .map(|src| c.get(&format!("click:enrol:{src}")));
            (*stage, n.sum())
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    /// Monday to Sunday in the issuer's time zone (ISO weeks).
    Week,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
        }
    }
}

/// The Monday on or before `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(day.weekday().num_days_from_monday() as i64)
}

/// The periods `[from, to]` is cut into: each `(start, end)` inclusive, clipped to the range
/// (so a range starting on a Wednesday has a first week of Wednesday–Sunday).
pub fn periods(from: NaiveDate, to: NaiveDate, g: Granularity) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        let end = match g {
            Granularity::Day => d,
            Granularity::Week => (week_start(d) + Duration::days(6)).min(to),
        };
        out.push((d, end));
        d = end + Duration::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> Counts {
        Counts(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }

    #[test]
    fn rates_are_none_without_a_denominator() {
        let m = Metrics::from_counts(&Counts::default());
        assert_eq!(m.delivery_rate, None);
        assert_eq!(m.share_rate, None);
        assert_eq!(m.click_through_rate, None);
        assert_eq!(rate(0, 5), Some(0.0));
        assert_eq!(rate(1, 3), Some(0.3333));
    }

    #[test]
    fn definitions() {
        let m = Metrics::from_counts(&counts(&[
            ("issued", 10),
            ("awards_shared", 4),
            ("email:day1:sent", 10),
            ("email:day1:delivered", 9),
            ("views", 20),
            ("previews", 7),
            ("click:banner", 3),
            ("click:enrol", 5),
            ("click:enrol:email-day3", 2),
            ("click:enrol:email-day7", 1),
            ("click:related-tpl_a", 2),
            ("click:related-tpl_a:email-day3", 0),
            ("click:banner:sms-day7", 1),
            ("click:enrol:sms-day3", 1),
            ("shares", 6),
            ("share:linkedin", 4),
            ("share:x", 2),
            ("click:linkedin-add", 3),
            ("expires", 2),
        ]));
        assert_eq!(m.delivery_rate, Some(0.9));
        assert_eq!(m.share_rate, Some(0.4));
        assert_eq!(m.page_clicks, 3 + 5 + 2 - 3 - 2);
        assert_eq!(m.email_clicks, 3);
        assert_eq!(m.text_clicks, 2);
        assert_eq!(m.click_through_rate, Some(0.25));
        assert_eq!(m.follow_up_conversions, 4);
        assert_eq!(m.conversions_by_stage, [("day3", 3), ("day7", 1)]);
        assert_eq!(m.related_clicks, vec![("tpl_a".to_owned(), 2)]);
        assert_eq!(m.expired, 2);
        assert_eq!(m.shares_by_network[0], ("linkedin", 4));
    }

    #[test]
    fn future_expiries_are_not_expired_yet() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 10).unwrap();
        let n: BTreeMap<String, i64> = [("expires".to_owned(), 3), ("issued".to_owned(), 1)].into();
        assert_eq!(Counts::of_day(today, today, n.clone()).get("expires"), 3);
        let tomorrow = today.succ_opt().unwrap();
        let c = Counts::of_day(tomorrow, today, n);
        assert_eq!((c.get("expires"), c.get("issued")), (0, 1));
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_are_clipped() {
        // 2026-11-18 is a Wednesday.
        let from = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let p = periods(from, to, Granularity::Week);
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(
            p,
            vec![
                (d(11, 18), d(11, 22)),
                (d(11, 23), d(11, 29)),
                (d(11, 30), d(12, 1))
            ]
        );
        assert_eq!(periods(from, from, Granularity::Day), vec![(from, from)]);
        assert_eq!(week_start(d(11, 23)), d(11, 23));
    }
}
