//! Counters: atomic `ADD`s, never read-modify-write. Per award, and per template per day (the day
//! in the issuer's time zone), so analytics read days × templates items, never awards.

use super::{keys, n, s, Result, Store, StoreError};
use crate::domain::ids::{AwardId, TemplateId};
use chrono::NaiveDate;

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
    /// Adds 1 to `counter` on the award and on its template's day. Two concurrent `UpdateItem`s.
    pub async fn count(
        &self,
        award: &AwardId,
        template: &TemplateId,
        day: NaiveDate,
        counter: Counter,
    ) -> Result<()> {
        self.count_all(award, template, day, &[counter.attr().to_owned()])
            .await
    }

    /// Adds 1 to each named counter on the award and on its template's day: one `UpdateItem`
    /// per item (all counters in one `ADD`), the two sent concurrently.
    pub async fn count_all(
        &self,
        award: &AwardId,
        template: &TemplateId,
        day: NaiveDate,
        attrs: &[String],
    ) -> Result<()> {
        let expr = format!(
            "ADD {} SET #t = :kind",
            (0..attrs.len())
                .map(|i| format!("#c{i} :one"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let add = |(pk, sk): (String, String), kind: &'static str| {
            let mut req = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk))
                .update_expression(expr.clone())
                .expression_attribute_names("#t", keys::TYPE)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":kind", s(kind));
            for (i, a) in attrs.iter().enumerate() {
                req = req.expression_attribute_names(format!("#c{i}"), a);
            }
            req.send()
        };
        let (a, d) = tokio::join!(
            add(keys::award_counters(award), "award_counters"),
            add(keys::template_day(template, day), "template_day")
        );
        a.map_err(StoreError::from_sdk)?;
        d.map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Every counter on the award (tests, exports).
    pub async fn award_counters(
        &self,
        award: &AwardId,
    ) -> Result<std::collections::BTreeMap<String, i64>> {
        Ok(numbers(self.get(keys::award_counters(award)).await?))
    }

    /// Every counter of a template on one day.
    pub async fn daily_counters(
        &self,
        template: &TemplateId,
        day: NaiveDate,
    ) -> Result<std::collections::BTreeMap<String, i64>> {
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

fn numbers(item: Option<super::Item>) -> std::collections::BTreeMap<String, i64> {
    item.unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.as_n().ok().and_then(|n| n.parse().ok()).map(|n| (k, n)))
        .collect()
}
