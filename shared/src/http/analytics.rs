//! The analytics Lambda's HTTP side: `GET /v1/analytics` (totals, rates, a time series and, for
//! the whole issuer, a per-template breakdown) and `GET /v1/analytics/export` (a CSV of awards
//! with their counters, streamed page by page).

use super::{auth::Caller, error::ApiError, query::ApiQuery};
use crate::{
    analytics::{self, Report, Scope},
    app::App,
    csv_import::report::neutralize,
    domain::{
        award::Award,
        ids::{AwardId, BatchId, TemplateId},
        issuer::Issuer,
        metrics::{self, Granularity, Metrics},
        time::{parse_date, Zone},
    },
    store::{awards::AwardsBy, StoreError},
};
use axum::{
    body::Body,
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// This router's routes (listed in the OpenAPI document with the api's; a test checks).
pub const ROUTES: &[(&str, &str)] = &[("GET", "/v1/analytics"), ("GET", "/v1/analytics/export")];

pub fn router(app: App) -> Router {
    Router::new()
        .route("/v1/analytics", get(report))
        .route("/v1/analytics/export", get(export))
        .with_state(app)
}

/// The longest range one request may ask for (cost is days × templates).
pub const MAX_DAYS: i64 = 400;
const PARAMS: &[&str] = &["template", "batch", "cohort", "from", "to", "granularity"];
const EXPORT_PARAMS: &[&str] = &["limit", "cursor"];
/// Awards per export response by default, and at most: about 4–5 MB of CSV, inside API
/// Gateway's 6 MB response limit. The `Link: rel="next"` header continues.
pub const EXPORT_PAGE: usize = 10_000;

/// A parsed, authorised analytics request.
pub struct Request {
    pub issuer: Issuer,
    pub scope: Scope,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `from`/`to` given explicitly (the export lists every award without them).
    pub ranged: bool,
    pub granularity: Granularity,
    pub today: NaiveDate,
}

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Parses the query (unknown parameters, bad ids and bad dates are errors naming the parameter)
/// and resolves the scope within the caller's issuer (another issuer's id is 404). `report`: the
/// metrics report (range capped at [`MAX_DAYS`]); otherwise the export (`limit`, `cursor` allowed).
pub async fn parse(
    app: &App,
    caller: &Caller,
    q: &HashMap<String, String>,
    report: bool,
) -> Result<Request, ApiError> {
    let mut allowed = PARAMS.to_vec();
    if !report {
        allowed.extend(EXPORT_PARAMS);
    }
    if let Some(k) = q.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::field(
            k.clone(),
            format!("unknown parameter `{k}`; use {}", allowed.join(", ")),
        ));
    }
    let issuer = app
        .store
        .get_issuer(&caller.issuer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("issuer"))?;
    let zone: Zone = issuer.profile.time_zone;
    let today = zone.date_of(Utc::now());
    let chosen: Vec<&str> = ["template", "batch", "cohort"]
        .into_iter()
        .filter(|k| param(q, k).is_some())
        .collect();
    if chosen.len() > 1 {
        return Err(ApiError::field(
            chosen[1],
            format!(
                "give one of template, batch or cohort, not {}",
                chosen.join(" and ")
            ),
        ));
    }
    let scope = if let Some(raw) = param(q, "template") {
        let id = TemplateId::parse(raw).map_err(|e| ApiError::invalid("template", e))?;
        let t = app
            .store
            .get_template_of(&issuer.id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("template"))?;
        Scope::Template(Box::new(t))
    } else if let Some(raw) = param(q, "batch") {
        let id = BatchId::parse(raw).map_err(|e| ApiError::invalid("batch", e))?;
        app.store
            .get_batch_of(&issuer.id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("batch"))?;
        Scope::Batch(id)
    } else if let Some(raw) = param(q, "cohort") {
        if raw.chars().count() > 100 {
            return Err(ApiError::field(
                "cohort",
                "cohort is at most 100 characters",
            ));
        }
        Scope::Cohort(raw.to_owned())
    } else {
        Scope::Issuer
    };
    let granularity = match param(q, "granularity") {
        None => Granularity::Day,
        Some(g) => Granularity::parse(g)
            .ok_or_else(|| ApiError::field("granularity", "granularity must be `day` or `week`"))?,
    };
    let date = |name: &'static str| -> Result<Option<NaiveDate>, ApiError> {
        param(q, name)
            .map(|raw| parse_date(raw).map_err(|e| ApiError::invalid(name, e)))
            .transpose()
    };
    let (from_q, to_q) = (date("from")?, date("to")?);
    let ranged = from_q.is_some() || to_q.is_some();
    let to = to_q.unwrap_or(today);
    let from = from_q.unwrap_or(match granularity {
        Granularity::Day => to - Duration::days(27),
        Granularity::Week => metrics::week_start(to) - Duration::weeks(11),
    });
    if from > to {
        return Err(ApiError::field(
            "from",
            format!("from ({from}) is after to ({to})"),
        ));
    }
    if report && (to - from).num_days() + 1 > MAX_DAYS {
        return Err(ApiError::field(
            "from",
            format!("a report covers at most {MAX_DAYS} days; narrow from/to"),
        ));
    }
    Ok(Request {
        issuer,
        scope,
        from,
        to,
        ranged,
        granularity,
        today,
    })
}

