//! The rollup of award counters into the daily segment counters (pure: no I/O).
//!
//! A badge view, click, share or SES event writes only its award's counters item: `ADD` to its
//! counters and to the item's `version`, and `SET` of the [`Tags`] that say where the event lands
//! (segments, the event's day, the day the award was recorded). The table's stream shows each
//! such write with the item before and after it ([`Change`]); the rollup adds `new − old` of every
//! counter to the day items of the award's segments, and an award's first human view / first
//! share (its `views` / `shares` going from 0 to ≥ 1) once to the day it was recorded.
//!
//! Exactly once per write: records of one shard reach the rollup in order, one batch at a time
//! (`ParallelizationFactor` 1). Each chunk of the rollup ([`Chunk`], one transaction) records the
//! [`Span`] of records it covers — its first and last sequence number, an item of its own written
//! only if absent — together with the adds. A change inside a recorded span was rolled up before
//! (a redelivered, retried or bisected batch) and is skipped; a span refused because it is there
//! already means the chunk landed before, and the batch is planned again from the spans read
//! back ([`Progress`]). Records Lambda gave up on are in no span, so handing them to the rollup
//! again (`infra replay-failures`) rolls them up then, once.

use super::{
    award::Award,
    ids::{AwardId, BatchId, IssuerId, TemplateId},
    tally::{self, ItemDeltas, Segment, Tally},
    time::Zone,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// DynamoDB's limit on the items of one transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// What a counting write carries besides its counters, so that its stream record alone says
/// where it lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    pub template: TemplateId,
    pub issuer: IssuerId,
    pub batch: Option<BatchId>,
    pub cohort: Option<String>,
    /// The day of the event, in the issuer's time zone at that moment.
    pub day: NaiveDate,
    /// The day the award was recorded, in the same zone (where first views and shares land).
    pub recorded: NaiveDate,
}

impl Tags {
    /// The tags of an event on `award` at `now`, for an issuer in `zone`.
    pub fn of(award: &Award, zone: Zone, now: DateTime<Utc>) -> Self {
        Self {
            template: award.template_id.clone(),
            issuer: award.issuer_id.clone(),
            batch: award.batch_id.clone(),
            cohort: award.cohort.clone().filter(|c| !c.is_empty()),
            day: zone.date_of(now),
            recorded: tally::recorded_day(award, zone),
        }
    }

    /// The segments the award is counted in.
    pub fn segments(&self) -> Vec<Segment> {
        Segment::all(
            &self.template,
            self.batch.as_ref(),
            &self.issuer,
            self.cohort.as_deref(),
        )
    }
}

/// Counters whose first step up from 0 counts the award once, on the day it was recorded.
const FIRSTS: [(&str, &str); 2] = [("views", "awards_viewed"), ("shares", "awards_shared")];

/// One counting write, as the table's stream shows it: a write on an award's counters item, or
/// an email stage's mark `sent` (which counts `email:{stage}:sent`; ARCHITECTURE.md, "Counters").
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub award: AwardId,
    /// The stream record's sequence number (what a partial batch failure names).
    pub seq: String,
    /// The counters item's `version` after this write (every counting write adds 1); `None`
    /// for an email stage's mark, which no older release's watermark can hold.
    pub version: Option<u64>,
    /// When the stream record was made (epoch seconds, rounded down), if it says.
    pub created: Option<i64>,
    /// The tags this write set.
    pub tags: Tags,
    /// The counters before and after the write (absent = 0).
    pub old: BTreeMap<String, i64>,
    pub new: BTreeMap<String, i64>,
}

impl Change {
    /// What this write adds to the day items: `new − old` of every counter on the event's day
    /// in each segment, and the award's first view / first share on the day it was recorded.
    pub fn tallies(&self) -> Vec<Tally> {
        let get = |m: &BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
        let segments = self.tags.segments();
        let mut out = Vec::new();
        let mut add = |day: NaiveDate, attr: &str, delta: i64| {
            out.extend(segments.iter().map(|segment| Tally {
                segment: segment.clone(),
                day,
                attr: attr.to_owned(),
                delta,
            }));
        };
        let names: BTreeSet<&String> = self.old.keys().chain(self.new.keys()).collect();
        for name in names {
            let delta = get(&self.new, name) - get(&self.old, name);
            if delta != 0 {
                add(self.tags.day, name, delta);
            }
        }
        for (counter, first) in FIRSTS {
            if get(&self.old, counter) <= 0 && get(&self.new, counter) >= 1 {
                add(self.tags.recorded, first, 1);
            }
        }
        out
    }
}

