//! Public verification routes (the verify Lambda): badge pages, Open Badges 2.0 JSON, QR codes,
//! template images, Open Badges 3.0 credentials, DID documents and status lists. No
//! authentication; nothing here reveals a recipient's email.

mod credentials;

use crate::{
    app::App,
    cards,
    domain::{
        award::Award,
        engagement::{click_counters, Slot, Source},
        ids::{AwardId, IssuerId, TemplateId},
        issuer::Issuer,
        locale::Locale,
        template::{Template, TemplateImage},
        visitor,
    },
    http::routes::{Route, Routes},
    openbadges,
    render::{badge_image, badge_page, i18n, layout, qr, template_page},
    store::{counters::Counter, Patience, StoreError},
};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Router,
};
use chrono::{DateTime, Utc};
use std::{collections::HashMap, sync::Arc};

/// Every public route, declared once: [`router`] is built from it and [`routes`] lists it (the
/// cross-tenant matrix covers each).
fn declared() -> Routes<App> {
    Routes::new()
        .get("/b/{id}", award)
        .get("/b/{id}/{file}", award_file)
        .get("/b/{id}/card/{file}", award_card_at)
        .get("/b/{id}/go/{slot}", go)
        .get("/b/{id}/unsubscribe", unsubscribe_page)
        .post("/b/{id}/unsubscribe", unsubscribe)
        .get("/issuers/{file}", issuer_profile)
        .get("/issuers/{id}/did.json", issuer_did)
        .get("/issuers/{id}/status/{list}", issuer_status_list)
        .get("/templates/{file}", template_class)
        .get("/templates/{id}/image", template_image)
        .get("/templates/{id}/image.png", template_png)
        .get("/templates/{id}/banner-image", banner_image)
        .get("/health", || async { "ok" })
}

/// Every route, as `(method, path)`.
pub fn routes() -> Vec<Route> {
    declared().table()
}

pub fn router(app: App) -> Router {
    declared().router().fallback(fallback).with_state(app)
}

const PAGE_CACHE: &str = "no-cache";
const JSON_CACHE: &str = "public, max-age=60";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A share card at its current version: kept a day, not for good, so a cache in front (a CDN)
/// asks again and gets the card as it is now once the issuer masks a name or revokes the badge
/// (an older version answers the current card).
const CARD_CACHE: &str = "public, max-age=86400";

/// Failures on public routes: a friendly page or JSON, never a stack trace.
enum PublicError {
    NotFound {
        json: bool,
        locale: Locale,
    },
    /// A path that is no route: not said to be a badge.
    NoPage {
        locale: Locale,
    },
    Unavailable,
}

impl From<StoreError> for PublicError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure on a public route");
        PublicError::Unavailable
    }
}

impl IntoResponse for PublicError {
    fn into_response(self) -> Response {
        match self {
            // Readable by browser-based verifiers, as the JSON documents are (CORS).
            PublicError::NotFound { json: true, .. } => (
                StatusCode::NOT_FOUND,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                ],
                r#"{"error":{"code":"not_found","message":"no such badge, template or issuer"}}"#,
            )
                .into_response(),
            PublicError::NotFound {
                json: false,
                locale,
            } => with_vary_language(html(
                StatusCode::NOT_FOUND,
                badge_page::not_found(locale).into_string(),
                PAGE_CACHE,
            )),
            PublicError::NoPage { locale } => with_vary_language(html(
                StatusCode::NOT_FOUND,
                badge_page::page_not_found(locale).into_string(),
                PAGE_CACHE,
            )),
            PublicError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::RETRY_AFTER, "5"),
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                ],
                // Both languages: the failure may come before anything says which one to use.
                "일시적으로 사용할 수 없습니다. 잠시 후 다시 시도하세요. / Temporarily unavailable; please retry in a few seconds.",
            )
                .into_response(),
        }
    }
}

fn locale_of(headers: &HeaderMap) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or(Locale::Ko)
}

/// A page whose language follows the visitor's `Accept-Language`.
fn with_vary_language(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    r
}