fn scope_json(r: &Request) -> Value {
    match &r.scope {
        Scope::Issuer => json!({ "kind": "issuer", "issuer_id": r.issuer.id }),
        Scope::Template(t) => {
            json!({ "kind": "template", "template_id": t.id, "name": t.spec.name })
        }
        Scope::Batch(b) => json!({ "kind": "batch", "batch_id": b }),
        Scope::Cohort(c) => json!({ "kind": "cohort", "cohort": c }),
    }
}

fn pairs(v: &[(&str, i64)]) -> Value {
    Value::Object(v.iter().map(|(k, n)| ((*k).to_owned(), json!(n))).collect())
}

/// One [`Metrics`] as JSON (the README's "Analytics" section documents every field).
pub fn metrics_json(m: &Metrics) -> Value {
    let emails: Map<String, Value> = m
        .emails
        .iter()
        .map(|s| (s.stage.to_owned(), pairs(&s.events)))
        .collect();
    json!({
        "issued": m.issued,
        "revoked": m.revoked,
        "expired": m.expired,
        "emails": emails,
        "delivery_rate": m.delivery_rate,
        "awards_shared": m.awards_shared,
        "share_rate": m.share_rate,
        "shares": m.shares,
        "shares_by_network": pairs(&m.shares_by_network),
        "linkedin_add_to_profile": m.linkedin_add_to_profile,
        "views": m.views,
        "previews": m.previews,
        "awards_viewed": m.awards_viewed,
        "clicks": {
            "banner": m.banner_clicks,
            "enrol": m.enrol_clicks,
            "related": m.related_clicks.iter()
                .map(|(t, n)| json!({ "template_id": t, "clicks": n }))
                .collect::<Vec<_>>(),
            "from_page": m.page_clicks,
            "from_email": m.email_clicks,
        },
        "click_through_rate": m.click_through_rate,
        "follow_up_conversions": m.follow_up_conversions,
        "conversions_by_stage": pairs(&m.conversions_by_stage),
    })
}

