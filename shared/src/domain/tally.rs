//! What an event adds to the pre-aggregated daily counters (pure: no I/O).
//!
//! Every award belongs to up to three *segments*: its template, its batch (CSV uploads) and its
//! cohort (a free label set when issuing). Each segment has one counter item per day in the
//! issuer's time zone; an event adds to the day items of each segment the award belongs to, so a
//! report for a template, a batch or a cohort reads one item per day, whatever the number of
//! awards.
//!
//! Which day an event lands on:
//! - activity (`views`, `clicks`, `shares`, emails, `revoked`): the day it happened;
//! - `issued`: the day the award was recorded (not its back-dated `issued_on`);
//! - `awards_viewed`, `awards_shared`: the day the award was recorded, so "share rate" is the
//!   share of the awards issued in a period that were ever shared (never above 100 %);
//! - `expires`: the award's expiry day (a future day until then; reports count only days up to
//!   today). Revoking or replacing an award before it expires takes it back out.
//!
//! Lifecycle counters (`issued`, `revoked`, `expires`) move in the transaction that makes the
//! change. Activity reaches the day items through the rollup of the award's own counters
//! (`domain::rollup`): the request writes only the award's counters item.

use super::{
    award::Award,
    ids::{BatchId, IssuerId, TemplateId},
    time::Zone,
};
use chrono::{DateTime, NaiveDate, Utc};

/// A reporting segment with its own daily counter items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Template(TemplateId),
    Batch(BatchId),
    Cohort(IssuerId, String),
}

impl Segment {
    /// The segments an award is counted in.
    pub fn of(award: &Award) -> Vec<Segment> {
        Segment::all(
            &award.template_id,
            award.batch_id.as_ref(),
            &award.issuer_id,
            award.cohort.as_deref(),
        )
    }

    /// The segments of an award of `template` (of `issuer`), in `batch` and `cohort` if any (a
    /// blank cohort is none).
    pub fn all(
        template: &TemplateId,
        batch: Option<&BatchId>,
        issuer: &IssuerId,
        cohort: Option<&str>,
    ) -> Vec<Segment> {
        let mut v = vec![Segment::Template(template.clone())];
        if let Some(b) = batch {
            v.push(Segment::Batch(b.clone()));
        }
        if let Some(c) = cohort.filter(|c| !c.is_empty()) {
            v.push(Segment::Cohort(issuer.clone(), c.to_owned()));
        }
        v
    }
}

/// Add `delta` to counter `attr` of `segment` on `day`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub segment: Segment,
    pub day: NaiveDate,
    pub attr: String,
    pub delta: i64,
}

fn each(award: &Award, day: NaiveDate, attr: &str, delta: i64) -> Vec<Tally> {
    Segment::of(award)
        .into_iter()
        .map(|segment| Tally {
            segment,
            day,
            attr: attr.to_owned(),
            delta,
        })
        .collect()
}

/// The day an award was recorded, in the issuer's zone.
pub fn recorded_day(award: &Award, zone: Zone) -> NaiveDate {
    zone.date_of(award.created_at)
}

/// Written in the same transaction as a new award: `issued`, and `expires` on its expiry day.
pub fn issued(award: &Award, zone: Zone) -> Vec<Tally> {
    let mut v = each(award, recorded_day(award, zone), "issued", 1);
    if let Some(e) = award.expires_on {
        v.extend(each(award, zone.date_of(e), "expires", 1));
    }
    v
}

/// Written with a revocation: `revoked` today, and the expiry taken back if it has not happened.
pub fn revoked(award: &Award, zone: Zone, now: DateTime<Utc>) -> Vec<Tally> {
    let mut v = each(award, zone.date_of(now), "revoked", 1);
    // A replaced award's expiry was taken back when it was replaced.
    if award.superseded_by.is_none() {
        v.extend(no_longer_expiring(award, zone, now));
    }
    v
}

/// Written when a newer award replaces this one: it will not expire any more.
pub fn superseded(award: &Award, zone: Zone, now: DateTime<Utc>) -> Vec<Tally> {
    no_longer_expiring(award, zone, now)
}

