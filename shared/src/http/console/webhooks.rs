//! Settings → Webhooks: add an endpoint (its secret shown once), see each endpoint's deliveries,
//! send a test event, retry a delivery, rotate the secret, switch it on or off, remove it. Every
//! write calls the `/v1/webhooks` handlers with the session's caller.

use super::{
    page::{api, failed, respond},
    posted::Posted,
    session::Session,
    ui::{self, input, Field, FormError},
};
use crate::{
    app::App,
    domain::{time::Zone, webhook::EventType},
    http::{
        api::webhooks as v1,
        body::JsonObject,
        query::{ApiQuery, NoParams},
        PageQuery,
    },
    webhooks::send::{OFF_FAILING, OFF_GONE},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use maud::{html, Markup};
use serde_json::{json, Value};

const PATH: &str = "/console/settings/webhooks";

/// What a type means, for admins.
fn describe(l: crate::domain::locale::Locale, t: EventType) -> &'static str {
    match t {
        EventType::AwardIssued => l.t("배지 발급", "Badge issued"),
        EventType::AwardRevoked => l.t("배지 발급 취소", "Badge revoked"),
        EventType::AwardReissued => l.t("배지 재발급", "Badge re-issued"),
        EventType::AwardExpired => l.t("배지 만료", "Badge expired"),
        EventType::AwardShared => l.t("첫 공유", "First share"),
        EventType::AwardViewed => l.t("첫 조회 (많을 수 있음)", "First view (can be many)"),
        EventType::BatchCompleted => l.t("일괄 발급 완료", "Bulk upload completed"),
        EventType::BatchFailed => l.t("일괄 발급 실패", "Bulk upload failed"),
        EventType::EmailBounced => l.t("이메일 반송", "Email bounced"),
        EventType::EmailComplained => l.t("스팸 신고", "Email marked as spam"),
        EventType::Test => l.t("테스트", "Test"),
    }
}

/// The add form: URL, description, the event types (all but `award.viewed` ticked).
fn add_form(s: &Session, fields: Option<&[(String, String)]>, err: Option<&FormError>) -> Markup {
    let l = s.lang;
    let v = |n: &str| fields.and_then(|f| super::form::value(f, n)).unwrap_or("");
    let ticked = |t: EventType| match fields {
        Some(f) => f.iter().any(|(k, v)| k == "events" && v == t.as_str()),
        None => t != EventType::AwardViewed,
    };
    html! {
        form method="post" action=(PATH) class="card" novalidate {
            h2 { (l.t("엔드포인트 추가", "Add an endpoint")) }
            (ui::csrf(s))
            (input(Field::new("url", l.t("받을 주소 (https)", "Receiver URL (https)"), v("url")).kind("url").required(), err))
            (input(Field::new("description", l.t("설명", "Description"), v("description")), err))
            fieldset {
                legend { (l.t("보낼 이벤트", "Events to send")) }
                @for t in EventType::ALL {
                    div class="check" {
                        input type="checkbox" id={"ev-" (t.as_str())} name="events" value=(t.as_str()) checked[ticked(t)];
                        label for={"ev-" (t.as_str())} { (describe(l, t)) " " code { (t.as_str()) } }
                    }
                }
            }
            button class="btn primary" type="submit" { (l.t("추가", "Add")) }
        }
    }
}

fn endpoints_table(s: &Session, list: &[Value]) -> Markup {
    let l = s.lang;
    html! {
        div class="table-wrap" { table {
            caption class="visually-hidden" { (l.t("웹훅 엔드포인트", "Webhook endpoints")) }
            thead { tr { th scope="col" { "URL" } th scope="col" { (l.t("설명", "Description")) } th scope="col" { (l.t("상태", "State")) } th scope="col" { (l.t("이벤트", "Events")) } } }
            tbody { @for w in list {
                tr {
                    th scope="row" { a href={(PATH) "/" (w["id"].as_str().unwrap_or(""))} { (w["url"].as_str().unwrap_or("")) } }
                    td { (w["description"].as_str().unwrap_or("")) }
                    td { (state_of(s, w)) }
                    td { (w["events"].as_array().map_or(0, Vec::len)) }
                }
            } }
        } }
    }
}