/// An unsubscribe page (the question, or its answer): never cached.
fn unsubscribe_html(l: Locale, title: &str, body: maud::Markup) -> Response {
    let page = layout::page(l.as_str(), title, maud::html! {}, None, body);
    html(StatusCode::OK, page.into_string(), "no-store")
}

fn html(status: StatusCode, body: String, cache: &'static str) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(csp) = HeaderValue::from_str(&layout::csp()) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    r
}

fn ld_json(value: &serde_json::Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, openbadges::CONTENT_TYPE),
            (header::CACHE_CONTROL, JSON_CACHE),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        value.to_string(),
    )
        .into_response()
}

/// Award, template and issuer: one read for the award, the rest from the warm cache. A cold
/// Lambda reads the catalogue (every issuer and template) beside the award, so it finds them
/// there too, and the page's recommended templates with them. Once the award is here, a page
/// whose issuer or template is not cached waits for the catalogue at most
/// `config.catalogue_wait` more (a large or slow catalogue does not hold it: it goes on filling
/// the caches for later pages); what the page still lacks is read by key.
async fn load(
    app: &App,
    id: &AwardId,
) -> Result<Option<(Award, Arc<Template>, Arc<Issuer>)>, StoreError> {
    let catalogue = app.catalogue_read();
    let Some(a) = app.store.get_award(id).await? else {
        return Ok(None);
    };
    if !app.has_page_data(&a)
        && tokio::time::timeout(app.config.catalogue_wait, catalogue)
            .await
            .is_err()
    {
        tracing::info!(wait = ?app.config.catalogue_wait, "page data read by key: the catalogue is still being read");
    }
    Ok(app.template_and_issuer(&a).await?.map(|(t, i)| (a, t, i)))
}

#[tracing::instrument(skip_all, fields(award = %raw))]
async fn award(
    State(app): State<App>,
    Path(raw): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    // `/b/{id}.json`, or the page's own URL asked for JSON (a validator or backpack importing
    // the badge by the link it was given: they send `Accept: application/ld+json, …`).
    let (id_str, json) = match raw.strip_suffix(".json") {
        Some(s) => (s, true),
        None => (raw.as_str(), wants_json(&headers)),
    };
    let not_found = PublicError::NotFound {
        json,
        locale: locale_of(&headers),
    };
    let Ok(id) = AwardId::parse(id_str) else {
        return Err(not_found);
    };
    let Some((a, t, i)) = load(&app, &id).await? else {
        return Err(not_found);
    };
    if json {
        return Ok(assertion(&app, &a, !raw.ends_with(".json")));
    }
    Ok(page(&app, (&a, &t, &i), method == Method::GET, &headers).await)
}

/// The award's Open Badges 2.0 assertion; `negotiated` when the page's own URL was asked for
/// JSON.
fn assertion(app: &App, a: &Award, negotiated: bool) -> Response {
    let mut r = ld_json(&openbadges::assertion(&app.urls(), a, Utc::now()));
    if negotiated {
        // A shared cache that keys on the URL alone (CloudFront ignores `Vary: Accept`)
        // must not keep this answer for the browsers asking for the page.
        let h = r.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(PAGE_CACHE));
    }
    r
}

/// The badge page, its view counted when `counted` (a GET, not a HEAD).
async fn page(
    app: &App,
    (a, t, i): (&Award, &Template, &Issuer),
    counted: bool,
    headers: &HeaderMap,
) -> Response {
    let now = Utc::now();
    // The view's counting write and (when the caches lack them) the recommended templates' read,
    // at once.
    let counting = async {
        match counted {
            true => count_view(app, a, i, headers, now).await,
            false => None,
        }
    };
    let recommending = async {
        if a.status(now).is_valid() {
            app.recommendations(t).await
        } else {
            Ok(Vec::new())
        }
    };
    let (seen, recommendations) = tokio::join!(counting, recommending);
    // What the visitor came for is the badge and its status: without its recommendations (their
    // read failed past its retries), the page is still served.
    let recommendations = recommendations.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "recommended templates not read; the page goes without them");
        Vec::new()
    });
    let page = badge_page::BadgePage {
        award: a,
        template: t,
        issuer: i,
        urls: app.urls(),
        now,
        recommendations: &recommendations,
    };
    let mut r = html(
        StatusCode::OK,
        badge_page::render(&page).into_string(),
        PAGE_CACHE,
    );
    // The same URL answers JSON to a client that prefers it: caches must keep them apart.
    let h = r.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Some(seen) = seen {
        h.insert(header::SET_COOKIE, seen);
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    r
}

