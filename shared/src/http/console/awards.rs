//! Issue one badge; search awards; open one; revoke with a reason; re-issue.

use super::{
    form,
    page::{api, failed, found, not_found, respond, templates},
    posted::{json_of, Posted},
    session::Session,
    ui,
};
use crate::{
    app::App,
    domain::{
        award::Award,
        email::Email,
        ids::{AwardId, BatchId, IssuerId, TemplateId},
        locale::Locale,
        template::Template,
    },
    http::{api::awards as v1, error::ApiError, param},
    store::{awards::AwardsBy, Store},
};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use std::collections::HashMap;
use ui::{checkbox, input, select, Field, FormError};

/// How many of the newest awards a name search looks through.
pub const NAME_SEARCH_DEPTH: usize = 2000;

/// The issue form page, with the issuer's active templates to choose from.
async fn issue_page(
    app: &App,
    s: &Session,
    status: StatusCode,
    f: &[(String, String)],
    err: Option<&FormError>,
) -> Response {
    let tpls = match templates(app, &s.issuer.id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let title = s.lang.t("배지 발급", "Issue a badge");
    respond(
        app,
        status,
        ui::page(s, "/console/issue", title, issue_body(s, &tpls, f, err)),
    )
}

fn issue_body(
    s: &Session,
    tpls: &[Template],
    f: &[(String, String)],
    err: Option<&FormError>,
) -> Markup {
    let l = s.lang;
    let v = |n: &str| form::value(f, n).unwrap_or("").to_owned();
    let choices = ui::template_options(
        l.t("— 템플릿 선택 —", "— choose a template —"),
        tpls.iter().filter(|x| x.is_active()),
    );
    let locales = ui::options(&[
        ("", l.t("기관 기본값", "Issuer default")),
        ("ko", "한국어"),
        ("en", "English"),
    ]);
    let idem = form::value(f, "_idem")
        .map(str::to_owned)
        .unwrap_or_else(super::session::new_nonce);
    let notify = form::value(f, "notify").is_none_or(|x| x == "true" || x == "on");
    html! {
        (ui::summary(l, err))
        form method="post" action="/console/issue" novalidate class="card" {
            (ui::csrf(s))
            input type="hidden" name="_idem" value=(idem);
            (select("template_id", l.t("배지 템플릿", "Badge template"), &v("template_id"), &choices, err))
            (input(Field::new("recipient.email", l.t("수신자 이메일", "Recipient email"), &v("recipient.email")).kind("email").required(), err))
            (input(Field::new("recipient.name", l.t("수신자 이름", "Recipient name"), &v("recipient.name")).required(), err))
            (input(Field::new("issued_on", l.t("발급일 (비우면 오늘)", "Issued on (empty: now)"), &v("issued_on")).kind("date"), err))
            (input(Field::new("expires_on", l.t("만료일 (비우면 템플릿 규칙)", "Expires on (empty: the template's rule)"), &v("expires_on")).kind("date"), err))
            (input(Field::new("cohort", l.t("기수/코호트 (선택)", "Cohort (optional)"), &v("cohort")), err))
            (input(Field::new("external_id", l.t("외부 ID (선택, 중복 발급 방지)", "External id (optional, prevents duplicates)"), &v("external_id")), err))
            (select("locale", l.t("언어", "Language"), &v("locale"), &locales, err))
            (input(Field::new("narrative", l.t("메모 (배지 페이지에 표시)", "Narrative (shown on the badge page)"), &v("narrative")).kind("textarea"), err))
            (input(Field::new("evidence[0].url", l.t("증빙 URL (선택)", "Evidence URL (optional)"), &v("evidence[0].url")).kind("url"), err))
            (checkbox("notify", l.t("수신자에게 이메일 보내기", "Email the recipient"), notify))
            button class="btn primary" type="submit" { (l.t("발급", "Issue")) }
        }
    }
}

pub async fn issue_form(State(app): State<App>, s: Session) -> Response {
    issue_page(&app, &s, StatusCode::OK, &[], None).await
}

pub async fn issue(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(k) =
        form::value(&f, "_idem").and_then(|k| HeaderValue::from_str(&format!("console-{k}")).ok())
    {
        headers.insert("idempotency-key", k);
    }
    let body = crate::http::body::JsonObject(form::without_nulls(json_of(&f).0));
    match api(v1::create(State(app.clone()), s.caller.clone(), headers, body).await).await {
        Ok(v) => Redirect::to(&format!(
            "/console/awards/{}?issued=1",
            v["id"].as_str().unwrap_or("")
        ))
        .into_response(),
        Err(e) if e.code == "idempotency_key_reused" => {
            // This form was sent before (its answer lost) and then changed: that send issued an
            // award. The form gets a new key, so sending it again issues the one now typed.
            let mut err = FormError::from_api(&e, s.lang);
            err.field = None;
            err.message = s.lang.t(
                "이 양식은 앞서 다른 내용으로 보내져 배지가 이미 발급되었습니다(배지 목록에서 확인하세요). 이 내용으로 새로 발급하려면 다시 보내세요.".to_owned(),
                "This form was sent before with other values, and that award was issued (see the awards list). Send it again to issue one with these values.".to_owned(),
            );
            let fresh: Vec<(String, String)> =
                f.into_iter().filter(|(k, _)| k != "_idem").collect();
            issue_page(
                &app,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                &fresh,
                Some(&err),
            )
            .await
        }
        Err(e) => {
            let err = FormError::from_api(&e, s.lang);
            issue_page(&app, &s, StatusCode::UNPROCESSABLE_ENTITY, &f, Some(&err)).await
        }
    }
}

fn status_label(l: Locale, code: &str) -> &'static str {
    match code {
        "valid" => l.t("유효", "Valid"),
        "expired" => l.t("만료", "Expired"),
        "revoked" => l.t("취소됨", "Revoked"),
        _ => l.t("재발급으로 대체됨", "Replaced"),
    }
}