fn state_of(s: &Session, w: &Value) -> Markup {
    let l = s.lang;
    html! {
        @if w["enabled"] == true { (l.t("사용 중", "On")) } @else { strong { (l.t("꺼짐", "Off")) } }
        @if let Some(why) = w["disabled_reason"].as_str() { br; span class="muted" { (switched_off(l, why)) } }
    }
}

/// Why the endpoint was switched off (`webhooks::send::switch_off` writes it in English), in the
/// page's language.
fn switched_off(l: crate::domain::locale::Locale, why: &str) -> String {
    if l == crate::domain::locale::Locale::En {
        return why.to_owned();
    }
    match why.strip_prefix(OFF_FAILING) {
        Some(last) => format!(
            "5일 동안 모든 전송이 실패했습니다. 마지막 오류: {}",
            crate::domain::webhook::failure_ko(last)
        ),
        None if why == OFF_GONE => "수신 서버가 HTTP 410 Gone으로 응답했습니다.".to_owned(),
        None => why.to_owned(),
    }
}

/// The secret just made, shown once.
fn secret_note(l: crate::domain::locale::Locale, secret: Option<&str>) -> Markup {
    html! {
        @if let Some(k) = secret {
            div class="ok" role="status" {
                p { strong { (l.t("서명 비밀키입니다. 지금만 보여 드립니다 — 수신 서버에 저장하세요.", "The signing secret. It is shown only now — store it with your receiver.")) } }
                code class="key" id="new-secret" { (k) }
            }
        }
    }
}

async fn list_page(app: &App, s: &Session, shown: Shown<'_>, status: StatusCode) -> Response {
    let l = s.lang;
    let none = ApiQuery(NoParams {});
    let list = match api(v1::list(State(app.clone()), s.caller.clone(), none).await).await {
        Ok(v) => v["data"].as_array().cloned().unwrap_or_default(),
        Err(e) => return failed(e),
    };
    let body = html! {
        p { a href="/console/settings" { (l.t("← 설정", "← Settings")) } }
        (secret_note(l, shown.secret))
        (ui::summary(l, shown.err))
        section class="card" {
            h2 { (l.t("엔드포인트", "Endpoints")) }
            p class="muted" { (l.t("이벤트는 Standard Webhooks 방식으로 서명됩니다 (README의 확인 방법 참고).", "Events are signed the Standard Webhooks way (see the README for how to verify).")) }
            @if list.is_empty() { p { (l.t("아직 없습니다.", "None yet.")) } } @else { (endpoints_table(s, &list)) }
        }
        (add_form(s, shown.form, shown.err))
    };
    respond(
        app,
        status,
        ui::page(s, "/console/settings", l.t("웹훅", "Webhooks"), body),
    )
}

#[derive(Default)]
struct Shown<'a> {
    form: Option<&'a [(String, String)]>,
    err: Option<&'a FormError>,
    secret: Option<&'a str>,
    note: Option<&'a str>,
    /// What the API refused (an action on the endpoint), shown as an alert, not a note.
    problem: Option<&'a str>,
}

pub async fn page(State(app): State<App>, s: Session) -> Response {
    list_page(&app, &s, Shown::default(), StatusCode::OK).await
}

