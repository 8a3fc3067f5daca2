//! Analytics reports: reads the pre-aggregated daily counter items of a segment (template, batch,
//! cohort) or of every template of an issuer, and folds them into [`Metrics`] per period. Cost is
//! one paged `Query` per segment (days × segments items), never a read per award.

use crate::{
    domain::{
        ids::{BatchId, IssuerId},
        issuer::Issuer,
        metrics::{periods, Counts, Granularity, Metrics},
        tally::Segment,
        template::Template,
    },
    store::{awards::AwardsBy, Store, StoreError},
};
use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// What a report covers.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every template of the issuer, with a per-template breakdown.
    Issuer,
    Template(Box<Template>),
    Batch(BatchId),
    Cohort(String),
}

#[derive(Debug, Clone)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub metrics: Metrics,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub totals: Metrics,
    pub series: Vec<Period>,
    /// Issuer scope only: every template with activity or awards in the range, by issued desc.
    pub templates: Vec<(Template, Metrics)>,
}

type Days = BTreeMap<NaiveDate, Counts>;

async fn days_of(
    store: &Store,
    seg: &Segment,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<Days, StoreError> {
    Ok(store
        .segment_days(seg, from, to)
        .await?
        .into_iter()
        .map(|(d, n)| (d, Counts::of_day(d, today, n)))
        .collect())
}

fn fold(days: &Days, from: NaiveDate, to: NaiveDate) -> Counts {
    let mut c = Counts::default();
    for (_, day) in days.range(from..=to) {
        c.add(day);
    }
    c
}

/// The report of `scope` from `from` to `to` (inclusive days in the issuer's time zone).
pub async fn report(
    store: &Store,
    issuer: &Issuer,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
    today: NaiveDate,
) -> Result<Report, StoreError> {
    let (all, templates) = match segment_of(scope, issuer) {
        Some(seg) => (days_of(store, &seg, from, to, today).await?, Vec::new()),
        None => every_template(store, issuer, from, to, today).await?,
    };
    let series = periods(from, to, granularity)
        .into_iter()
        .map(|(start, end)| Period {
            start,
            end,
            metrics: Metrics::from_counts(&fold(&all, start, end)),
        })
        .collect();
    Ok(Report {
        from,
        to,
        granularity,
        totals: Metrics::from_counts(&fold(&all, from, to)),
        series,
        templates,
    })
}

/// The one segment a scope reads; `None` for the issuer, whose report reads every template.
fn segment_of(scope: &Scope, issuer: &Issuer) -> Option<Segment> {
    match scope {
        Scope::Template(t) => Some(Segment::Template(t.id.clone())),
        Scope::Batch(b) => Some(Segment::Batch(b.clone())),
        Scope::Cohort(c) => Some(Segment::Cohort(issuer.id.clone(), c.clone())),
        Scope::Issuer => None,
    }
}

/// Every template of the issuer (at most 8 queries in flight): the days of all of them summed,
/// and each template with activity in the range with its metrics, by issued and views (most
/// first), then name.
async fn every_template(
    store: &Store,
    issuer: &Issuer,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<(Days, Vec<(Template, Metrics)>), StoreError> {
    let list = store.all_templates(&issuer.id).await?;
    let per_template: Vec<(Template, Days)> = futures::stream::iter(list)
        .map(|t| async move {
            let d = days_of(store, &Segment::Template(t.id.clone()), from, to, today).await?;
            Ok::<_, StoreError>((t, d))
        })
        .buffered(8)
        .try_collect()
        .await?;
    let mut sum: Days = BTreeMap::new();
    let mut templates = Vec::new();
    for (t, days) in per_template {
        for (d, c) in &days {
            sum.entry(*d).or_default().add(c);
        }
        if !days.is_empty() {
            templates.push((t, Metrics::from_counts(&fold(&days, from, to))));
        }
    }
    templates.sort_by(|a, b| {
        b.1.issued
            .cmp(&a.1.issued)
            .then_with(|| b.1.views.cmp(&a.1.views))
            .then_with(|| a.0.spec.name.cmp(&b.0.spec.name))
    });
    Ok((sum, templates))
}

/// Which awards an export lists: one index query, paged.
pub fn export_source<'a>(scope: &'a Scope, issuer: &'a IssuerId) -> AwardsBy<'a> {
    match scope {
        Scope::Template(t) => AwardsBy::Template(&t.id),
        Scope::Batch(b) => AwardsBy::Batch(b),
        Scope::Issuer | Scope::Cohort(_) => AwardsBy::Issuer(issuer),
    }
}