fn no_longer_expiring(award: &Award, zone: Zone, now: DateTime<Utc>) -> Vec<Tally> {
    match award.expires_on {
        Some(e) if e > now => each(award, zone.date_of(e), "expires", -1),
        _ => Vec::new(),
    }
}

/// Tallies merged by (segment, day): one counter item update each, attributes summed.
/// One counter item (segment, day) and the deltas to add to its attributes.
pub type ItemDeltas = ((Segment, NaiveDate), Vec<(String, i64)>);

pub fn group(tallies: &[Tally]) -> Vec<ItemDeltas> {
    let mut map: std::collections::BTreeMap<(Segment, NaiveDate), Vec<(String, i64)>> =
        std::collections::BTreeMap::new();
    for t in tallies {
        let attrs = map.entry((t.segment.clone(), t.day)).or_default();
        match attrs.iter_mut().find(|(a, _)| *a == t.attr) {
            Some((_, n)) => *n += t.delta,
            None => attrs.push((t.attr.clone(), t.delta)),
        }
    }
    map.into_iter()
        .map(|(k, mut v)| {
            v.retain(|(_, n)| *n != 0);
            (k, v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::award::test_support;
    use chrono::{Duration, TimeZone};

    fn award(batch: bool, cohort: Option<&str>) -> Award {
        // 2026-03-01 23:30 UTC = 2026-03-02 08:30 in Seoul.
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        Award {
            issued_on: now - Duration::days(400),
            expires_on: Some(now + Duration::days(30)),
            batch_id: batch.then(BatchId::generate),
            cohort: cohort.map(str::to_owned),
            ..test_support::award(now)
        }
    }

    fn seoul() -> Zone {
        Zone::parse("Asia/Seoul").unwrap()
    }

    #[test]
    fn segments_follow_the_award() {
        assert_eq!(Segment::of(&award(false, None)).len(), 1);
        assert_eq!(Segment::of(&award(true, None)).len(), 2);
        assert_eq!(Segment::of(&award(true, Some("2026 봄"))).len(), 3);
        assert_eq!(Segment::of(&award(false, Some(""))).len(), 1);
    }

    #[test]
    fn issued_lands_on_the_recorded_day_in_the_issuers_zone() {
        let a = award(true, None);
        let t = issued(&a, seoul());
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        assert!(t
            .iter()
            .filter(|t| t.attr == "issued")
            .all(|t| t.day == day && t.delta == 1));
        assert_eq!(t.iter().filter(|t| t.attr == "issued").count(), 2);
        let exp = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        assert!(t
            .iter()
            .filter(|t| t.attr == "expires")
            .all(|t| t.day == exp));
    }

    #[test]
    fn revoking_before_expiry_takes_the_expiry_back() {
        let a = award(false, None);
        let now = a.created_at + Duration::days(1);
        let t = revoked(&a, seoul(), now);
        assert!(t.iter().any(|t| t.attr == "revoked" && t.delta == 1));
        assert!(t.iter().any(|t| t.attr == "expires" && t.delta == -1));
        // After it expired, a revocation no longer changes the expired count.
        let late = a.expires_on.unwrap() + Duration::days(1);
        assert!(revoked(&a, seoul(), late)
            .iter()
            .all(|t| t.attr == "revoked"));
        assert!(superseded(&a, seoul(), late).is_empty());
    }

    #[test]
    fn grouping_merges_one_item_per_segment_day() {
        let a = award(true, Some("c"));
        let day = recorded_day(&a, seoul());
        let mut t = each(&a, day, "views", 1);
        t.extend(each(&a, day, "views", 1));
        t.extend(each(&a, day, "awards_viewed", 1));
        let g = group(&t);
        assert_eq!(g.len(), 3);
        for (_, attrs) in g {
            assert!(attrs.contains(&("views".into(), 2)));
        }
        // Deltas that cancel out write nothing.
        let mut t = issued(&a, seoul());
        t.extend(superseded(&a, seoul(), a.created_at));
        assert!(group(&t)
            .iter()
            .all(|(_, v)| v.iter().all(|(a, _)| a == "issued")));
    }
}
