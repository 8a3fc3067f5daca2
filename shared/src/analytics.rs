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

/// Every template of an issuer, archived ones included (their awards still count).
pub async fn all_templates(store: &Store, issuer: &IssuerId) -> Result<Vec<Template>, StoreError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.list_templates(issuer, 200, cursor.as_deref()).await?;
        out.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
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
    let mut templates = Vec::new();
    let all: Days = match scope {
        Scope::Template(t) => {
            days_of(store, &Segment::Template(t.id.clone()), from, to, today).await?
        }
        Scope::Batch(b) => days_of(store, &Segment::Batch(b.clone()), from, to, today).await?,
        Scope::Cohort(c) => {
            days_of(
                store,
                &Segment::Cohort(issuer.id.clone(), c.clone()),
                from,
                to,
                today,
            )
            .await?
        }
        Scope::Issuer => {
            let list = all_templates(store, &issuer.id).await?;
            // At most 8 queries in flight.
            let per_template: Vec<(Template, Days)> = futures::stream::iter(list)
                .map(|t| async move {
                    let d =
                        days_of(store, &Segment::Template(t.id.clone()), from, to, today).await?;
                    Ok::<_, StoreError>((t, d))
                })
                .buffered(8)
                .try_collect()
                .await?;
            let mut sum: Days = BTreeMap::new();
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
            sum
        }
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

/// Which awards an export lists: one index query, paged.
pub fn export_source<'a>(scope: &'a Scope, issuer: &'a IssuerId) -> AwardsBy<'a> {
    match scope {
        Scope::Template(t) => AwardsBy::Template(&t.id),
        Scope::Batch(b) => AwardsBy::Batch(b),
        Scope::Issuer | Scope::Cohort(_) => AwardsBy::Issuer(issuer),
    }
}

/// The analytics function's non-HTTP events: the weekly digest schedule
/// (`{"kind":"weekly_digest", "scheduled_time"?: RFC 3339, "force"?: true}`) and SES delivery
/// events.
pub async fn handle_event(
    app: crate::app::App,
    event: serde_json::Value,
) -> Result<serde_json::Value, crate::entry::BoxError> {
    if event.get("kind").and_then(serde_json::Value::as_str) == Some("weekly_digest") {
        let force = event.get("force").and_then(serde_json::Value::as_bool) == Some(true);
        // Scheduler fills in `<aws.scheduler.scheduled-time>`: the hour the run is for, even when
        // the flexible window starts it a few minutes later.
        let at = event
            .get("scheduled_time")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(chrono::Utc::now);
        // Boxed: keeps the Lambda main's future shallow (the compiler's layout depth limit).
        let outcomes = Box::pin(crate::digest::run(&app, at, force)).await?;
        return Ok(serde_json::json!({ "digests": format!("{outcomes:?}") }));
    }
    Box::pin(crate::email_events::handle_event(app, event)).await
}