/// Whether `Accept` ranks a JSON type (`application/ld+json`, `application/json`) above HTML
/// (`text/html`, `application/xhtml+xml`, `text/*`, `*/*`). Browsers rank HTML first; without
/// `Accept`, HTML.
fn wants_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut json, mut page) = (0.0_f32, 0.0_f32);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        match media.as_str() {
            "application/ld+json" | "application/json" => json = json.max(q),
            "text/html" | "application/xhtml+xml" | "text/*" | "*/*" => page = page.max(q),
            _ => {}
        }
    }
    json > 0.0 && json > page
}

/// Counts a view of `a`'s page: a person's once a day per browser (answering the `seen` cookie
/// to set), a link preview's or the browser's prefetch as a preview, nothing when another site's
/// `<img>` or `<iframe>` asked. A failure is logged and the page served anyway (no cookie).
async fn count_view(
    app: &App,
    a: &Award,
    i: &Issuer,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<HeaderValue> {
    let fetch = fetch_of(headers);
    let zone = i.profile.time_zone;
    let day = now.with_timezone(&zone.0).format("%Y-%m-%d").to_string();
    let counter = if is_bot(headers) || fetch.is_speculative() {
        Counter::Previews
    } else if !fetch.is_navigation() {
        return None;
    } else if visitor::seen_on(cookies(headers).iter().map(|c| c.as_ref()), &day) {
        // The same browser again today: nothing to count, nothing written.
        return None;
    } else {
        Counter::Views
    };
    let counters = [counter.attr().to_owned()];
    if let Err(e) = app
        .store
        .count_activity(a, zone, now, &counters, Patience::Page)
        .await
    {
        tracing::warn!(error = %e, "view not counted");
        return None;
    }
    let seen = format!(
        "{}={day}; Path=/b/{}; Max-Age=86400; Secure; HttpOnly; SameSite=Lax",
        visitor::SEEN_COOKIE,
        a.id
    );
    (counter == Counter::Views)
        .then(|| HeaderValue::from_str(&seen).ok())
        .flatten()
}

/// The request's `Cookie` headers, as text (API Gateway joins every cookie into one header: one
/// cookie of UTF-8 bytes, which `to_str` refuses, must not hide the others).
pub(crate) fn cookies(headers: &HeaderMap) -> Vec<std::borrow::Cow<'_, str>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .collect()
}

/// `/b/{id}/go/{slot}`: counts the click and redirects (302) to the slot's configured target.
/// The target never comes from the request; an unknown or switched-off slot is 404. On an award
/// that is no longer valid, the visitor is sent back to its page (where the status is shown). A
/// share the page's script reports (share sheet, copy link) is counted and answered 204. Only a
/// GET from a person counts: a HEAD (link checkers, mail scanners probing the redirect), a known
/// bot, a prefetch, a link followed by anything but a navigation (another site's `<img>`) and a
/// share reported from another site get the same answer uncounted.
#[tracing::instrument(skip_all, fields(award = %raw, slot = %slot_raw))]
async fn go(
    State(app): State<App>,
    Path((raw, slot_raw)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let not_found = PublicError::NotFound {
        json: false,
        locale: locale_of(&headers),
    };
    let (Ok(id), Some(slot)) = (AwardId::parse(&raw), Slot::parse(&slot_raw)) else {
        return Err(not_found);
    };
    let Some((a, t, i)) = load(&app, &id).await? else {
        return Err(not_found);
    };
    let now = Utc::now();
    if !a.status(now).is_valid() {
        return Ok(Redirect::to(&app.urls().award_page(&a.id)).into_response());
    }
    let Some(target) = target(&app, &slot, &a, &t, &i).await? else {
        return Err(not_found);
    };
    let fetch = fetch_of(&headers);
    let by_person = match target {
        Go::To(_) => fetch.is_navigation(),
        Go::Counted => fetch.is_same_origin(),
    };
    if method == Method::GET && !is_bot(&headers) && !fetch.is_speculative() && by_person {
        let source = Source::parse(
            query
                .as_deref()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("src="))),
        );
        let counters = click_counters(&slot, source);
        if let Err(e) = app
            .store
            .count_activity(&a, i.profile.time_zone, now, &counters, Patience::Page)
            .await
        {
            tracing::warn!(error = %e, "click not counted");
        }
    }
    let mut resp = match target {
        Go::To(target) => (StatusCode::FOUND, [(header::LOCATION, target)]).into_response(),
        Go::Counted => StatusCode::NO_CONTENT.into_response(),
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    Ok(resp)
}

