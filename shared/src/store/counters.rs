//! Counters: atomic `ADD`s, never read-modify-write. Per award, and per segment (template, batch,
//! cohort) per day in the issuer's time zone, so analytics read days × segments items, never
//! awards. What lands where is decided by [`crate::domain::tally`].

use super::{keys, n, s, Backoff, Result, Store, StoreError};
use crate::domain::{
    award::Award,
    ids::{AwardId, TemplateId},
    tally::{self, Segment, Tally},
    time::Zone,
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

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
            .map(|((seg, day), attrs)| {
                self.adds(keys::segment_day(&seg, day), "segment_day", &attrs)
            })
            .collect()
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

    /// Applies tallies outside a transaction: one `UpdateItem` per (segment, day), concurrently.
    /// A day item can be inside an issuing transaction at that moment (DynamoDB then refuses
    /// the write with `TransactionConflictException`, which the SDK does not retry): such writes
    /// are retried with back-off, so a view during a bulk upload is not lost.
    pub async fn apply_tallies(&self, tallies: &[Tally]) -> Result<()> {
        let updates = self.tally_updates(tallies)?;
        let sends = updates.into_iter().map(|u| async move {
            let mut retry = Backoff::over(0..6);
            loop {
                let res = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(u.key.clone()))
                    .update_expression(u.update_expression.clone())
                    .set_expression_attribute_names(u.expression_attribute_names.clone())
                    .set_expression_attribute_values(u.expression_attribute_values.clone())
                    .send()
                    .await;
                match res {
                    Ok(_) => return Ok(()),
                    Err(e) => {
                        let retryable = matches!(
                            aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e),
                            Some(
                                "TransactionConflictException"
                                    | "ProvisionedThroughputExceededException"
                                    | "ThrottlingException"
                            )
                        );
                        if !retryable || !retry.wait().await {
                            return Err(StoreError::from_sdk(e));
                        }
                    }
                }
            }
        });
        for r in futures::future::join_all(sends).await {
            r?;
        }
        Ok(())
    }

    /// Counts an activity on an award: +1 to each attribute on the award's own counter item and
    /// on today's item of each of its segments, concurrently. When this made the award's `views`
    /// or `shares` reach 1 (an atomic `ADD` answers the new value, so exactly one request sees
    /// it), its first view / first share is added to the day the award was recorded.
    pub async fn count_activity(
        &self,
        award: &Award,
        zone: Zone,
        now: DateTime<Utc>,
        attrs: &[String],
    ) -> Result<()> {
        let (pk, sk) = keys::award_counters(&award.id);
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(add_expression(attrs.len()))
            .expression_attribute_names("#t", keys::TYPE)
            .expression_attribute_values(":kind", s("award_counters"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew);
        for (i, a) in attrs.iter().enumerate() {
            req = req
                .expression_attribute_names(format!("#c{i}"), a)
                .expression_attribute_values(format!(":v{i}"), n(1));
        }
        let daily = tally::activity(award, zone.date_of(now), attrs);
        let (own, segments) = tokio::join!(req.send(), self.apply_tallies(&daily));
        let own = own.map_err(StoreError::from_sdk)?;
        segments?;
        let new = own.attributes.unwrap_or_default();
        let reached_one =
            |attr: &str| attrs.iter().any(|a| a == attr) && super::get_n(&new, attr) == Some(1);
        let firsts = tally::firsts(award, zone, reached_one("views"), reached_one("shares"));
        if !firsts.is_empty() {
            self.apply_tallies(&firsts).await?;
        }
        Ok(())
    }

    /// Counts an event delivered at least once (an SES event by its EventBridge id) exactly once:
    /// the `EVENT#` item that remembers it is put in the same transaction as the counters it
    /// moves, so a retry after a failure does the whole work, and a repeat does none. False
    /// when the event was already counted.
    pub async fn count_event_once(
        &self,
        event_id: &str,
        award: &Award,
        zone: Zone,
        now: DateTime<Utc>,
        attrs: &[String],
    ) -> Result<bool> {
        let mut items = vec![
            self.event_seen_put(event_id, now)?,
            self.award_adds(award, attrs)?,
        ];
        let daily = tally::activity(award, zone.date_of(now), attrs);
        for u in self.tally_updates(&daily)? {
            items.push(TransactWriteItem::builder().update(u).build());
        }
        let mut retry = Backoff::over(0..6);
        loop {
            let Err(err) = self.transact(&items).await else {
                return Ok(true);
            };
            let reasons = super::awards::cancellation_reasons(&err).unwrap_or_default();
            if reasons.first().and_then(Option::as_deref) == Some("ConditionalCheckFailed") {
                return Ok(false);
            }
            if !super::awards::contended(&err) || !retry.wait().await {
                return Err(StoreError::from_sdk(err));
            }
        }
    }

    /// The put that remembers an event id for 14 days (EventBridge's retries end well before).
    fn event_seen_put(&self, event_id: &str, now: DateTime<Utc>) -> Result<TransactWriteItem> {
        let (pk, sk) = keys::event_seen(event_id);
        let expires = (now + chrono::Duration::days(14)).timestamp();
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

    /// `ADD` 1 to each attribute on the award's own counter item, as a transaction item.
    fn award_adds(&self, award: &Award, attrs: &[String]) -> Result<TransactWriteItem> {
        let ones: Vec<(String, i64)> = attrs.iter().map(|a| (a.clone(), 1)).collect();
        let update = self.adds(keys::award_counters(&award.id), "award_counters", &ones)?;
        Ok(TransactWriteItem::builder().update(update).build())
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
        Ok(numbers(self.get(keys::award_counters(award)).await?))
    }

    /// The counters of many awards (`BatchGetItem`s of 100); awards without any are absent.
    pub async fn award_counters_many(
        &self,
        ids: &[AwardId],
    ) -> Result<std::collections::HashMap<AwardId, BTreeMap<String, i64>>> {
        let found = self
            .batch_get(ids.iter().map(keys::award_counters).collect())
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let item = found.get(&keys::award_counters(id))?;
                Some((id.clone(), numbers(Some(item.clone()))))
            })
            .collect())
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

fn numbers(item: Option<super::Item>) -> BTreeMap<String, i64> {
    item.unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.as_n().ok().and_then(|n| n.parse().ok()).map(|n| (k, n)))
        .collect()
}
