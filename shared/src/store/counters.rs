//! Counters: atomic `ADD`s, never read-modify-write. Per award, and per segment (template, batch,
//! cohort) per day in the issuer's time zone, so analytics read days × segments items, never
//! awards. What lands where is decided by [`crate::domain::tally`] and, for activity, by
//! [`crate::domain::rollup`]: a counted event writes only the award's counters item, and its
//! stream record ([`change_of`]) is what the rollup adds to the day items.

use super::{keys, n, s, Backoff, Result, Store, StoreError};
use crate::domain::{
    award::Award,
    ids::{AwardId, BatchId, IssuerId, TemplateId},
    rollup::{seq_key, Change, Tags},
    tally::{self, Segment, Tally},
    time::Zone,
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// On the award counters item: +1 with every counting write, so each stream record of the item
/// is one write the rollup can tell apart (and has or has not rolled up).
const VERSION: &str = "version";
/// The tags every counting write sets on the award counters item.
const TEMPLATE: &str = "template_id";
const ISSUER: &str = "issuer_id";
const BATCH: &str = "batch_id";
const COHORT: &str = "cohort";
const DAY: &str = "day";
const RECORDED: &str = "recorded_day";

/// The tags as `(attribute, string)` pairs.
pub(super) fn tag_values(t: &Tags) -> Vec<(&'static str, String)> {
    let mut v = vec![
        (TEMPLATE, t.template.to_string()),
        (ISSUER, t.issuer.to_string()),
        (DAY, t.day.to_string()),
        (RECORDED, t.recorded.to_string()),
    ];
    if let Some(b) = &t.batch {
        v.push((BATCH, b.to_string()));
    }
    if let Some(c) = &t.cohort {
        v.push((COHORT, c.clone()));
    }
    v
}

/// A string attribute of an item image in a stream record (DynamoDB JSON).
fn image_s<'a>(image: &'a Value, name: &str) -> Option<&'a str> {
    image.get(name)?.get("S")?.as_str()
}

/// Every number attribute of an image but `version`: the counters.
fn image_counters(image: Option<&Value>) -> BTreeMap<String, i64> {
    image
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != VERSION)
        .filter_map(|(k, v)| Some((k.clone(), v.get("N")?.as_str()?.parse().ok()?)))
        .collect()
}

fn image_version(image: Option<&Value>) -> u64 {
    image
        .and_then(|i| i.get(VERSION)?.get("N")?.as_str()?.parse().ok())
        .unwrap_or(0)
}

fn image_tags(image: &Value) -> Option<Tags> {
    Some(Tags {
        template: TemplateId::parse(image_s(image, TEMPLATE)?).ok()?,
        issuer: IssuerId::parse(image_s(image, ISSUER)?).ok()?,
        batch: match image_s(image, BATCH) {
            Some(b) => Some(BatchId::parse(b).ok()?),
            None => None,
        },
        cohort: image_s(image, COHORT).map(str::to_owned),
        day: image_s(image, DAY)?.parse().ok()?,
        recorded: image_s(image, RECORDED)?.parse().ok()?,
    })
}

/// What a stream record's write counts: `(award, counters version, (old, new) counters)`.
type Counted = (AwardId, Option<u64>, [BTreeMap<String, i64>; 2]);

/// A write on an award's counters item that moved its `version`.
fn counters_write(pk: &str, sk: &str, new: &Value, old: Option<&Value>) -> Option<Counted> {
    let award = keys::award_of_counters(pk, sk)?;
    let version = image_version(Some(new));
    let counted = [image_counters(old), image_counters(Some(new))];
    (version > image_version(old)).then_some((award, Some(version), counted))
}

/// An email stage marked `sent` by a release that tags its marks (an older release's email is
/// counted by its SES Send event): `email:{stage}:sent` from 0 to 1, once — the record of the
/// change to `sent` only (`!sent(old)`: a mark put again, which DynamoDB would record only if it
/// changed something, counts nothing), and a mark is never put back to `sending`.
fn email_sent(pk: &str, sk: &str, new: &Value, old: Option<&Value>) -> Option<Counted> {
    let (award, stage) = keys::email_stage_of(pk, sk)?;
    let sent = |i: Option<&Value>| i.and_then(|i| image_s(i, "state")) == Some("sent");
    let ours = crate::domain::metrics::STAGES.contains(&stage) && image_s(new, TEMPLATE).is_some();
    let counted = [
        BTreeMap::new(),
        BTreeMap::from([(format!("email:{stage}:sent"), 1)]),
    ];
    (ours && sent(Some(new)) && !sent(old)).then_some((award, None, counted))
}