/// The list's filters: text with an `@` is an email (searched through its index), other text a
/// name (looked for among the newest awards).
struct Filters {
    email: Option<String>,
    template: Option<TemplateId>,
    batch: Option<BatchId>,
    status: Option<String>,
    name: Option<String>,
}

impl Filters {
    /// Reads the query. A filter that cannot be read is left out and is the error to show (the
    /// last one when several are wrong). Whose template or batch it names is checked by the list.
    fn read(l: Locale, q: &HashMap<String, String>) -> (Self, Option<FormError>) {
        let mut err = None;
        let mut refuse = |f: &str, m: String| {
            err = Some(FormError {
                field: Some(f.into()),
                message: m,
            });
        };
        let text = param(q, "q");
        let email = match text.filter(|x| x.contains('@')).map(Email::parse) {
            Some(Ok(e)) => Some(e.lookup_key()),
            Some(Err(e)) => {
                refuse("q", l.t(e.korean(), None).unwrap_or(&e.0).to_owned());
                None
            }
            None => None,
        };
        let template = match param(q, "template").map(TemplateId::parse) {
            Some(Ok(x)) => Some(x),
            Some(Err(_)) => {
                let unknown = l.t("알 수 없는 템플릿입니다.", "Unknown template.");
                refuse("template", unknown.into());
                None
            }
            None => None,
        };
        let batch = match param(q, "batch").map(BatchId::parse) {
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => {
                refuse("batch", l.t(e.korean(), None).unwrap_or(&e.0).to_owned());
                None
            }
            None => None,
        };
        let name = text.filter(|x| !x.contains('@')).map(str::to_lowercase);
        let status = param(q, "status").map(str::to_owned);
        let filters = Filters {
            email,
            template,
            batch,
            status,
            name,
        };
        (filters, err)
    }

    /// The one index query: by recipient, template, batch, or the whole issuer.
    fn by<'a>(&'a self, issuer: &'a IssuerId) -> AwardsBy<'a> {
        match (&self.email, &self.template, &self.batch) {
            (Some(e), _, _) => AwardsBy::Recipient(issuer, e),
            (None, Some(x), _) => AwardsBy::Template(x),
            (None, None, Some(b)) => AwardsBy::Batch(b),
            _ => AwardsBy::Issuer(issuer),
        }
    }

    fn matches(&self, a: &Award, issuer: &IssuerId, now: DateTime<Utc>) -> bool {
        a.issuer_id == *issuer
            && self.template.as_ref().is_none_or(|x| &a.template_id == x)
            && self
                .batch
                .as_ref()
                .is_none_or(|b| a.batch_id.as_ref() == Some(b))
            && self
                .status
                .as_deref()
                .is_none_or(|st| a.status(now).code() == st)
            && self
                .name
                .as_deref()
                .is_none_or(|nm| a.recipient.name.to_lowercase().contains(nm))
    }
}

/// What a search found: up to 50 awards, newest first, and where the next page starts.
struct Found {
    awards: Vec<Award>,
    next: Option<String>,
    now: DateTime<Utc>,
}