/// The longest stream sequence number (DynamoDB's are 21 to 40 digits).
const SEQ_DIGITS: usize = 40;

/// A stream sequence number as a fixed-width key: its digits left-padded with zeros to 40, so
/// that keys order as the numbers do. `None` for anything but 1 to 40 ASCII digits.
pub fn seq_key(seq: &str) -> Option<String> {
    let digits =
        !seq.is_empty() && seq.len() <= SEQ_DIGITS && seq.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| format!("{seq:0>SEQ_DIGITS$}"))
}

/// A run of one shard's records whose counting writes are in the day items: from the record
/// `first` to the record `last` (sequence keys, [`seq_key`]). A shard's spans never overlap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub first: String,
    pub last: String,
}

impl Span {
    fn holds(&self, key: &str) -> bool {
        self.first.as_str() <= key && key <= self.last.as_str()
    }
}

/// Where a batch's spans are kept: a shard of the table's stream, or — for a batch that names
/// no shard (the mapping without its tumbling window) — one award, as a shard of its own (an
/// item's records are in one shard, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shard {
    Stream { stream: String, id: String },
    Award { stream: String, award: AwardId },
}

impl Shard {
    /// The name its spans are kept under: `{stream}#{shard id}` or `{stream}#award#{award}` (a
    /// shard id holds no `#`, so the two never meet).
    pub fn name(&self) -> String {
        match self {
            Shard::Stream { stream, id } => format!("{stream}#{id}"),
            Shard::Award { stream, award } => format!("{stream}#award#{award}"),
        }
    }

    /// The stream's label (the end of its ARN).
    pub fn stream(&self) -> &str {
        match self {
            Shard::Stream { stream, .. } | Shard::Award { stream, .. } => stream,
        }
    }
}

/// What is known to be rolled up already: the shard's spans around the batch, and, for a shard
/// no span of which precedes the batch, what was rolled up there by other means: the per-award
/// watermarks releases before 2026-12-05 kept (`version` rolled up), and the awards' own spans
/// of batches that named no shard (both may hold part of a batch redelivered now).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub spans: Vec<Span>,
    pub legacy: Option<BTreeMap<AwardId, u64>>,
    pub by_award: BTreeMap<AwardId, Vec<Span>>,
}

impl Known {
    fn in_span(&self, key: &str) -> bool {
        self.spans.iter().any(|s| s.holds(key))
    }

    /// Rolled up outside this shard's spans (an older release's watermark, the award's spans).
    fn held_elsewhere(&self, c: &Change, key: &str) -> bool {
        let mark = |m: &BTreeMap<AwardId, u64>| m.get(&c.award).copied().unwrap_or(0);
        let by_award = self.by_award.get(&c.award);
        let legacy = |m: &BTreeMap<AwardId, u64>| c.version.is_some_and(|v| v <= mark(m));
        self.legacy.as_ref().is_some_and(legacy)
            || by_award.is_some_and(|spans| spans.iter().any(|s| s.holds(key)))
    }
}

/// One transaction of the rollup: the span it records and the day items' adds, at most
/// [`MAX_TRANSACTION_ITEMS`] items, each item once.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// How many of the pending changes it covers (applied here, or rolled up before).
    pub consumed: usize,
    /// The span to record; `None` when there is nothing to write.
    pub span: Option<Span>,
    pub adds: Vec<ItemDeltas>,
}

impl Chunk {
    pub fn items(&self) -> usize {
        usize::from(self.span.is_some()) + self.adds.len()
    }
}

