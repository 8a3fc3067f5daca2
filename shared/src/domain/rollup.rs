//! The rollup of award counters into the daily segment counters (pure: no I/O).
//!
//! A badge view, click, share or SES event writes only its award's counters item: `ADD` to its
//! counters and to the item's `version`, and `SET` of the [`Tags`] that say where the event lands
//! (segments, the event's day, the day the award was recorded). The table's stream shows each
//! such write with the item before and after it ([`Change`]); the rollup adds `new − old` of every
//! counter to the day items of the award's segments, and an award's first human view / first
//! share (its `views` / `shares` going from 0 to ≥ 1) once to the day it was recorded.
//!
//! Exactly once per write: each award has a watermark, the last `version` rolled up. A chunk of
//! the rollup ([`Chunk`], one transaction) moves the watermarks of the awards it covers — each on
//! the condition that it is still where the rollup found it — together with the adds. A write
//! at or below its award's watermark was rolled up before (a redelivered, retried or bisected
//! batch) and is skipped; a refused chunk (a watermark elsewhere than assumed) is planned again
//! from the watermarks read back ([`Progress`]).

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

/// One counting write on an award's counters item, as the table's stream shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub award: AwardId,
    /// The stream record's sequence number (what a partial batch failure names).
    pub seq: String,
    /// The item's `version` after this write (every counting write adds 1).
    pub version: u64,
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

/// An award's watermark moving from `from` (where the rollup expects it) to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub award: AwardId,
    pub from: u64,
    pub to: u64,
}

/// One transaction of the rollup: watermark moves and the day items' adds, at most
/// [`MAX_TRANSACTION_ITEMS`] items, each item once.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// How many of the pending changes it covers (applied here, or rolled up before).
    pub consumed: usize,
    pub marks: Vec<Mark>,
    pub adds: Vec<ItemDeltas>,
}

impl Chunk {
    pub fn items(&self) -> usize {
        self.marks.len() + self.adds.len()
    }
}

/// The next transaction's worth of `pending` (changes in stream order) given the watermarks
/// known so far. An award not in `marks` is assumed rolled up to just below its first change
/// here (the usual case: the batch before ended there). Changes at or below their award's
/// watermark are skipped; the rest are taken in order while the marks and the distinct day
/// items stay within one transaction.
pub fn next_chunk(pending: &[Change], marks: &BTreeMap<AwardId, u64>) -> Chunk {
    let mut moved: Vec<Mark> = Vec::new();
    let mut tallies = Vec::new();
    let mut days: BTreeSet<(Segment, NaiveDate)> = BTreeSet::new();
    let mut consumed = 0;
    for c in pending {
        let at = moved.iter().position(|m| m.award == c.award);
        let mark = match at {
            Some(i) => moved[i].to,
            None => marks
                .get(&c.award)
                .copied()
                .unwrap_or(c.version.saturating_sub(1)),
        };
        if c.version <= mark {
            consumed += 1;
            continue;
        }
        let t = c.tallies();
        let new_days: BTreeSet<(Segment, NaiveDate)> = t
            .iter()
            .map(|t| (t.segment.clone(), t.day))
            .filter(|k| !days.contains(k))
            .collect();
        let items = moved.len() + usize::from(at.is_none()) + days.len() + new_days.len();
        if items > MAX_TRANSACTION_ITEMS && !moved.is_empty() {
            break;
        }
        days.extend(new_days);
        tallies.extend(t);
        match at {
            Some(i) => moved[i].to = c.version,
            None => moved.push(Mark {
                award: c.award.clone(),
                from: mark,
                to: c.version,
            }),
        }
        consumed += 1;
    }
    Chunk {
        consumed,
        marks: moved,
        adds: tally::group(&tallies),
    }
}

/// A batch's rollup in progress: the chunk to write next, given what the table answered.
#[derive(Debug)]
pub struct Progress<'a> {
    pending: &'a [Change],
    at: usize,
    marks: BTreeMap<AwardId, u64>,
}

impl<'a> Progress<'a> {
    pub fn new(changes: &'a [Change]) -> Self {
        Self {
            pending: changes,
            at: 0,
            marks: BTreeMap::new(),
        }
    }

    /// The next chunk to write; `None` when every change is rolled up (here or before).
    pub fn next_chunk(&mut self) -> Option<Chunk> {
        while self.at < self.pending.len() {
            let chunk = next_chunk(&self.pending[self.at..], &self.marks);
            if !chunk.marks.is_empty() {
                return Some(chunk);
            }
            self.at += chunk.consumed;
        }
        None
    }

    /// The chunk was written: its marks are the watermarks now.
    pub fn written(&mut self, chunk: &Chunk) {
        self.at += chunk.consumed;
        self.found(chunk.marks.iter().map(|m| (m.award.clone(), m.to)));
    }

    /// Watermarks read from the table (after a chunk was refused because one had moved).
    pub fn found(&mut self, marks: impl IntoIterator<Item = (AwardId, u64)>) {
        self.marks.extend(marks);
    }