/// What following a slot does: go somewhere, or (a share the page reports) only count.
enum Go {
    To(String),
    Counted,
}

/// Where a slot of this award leads, from the template's configuration only; `None` when the
/// template does not offer it (a recommendation must be listed, switched on, and an active
/// template of the same issuer).
async fn target(
    app: &App,
    slot: &Slot,
    a: &Award,
    t: &Template,
    i: &Issuer,
) -> Result<Option<Go>, StoreError> {
    let urls = app.urls();
    let to = match slot {
        Slot::Related(tid) => {
            let listed = t
                .spec
                .related
                .iter()
                .any(|r| r.enabled && &r.template_id == tid);
            match app.template_for_page(tid).await? {
                Some(rt) if listed && rt.issuer_id == t.issuer_id && rt.is_active() => {
                    Some(urls.template_page(tid))
                }
                _ => None,
            }
        }
        Slot::Banner => t
            .spec
            .banner
            .as_ref()
            .filter(|b| b.enabled)
            .map(|b| b.target_url.to_string()),
        Slot::Enrol => t
            .spec
            .enrolment
            .as_ref()
            .filter(|e| e.enabled)
            .map(|e| e.program_url.to_string()),
        Slot::LinkedInAdd => Some(urls.linkedin_add(a, t, i)),
        Slot::Share(n) => {
            return Ok(Some(
                urls.share_target(*n, a, t).map_or(Go::Counted, Go::To),
            ))
        }
    };
    Ok(to.map(Go::To))
}

/// The request's Fetch Metadata and purpose headers.
fn fetch_of(headers: &HeaderMap) -> visitor::Fetch<'_> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    visitor::Fetch {
        sec_purpose: h("sec-purpose"),
        purpose: h("purpose").or_else(|| h("x-moz")),
        dest: h("sec-fetch-dest"),
        site: h("sec-fetch-site"),
    }
}

fn is_bot(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    visitor::is_bot(ua)
}

/// The unsubscribe page linked from promotional emails: a button (no change on GET, so link
/// scanners cannot unsubscribe anyone).
async fn unsubscribe_page(
    State(app): State<App>,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let (award, issuer) = unsubscribing(&app, &raw, crate::http::param(&q, "t"), &headers).await?;
    let l = award.locale.unwrap_or(issuer.profile.default_locale);
    let name = &issuer.profile.name;
    let sms = by_sms(&q);
    let body = maud::html! {
        main id="main" { div class="card" {
            @if sms {
                h1 { (l.t("광고성 카카오톡·문자 수신 거부", "Stop promotional KakaoTalk and SMS messages")) }
                p { (l.t(
                    format!("아래 버튼을 누르면 {name}의 과정 추천 카카오톡·문자를 더 이상 받지 않습니다. 배지는 그대로 유효합니다."),
                    format!("Press the button below to stop course recommendations from {name} by KakaoTalk or SMS. Your badge stays valid."),
                )) }
            } @else {
            h1 { (l.t("광고성 이메일 수신 거부", "Unsubscribe from promotional emails")) }
            p { (l.t(
                format!("아래 버튼을 누르면 {name}의 과정 추천 이메일을 더 이상 받지 않습니다. 배지는 그대로 유효합니다."),
                format!("Press the button below to stop course recommendations from {name}. Your badge stays valid."),
            )) }
            }
            form method="post" {
                button class="btn primary" type="submit" { (i18n::unsubscribe(l)) }
            }
        } }
    };
    Ok(unsubscribe_html(l, l.t("수신 거부", "Unsubscribe"), body))
}