/// The next transaction's worth of `pending` (changes of one shard, in stream order) given what
/// is `known`. Changes in a span are skipped while the chunk is empty and end it otherwise (so
/// spans never overlap); the rest are taken in order while the span item and the distinct day
/// items stay within one transaction. A change rolled up by other means (an older release's
/// watermark, its award's own span) is taken without its adds, so that the span records it too.
pub fn next_chunk(pending: &[Change], known: &Known) -> Chunk {
    let mut tallies = Vec::new();
    let mut days: BTreeSet<(Segment, NaiveDate)> = BTreeSet::new();
    let mut span: Option<Span> = None;
    let mut consumed = 0;
    for c in pending {
        let key = seq_key(&c.seq).unwrap_or_default();
        if known.in_span(&key) {
            if span.is_some() {
                break;
            }
            consumed += 1;
            continue;
        }
        let t = if known.held_elsewhere(c, &key) {
            Vec::new()
        } else {
            c.tallies()
        };
        let new_days: BTreeSet<(Segment, NaiveDate)> = t
            .iter()
            .map(|t| (t.segment.clone(), t.day))
            .filter(|k| !days.contains(k))
            .collect();
        if span.is_some() && 1 + days.len() + new_days.len() > MAX_TRANSACTION_ITEMS {
            break;
        }
        days.extend(new_days);
        tallies.extend(t);
        let s = span.get_or_insert_with(|| Span {
            first: key.clone(),
            last: String::new(),
        });
        s.last = key;
        consumed += 1;
    }
    Chunk {
        consumed,
        span,
        adds: tally::group(&tallies),
    }
}