/// The counting write a stream record (as Lambda delivers it) shows: a record of an award's
/// counters item whose `version` moved, or of an email stage's mark `sent`. `None` for every
/// other record — another item, or a write that counted nothing (an unreadable one is logged).
pub fn change_of(record: &Value) -> Option<Change> {
    let keys_of = record.pointer("/dynamodb/Keys")?;
    let (pk, sk) = (image_s(keys_of, keys::PK)?, image_s(keys_of, keys::SK)?);
    let new = record.pointer("/dynamodb/NewImage")?;
    let old = record.pointer("/dynamodb/OldImage");
    let (award, version, [old, new_counters]) =
        counters_write(pk, sk, new, old).or_else(|| email_sent(pk, sk, new, old))?;
    let seq = record
        .pointer("/dynamodb/SequenceNumber")?
        .as_str()?
        .to_owned();
    if seq_key(&seq).is_none() {
        tracing::warn!(%award, %seq, "a counting write whose sequence number is not 1 to 40 digits; not rolled up");
        return None;
    }
    let Some(tags) = image_tags(new) else {
        tracing::warn!(%award, %seq, "a counting write without readable tags; not rolled up");
        return None;
    };
    let created = record
        .pointer("/dynamodb/ApproximateCreationDateTime")
        .and_then(Value::as_f64)
        .map(|t| t.floor() as i64);
    Some(Change {
        award,
        seq,
        version,
        created,
        tags,
        old,
        new: new_counters,
    })
}