pub fn report_json(r: &Request, rep: &Report) -> Value {
    let mut v = json!({
        "scope": scope_json(r),
        "from": rep.from,
        "to": rep.to,
        "time_zone": r.issuer.profile.time_zone.name(),
        "granularity": rep.granularity.as_str(),
        "totals": metrics_json(&rep.totals),
        "series": rep.series.iter().map(|p| {
            let mut m = metrics_json(&p.metrics);
            m["start"] = json!(p.start);
            m["end"] = json!(p.end);
            m
        }).collect::<Vec<_>>(),
    });
    if matches!(r.scope, Scope::Issuer) {
        v["templates"] = rep
            .templates
            .iter()
            .map(|(t, m)| {
                let mut j = metrics_json(m);
                j["template_id"] = json!(t.id);
                j["name"] = json!(t.spec.name);
                j
            })
            .collect();
    }
    v
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
async fn report(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let r = parse(&app, &caller, &q, true).await?;
    let rep = analytics::report(
        &app.store,
        &r.issuer,
        &r.scope,
        r.from,
        r.to,
        r.granularity,
        r.today,
    )
    .await?;
    Ok((
        [(header::CACHE_CONTROL, "private, no-store")],
        Json(report_json(&r, &rep)),
    ))
}

/// The export's columns, in order.
pub fn export_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "award_id",
        "page_url",
        "template_id",
        "template_name",
        "recipient_name",
        "recipient_email",
        "cohort",
        "batch_id",
        "external_id",
        "issued_on",
        "recorded_at",
        "expires_on",
        "status",
        "views",
        "previews",
        "shares",
    ]
    .map(str::to_owned)
    .to_vec();
    h.extend(metrics::NETWORKS.iter().map(|n| format!("shares_{n}")));
    h.extend(
        [
            "linkedin_add_to_profile",
            "banner_clicks",
            "enrol_clicks",
            "related_clicks",
            "email_clicks",
            "follow_up_conversions",
        ]
        .map(str::to_owned),
    );
    for s in metrics::STAGES {
        for e in &metrics::EMAIL_EVENTS[..6] {
            h.push(format!("email_{s}_{e}"));
        }
    }
    h
}

fn export_row(
    app: &App,
    a: &Award,
    names: &HashMap<TemplateId, String>,
    counters: &BTreeMap<String, i64>,
    zone: Zone,
) -> Vec<String> {
    let m = Metrics::from_counts(&metrics::Counts(counters.clone()));
    let c = |k: &str| counters.get(k).copied().unwrap_or(0).to_string();
    let local = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&zone.0)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    let mut row = vec![
        a.id.to_string(),
        app.urls().award_page(&a.id),
        a.template_id.to_string(),
        names.get(&a.template_id).cloned().unwrap_or_default(),
        a.recipient.name.clone(),
        a.recipient.email.as_str().to_owned(),
        a.cohort.clone().unwrap_or_default(),
        a.batch_id
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default(),
        a.external_id.clone().unwrap_or_default(),
        local(a.issued_on),
        local(a.created_at),
        a.expires_on.map(local).unwrap_or_default(),
        a.status(Utc::now()).code().to_owned(),
        c("views"),
        c("previews"),
        c("shares"),
    ];
    row.extend(metrics::NETWORKS.iter().map(|n| c(&format!("share:{n}"))));
    row.extend([
        m.linkedin_add_to_profile.to_string(),
        m.banner_clicks.to_string(),
        m.enrol_clicks.to_string(),
        m.related_clicks
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>()
            .to_string(),
        m.email_clicks.to_string(),
        m.follow_up_conversions.to_string(),
    ]);
    for s in metrics::STAGES {
        for e in &metrics::EMAIL_EVENTS[..6] {
            row.push(c(&format!("email:{s}:{e}")));
        }
    }
    row.into_iter().map(|v| neutralize(&v)).collect()
}

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(cells);
    w.into_inner().unwrap_or_default()
}

struct ExportState {
    app: App,
    issuer: Issuer,
    scope: Scope,
    range: Option<(NaiveDate, NaiveDate)>,
    names: HashMap<TemplateId, String>,
    cursor: Option<String>,
    /// Index items still to read in this response.
    remaining: usize,
    started: bool,
    done: bool,
}