/// Reads pages of 100 from `cursor` on until 50 match, the index ends, or
/// [`NAME_SEARCH_DEPTH`] awards were looked through. A cursor that is not this query's finds
/// nothing.
async fn find(
    app: &App,
    s: &Session,
    filters: &Filters,
    mut cursor: Option<String>,
    now: DateTime<Utc>,
) -> Result<Found, Response> {
    // Another issuer's batch is not found, as in the API (its index would page their awards).
    if let Some(b) = &filters.batch {
        match app.store.get_batch_of(&s.issuer.id, b).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(not_found(app, s.lang)),
            Err(e) => return Err(failed(e)),
        }
    }
    let by = filters.by(&s.issuer.id);
    let mut awards: Vec<Award> = Vec::new();
    let mut looked = 0usize;
    loop {
        let (page, next) = match app
            .store
            .list_awards(by, 100, cursor.as_deref(), |_| true)
            .await
        {
            Ok(p) => p,
            Err(crate::store::StoreError::BadCursor) => (Vec::new(), None),
            Err(e) => return Err(failed(e)),
        };
        looked += page.len();
        awards.extend(
            page.into_iter()
                .filter(|a| filters.matches(a, &s.issuer.id, now)),
        );
        if awards.len() > 50 {
            // The page read past the 50th match: the next one starts right after it.
            awards.truncate(50);
            let next = awards.last().map(|a| Store::award_cursor(by, a));
            return Ok(Found { awards, next, now });
        }
        if awards.len() == 50 || next.is_none() || looked >= NAME_SEARCH_DEPTH {
            return Ok(Found { awards, next, now });
        }
        cursor = next;
    }
}

