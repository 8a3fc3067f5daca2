//! The analytics Lambda's HTTP side: `GET /v1/analytics` (totals, rates, a time series and, for
//! the whole issuer, a per-template breakdown) and `GET /v1/analytics/export` (a CSV of awards
//! with their counters, streamed page by page).

use super::{
    auth::Caller,
    error::ApiError,
    param,
    query::ApiQuery,
    routes::{Route, Routes},
};
use crate::{
    analytics::{self, Report, Scope},
    app::App,
    csv_import::report::neutralize,
    domain::{
        award::Award,
        ids::{AwardId, BatchId, TemplateId},
        issuer::Issuer,
        metrics::{self, Granularity, Metrics, StageEmails},
        text,
        time::{parse_date, Zone},
    },
    store::{awards::AwardsBy, Store, StoreError},
};
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json, Router,
};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// This router's routes, declared once (listed in the OpenAPI document with the api's; a test
/// checks).
fn declared() -> Routes<App> {
    Routes::new()
        .get("/v1/analytics", report)
        .get("/v1/analytics/export", export)
}

pub fn routes() -> Vec<Route> {
    declared().table()
}

pub fn router(app: App) -> Router {
    declared().router().with_state(app)
}

/// The longest range one request may ask for (cost is days × templates).
pub const MAX_DAYS: i64 = 400;
const PARAMS: &[&str] = &["template", "batch", "cohort", "from", "to", "granularity"];
const EXPORT_PARAMS: &[&str] = &["limit", "cursor"];
/// Awards per export response by default, and at most; a response also ends before its body
/// outgrows [`EXPORT_BYTES`] (Lambda's 6 MB response limit). The `Link: rel="next"` header
/// continues.
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