impl ExportState {
    /// The next chunk: the header first, then one page of awards (≤ 100) with their counters.
    async fn next_chunk(&mut self) -> Result<Vec<u8>, StoreError> {
        if !self.started {
            self.started = true;
            let mut out = b"\xEF\xBB\xBF".to_vec();
            out.extend(csv_line(&export_header()));
            return Ok(out);
        }
        let by: AwardsBy<'_> = analytics::export_source(&self.scope, &self.issuer.id);
        let want = self.remaining.min(100);
        let (page, next) = self
            .app
            .store
            .list_awards(by, want as i32, self.cursor.as_deref())
            .await?;
        self.remaining = self.remaining.saturating_sub(want);
        self.done = next.is_none() || self.remaining == 0;
        self.cursor = next;
        let zone = self.issuer.profile.time_zone;
        let keep: Vec<Award> = page
            .into_iter()
            .filter(|a| a.issuer_id == self.issuer.id)
            .filter(|a| match &self.scope {
                Scope::Cohort(c) => a.cohort.as_deref() == Some(c.as_str()),
                _ => true,
            })
            .filter(|a| {
                self.range.is_none_or(|(f, t)| {
                    let d = zone.date_of(a.created_at);
                    f <= d && d <= t
                })
            })
            .collect();
        let ids: Vec<AwardId> = keep.iter().map(|a| a.id.clone()).collect();
        let counters = self.app.store.award_counters_many(&ids).await?;
        let empty = BTreeMap::new();
        let mut out = Vec::new();
        for a in &keep {
            let c = counters.get(&a.id).unwrap_or(&empty);
            out.extend(csv_line(&export_row(&self.app, a, &self.names, c, zone)));
        }
        Ok(out)
    }
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub(crate) async fn export(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if q.contains_key("granularity") {
        return Err(ApiError::field(
            "granularity",
            "the export lists awards; granularity does not apply",
        ));
    }
    let r = parse(&app, &caller, &q, false).await?;
    let limit = match q.get("limit").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => EXPORT_PAGE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=EXPORT_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::field(
                    "limit",
                    format!("limit must be a number from 1 to {EXPORT_PAGE}"),
                ))
            }
        },
    };
    let cursor = q
        .get("cursor")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    // Where this response ends, known before it streams: the next page's link goes in a header.
    let next = match app
        .store
        .awards_boundary(
            analytics::export_source(&r.scope, &r.issuer.id),
            limit,
            cursor.as_deref(),
        )
        .await
    {
        Err(StoreError::BadCursor) => {
            return Err(ApiError::field(
                "cursor",
                "this cursor does not belong to this export; use the Link header's URL",
            ))
        }
        other => other?,
    };
    let names = app
        .store
        .all_templates(&r.issuer.id)
        .await?
        .into_iter()
        .map(|t| (t.id, t.spec.name))
        .collect();
    let state = ExportState {
        app: app.clone(),
        scope: r.scope,
        range: r.ranged.then_some((r.from, r.to)),
        issuer: r.issuer,
        names,
        cursor,
        remaining: limit,
        started: false,
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        match st.next_chunk().await {
            Ok(bytes) => Some((Ok::<_, StoreError>(bytes), st)),
            Err(e) => {
                // The status line has gone; cutting the body short tells the client it failed.
                tracing::error!(error = %e, "export stopped");
                st.done = true;
                Some((Err(e), st))
            }
        }
    });
    let filename = format!("accolade-awards-{}.csv", Utc::now().format("%Y%m%d"));
    let mut resp = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    if let Some(n) = next {
        let mut query: Vec<String> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "cursor")
            .map(|(k, v)| format!("{}={}", crate::urls::encode(k), crate::urls::encode(v)))
            .collect();
        query.sort();
        query.push(format!("cursor={}", crate::urls::encode(&n)));
        let link = format!("</v1/analytics/export?{}>; rel=\"next\"", query.join("&"));
        if let (Ok(l), Ok(c)) = (
            axum::http::HeaderValue::from_str(&link),
            axum::http::HeaderValue::from_str(&n),
        ) {
            resp.headers_mut().insert(header::LINK, l);
            resp.headers_mut().insert("x-next-cursor", c);
        }
    }
    Ok(resp)
}