/// `changes` (in stream order) by award, the awards in the order of their first change: what a
/// batch that names no shard is rolled up as — each award a shard of its own, since an item's
/// records are in one shard, in order.
pub fn by_award(changes: &[Change]) -> Vec<(AwardId, Vec<Change>)> {
    let mut groups: Vec<(AwardId, Vec<Change>)> = Vec::new();
    let mut at: BTreeMap<&AwardId, usize> = BTreeMap::new();
    for c in changes {
        let i = *at.entry(&c.award).or_insert_with(|| {
            groups.push((c.award.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(c.clone());
    }
    groups
}

/// Where a batch rolled up by award must be retried from when the rollup of `groups[failed]`
/// ([`by_award`]) stopped at its change `seq`: that change, or the next award's first if it
/// comes before (the awards before are rolled up; every later award starts after the next one).
pub fn retry_from(groups: &[(AwardId, Vec<Change>)], failed: usize, seq: String) -> String {
    let next = groups.get(failed + 1).and_then(|(_, g)| g.first());
    match next {
        Some(c) if seq_key(&c.seq) < seq_key(&seq) => c.seq.clone(),
        _ => seq,
    }
}

/// A batch's rollup in progress: the chunk to write next, given what the table answered.
#[derive(Debug)]
pub struct Progress<'a> {
    pending: &'a [Change],
    at: usize,
    known: Known,
}

impl<'a> Progress<'a> {
    /// `changes` in stream order, one shard's; `known`: what the table held when the batch came.
    pub fn new(changes: &'a [Change], known: Known) -> Self {
        Self {
            pending: changes,
            at: 0,
            known,
        }
    }

    /// The next chunk to write; `None` when every change is rolled up (here or before).
    pub fn next_chunk(&mut self) -> Option<Chunk> {
        while self.at < self.pending.len() {
            let chunk = next_chunk(&self.pending[self.at..], &self.known);
            if chunk.span.is_some() {
                return Some(chunk);
            }
            self.at += chunk.consumed;
        }
        None
    }

    /// The chunk was written: its span is rolled up.
    pub fn written(&mut self, chunk: &Chunk) {
        self.at += chunk.consumed;
        self.known.spans.extend(chunk.span.clone());
    }

    /// What the table holds, read again (after a chunk was refused because its span was there).
    pub fn found(&mut self, known: Known) {
        self.known = known;
    }

    /// The first change not yet known to be rolled up: where a retry of the batch must start.
    pub fn first_pending(&self) -> Option<&str> {
        self.pending.get(self.at).map(|c| c.seq.as_str())
    }

    /// The awards of the changes not yet rolled up.
    pub fn pending_awards(&self) -> Vec<AwardId> {
        let rest = self.pending.get(self.at..).unwrap_or_default();
        rest.iter().map(|c| c.award.clone()).collect()
    }

    /// The awards of the changes not yet rolled up whose records were made by `at` (epoch
    /// seconds; a record that does not say counts as made by then), each once.
    pub fn awards_made_by(&self, at: i64) -> Vec<AwardId> {
        let rest = self.pending.get(self.at..).unwrap_or_default();
        let old = rest.iter().filter(|c| c.created.is_none_or(|t| t <= at));
        let awards: BTreeSet<&AwardId> = old.map(|c| &c.award).collect();
        awards.into_iter().cloned().collect()
    }

    /// The sequence keys of the first and the last change not yet rolled up.
    pub fn pending_keys(&self) -> Option<(String, String)> {
        let rest = self.pending.get(self.at..)?;
        let key = |c: &Change| seq_key(&c.seq).unwrap_or_default();
        Some((key(rest.first()?), key(rest.last()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::award::test_support;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn tags(cohort: Option<&str>) -> Tags {
        Tags {
            template: TemplateId::generate(),
            issuer: IssuerId::generate(),
            batch: Some(BatchId::generate()),
            cohort: cohort.map(str::to_owned),
            day: day(17),
            recorded: day(2),
        }
    }

    fn counters(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    /// Sequence numbers in the order changes are made (stream order within a test).
    static NEXT_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(100_000);

    /// The `version`-th write on `award`: `attrs` +1 each, on top of `before`.
    fn write(
        award: &AwardId,
        tags: &Tags,
        version: u64,
        before: &[(&str, i64)],
        attrs: &[&str],
    ) -> Change {
        let old = counters(before);
        let mut new = old.clone();
        for a in attrs {
            *new.entry((*a).to_owned()).or_default() += 1;
        }
        Change {
            award: award.clone(),
            seq: NEXT_SEQ
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_string(),
            version: Some(version),
            created: None,
            tags: tags.clone(),
            old,
            new,
        }
    }

    #[test]
    fn tags_follow_the_award_and_the_issuers_zone() {
        // 2026-03-01 23:30 UTC is 2 March in Seoul.
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 23, 30, 0).unwrap();
        let mut a = test_support::award(now - chrono::Duration::days(3));
        a.cohort = Some(String::new());
        let t = Tags::of(&a, Zone::default(), now);
        assert_eq!(t.day, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(t.recorded, NaiveDate::from_ymd_opt(2026, 2, 27).unwrap());
        assert_eq!(t.cohort, None, "a blank cohort is none");
        assert_eq!(t.segments(), vec![Segment::Template(a.template_id.clone())]);
    }

    #[test]
    fn a_write_adds_its_deltas_to_every_segment_and_its_firsts_to_the_recorded_day() {
        let a = AwardId::generate();
        let t = tags(Some("2026 봄"));
        let first = write(&a, &t, 1, &[("previews", 2)], &["views"]);
        let got = first.tallies();
        assert_eq!(
            got.len(),
            6,
            "views and awards_viewed in 3 segments: {got:?}"
        );
        assert!(got
            .iter()
            .filter(|x| x.attr == "views")
            .all(|x| x.day == day(17) && x.delta == 1));
        assert!(got
            .iter()
            .filter(|x| x.attr == "awards_viewed")
            .all(|x| x.day == day(2) && x.delta == 1));
        // Later views and shares after the first are counted, not their awards again.
        let later = write(
            &a,
            &t,
            2,
            &[("views", 1), ("shares", 3)],
            &["views", "shares", "share:x"],
        );
        let attrs: BTreeSet<String> = later.tallies().into_iter().map(|x| x.attr).collect();
        assert_eq!(
            attrs,
            ["share:x", "shares", "views"].map(String::from).into()
        );
        // A preview is no view: no first view.
        let preview = write(&AwardId::generate(), &t, 1, &[], &["previews"]);
        assert!(preview.tallies().iter().all(|x| x.attr == "previews"));
    }

    fn sorted(v: &[(String, i64)]) -> Vec<(String, i64)> {
        let mut v = v.to_vec();
        v.sort();
        v
    }

    fn key(c: &Change) -> String {
        seq_key(&c.seq).unwrap()
    }

    fn span(from: &Change, to: &Change) -> Span {
        Span {
            first: key(from),
            last: key(to),
        }
    }

    #[test]
    fn sequence_keys_order_as_numbers_and_refuse_anything_else() {
        let (short, long) = (seq_key("999").unwrap(), seq_key("1000").unwrap());
        assert!(short < long);
        assert_eq!(long.len(), 40);
        let max = "9".repeat(40);
        assert_eq!(seq_key(&max).unwrap(), max);
        for bad in ["", "12a", "-1", &"1".repeat(41), "１２"] {
            assert_eq!(seq_key(bad), None, "{bad:?}");
        }
    }

    /// Three awards' writes in the stream order a1 b1 a2 c1 b2.
    fn interleaved() -> ([AwardId; 3], Vec<Change>) {
        let (a, b, c) = (
            AwardId::generate(),
            AwardId::generate(),
            AwardId::generate(),
        );
        let t = tags(None);
        let changes = vec![
            write(&a, &t, 1, &[], &["views"]),
            write(&b, &t, 1, &[], &["views"]),
            write(&a, &t, 2, &[("views", 1)], &["views"]),
            write(&c, &t, 1, &[], &["clicks"]),
            write(&b, &t, 2, &[("views", 1)], &["views"]),
        ];
        ([a, b, c], changes)
    }

    #[test]
    fn a_batch_by_award_keeps_each_awards_changes_in_order_and_the_awards_in_first_seen_order() {
        let ([a, b, c], changes) = interleaved();
        let groups = by_award(&changes);
        let order: Vec<&AwardId> = groups.iter().map(|(award, _)| award).collect();
        assert_eq!(order, [&a, &b, &c]);
        let seqs = |i: usize| -> Vec<&str> { groups[i].1.iter().map(|c| c.seq.as_str()).collect() };
        assert_eq!(seqs(0), [&changes[0].seq, &changes[2].seq]);
        assert_eq!(seqs(1), [&changes[1].seq, &changes[4].seq]);
        assert_eq!(seqs(2), [&changes[3].seq]);
        assert!(by_award(&[]).is_empty());
    }

    #[test]
    fn a_batch_by_award_is_retried_from_the_first_record_not_rolled_up() {
        let (_, changes) = interleaved();
        let groups = by_award(&changes);
        let seq = |i: usize| changes[i].seq.clone();
        // a stopped at a2: b1 comes before it and was not reached.
        assert_eq!(retry_from(&groups, 0, seq(2)), seq(1));
        // a stopped at a1: nothing before it.
        assert_eq!(retry_from(&groups, 0, seq(0)), seq(0));
        // b stopped at b2 (a is rolled up): c1 comes first.
        assert_eq!(retry_from(&groups, 1, seq(4)), seq(3));
        // The last award: its own record.
        assert_eq!(retry_from(&groups, 2, seq(3)), seq(3));
    }

    #[test]
    fn only_awards_with_records_made_by_a_time_are_looked_up_by_award() {
        let (a, b, c) = (
            AwardId::generate(),
            AwardId::generate(),
            AwardId::generate(),
        );
        let t = tags(None);
        let made = |award: &AwardId, at: Option<i64>| {
            let mut w = write(award, &t, 1, &[], &["views"]);
            w.created = at;
            w
        };
        let changes = vec![
            made(&a, Some(100)),
            made(&b, Some(101)),
            made(&c, None),
            made(&a, Some(200)),
        ];
        let p = Progress::new(&changes, Known::default());
        let mut want = vec![a.clone(), c.clone()];
        want.sort();
        assert_eq!(
            p.awards_made_by(100),
            want,
            "a's first record; c's says no time"
        );
        assert_eq!(p.awards_made_by(99), vec![c.clone()]);
        assert_eq!(p.awards_made_by(200).len(), 3);
    }

    #[test]
    fn a_chunk_skips_what_a_span_holds_and_records_the_span_it_adds() {
        let (a, b) = (AwardId::generate(), AwardId::generate());
        let t = tags(None);
        let changes = vec![
            write(&a, &t, 4, &[("views", 3)], &["views"]),
            write(&b, &t, 1, &[], &["previews"]),
            write(&a, &t, 5, &[("views", 4)], &["views"]),
        ];
        let chunk = next_chunk(&changes, &Known::default());
        assert_eq!(chunk.consumed, 3);
        assert_eq!(chunk.span, Some(span(&changes[0], &changes[2])));
        assert_eq!(chunk.adds.len(), 2, "the template and the batch, today");
        for (_, v) in &chunk.adds {
            assert_eq!(sorted(v), [("previews".into(), 1), ("views".into(), 2)]);
        }
        // Redelivered after the first change was rolled up: only the other two are left.
        let known = Known {
            spans: vec![span(&changes[0], &changes[0])],
            legacy: None,
            ..Known::default()
        };
        let chunk = next_chunk(&changes, &known);
        assert_eq!(chunk.span, Some(span(&changes[1], &changes[2])));
        for (_, v) in &chunk.adds {
            assert_eq!(sorted(v), [("previews".into(), 1), ("views".into(), 1)]);
        }
        // A span in the middle (records given up on around it, handed over again) ends a chunk:
        // spans never overlap.
        let known = Known {
            spans: vec![span(&changes[1], &changes[1])],
            legacy: None,
            ..Known::default()
        };
        let mut p = Progress::new(&changes, known);
        let first = p.next_chunk().unwrap();
        assert_eq!(
            (first.consumed, first.span.clone()),
            (1, Some(span(&changes[0], &changes[0])))
        );
        p.written(&first);
        let second = p.next_chunk().unwrap();
        assert_eq!(second.span, Some(span(&changes[2], &changes[2])));
        p.written(&second);
        assert_eq!((p.next_chunk(), p.first_pending()), (None, None));
        // Everything rolled up: nothing to write.
        let known = Known {
            spans: vec![span(&changes[0], &changes[2])],
            legacy: None,
            ..Known::default()
        };
        let chunk = next_chunk(&changes, &known);
        assert_eq!((chunk.consumed, chunk.items()), (3, 0));
    }

    #[test]
    fn on_a_shard_without_spans_the_old_watermarks_skip_what_older_releases_rolled_up() {
        let (a, b) = (AwardId::generate(), AwardId::generate());
        let t = tags(None);
        let changes = vec![
            write(&a, &t, 4, &[("views", 3)], &["views"]),
            write(&b, &t, 7, &[("views", 6)], &["views"]),
            write(&a, &t, 5, &[("views", 4)], &["views"]),
        ];
        // An older release rolled up a's 4th write and b's 7th before the batch came back.
        let known = Known {
            spans: Vec::new(),
            legacy: Some(BTreeMap::from([(a.clone(), 4), (b.clone(), 7)])),
            ..Known::default()
        };
        let chunk = next_chunk(&changes, &known);
        assert_eq!(
            chunk.span,
            Some(span(&changes[0], &changes[2])),
            "the span records the writes skipped too, so a later redelivery skips them by it"
        );
        for (_, v) in &chunk.adds {
            assert_eq!(sorted(v), [("views".into(), 1)], "a's 5th write only");
        }
        // Every write rolled up by the older release: a span of no adds, still written.
        let known = Known {
            spans: Vec::new(),
            legacy: Some(BTreeMap::from([(a, 5), (b, 7)])),
            ..Known::default()
        };
        let chunk = next_chunk(&changes, &known);
        assert_eq!((chunk.items(), chunk.adds.len()), (1, 0));
    }

    #[test]
    fn chunks_stay_within_one_transaction() {
        // 150 awards of 150 templates: four day items each (views and the first view, in the
        // template and the batch), and one span a chunk.
        let changes: Vec<Change> = (0..150)
            .map(|_| write(&AwardId::generate(), &tags(None), 1, &[], &["views"]))
            .collect();
        let mut progress = Progress::new(&changes, Known::default());
        let (mut total, mut chunks) = (0, 0);
        while let Some(chunk) = progress.next_chunk() {
            assert!(chunk.items() <= MAX_TRANSACTION_ITEMS, "{}", chunk.items());
            total += chunk.consumed;
            chunks += 1;
            progress.written(&chunk);
        }
        assert_eq!((total, chunks), (150, 7), "24 awards a chunk");
        assert_eq!(progress.first_pending(), None);
    }

    /// The table as the rollup sees it: the spans of the stream's one shard and of its awards,
    /// whether the stream was rolled up by award, and the day items; a chunk written all or
    /// nothing.
    #[derive(Default)]
    struct Table {
        spans: BTreeMap<String, BTreeMap<String, String>>,
        by_award_marked: bool,
        days: BTreeMap<(Segment, NaiveDate, String), i64>,
    }

    fn the_shard() -> Shard {
        Shard::Stream {
            stream: "s".into(),
            id: "shardId-1".into(),
        }
    }

    impl Table {
        /// Writes the chunk unless its span is there already.
        fn write(&mut self, shard: &Shard, chunk: &Chunk) -> Result<(), ()> {
            let span = chunk.span.clone().expect("a chunk to write");
            let spans = self.spans.entry(shard.name()).or_default();
            if spans.contains_key(&span.first) {
                return Err(());
            }
            spans.insert(span.first, span.last);
            for ((seg, d), attrs) in &chunk.adds {
                for (attr, n) in attrs {
                    *self
                        .days
                        .entry((seg.clone(), *d, attr.clone()))
                        .or_default() += n;
                }
            }
            Ok(())
        }

        /// The store's read of a shard's spans: up to `last`, newest first, down to the first
        /// that ends before `first`.
        fn spans_back_from(&self, shard: &Shard, first: &str, last: &str) -> Vec<Span> {
            let mut out = Vec::new();
            let Some(spans) = self.spans.get(&shard.name()) else {
                return out;
            };
            for (f, l) in spans.range(..=last.to_owned()).rev() {
                out.push(Span {
                    first: f.clone(),
                    last: l.clone(),
                });
                if l.as_str() < first {
                    break;
                }
            }
            out
        }

        /// What the store reads for a batch (`Store::rollup_known`).
        fn known(&self, shard: &Shard, p: &Progress<'_>) -> Known {
            let Some((first, last)) = p.pending_keys() else {
                return Known::default();
            };
            let spans = self.spans_back_from(shard, &first, &last);
            let mut by_award = BTreeMap::new();
            if matches!(shard, Shard::Stream { .. }) && self.by_award_marked {
                for award in p.awards_made_by(0) {
                    let own = Shard::Award {
                        stream: "s".into(),
                        award: award.clone(),
                    };
                    by_award.insert(award, self.spans_back_from(&own, &first, &last));
                }
            }
            let legacy = spans.is_empty().then(BTreeMap::new);
            Known {
                spans,
                legacy,
                by_award,
            }
        }

        /// One delivery of `batch`, as the rollup handles it: with its shard when `windowed`,
        /// else award by award. `fault` says how each write goes: 0, it fails before it lands;
        /// 1, it lands and its answer is lost (the caller saw an error and gives up); either
        /// way the batch fails from its first pending change. Answers that index, if any.
        fn deliver(
            &mut self,
            batch: &[Change],
            windowed: bool,
            fault: &mut impl FnMut() -> u8,
        ) -> Option<usize> {
            if windowed {
                let from = self.deliver_to(&the_shard(), batch, fault)?;
                return Some(from);
            }
            self.by_award_marked = true;
            let groups = by_award(batch);
            for (i, (award, group)) in groups.iter().enumerate() {
                let own = Shard::Award {
                    stream: "s".into(),
                    award: award.clone(),
                };
                if let Some(at) = self.deliver_to(&own, group, fault) {
                    let seq = retry_from(&groups, i, group[at].seq.clone());
                    return batch.iter().position(|c| c.seq == seq);
                }
            }
            None
        }

        fn deliver_to(
            &mut self,
            shard: &Shard,
            batch: &[Change],
            fault: &mut impl FnMut() -> u8,
        ) -> Option<usize> {
            let mut p = Progress::new(batch, Known::default());
            p.found(self.known(shard, &p));
            while let Some(chunk) = p.next_chunk() {
                let f = fault();
                if f == 0 {
                    let seq = p.first_pending()?;
                    return batch.iter().position(|c| c.seq == seq);
                }
                match self.write(shard, &chunk) {
                    Ok(()) if f == 1 => {
                        let seq = p.first_pending()?;
                        return batch.iter().position(|c| c.seq == seq);
                    }
                    Ok(()) => p.written(&chunk),
                    Err(()) => p.found(self.known(shard, &p)),
                }
            }
            None
        }

        /// Every shard's spans (the stream's and each award's) are disjoint.
        fn disjoint(&self) -> bool {
            self.spans.values().all(|spans| {
                let spans: Vec<(&String, &String)> = spans.iter().collect();
                spans.windows(2).all(|w| w[0].1 < w[1].0) && spans.iter().all(|(f, l)| f <= l)
            })
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config(64))]

        /// However the stream's batches are cut, redelivered, bisected or half-written, and
        /// whatever Lambda gives up on and is handed over again later, the day items end up as
        /// if every write had been rolled up once — also when the first `windowless`
        /// deliveries name no shard (the deploy before the mapping has its window) and are
        /// rolled up by award.
        #[test]
        fn every_write_is_rolled_up_exactly_once(
            events in proptest::collection::vec((0usize..6, 0usize..4), 1..160),
            faults in proptest::collection::vec(0u8..10, 64),
            batch_size in 1usize..40,
            retries in 0usize..4,
            replay_alone: bool,
            windowless in proptest::prop_oneof![proptest::strategy::Just(0usize), 0usize..12],
        ) {
            let awards: Vec<(AwardId, Tags)> = (0..6)
                .map(|i| (AwardId::generate(), tags((i % 2 == 0).then_some("c"))))
                .collect();
            let names = ["views", "previews", "shares", "clicks"];
            let mut state: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); 6];
            let mut versions = [0u64; 6];
            let mut stream = Vec::new();
            for (i, (award, counter)) in events.into_iter().enumerate() {
                versions[award] += 1;
                let old = state[award].clone();
                *state[award].entry(names[counter].into()).or_default() += 1;
                let mut c = write(&awards[award].0, &awards[award].1, versions[award], &[], &[]);
                (c.old, c.new, c.seq) = (old, state[award].clone(), format!("{}", 1000 + i * 7));
                stream.push(c);
            }
            // Once each: every write's tallies, summed.
            let mut want: BTreeMap<(Segment, NaiveDate, String), i64> = BTreeMap::new();
            for t in stream.iter().flat_map(Change::tallies) {
                *want.entry((t.segment, t.day, t.attr)).or_default() += t.delta;
            }

            let mut got = Table::default();
            let mut dice = faults.into_iter().cycle();
            let mut fault = || dice.next().unwrap_or(7);
            let mut queue: std::collections::VecDeque<(Vec<Change>, usize)> =
                stream.chunks(batch_size).map(|c| (c.to_vec(), 0)).collect();
            let mut given_up = Vec::new();
            let mut rounds = 0;
            while let Some((batch, tries)) = queue.pop_front() {
                rounds += 1;
                proptest::prop_assert!(rounds < 10_000);
                let windowed = rounds > windowless;
                let Some(from) = got.deliver(&batch, windowed, &mut fault) else { continue };
                let rest = batch[from..].to_vec();
                if tries >= retries {
                    // Lambda gives up on the rest and goes on with the next batch.
                    given_up.push(rest);
                } else if rest.len() > 1 && fault() < 2 {
                    // Lambda retries from the failed record, or bisects on a function error.
                    let (a, b) = rest.split_at(rest.len() / 2);
                    queue.push_front((b.to_vec(), tries + 1));
                    queue.push_front((a.to_vec(), tries + 1));
                } else {
                    queue.push_front((rest, tries + 1));
                }
            }
            // What was given up on is handed over again (`infra replay-failures`), without
            // faults: each range alone, or within the whole stream (gaps between spans); then
            // the whole stream once more, which changes nothing.
            if !replay_alone {
                got.deliver(&stream, true, &mut || 7);
            }
            for batch in given_up {
                got.deliver(&batch, true, &mut || 7);
            }
            got.deliver(&stream, true, &mut || 7);
            proptest::prop_assert!(got.disjoint());
            proptest::prop_assert_eq!(&got.days, &want);
        }
    }
}