/// Parses the query (unknown parameters, bad ids and bad dates are errors naming the parameter)
/// and resolves the scope within the caller's issuer (another issuer's id is 404). `report`: the
/// metrics report (range capped at [`MAX_DAYS`]); otherwise the export (`limit`, `cursor` allowed).
pub async fn parse(
    app: &App,
    caller: &Caller,
    q: &HashMap<String, String>,
    report: bool,
) -> Result<Request, ApiError> {
    known_params(q, report)?;
    let issuer = caller.issuer(app).await?;
    let today = issuer.profile.time_zone.date_of(Utc::now());
    let scope = scope(app, &issuer, q).await?;
    let granularity = granularity(q)?;
    let (from, to, ranged) = range(q, granularity, today, report)?;
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

/// Refuses a parameter the request does not take, naming those it does.
fn known_params(q: &HashMap<String, String>, report: bool) -> Result<(), ApiError> {
    let mut allowed = PARAMS.to_vec();
    if !report {
        allowed.extend(EXPORT_PARAMS);
    }
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::field(
            k.clone(),
            format!("unknown parameter `{k}`; use {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// One of `template`, `batch` (either must be the issuer's) or `cohort`; none: the whole issuer.
async fn scope(app: &App, issuer: &Issuer, q: &HashMap<String, String>) -> Result<Scope, ApiError> {
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
    if let Some(raw) = param(q, "template") {
        let id = TemplateId::parse(raw).map_err(|e| ApiError::invalid("template", e))?;
        let t = app
            .store
            .get_template_of(&issuer.id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("template"))?;
        Ok(Scope::Template(Box::new(t)))
    } else if let Some(raw) = param(q, "batch") {
        let id = BatchId::parse(raw).map_err(|e| ApiError::invalid("batch", e))?;
        app.store
            .get_batch_of(&issuer.id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("batch"))?;
        Ok(Scope::Batch(id))
    } else if let Some(raw) = param(q, "cohort") {
        // As awards store it: NFC (a cohort typed on macOS is the same cohort).
        let cohort = text::label(raw, 100).map_err(|e| ApiError::invalid("cohort", e))?;
        Ok(Scope::Cohort(cohort))
    } else {
        Ok(Scope::Issuer)
    }
}

fn granularity(q: &HashMap<String, String>) -> Result<Granularity, ApiError> {
    match param(q, "granularity") {
        None => Ok(Granularity::Day),
        Some(g) => Granularity::parse(g)
            .ok_or_else(|| ApiError::field("granularity", "granularity must be `day` or `week`")),
    }
}

/// `from` and `to` (inclusive), and whether either was given. By default `to` is today and the
/// range its last 28 days (by week: the 12 weeks up to `to`'s); a report covers at most
/// [`MAX_DAYS`].
fn range(
    q: &HashMap<String, String>,
    granularity: Granularity,
    today: NaiveDate,
    report: bool,
) -> Result<(NaiveDate, NaiveDate, bool), ApiError> {
    let date = |name: &'static str| -> Result<Option<NaiveDate>, ApiError> {
        param(q, name)
            .map(|raw| parse_date(raw).map_err(|e| ApiError::invalid(name, e)))
            .transpose()
    };
    let (from_q, to_q) = (date("from")?, date("to")?);
    // The export filters on each award's day: a bound not given is open (`to` alone: every award
    // up to that day). A report's period has a default length.
    if !report {
        let (from, to) = (
            from_q.unwrap_or(NaiveDate::MIN),
            to_q.unwrap_or(NaiveDate::MAX),
        );
        if from > to {
            return Err(ApiError::field(
                "from",
                format!("from ({from}) is after to ({to})"),
            ));
        }
        return Ok((from, to, from_q.is_some() || to_q.is_some()));
    }
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
    Ok((from, to, from_q.is_some() || to_q.is_some()))
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
    let by_stage = |list: &[StageEmails]| -> Map<String, Value> {
        list.iter()
            .map(|s| (s.stage.to_owned(), pairs(&s.events)))
            .collect()
    };
    let emails = by_stage(&m.emails);
    json!({
        "issued": m.issued,
        "revoked": m.revoked,
        "expired": m.expired,
        "emails": emails,
        "delivery_rate": m.delivery_rate,
        "kakao": by_stage(&m.kakao),
        "kakao_delivery_rate": m.kakao_delivery_rate,
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
            "from_text": m.text_clicks,
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
    // Added later, after the columns above (whose places do not move).
    h.extend(
        metrics::STAGES
            .iter()
            .map(|s| format!("email_{s}_{}", metrics::EMAIL_EVENTS[6])),
    );
    for s in metrics::KAKAO_STAGES {
        for e in metrics::KAKAO_EVENTS {
            h.push(format!("kakao_{s}_{e}"));
        }
    }
    h.push("text_clicks".into());
    h
}

fn export_row(
    app: &App,
    a: &Award,
    names: &HashMap<TemplateId, String>,
    counters: &BTreeMap<String, i64>,
    zone: Zone,
) -> Vec<String> {
    let mut row = award_cells(app, a, names, zone);
    row.extend(counter_cells(counters));
    row.into_iter().map(|v| neutralize(&v)).collect()
}

/// The export's columns of the award itself, up to its status.
fn award_cells(
    app: &App,
    a: &Award,
    names: &HashMap<TemplateId, String>,
    zone: Zone,
) -> Vec<String> {
    let local = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&zone.0)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    vec![
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
    ]
}

/// The export's columns of the award's counters, from `views` on.
fn counter_cells(counters: &BTreeMap<String, i64>) -> Vec<String> {
    let m = Metrics::from_counts(&metrics::Counts(counters.clone()));
    let c = |k: &str| counters.get(k).copied().unwrap_or(0).to_string();
    let mut row = vec![c("views"), c("previews"), c("shares")];
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
    row.extend(
        metrics::STAGES
            .iter()
            .map(|s| c(&format!("email:{s}:{}", metrics::EMAIL_EVENTS[6]))),
    );
    for s in metrics::KAKAO_STAGES {
        for e in metrics::KAKAO_EVENTS {
            row.push(c(&format!("kakao:{s}:{e}")));
        }
    }
    row.push(m.text_clicks.to_string());
    row
}

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(cells);
    w.into_inner().unwrap_or_default()
}

/// What one export response reads and writes.
struct Export<'a> {
    app: &'a App,
    r: &'a Request,
    names: HashMap<TemplateId, String>,
    /// Index items this response may read (`limit`).
    limit: usize,
}

/// The longest body an export response may have, counted as Lambda carries it (a JSON string,
/// [`json_len`]): its response limit is 6 MB in all, headers and the rest of the JSON included.
const EXPORT_BYTES: usize = 5_000_000;

impl Export<'_> {
    /// The CSV of up to `limit` awards from `cursor` on, and the cursor after the last award it
    /// read (None: the listing ended). It counts the awards DynamoDB answered, not the ones it
    /// asked for (a page ends at 1 MB read whatever its `Limit`), and stops early when the body
    /// would outgrow [`EXPORT_BYTES`]; the cursor is then the last written award's own.
    async fn page(
        &self,
        mut cursor: Option<String>,
    ) -> Result<(Vec<u8>, Option<String>), StoreError> {
        let by: AwardsBy<'_> = analytics::export_source(&self.r.scope, &self.r.issuer.id);
        let mut body = b"\xEF\xBB\xBF".to_vec();
        body.extend(csv_line(&export_header()));
        let mut size = json_len(&body);
        let mut read = 0;
        loop {
            let want = (self.limit - read).min(100) as i32;
            let (page, next) = self
                .app
                .store
                .list_awards(by, want, cursor.as_deref(), |_| true)
                .await?;
            read += page.len();
            let wanted: Vec<bool> = page.iter().map(|a| self.wanted(a)).collect();
            let ids: Vec<AwardId> = page
                .iter()
                .zip(&wanted)
                .filter(|(_, w)| **w)
                .map(|(a, _)| a.id.clone())
                .collect();
            let counters = self.app.store.award_counters_many(&ids).await?;
            let empty = BTreeMap::new();
            let zone = self.r.issuer.profile.time_zone;
            // The last award of this page written: the cursor if the body fills (the ones not
            // wanted after it are read again on the next page, and left out again).
            let mut last: Option<&Award> = None;
            for (a, _) in page.iter().zip(&wanted).filter(|(_, w)| **w) {
                let c = counters.get(&a.id).unwrap_or(&empty);
                let line = csv_line(&export_row(self.app, a, &self.names, c, zone));
                size += json_len(&line);
                if size > EXPORT_BYTES {
                    let at = last.map(|l| Store::award_cursor(by, l)).or(cursor);
                    return Ok((body, at));
                }
                body.extend(line);
                last = Some(a);
            }
            match next {
                Some(c) if read < self.limit => cursor = Some(c),
                Some(c) => return Ok((body, Some(c))),
                None => return Ok((body, None)),
            }
        }
    }

    /// Whether the listing's award belongs in this export (its cohort, its date range).
    fn wanted(&self, a: &Award) -> bool {
        let r = self.r;
        let zone = r.issuer.profile.time_zone;
        let d = zone.date_of(a.created_at);
        a.issuer_id == r.issuer.id
            && match &r.scope {
                // An award stored before cohorts were NFC is in the cohort all the same.
                Scope::Cohort(c) => a.cohort.as_deref().map(text::nfc).as_deref() == Some(c),
                _ => true,
            }
            && (!r.ranged || (r.from <= d && d <= r.to))
    }
}

/// How many bytes `bytes` take as a JSON string (serde_json escapes `"`, `\` and control
/// characters): what Lambda's response limit counts.
fn json_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
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
    let limit = export_limit(&q)?;
    let cursor = param(&q, "cursor").map(str::to_owned);
    let names = app
        .store
        .all_templates(&r.issuer.id)
        .await?
        .into_iter()
        .map(|t| (t.id, t.spec.name))
        .collect();
    let export = Export {
        app: &app,
        r: &r,
        names,
        limit,
    };
    let (body, next) = match export.page(cursor).await {
        Err(StoreError::BadCursor) => Err(ApiError::field(
            "cursor",
            "this cursor does not belong to this export; use the Link header's URL",
        )),
        other => other.map_err(ApiError::from),
    }?;
    let mut resp = csv_attachment(Body::from(body), r.today);
    if let Some(n) = next {
        let link = format!("<{}>; rel=\"next\"", next_page(&q, &n));
        if let (Ok(l), Ok(c)) = (HeaderValue::from_str(&link), HeaderValue::from_str(&n)) {
            resp.headers_mut().insert(header::LINK, l);
            resp.headers_mut().insert("x-next-cursor", c);
        }
    }
    Ok(resp)
}