pub async fn list(
    State(app): State<App>,
    s: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let l = s.lang;
    let tpls = match templates(&app, &s.issuer.id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let names: HashMap<TemplateId, String> = tpls
        .iter()
        .map(|x| (x.id.clone(), x.spec.name.clone()))
        .collect();
    let (filters, err) = Filters::read(l, &q);
    // Another issuer's template is not found, as in the API (and its batch, in `find`).
    if filters
        .template
        .as_ref()
        .is_some_and(|t| !names.contains_key(t))
    {
        return not_found(&app, l);
    }
    let now = Utc::now();
    let found = if err.is_none() {
        match find(
            &app,
            &s,
            &filters,
            param(&q, "cursor").map(str::to_owned),
            now,
        )
        .await
        {
            Ok(f) => f,
            Err(r) => return r,
        }
    } else {
        Found {
            awards: Vec::new(),
            next: None,
            now,
        }
    };
    let body = list_body(&s, &q, &tpls, &names, &filters, err.as_ref(), &found);
    respond(
        &app,
        StatusCode::OK,
        ui::page(&s, "/console/awards", l.t("발급 내역", "Awards"), body),
    )
}

fn list_body(
    s: &Session,
    q: &HashMap<String, String>,
    tpls: &[Template],
    names: &HashMap<TemplateId, String>,
    filters: &Filters,
    err: Option<&FormError>,
    found: &Found,
) -> Markup {
    let l = s.lang;
    html! {
        (search_form(l, q, tpls, err))
        @if filters.name.is_some() { p class="muted" { (l.t("이름 검색은 최근 발급된 배지 2,000개에서 찾습니다. 이메일로 검색하면 전체에서 찾습니다.", "A name search looks through the newest 2,000 badges; search by email to search them all.")) } }
        @if found.awards.is_empty() {
            p { (l.t("찾은 배지가 없습니다.", "No badges found.")) }
        } @else {
            (awards_table(s, &found.awards, names, found.now))
            @if let Some(n) = found.next.as_deref().filter(|_| filters.name.is_none()) {
                (more_link(l, q, n))
            }
        }
    }
}

/// The search form, keeping what was asked.
fn search_form(
    l: Locale,
    q: &HashMap<String, String>,
    tpls: &[Template],
    err: Option<&FormError>,
) -> Markup {
    let tchoices = ui::template_options(l.t("모든 템플릿", "All templates"), tpls);
    let schoices = ui::options(&[
        ("", l.t("모든 상태", "Any status")),
        ("valid", status_label(l, "valid")),
        ("expired", status_label(l, "expired")),
        ("revoked", status_label(l, "revoked")),
        ("superseded", status_label(l, "superseded")),
    ]);
    let keep = |k: &str| param(q, k).unwrap_or_default();
    html! {
        form method="get" action="/console/awards" class="card search" role="search" {
            (input(Field::new("q", l.t("이름 또는 이메일", "Name or email"), keep("q")).kind("search"), err))
            (select("template", l.t("템플릿", "Template"), keep("template"), &tchoices, err))
            (input(Field::new("batch", l.t("일괄 발급 ID", "Batch id"), keep("batch")), err))
            (select("status", l.t("상태", "Status"), keep("status"), &schoices, err))
            button class="btn primary" type="submit" { (l.t("검색", "Search")) }
        }
    }
}

fn awards_table(
    s: &Session,
    awards: &[Award],
    names: &HashMap<TemplateId, String>,
    now: DateTime<Utc>,
) -> Markup {
    let l = s.lang;
    html! {
        div class="table-wrap" { table {
            (ui::thead(l.t("발급된 배지", "Issued badges"), &[l.t("수신자", "Recipient"), l.t("템플릿", "Template"), l.t("발급일", "Issued"), l.t("상태", "Status")]))
            tbody { @for a in awards {
                @let code = a.status(now).code();
                tr {
                    th scope="row" { a href={"/console/awards/" (a.id)} { (a.recipient.name) } br; span class="muted" { (a.recipient.email.as_str()) } }
                    td { (names.get(&a.template_id).cloned().unwrap_or_default()) }
                    td { (a.issued_on.with_timezone(&s.issuer.profile.time_zone.0).format("%Y-%m-%d")) }
                    td { span class={"status st-" (code)} { (status_label(l, code)) } }
                }
            } }
        } }
    }
}

/// The same search from the next page on.
fn more_link(l: Locale, q: &HashMap<String, String>, next: &str) -> Markup {
    let qs: Vec<String> = q
        .iter()
        .filter(|(k, _)| *k != "cursor")
        .map(|(k, v)| format!("{}={}", k, crate::urls::encode(v)))
        .chain(std::iter::once(format!(
            "cursor={}",
            crate::urls::encode(next)
        )))
        .collect();
    html! {
        p { a class="btn" href={"/console/awards?" (qs.join("&"))} { (l.t("더 보기", "More")) } }
    }
}

async fn load(app: &App, s: &Session, id: &str) -> Result<Award, Response> {
    let Ok(id) = AwardId::parse(id) else {
        return Err(not_found(app, s.lang));
    };
    found(app, s.lang, app.store.get_award_of(&s.issuer.id, &id).await)
}

fn detail_page(
    app: &App,
    s: &Session,
    a: &Award,
    tpl_name: &str,
    note: Option<&str>,
    err: Option<&FormError>,
) -> Markup {
    let l = s.lang;
    let now = Utc::now();
    let st = a.status(now);
    let zone = s.issuer.profile.time_zone;
    let fmt = |d: DateTime<Utc>| {
        d.with_timezone(&zone.0)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    html! {
        @if let Some(n) = note { div class="ok" role="status" { (n) } }
        (ui::summary(l, err))
        div class="card" {
            p { span class={"status st-" (st.code())} { (status_label(l, st.code())) } }
            dl class="meta" {
                dt { (l.t("수신자", "Recipient")) } dd { (a.recipient.name) " <" (a.recipient.email.as_str()) ">" }
                dt { (l.t("템플릿", "Template")) } dd { a href={"/console/templates/" (a.template_id)} { (tpl_name) } }
                dt { (l.t("발급일", "Issued")) } dd { (fmt(a.issued_on)) }
                dt { (l.t("만료일", "Expires")) } dd { (a.expires_on.map(fmt).unwrap_or_else(|| l.t("없음", "Never").into())) }
                @if let Some(c) = &a.cohort { dt { (l.t("코호트", "Cohort")) } dd { (c) } }
                @if let Some(b) = &a.batch_id { dt { (l.t("일괄 발급", "Batch")) } dd { a href={"/console/awards?batch=" (b)} { (b) } } }
                @if let Some(r) = &a.revocation { dt { (l.t("취소 사유", "Revocation reason")) } dd { (r.reason) " (" (fmt(r.at)) ")" } }
                @if let Some(n) = &a.superseded_by { dt { (l.t("대체한 배지", "Replaced by")) } dd { a href={"/console/awards/" (n)} { (n) } } }
            }
            p class="btns" {
                a class="btn" href=(app.urls().award_page(&a.id)) { (l.t("공개 배지 페이지 열기", "Open the public badge page")) }
            }
        }
        @if a.revocation.is_none() {
            form method="post" action={"/console/awards/" (a.id) "/revoke"} class="card" novalidate {
                h2 { (l.t("배지 취소", "Revoke")) }
                (ui::csrf(s))
                (input(Field::new("reason", l.t("취소 사유 (공개 페이지에 표시)", "Reason (shown on the public page)"), "").kind("textarea").required(), err))
                button class="btn danger" type="submit" { (l.t("발급 취소하기", "Revoke")) }
            }
        }
        @if a.revocation.is_none() && a.superseded_by.is_none() {
            form method="post" action={"/console/awards/" (a.id) "/reissue"} class="card" {
                h2 { (l.t("재발급", "Re-issue")) }
                p class="muted" { (l.t("같은 수신자에게 새 배지를 발급하고 이 배지는 대체됨으로 표시합니다.", "Issues a new badge to the same recipient; this one then shows as replaced.")) }
                (ui::csrf(s))
                button class="btn" type="submit" { (l.t("재발급하기", "Re-issue")) }
            }
        }
    }
}

async fn show(
    app: &App,
    s: &Session,
    a: &Award,
    note: Option<&str>,
    err: Option<&FormError>,
    status: StatusCode,
) -> Response {
    let name = match app.store.get_template(&a.template_id).await {
        Ok(t) => t.map(|t| t.spec.name).unwrap_or_default(),
        Err(e) => return failed(e),
    };
    let title = format!("{} · {}", a.recipient.name, name);
    respond(
        app,
        status,
        ui::page(
            s,
            "/console/awards",
            &title,
            detail_page(app, s, a, &name, note, err),
        ),
    )
}

/// The award's page with what the API refused.
async fn refused(app: &App, s: &Session, a: &Award, e: &ApiError, status: StatusCode) -> Response {
    show(
        app,
        s,
        a,
        None,
        Some(&FormError::from_api(e, s.lang)),
        status,
    )
    .await
}

pub async fn detail(
    State(app): State<App>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let a = match load(&app, &s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let l = s.lang;
    let note = if q.contains_key("issued") {
        Some(l.t("배지를 발급했습니다.", "Badge issued."))
    } else if q.contains_key("revoked") {
        Some(l.t("배지를 취소했습니다.", "Badge revoked."))
    } else if q.contains_key("reissued") {
        Some(l.t(
            "새 배지를 발급했습니다. 이전 배지는 대체됨으로 표시됩니다.",
            "New badge issued; the old one shows as replaced.",
        ))
    } else {
        None
    };
    show(&app, &s, &a, note, None, StatusCode::OK).await
}

pub async fn revoke(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { s, f }: Posted,
) -> Response {
    let a = match load(&app, &s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body = crate::http::body::JsonObject(form::without_nulls(json_of(&f).0));
    match api(v1::revoke(State(app.clone()), s.caller.clone(), Path(id.clone()), body).await).await
    {
        Ok(_) => Redirect::to(&format!("/console/awards/{id}?revoked=1")).into_response(),
        Err(e) => refused(&app, &s, &a, &e, StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

pub async fn reissue(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Response {
    let a = match load(&app, &s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match api(v1::reissue(
        State(app.clone()),
        s.caller.clone(),
        Path(id.clone()),
        crate::http::body::JsonObject(Default::default()),
    )
    .await)
    .await
    {
        Ok(v) => Redirect::to(&format!(
            "/console/awards/{}?reissued=1",
            v["id"].as_str().unwrap_or(&id)
        ))
        .into_response(),
        Err(e) => refused(&app, &s, &a, &e, StatusCode::CONFLICT).await,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::query;

    #[test]
    fn filters_read_the_query() {
        let known = TemplateId::generate();
        let read = |pairs: &[(&str, &str)]| Filters::read(Locale::En, &query(pairs));

        let (f, err) = read(&[("q", " Kim@Example.com "), ("template", known.as_str())]);
        assert!(err.is_none());
        assert_eq!(f.email.as_deref(), Some("kim@example.com"));
        assert_eq!(f.template.as_ref(), Some(&known));
        assert!(f.name.is_none());
        assert!(matches!(
            f.by(&IssuerId::generate()),
            AwardsBy::Recipient(..)
        ));

        let (f, err) = read(&[("q", "Min Su"), ("status", "valid"), ("batch", " ")]);
        assert!(err.is_none());
        assert_eq!(
            (f.name.as_deref(), f.status.as_deref()),
            (Some("min su"), Some("valid"))
        );
        assert!(f.batch.is_none());

        // Every unreadable filter is left out; the last one is the error shown.
        let (f, err) = read(&[("q", "x@"), ("template", "nope")]);
        assert!(f.email.is_none() && f.template.is_none());
        assert_eq!(err.and_then(|e| e.field).as_deref(), Some("template"));
        let (_, err) = read(&[("q", "x@"), ("batch", "nope")]);
        assert_eq!(err.and_then(|e| e.field).as_deref(), Some("batch"));
    }
}