/// Records the unsubscribe. Also the target of RFC 8058 one-click (`List-Unsubscribe=One-Click`).
async fn unsubscribe(
    State(app): State<App>,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let (award, issuer) = unsubscribing(&app, &raw, crate::http::param(&q, "t"), &headers).await?;
    // KakaoTalk/SMS and email opt-outs are apart: each link stops its own channel.
    let key = match (&award.recipient.phone, by_sms(&q)) {
        (Some(phone), true) => phone.lookup_key(),
        // No phone: no text ever carried this link.
        (None, true) => {
            return Err(PublicError::NotFound {
                json: false,
                locale: award.locale.unwrap_or(issuer.profile.default_locale),
            })
        }
        (_, false) => award.recipient.email.lookup_key(),
    };
    app.store
        .unsubscribe(&award.issuer_id, &key, Utc::now())
        .await?;
    tracing::info!(award = %award.id, sms = by_sms(&q), "recipient opted out of promotional messages");
    let l = award.locale.unwrap_or(issuer.profile.default_locale);
    let body = maud::html! {
        main id="main" { div class="card" role="status" {
            h1 { (l.t("수신 거부되었습니다", "You are unsubscribed")) }
            @if by_sms(&q) {
                p { (l.t("더 이상 과정 추천 카카오톡·문자를 보내지 않습니다.", "We will not send you course recommendations by KakaoTalk or SMS any more.")) }
            } @else {
                p { (l.t("더 이상 과정 추천 이메일을 보내지 않습니다.", "We will not send you course recommendations any more.")) }
            }
            p { a href=(app.urls().award_page(&award.id)) { (l.t("배지 보기", "View your badge")) } }
        } }
    };
    Ok(unsubscribe_html(
        l,
        l.t("수신 거부됨", "Unsubscribed"),
        body,
    ))
}

/// Whether an opt-out link is the one in KakaoTalk/SMS texts (`c=sms`).
fn by_sms(q: &HashMap<String, String>) -> bool {
    crate::http::param(q, "c") == Some("sms")
}