pub async fn create(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    let mut m = serde_json::Map::new();
    for name in ["url", "description"] {
        if let Some(v) = super::form::value(&f, name).filter(|v| !v.trim().is_empty()) {
            m.insert(name.into(), json!(v));
        }
    }
    let events: Vec<&str> = f
        .iter()
        .filter(|(k, _)| k == "events")
        .map(|(_, v)| v.as_str())
        .collect();
    m.insert("events".into(), json!(events));
    match api(v1::create(
        State(app.clone()),
        s.caller.clone(),
        Default::default(),
        JsonObject(m),
    )
    .await)
    .await
    {
        Ok(v) => {
            let shown = Shown {
                secret: v["secret"].as_str(),
                ..Shown::default()
            };
            list_page(&app, &s, shown, StatusCode::CREATED).await
        }
        Err(e) => {
            let err = FormError::from_api(&e, s.lang);
            let shown = Shown {
                form: Some(&f),
                err: Some(&err),
                ..Shown::default()
            };
            list_page(&app, &s, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

fn deliveries_table(s: &Session, id: &str, list: &[Value]) -> Markup {
    let (l, zone) = (s.lang, s.issuer.profile.time_zone);
    html! {
        div class="table-wrap" { table {
            caption class="visually-hidden" { (l.t("전송 내역", "Deliveries")) }
            thead { tr {
                th scope="col" { (l.t("시각", "Time")) } th scope="col" { (l.t("이벤트", "Event")) }
                th scope="col" { (l.t("상태", "State")) } th scope="col" { (l.t("시도", "Attempts")) }
                th scope="col" { (l.t("마지막 응답", "Last answer")) } th scope="col" { (l.t("다음 재시도", "Next retry")) }
                th scope="col" { span class="visually-hidden" { (l.t("작업", "Actions")) } }
            } }
            tbody { @for d in list {
                @let last = &d["last_attempt"];
                tr {
                    th scope="row" { (when(zone, &d["created_at"])) }
                    td { code { (d["event_type"].as_str().unwrap_or("")) } }
                    td { (state_word(l, d["state"].as_str().unwrap_or(""))) }
                    td { (d["attempts"]) }
                    td {
                        @if let Some(c) = last["status_code"].as_u64() { "HTTP " (c) " · " (last["latency_ms"]) " ms" }
                        @if let Some(e) = last["error"].as_str() { br; span class="muted" { (l.t(crate::domain::webhook::failure_ko(e), e.to_owned())) } }
                        @if let Some(r) = last["response"].as_str().filter(|r| !r.is_empty()) { br; code { (r) } }
                    }
                    td { (when(zone, &d["next_attempt_at"])) }
                    // Any delivery without an attempt in flight can be tried again now.
                    td { @if d["state"].as_str() != Some("sending") {
                        form method="post" action={(PATH) "/" (id) "/deliveries/" (d["id"].as_str().unwrap_or("")) "/retry"} {
                            (ui::csrf(s))
                            button class="btn" type="submit" { (l.t("재시도", "Retry")) }
                        }
                    } }
                }
            } }
        } }
    }
}

/// A time from the API's JSON, to the second, in the issuer's time zone (named: `KST`), as the
/// console's other pages show times.
fn when(zone: Zone, v: &Value) -> String {
    v.as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&zone.0)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_default()
}

fn state_word(l: crate::domain::locale::Locale, state: &str) -> &str {
    match state {
        "pending" => l.t("대기", "Waiting"),
        "sending" => l.t("보내는 중", "Sending"),
        "succeeded" => l.t("성공", "Delivered"),
        "failed" => l.t("실패", "Failed"),
        "cancelled" => l.t("취소됨", "Cancelled"),
        other => other,
    }
}

/// Rotate, naming the secret it replaces: a resubmitted form (a reload of its answer) finds
/// that secret gone and rotates nothing, so the secret the receiver just stored stays.
fn rotate_form(s: &Session, id: &str, fingerprint: &str) -> Markup {
    let l = s.lang;
    html! {
        form method="post" action={(PATH) "/" (id) "/rotate"} class="inline" {
            (ui::csrf(s))
            input type="hidden" name="replaces" value=(fingerprint);
            button class="btn" type="submit" { (l.t("비밀키 교체 (24시간 동안 둘 다 유효)", "Rotate the secret (both sign for 24 h)")) }
        }
    }
}

/// One action button (a form posting to `{PATH}/{id}/{action}`).
fn action(s: &Session, id: &str, what: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action={(PATH) "/" (id) "/" (what)} class="inline" {
            (ui::csrf(s))
            button class=(class) type="submit" { (label) }
        }
    }
}

async fn endpoint_page(app: &App, s: &Session, id: &str, shown: Shown<'_>) -> Response {
    let l = s.lang;
    let one =
        api(v1::get_one(State(app.clone()), s.caller.clone(), Path(id.to_owned())).await).await;
    let Ok(w) = one else {
        return super::page::not_found(app, l);
    };
    let page = PageQuery {
        limit: Some("50".into()),
        cursor: None,
    };
    let list = match api(v1::deliveries(
        State(app.clone()),
        s.caller.clone(),
        Path(id.to_owned()),
        ApiQuery(page),
    )
    .await)
    .await
    {
        Ok(v) => v["data"].as_array().cloned().unwrap_or_default(),
        Err(e) => return failed(e),
    };
    let on = w["enabled"] == true;
    let body = html! {
        p { a href=(PATH) { (l.t("← 웹훅", "← Webhooks")) } }
        (secret_note(l, shown.secret))
        @if let Some(n) = shown.note { div class="ok" role="status" { (n) } }
        @if let Some(p) = shown.problem { div class="alert" role="alert" { (p) } }
        section class="card" {
            h2 { code { (w["url"].as_str().unwrap_or("")) } }
            p { (state_of(s, &w)) }
            p { @for t in w["events"].as_array().into_iter().flatten() { code { (t.as_str().unwrap_or("")) } " " } }
            div class="actions" {
                (action(s, id, "test", l.t("테스트 이벤트 보내기", "Send a test event"), "btn"))
                (rotate_form(s, id, w["secret_fingerprint"].as_str().unwrap_or("")))
                @if on { (action(s, id, "off", l.t("끄기", "Switch off"), "btn")) } @else { (action(s, id, "on", l.t("켜기", "Switch on"), "btn primary")) }
                (action(s, id, "delete", l.t("삭제", "Remove"), "btn danger"))
            }
        }
        section class="card" {
            h2 { (l.t("전송 내역 (최근 50건)", "Deliveries (latest 50)")) }
            @if list.is_empty() { p { (l.t("아직 없습니다.", "None yet.")) } } @else { (deliveries_table(s, id, &list)) }
        }
    };
    respond(
        app,
        StatusCode::OK,
        ui::page(
            s,
            "/console/settings",
            l.t("웹훅 엔드포인트", "Webhook endpoint"),
            body,
        ),
    )
}

/// What a write that ends on the endpoint's page says there (`?done=…`, after the redirect).
fn done_note(l: crate::domain::locale::Locale, done: &str) -> Option<&'static str> {
    Some(match done {
        "test" => l.t(
            "테스트 이벤트를 보냈습니다. 아래 내역에서 결과를 확인하세요.",
            "Test event queued; see the result below.",
        ),
        "on" => l.t("켰습니다.", "Switched on."),
        "off" => l.t("껐습니다.", "Switched off."),
        "retry" => l.t("다시 보냅니다.", "Retrying now."),
        _ => return None,
    })
}

pub async fn endpoint(
    State(app): State<App>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    s: Session,
) -> Response {
    let note = q.get("done").and_then(|d| done_note(s.lang, d));
    endpoint_page(
        &app,
        &s,
        &id,
        Shown {
            note,
            ..Shown::default()
        },
    )
    .await
}

/// Whether the rotate form names the secret that is current now.
async fn replaces_current(app: &App, s: &Session, id: &str, f: &[(String, String)]) -> bool {
    let one =
        api(v1::get_one(State(app.clone()), s.caller.clone(), Path(id.to_owned())).await).await;
    let current = one
        .ok()
        .and_then(|w| w["secret_fingerprint"].as_str().map(str::to_owned));
    current.is_some() && current.as_deref() == super::form::value(f, "replaces")
}

/// After a write: the endpoint's page, by GET (reloading it repeats nothing).
fn back_to(id: &str, done: &str) -> Response {
    Redirect::to(&format!("{PATH}/{}?done={done}", crate::urls::encode(id))).into_response()
}

/// Test, rotate, on, off, delete.
pub async fn act(
    State(app): State<App>,
    Path((id, what)): Path<(String, String)>,
    Posted { s, f }: Posted,
) -> Response {
    let l = s.lang;
    if what == "rotate" && !replaces_current(&app, &s, &id, &f).await {
        let note = l.t(
            "이미 교체했습니다 (다시 교체하지 않았습니다).",
            "Already rotated (not rotated again).",
        );
        return endpoint_note(&app, &s, &id, note).await;
    }
    if what == "delete" {
        let path = Path(id.clone());
        return match api(v1::delete(State(app.clone()), s.caller.clone(), path).await).await {
            Ok(_) => Redirect::to(PATH).into_response(),
            Err(_) => super::page::not_found(&app, l),
        };
    }
    let Some(done) = call_api(&app, &s, &id, &what).await else {
        return super::page::not_found(&app, l);
    };
    match done {
        // The new secret is shown on this answer only (never in a URL).
        Ok(v) if what == "rotate" => {
            let shown = Shown {
                secret: v["secret"].as_str(),
                ..Shown::default()
            };
            endpoint_page(&app, &s, &id, shown).await
        }
        Ok(_) => back_to(&id, &what),
        Err(e) if e.status == StatusCode::NOT_FOUND => super::page::not_found(&app, l),
        Err(e) => endpoint_problem(&app, &s, &id, &FormError::from_api(&e, l).message).await,
    }
}

/// The API's answer to test, rotate, on or off; `None` for another word.
async fn call_api(
    app: &App,
    s: &Session,
    id: &str,
    what: &str,
) -> Option<Result<Value, crate::http::error::ApiError>> {
    let (state, caller, path) = (State(app.clone()), s.caller.clone(), Path(id.to_owned()));
    let enabled = |on: bool| {
        JsonObject(
            json!({ "enabled": on })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )
    };
    Some(match what {
        "test" => api(v1::test(state, caller, path).await).await,
        "rotate" => {
            let headers = axum::http::HeaderMap::new();
            api(v1::rotate_secret(state, caller, path, headers).await).await
        }
        "on" => api(v1::patch(state, caller, path, enabled(true)).await).await,
        "off" => api(v1::patch(state, caller, path, enabled(false)).await).await,
        _ => return None,
    })
}

/// The endpoint's page with a note above it.
async fn endpoint_note(app: &App, s: &Session, id: &str, note: &str) -> Response {
    let shown = Shown {
        note: Some(note),
        ..Shown::default()
    };
    endpoint_page(app, s, id, shown).await
}

/// The endpoint's page with what the API refused above it.
async fn endpoint_problem(app: &App, s: &Session, id: &str, problem: &str) -> Response {
    let shown = Shown {
        problem: Some(problem),
        ..Shown::default()
    };
    endpoint_page(app, s, id, shown).await
}

pub async fn retry(
    State(app): State<App>,
    Path((id, delivery)): Path<(String, String)>,
    Posted { s, .. }: Posted,
) -> Response {
    let l = s.lang;
    let r = api(v1::retry(
        State(app.clone()),
        s.caller.clone(),
        Path((id.clone(), delivery)),
    )
    .await)
    .await;
    match r {
        Ok(_) => endpoint_note(&app, &s, &id, l.t("다시 보냅니다.", "Retrying now.")).await,
        Err(e) if e.status == StatusCode::NOT_FOUND => super::page::not_found(&app, l),
        Err(e) => endpoint_problem(&app, &s, &id, &FormError::from_api(&e, l).message).await,
    }
}