    /// The first change not yet known to be rolled up: where a retry of the batch must start.
    pub fn first_pending(&self) -> Option<&str> {
        self.pending.get(self.at).map(|c| c.seq.as_str())
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
            seq: format!("{version:06}"),
            version,
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

    #[test]
    fn a_chunk_skips_what_was_rolled_up_and_moves_each_watermark_once() {
        let (a, b) = (AwardId::generate(), AwardId::generate());
        let t = tags(None);
        let changes = vec![
            write(&a, &t, 4, &[("views", 3)], &["views"]),
            write(&b, &t, 1, &[], &["previews"]),
            write(&a, &t, 5, &[("views", 4)], &["views"]),
        ];
        let chunk = next_chunk(&changes, &BTreeMap::new());
        assert_eq!(chunk.consumed, 3);
        assert_eq!(
            chunk.marks,
            vec![
                Mark {
                    award: a.clone(),
                    from: 3,
                    to: 5
                },
                Mark {
                    award: b.clone(),
                    from: 0,
                    to: 1
                },
            ]
        );
        assert_eq!(chunk.adds.len(), 2, "the template and the batch, today");
        for (_, v) in &chunk.adds {
            assert_eq!(sorted(v), [("previews".into(), 1), ("views".into(), 2)]);
        }
        // Redelivered after a's 4th write was rolled up: only its 5th and b's write are left.
        let known = BTreeMap::from([(a.clone(), 4)]);
        let chunk = next_chunk(&changes, &known);
        assert!(chunk.marks.contains(&Mark {
            award: a.clone(),
            from: 4,
            to: 5
        }));
        for (_, v) in &chunk.adds {
            assert_eq!(sorted(v), [("previews".into(), 1), ("views".into(), 1)]);
        }
        // Everything rolled up: nothing to write.
        let known = BTreeMap::from([(a, 5), (b, 1)]);
        let chunk = next_chunk(&changes, &known);
        assert_eq!((chunk.consumed, chunk.items()), (3, 0));
    }

    #[test]
    fn chunks_stay_within_one_transaction() {
        // 150 awards of 150 templates: 2 items each (a mark and a day item).
        let changes: Vec<Change> = (0..150)
            .map(|_| write(&AwardId::generate(), &tags(None), 1, &[], &["views"]))
            .collect();
        let mut progress = Progress::new(&changes);
        let mut total = 0;
        while let Some(chunk) = progress.next_chunk() {
            assert!(chunk.items() <= MAX_TRANSACTION_ITEMS, "{}", chunk.items());
            total += chunk.marks.len();
            progress.written(&chunk);
        }
        assert_eq!(total, 150);
        assert_eq!(progress.first_pending(), None);
    }

    /// The table as the rollup sees it: watermarks and day items, a chunk written all or nothing.
    #[derive(Default)]
    struct Table {
        marks: BTreeMap<AwardId, u64>,
        days: BTreeMap<(Segment, NaiveDate, String), i64>,
    }

    impl Table {
        /// Writes the chunk if every watermark is where it expects; else the awards whose isn't.
        fn write(&mut self, chunk: &Chunk) -> Result<(), Vec<AwardId>> {
            let stale: Vec<AwardId> = chunk
                .marks
                .iter()
                .filter(|m| self.marks.get(&m.award).copied().unwrap_or(0) != m.from)
                .map(|m| m.award.clone())
                .collect();
            if !stale.is_empty() {
                return Err(stale);
            }
            for m in &chunk.marks {
                self.marks.insert(m.award.clone(), m.to);
            }
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

        /// One delivery of `batch`, as the rollup handles it. `lose`: the answer to this
        /// write is lost (the chunk landed, the caller saw an error and gives up): the batch
        /// fails from its first pending change. Answers that index, if any.
        fn deliver(&mut self, batch: &[Change], lose: &mut impl FnMut() -> bool) -> Option<usize> {
            let mut p = Progress::new(batch);
            while let Some(chunk) = p.next_chunk() {
                match self.write(&chunk) {
                    Ok(()) if lose() => {
                        let seq = p.first_pending()?;
                        return batch.iter().position(|c| c.seq == seq);
                    }
                    Ok(()) => p.written(&chunk),
                    Err(stale) => {
                        let found: Vec<(AwardId, u64)> = stale
                            .into_iter()
                            .map(|a| {
                                let m = self.marks.get(&a).copied().unwrap_or(0);
                                (a, m)
                            })
                            .collect();
                        p.found(found);
                    }
                }
            }
            None
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::proptest_config(64))]

        /// However the stream's batches are cut, redelivered, bisected or half-written, the day
        /// items end up as if every write had been rolled up once.
        #[test]
        fn every_write_is_rolled_up_exactly_once(
            events in proptest::collection::vec((0usize..6, 0usize..4), 1..160),
            faults in proptest::collection::vec(0u8..8, 64),
            batch_size in 1usize..40,
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
                (c.old, c.new, c.seq) = (old, state[award].clone(), format!("{i:06}"));
                stream.push(c);
            }
            // Once each: every write's tallies, summed.
            let mut want: BTreeMap<(Segment, NaiveDate, String), i64> = BTreeMap::new();
            for t in stream.iter().flat_map(Change::tallies) {
                *want.entry((t.segment, t.day, t.attr)).or_default() += t.delta;
            }

            let mut got = Table::default();
            let mut dice = faults.into_iter().cycle();
            let mut lose = || dice.next() == Some(0);
            let mut queue: std::collections::VecDeque<Vec<Change>> =
                stream.chunks(batch_size).map(<[Change]>::to_vec).collect();
            let mut rounds = 0;
            while let Some(batch) = queue.pop_front() {
                rounds += 1;
                proptest::prop_assert!(rounds < 10_000);
                let Some(from) = got.deliver(&batch, &mut lose) else { continue };
                let rest = batch[from..].to_vec();
                // Lambda retries from the failed record, or bisects on a function error.
                if rest.len() > 1 && lose() {
                    let (a, b) = rest.split_at(rest.len() / 2);
                    queue.push_front(b.to_vec());
                    queue.push_front(a.to_vec());
                } else {
                    queue.push_front(rest);
                }
            }
            // A batch delivered once more after it succeeded changes nothing.
            got.deliver(&stream, &mut || false);
            proptest::prop_assert_eq!(&got.days, &want);
            for (i, (award, _)) in awards.iter().enumerate() {
                proptest::prop_assert_eq!(got.marks.get(award).copied().unwrap_or(0), versions[i]);
            }
        }
    }
}