/// The award an unsubscribe link is for, and its issuer — when the link's token is the award's
/// (only the recipient's mail has it); anything else is not found.
async fn unsubscribing(
    app: &App,
    raw: &str,
    token: Option<&str>,
    headers: &HeaderMap,
) -> Result<(Award, Arc<Issuer>), PublicError> {
    let not_found = || PublicError::NotFound {
        json: false,
        locale: locale_of(headers),
    };
    let id = AwardId::parse(raw).map_err(|_| not_found())?;
    let award = app.store.get_award(&id).await?.ok_or_else(not_found)?;
    if !award.unsubscribe_allowed(token) {
        return Err(not_found());
    }
    let issuer = app
        .issuer_for_page(&award.issuer_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((award, issuer))
}

/// `/b/{id}/{file}`: the QR codes, the Open Badges 3.0 credential and the baked badge images.
async fn award_file(
    State(app): State<App>,
    Path((raw, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let not_found = PublicError::NotFound {
        json: file.ends_with(".json"),
        locale: locale_of(&headers),
    };
    let Ok(id) = AwardId::parse(&raw) else {
        return Err(not_found);
    };
    match file.as_str() {
        "qr.svg" | "qr.png" => award_qr(&app, &id, &file, not_found).await,
        "card.png" => award_card(&app, &id, None, not_found).await,
        "credential.json" | "badge.png" | "badge.svg" | "badge-ob2.png" | "badge-ob2.svg" => {
            // A credential once signed is served from its one item, without the award's read
            // (unless its key was retired: then signed again, below).
            if file == "credential.json" {
                if let Some(c) = app.store.get_credential(&id).await? {
                    if crate::credentials::servable(&app, &c)
                        .await
                        .unwrap_or(false)
                    {
                        return Ok(credentials::stored(c.json));
                    }
                }
            }
            let Some((a, t, i)) = load(&app, &id).await? else {
                return Err(not_found);
            };
            credentials::serve(&app, &a, &t, &i, &file, not_found).await
        }
        _ => Err(not_found),
    }
}

/// `/b/{id}/qr.svg` and `/b/{id}/qr.png`: the page URL as a QR code. The award must exist (so QR
/// codes are not minted for made-up ids); the image never changes, so it is cached for a year.
async fn award_qr(
    app: &App,
    id: &AwardId,
    file: &str,
    not_found: PublicError,
) -> Result<Response, PublicError> {
    if app.store.get_award(id).await?.is_none() {
        return Err(not_found);
    }
    let url = app.urls().award_page(id);
    let rendered = if file == "qr.svg" {
        qr::svg(&url).map(|s| ("image/svg+xml", s.into_bytes()))
    } else {
        qr::png(&url, 8).map(|p| ("image/png", p))
    };
    let (ct, bytes) = rendered.map_err(|e| {
        tracing::error!(error = %e, "QR rendering failed");
        PublicError::Unavailable
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        bytes,
    )
        .into_response())
}

/// `/b/{id}/card/{version}.png`: the share card as the page's `og:image` names it (the version in
/// the path, so no cache can drop it as a query string).
async fn award_card_at(
    State(app): State<App>,
    Path((raw, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let not_found = PublicError::NotFound {
        json: false,
        locale: locale_of(&headers),
    };
    let (Ok(id), Some(version)) = (AwardId::parse(&raw), file.strip_suffix(".png")) else {
        return Err(not_found);
    };
    award_card(&app, &id, Some(version), not_found).await
}

/// The award's share card as it is now. Asked for at its current version, the answer is cached
/// for a day ([`CARD_CACHE`]); otherwise (`/b/{id}/card.png`, or an older version),
/// or when the issuer's logo could not be fetched for it, for five minutes. Drawn on the first
/// request of each version (and again while its logo cannot be had).
async fn award_card(
    app: &App,
    id: &AwardId,
    asked: Option<&str>,
    not_found: PublicError,
) -> Result<Response, PublicError> {
    let Some((a, t, i)) = load(app, id).await? else {
        return Err(not_found);
    };
    let card = cards::card_png(app, &a, &t, &i, Utc::now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, award = %a.id, "share card failed");
            PublicError::Unavailable
        })?;
    let cache = if card.whole && asked == Some(card.version.as_str()) {
        CARD_CACHE
    } else {
        "public, max-age=300"
    };
    Ok(png_response(card.png, cache))
}

fn png_response(png: Vec<u8>, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        png,
    )
        .into_response()
}

/// `/issuers/{id}/did.json`: the issuer's DID document (did:web resolves its DID here).
async fn issuer_did(
    State(app): State<App>,
    Path(raw): Path<String>,
) -> Result<Response, PublicError> {
    let i = issuer_of(&app, &raw).await?;
    credentials::did_document(&app, &i.id).await
}

/// `/issuers/{id}/status/{list}`: the issuer's revocation status list, signed.
async fn issuer_status_list(
    State(app): State<App>,
    Path((raw, list)): Path<(String, String)>,
) -> Result<Response, PublicError> {
    let i = issuer_of(&app, &raw).await?;
    // One spelling per list (no `01`, no `+1`): each is its own cache entry.
    let Some(list) = list.parse::<u32>().ok().filter(|l| l.to_string() == list) else {
        return Err(json_not_found());
    };
    credentials::status_list(&app, &i.id, list).await
}

fn json_not_found() -> PublicError {
    PublicError::NotFound {
        json: true,
        locale: Locale::En,
    }
}

async fn issuer_of(app: &App, raw: &str) -> Result<Arc<Issuer>, PublicError> {
    let id = IssuerId::parse(raw).map_err(|_| json_not_found())?;
    app.issuer_for_page(&id).await?.ok_or_else(json_not_found)
}

async fn issuer_profile(
    State(app): State<App>,
    Path(file): Path<String>,
) -> Result<Response, PublicError> {
    let not_found = PublicError::NotFound {
        json: true,
        locale: Locale::En,
    };
    let Some(id) = file
        .strip_suffix(".json")
        .and_then(|s| IssuerId::parse(s).ok())
    else {
        return Err(not_found);
    };
    let Some(i) = app.issuer_for_page(&id).await? else {
        return Err(not_found);
    };
    Ok(ld_json(&openbadges::profile(&app.urls(), &i)))
}

async fn template_class(
    State(app): State<App>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let json = file.ends_with(".json");
    let not_found = PublicError::NotFound {
        json,
        locale: locale_of(&headers),
    };
    let Ok(id) = TemplateId::parse(file.strip_suffix(".json").unwrap_or(&file)) else {
        return Err(not_found);
    };
    let Some(t) = app.template_for_page(&id).await? else {
        return Err(not_found);
    };
    if json {
        return Ok(ld_json(&openbadges::badge_class(&app.urls(), &t)));
    }
    let Some(i) = app.issuer_for_page(&t.issuer_id).await? else {
        return Err(not_found);
    };
    let locale = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or(i.profile.default_locale);
    Ok(with_vary_language(html(
        StatusCode::OK,
        template_page::render(&t, &i, app.urls(), locale).into_string(),
        PAGE_CACHE,
    )))
}

/// Headers for served images. An uploaded SVG opened directly can run no script, load nothing,
/// and (`sandbox`) host no form or link that acts as this origin.
fn image_response(content_type: String, bytes: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// An image stored with a template: a redirect for a hosted URL, the bytes for an upload.
async fn stored_image(
    app: &App,
    image: &TemplateImage,
    not_found: PublicError,
) -> Result<Response, PublicError> {
    match image {
        TemplateImage::Url { url } => Ok(Redirect::temporary(url.as_str()).into_response()),
        TemplateImage::Uploaded { key, content_type } => match app.blobs.get(key).await {
            Ok(Some(b)) => Ok(image_response(content_type.clone(), b.bytes)),
            Ok(None) => Err(not_found),
            Err(e) => {
                tracing::error!(error = %e, "image read failed");
                Err(PublicError::Unavailable)
            }
        },
        TemplateImage::Generated => Err(not_found),
    }
}

async fn template_for_image(
    app: &App,
    raw: &str,
    headers: &HeaderMap,
) -> Result<(Arc<Template>, PublicError), PublicError> {
    let not_found = || PublicError::NotFound {
        json: false,
        locale: locale_of(headers),
    };
    let Ok(id) = TemplateId::parse(raw) else {
        return Err(not_found());
    };
    match app.template_for_page(&id).await? {
        Some(t) => Ok((t, not_found())),
        None => Err(not_found()),
    }
}

async fn template_image(
    State(app): State<App>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let (t, not_found) = template_for_image(&app, &raw, &headers).await?;
    if t.spec.image == TemplateImage::Generated {
        let i = app.issuer_for_page(&t.issuer_id).await?.ok_or(not_found)?;
        let svg = badge_image::svg(
            &t.spec.name,
            &i.profile.primary_color,
            &i.profile.accent_color,
        );
        return Ok(image_response("image/svg+xml".into(), svg));
    }
    stored_image(&app, &t.spec.image, not_found).await
}

/// `/templates/{id}/image.png`: the template's image as PNG, for what cannot show SVG or WebP
/// (e-mail, link previews, Open Badges consumers). A hosted image is the admin's: it redirects.
async fn template_png(
    State(app): State<App>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let (t, not_found) = template_for_image(&app, &raw, &headers).await?;
    if let TemplateImage::Url { url } = &t.spec.image {
        return Ok(Redirect::temporary(url.as_str()).into_response());
    }
    let i = app.issuer_for_page(&t.issuer_id).await?.ok_or(not_found)?;
    let png = cards::template_png(&app, &t, &i).await.map_err(|e| {
        tracing::error!(error = %e, template = %t.id, "template PNG failed");
        PublicError::Unavailable
    })?;
    Ok(png_response(png, "public, max-age=300"))
}

/// The banner's image (uploaded; a hosted one redirects).
async fn banner_image(
    State(app): State<App>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PublicError> {
    let (t, not_found) = template_for_image(&app, &raw, &headers).await?;
    match t.spec.banner.as_ref() {
        Some(b) => stored_image(&app, &b.image, not_found).await,
        None => Err(not_found),
    }
}

async fn fallback(headers: HeaderMap) -> Response {
    PublicError::NoPage {
        locale: locale_of(&headers),
    }
    .into_response()
}