/// Awards in this response: `limit` (1 to [`EXPORT_PAGE`]), by default all it may hold.
fn export_limit(q: &HashMap<String, String>) -> Result<usize, ApiError> {
    match param(q, "limit") {
        None => Ok(EXPORT_PAGE),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=EXPORT_PAGE).contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                "limit",
                format!("limit must be a number from 1 to {EXPORT_PAGE}"),
            )),
        },
    }
}

/// A CSV download named for `today` (in the issuer's zone: a download in Seoul before 09:00 is
/// named for that day, not yesterday's UTC date).
fn csv_attachment(body: Body, today: NaiveDate) -> Response {
    let filename = format!("accolade-awards-{}.csv", today.format("%Y%m%d"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The same export from `cursor` on: the query's other parameters sorted, the cursor last.
fn next_page(q: &HashMap<String, String>, cursor: &str) -> String {
    let mut query: Vec<String> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "cursor")
        .map(|(k, v)| format!("{}={}", crate::urls::encode(k), crate::urls::encode(v)))
        .collect();
    query.sort();
    query.push(format!("cursor={}", crate::urls::encode(cursor)));
    format!("/v1/analytics/export?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::query;

    fn day(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn field(r: Result<impl Sized, ApiError>) -> Option<String> {
        r.err().and_then(|e| e.field)
    }

    #[test]
    fn parameters_are_those_of_the_request() {
        assert!(known_params(&query(&[("from", "2026-01-01")]), true).is_ok());
        assert_eq!(
            field(known_params(&query(&[("limit", "5")]), true)).as_deref(),
            Some("limit")
        );
        assert!(known_params(&query(&[("limit", "5"), ("cursor", "c")]), false).is_ok());
        assert_eq!(granularity(&query(&[])).unwrap(), Granularity::Day);
        assert_eq!(
            granularity(&query(&[("granularity", " week ")])).unwrap(),
            Granularity::Week
        );
        assert_eq!(
            field(granularity(&query(&[("granularity", "month")]))).as_deref(),
            Some("granularity")
        );
    }

    #[test]
    fn ranges_default_and_are_bounded() {
        let today = day("2026-03-18"); // a Wednesday
        let r = |pairs: &[(&str, &str)], g, report| range(&query(pairs), g, today, report);
        assert_eq!(
            r(&[], Granularity::Day, true).unwrap(),
            (day("2026-02-19"), today, false)
        );
        let weeks = r(&[], Granularity::Week, true).unwrap();
        assert_eq!(weeks.0, metrics::week_start(today) - Duration::weeks(11));
        let given = r(&[("to", "2026-01-31")], Granularity::Day, true).unwrap();
        assert_eq!(given, (day("2026-01-04"), day("2026-01-31"), true));
        assert_eq!(
            field(r(&[("from", "2026-04-01")], Granularity::Day, true)).as_deref(),
            Some("from")
        );
        assert_eq!(
            field(r(&[("to", "soon")], Granularity::Day, true)).as_deref(),
            Some("to")
        );
        let long = [("from", "2020-01-01")];
        assert_eq!(
            field(r(&long, Granularity::Day, true)).as_deref(),
            Some("from")
        );
        assert!(
            r(&long, Granularity::Day, false).is_ok(),
            "the export has no cap"
        );
    }

    #[test]
    fn export_limit_and_next_page() {
        assert_eq!(export_limit(&query(&[])).unwrap(), EXPORT_PAGE);
        assert_eq!(export_limit(&query(&[("limit", " 5 ")])).unwrap(), 5);
        for bad in ["0", "x", "10001"] {
            assert_eq!(
                field(export_limit(&query(&[("limit", bad)]))).as_deref(),
                Some("limit")
            );
        }
        let q = query(&[("to", "2026-01-31"), ("cursor", "old"), ("cohort", "a b")]);
        assert_eq!(
            next_page(&q, "n/1"),
            "/v1/analytics/export?cohort=a%20b&to=2026-01-31&cursor=n%2F1"
        );
    }
}