/// `ADD #c0 :v0, #c1 :v1 … SET #t = :kind`.
fn add_expression(n: usize) -> String {
    format!(
        "ADD {} SET #t = :kind",
        (0..n)
            .map(|i| format!("#c{i} :v{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A named counter. The attribute name is the same on award and daily items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A human page view.
    Views,
    /// A link-preview bot or crawler fetch.
    Previews,
}

impl Counter {
    pub fn attr(self) -> &'static str {
        match self {
            Counter::Views => "views",
            Counter::Previews => "previews",
        }
    }
}

impl Store {
    /// One `UpdateItem` per (segment, day) adding every attribute of the tallies.
    pub(crate) fn tally_updates(&self, tallies: &[Tally]) -> Result<Vec<Update>> {
        tally::group(tallies)
            .into_iter()
            .map(|((seg, day), attrs)| self.day_adds(&seg, day, &attrs))
            .collect()
    }

    /// An `Update` adding each `(attribute, delta)` to the day item of `seg`.
    pub(crate) fn day_adds(
        &self,
        seg: &Segment,
        day: NaiveDate,
        attrs: &[(String, i64)],
    ) -> Result<Update> {
        self.adds(keys::segment_day(seg, day), "segment_day", attrs)
    }

    /// An `Update` adding each `(attribute, delta)` to the item `key` (of kind `kind`).
    fn adds(
        &self,
        (pk, sk): (String, String),
        kind: &str,
        attrs: &[(String, i64)],
    ) -> Result<Update> {
        let mut b = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(add_expression(attrs.len()))
            .expression_attribute_names("#t", keys::TYPE)
            .expression_attribute_values(":kind", s(kind));
        for (i, (a, d)) in attrs.iter().enumerate() {
            b = b
                .expression_attribute_names(format!("#c{i}"), a)
                .expression_attribute_values(format!(":v{i}"), n(d));
        }
        b.build().map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// The one write of a counted event: `ADD` 1 to each attribute and to `version` on the
    /// award's counters item, and `SET` the tags that tell the rollup where the event lands.
    fn counting_update(&self, award: &AwardId, tags: &Tags, attrs: &[String]) -> Result<Update> {
        let mut adds: Vec<(String, i64)> = attrs.iter().map(|a| (a.clone(), 1)).collect();
        adds.push((VERSION.to_owned(), 1));
        let mut b = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::award_counters(award).0))
            .key(keys::SK, s(keys::award_counters(award).1))
            .expression_attribute_names("#t", keys::TYPE)
            .expression_attribute_values(":kind", s("award_counters"));
        for (i, (a, d)) in adds.iter().enumerate() {
            b = b
                .expression_attribute_names(format!("#c{i}"), a)
                .expression_attribute_values(format!(":v{i}"), n(d));
        }
        let mut sets = vec!["#t = :kind".to_owned()];
        for (i, (name, value)) in tag_values(tags).into_iter().enumerate() {
            sets.push(format!("#g{i} = :g{i}"));
            b = b
                .expression_attribute_names(format!("#g{i}"), name)
                .expression_attribute_values(format!(":g{i}"), s(value));
        }
        let adds: Vec<String> = (0..adds.len()).map(|i| format!("#c{i} :v{i}")).collect();
        b.update_expression(format!("ADD {} SET {}", adds.join(", "), sets.join(", ")))
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))
    }

    /// Counts an activity on an award: one `UpdateItem` of its counters item (see
    /// [`crate::domain::rollup`]); the day items of its segments follow from the table's stream.
    /// `patience`: how long the caller may wait while DynamoDB refuses the write for now.
    pub async fn count_activity(
        &self,
        award: &Award,
        zone: Zone,
        now: DateTime<Utc>,
        attrs: &[String],
        patience: super::Patience,
    ) -> Result<()> {
        let tags = Tags::of(award, zone, now);
        self.update_with(self.counting_update(&award.id, &tags, attrs)?, patience)
            .await
            .map(drop)
    }

    /// Counts `attr` on an award once ever: one `UpdateItem` of its counters item, on the
    /// condition that the counter is not there yet — the counter is its own mark, so no second
    /// item and no transaction. For what happens at most once per badge (an email stage's send,
    /// delivery, bounce…), however often it is reported. False when it was counted already.
    pub async fn count_first(
        &self,
        award: &Award,
        zone: Zone,
        now: DateTime<Utc>,
        attr: &str,
    ) -> Result<bool> {
        let tags = Tags::of(award, zone, now);
        let mut u = self.counting_update(&award.id, &tags, &[attr.to_owned()])?;
        // `#c0` is `attr` (counting_update names the attributes in order).
        u.condition_expression = Some("attribute_not_exists(#c0)".into());
        self.update_retrying(u).await
    }

    /// Counts an event delivered at least once (an SES event by its EventBridge id) exactly once:
    /// the `EVENT#` item that remembers it is put in the same transaction as the award's counting
    /// write, so a retry after a failure does the whole work, and a repeat does none (the
    /// rollup then moves the day items once for that write). False when the event was already
    /// counted.
    pub async fn count_event_once(
        &self,
        event_id: &str,
        award: &Award,
        zone: Zone,
        now: DateTime<Utc>,
        attrs: &[String],
    ) -> Result<bool> {
        let marker = self.event_seen_put(event_id)?;
        self.count_once(marker, award, zone, now, attrs).await
    }

    /// Counts the delivery result of a KakaoTalk/SMS stage exactly once: `result` is set on the
    /// stage's item (`EMAIL#{stage}` of the award) in the same transaction as the counting write,
    /// on the condition that it has none yet. False when it was counted already.
    pub async fn count_result_once(
        &self,
        award: &Award,
        stage: &str,
        result: &str,
        zone: Zone,
        now: DateTime<Utc>,
        attrs: &[String],
    ) -> Result<bool> {
        let (pk, sk) = keys::email_stage(&award.id, stage);
        let marker = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #r = :r")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(#r)")
            .expression_attribute_names("#r", "result")
            .expression_attribute_values(":r", s(result))
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        let marker = TransactWriteItem::builder().update(marker).build();
        self.count_once(marker, award, zone, now, attrs).await
    }

    /// The counting write and `marker` (whose condition fails when it was done before) in one
    /// transaction: true when counted now, false when the marker says it was counted already.
    async fn count_once(
        &self,
        marker: TransactWriteItem,
        award: &Award,
        zone: Zone,
        now: DateTime<Utc>,
        attrs: &[String],
    ) -> Result<bool> {
        let counting = self.counting_update(&award.id, &Tags::of(award, zone, now), attrs)?;
        let items = vec![
            marker,
            TransactWriteItem::builder().update(counting).build(),
        ];
        let Err(err) = self.transact_retrying(&items, Backoff::over(0..6)).await? else {
            return Ok(true);
        };
        let reasons = super::awards::cancellation_reasons(&err).unwrap_or_default();
        match reasons.first().and_then(Option::as_deref) {
            Some("ConditionalCheckFailed") => Ok(false),
            _ => Err(StoreError::from_sdk(err)),
        }
    }

    /// The put that remembers an event id for 14 days from now (EventBridge's retries end well
    /// before; counted from now, not from the event's own time, which a replay of the failure
    /// queue may bring days later).
    fn event_seen_put(&self, event_id: &str) -> Result<TransactWriteItem> {
        let (pk, sk) = keys::event_seen(event_id);
        let expires = (Utc::now() + chrono::Duration::days(14)).timestamp();
        let put = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(pk))
            .item(keys::SK, s(sk))
            .item(keys::TYPE, s("event_seen"))
            .item(keys::TTL, n(expires))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A segment's day items from `from` to `to` (inclusive), oldest first; days without any
    /// activity have no item. One `Query` (paged): cost follows the number of days.
    pub async fn segment_days(
        &self,
        seg: &Segment,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, BTreeMap<String, i64>)>> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :a AND :b")
            .expression_attribute_values(":pk", s(keys::segment(seg)))
            .expression_attribute_values(":a", s(format!("{}{from}", keys::DAY_PREFIX)))
            .expression_attribute_values(":b", s(format!("{}{to}", keys::DAY_PREFIX)));
        let mut out = Vec::new();
        self.query_each(query, |item| {
            let day = super::get_s(&item, keys::SK)
                .and_then(|k| k.strip_prefix(keys::DAY_PREFIX))
                .and_then(|d| d.parse::<NaiveDate>().ok());
            if let Some(day) = day {
                out.push((day, numbers(Some(item))));
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Every counter on the award (tests, exports).
    pub async fn award_counters(&self, award: &AwardId) -> Result<BTreeMap<String, i64>> {
        Ok(award_numbers(self.get(keys::award_counters(award)).await?))
    }

    /// The counters of many awards (`BatchGetItem`s of 100), with `email:{stage}:sent` 1 for
    /// each email stage marked `sent` with the counting tags (since 2026-12-08 such a mark, not
    /// the counters item, records it: [`change_of`]; an untagged mark's email was counted by its
    /// Send event, on the counters item, if at all); awards with neither are absent.
    pub async fn award_counters_many(
        &self,
        ids: &[AwardId],
    ) -> Result<std::collections::HashMap<AwardId, BTreeMap<String, i64>>> {
        let stages = crate::domain::metrics::STAGES;
        let wanted = ids.iter().flat_map(|id| {
            let marks = stages.iter().map(move |st| keys::email_stage(id, st));
            std::iter::once(keys::award_counters(id)).chain(marks)
        });
        let found = self.batch_get(wanted.collect(), true).await?;
        let of = |id: &AwardId| {
            let mut numbers = found
                .get(&keys::award_counters(id))
                .map(|item| award_numbers(Some(item.clone())));
            for stage in stages {
                let mark = found.get(&keys::email_stage(id, stage));
                let counting = |m: &super::Item| {
                    super::get_s(m, "state") == Some("sent") && super::get_s(m, TEMPLATE).is_some()
                };
                if mark.is_some_and(counting) {
                    numbers
                        .get_or_insert_with(BTreeMap::new)
                        .insert(format!("email:{stage}:sent"), 1);
                }
            }
            numbers.map(|n| (id.clone(), n))
        };
        Ok(ids.iter().filter_map(of).collect())
    }

    /// Every counter of a template on one day.
    pub async fn daily_counters(
        &self,
        template: &TemplateId,
        day: NaiveDate,
    ) -> Result<BTreeMap<String, i64>> {
        Ok(numbers(self.get(keys::template_day(template, day)).await?))
    }

    /// The award's counters (absent counters are 0).
    pub async fn award_counter(&self, award: &AwardId, counter: Counter) -> Result<i64> {
        Ok(self
            .get(keys::award_counters(award))
            .await?
            .and_then(|i| super::get_n(&i, counter.attr()))
            .unwrap_or(0))
    }

    /// A template's counter on one day.
    pub async fn daily_counter(
        &self,
        template: &TemplateId,
        day: NaiveDate,
        counter: Counter,
    ) -> Result<i64> {
        Ok(self
            .get(keys::template_day(template, day))
            .await?
            .and_then(|i| super::get_n(&i, counter.attr()))
            .unwrap_or(0))
    }
}

/// An award's counters: its number attributes but `version`.
fn award_numbers(item: Option<super::Item>) -> BTreeMap<String, i64> {
    let mut m = numbers(item);
    m.remove(VERSION);
    m
}

fn numbers(item: Option<super::Item>) -> BTreeMap<String, i64> {
    item.unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.as_n().ok().and_then(|n| n.parse().ok()).map(|n| (k, n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AWARD: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn tags() -> Value {
        json!({
            "template_id": {"S": "tpl_AAAAAAAAAAAAAAAAAAAAAA"},
            "issuer_id": {"S": "iss_AAAAAAAAAAAAAAAAAAAAAA"},
            "day": {"S": "2026-11-17"},
            "recorded_day": {"S": "2026-11-14"},
        })
    }

    /// A stream record of the item `sk` of the award, from `old` to `new`.
    fn record(sk: &str, old: Option<Value>, new: Value) -> Value {
        let mut r = json!({"eventName": if old.is_some() { "MODIFY" } else { "INSERT" }, "dynamodb": {
            "Keys": {"PK": {"S": format!("AWARD#{AWARD}")}, "SK": {"S": sk}},
            "NewImage": new,
            "SequenceNumber": "1405400000000002063283011",
        }});
        if let Some(old) = old {
            r["dynamodb"]["OldImage"] = old;
        }
        r
    }

    fn mark(state: &str, tagged: bool) -> Value {
        let mut m = json!({"type": {"S": "email"}, "state": {"S": state}});
        if tagged {
            m.as_object_mut()
                .unwrap()
                .extend(tags().as_object().unwrap().clone());
        }
        m
    }

    #[test]
    fn an_email_stage_marked_sent_counts_sent_once_on_its_tags_day() {
        let claim = || Some(mark("sending", false));
        let c = change_of(&record("EMAIL#day3", claim(), mark("sent", true))).unwrap();
        assert_eq!(c.version, None);
        assert!(c.old.is_empty());
        assert_eq!(c.new, BTreeMap::from([("email:day3:sent".to_owned(), 1)]));
        let tallies = c.tallies();
        assert!(tallies
            .iter()
            .all(|t| t.attr == "email:day3:sent" && t.delta == 1));
        assert!(tallies.iter().all(|t| t.day.to_string() == "2026-11-17"));
        // A mark put straight over nothing (no claim read back) counts too.
        assert!(change_of(&record("EMAIL#day1", None, mark("sent", true))).is_some());
        // Sent already: a put that changes `at` or the message id counts nothing more.
        let again = record("EMAIL#day3", Some(mark("sent", true)), mark("sent", true));
        assert_eq!(change_of(&again), None);
        // An older release's mark (no tags: its Send event counted it), a claim, another end,
        // a KakaoTalk stage (counted by its provider's results).
        for (sk, new) in [
            ("EMAIL#day3", mark("sent", false)),
            ("EMAIL#day3", mark("sending", true)),
            ("EMAIL#day3", mark("unknown", true)),
            ("EMAIL#day3", mark("rejected", true)),
            ("EMAIL#kakao-day1", mark("sent", true)),
        ] {
            assert_eq!(
                change_of(&record(sk, claim(), new.clone())),
                None,
                "{sk} {new}"
            );
        }
    }

    #[test]
    fn a_counters_write_counts_what_moved_and_names_its_version() {
        let mut old = tags();
        old["type"] = json!({"S": "award_counters"});
        old["views"] = json!({"N": "2"});
        old["version"] = json!({"N": "2"});
        let mut new = old.clone();
        new["views"] = json!({"N": "3"});
        new["version"] = json!({"N": "3"});
        let c = change_of(&record("COUNTERS", Some(old.clone()), new)).unwrap();
        assert_eq!(c.version, Some(3));
        assert_eq!(c.new["views"] - c.old["views"], 1);
        assert_eq!(change_of(&record("COUNTERS", Some(old.clone()), old)), None);
    }
}
