//! Settings: the issuer's profile and branding (through `PATCH /v1/issuer`), and API keys
//! (a new key is shown once; revoking one ends its sessions too).

use super::{
    form,
    page::{api, failed, respond},
    posted::{json_of, Posted},
    session::Session,
    ui,
};
use crate::{
    app::App,
    domain::api_key::ApiKey,
    http::api::{api_keys, issuer as v1},
};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use maud::{html, Markup};
use serde_json::Value;
use ui::{checkbox, input, select, Field, FormError};

fn profile_form(s: &Session, v: &dyn Fn(&str) -> String, err: Option<&FormError>) -> Markup {
    let l = s.lang;
    let locales = ui::options(&[("ko", "한국어"), ("en", "English")]);
    let flag = |n: &str, d: bool| form::flag(&v(n), d);
    html! {
        form method="post" action="/console/settings" class="card" novalidate {
            h2 { (l.t("기관 정보와 브랜딩", "Institution and branding")) }
            (ui::csrf(s))
            (input(Field::new("name", l.t("기관 이름", "Name"), &v("name")).required(), err))
            (input(Field::new("url", l.t("웹사이트", "Website"), &v("url")).kind("url").required(), err))
            (input(Field::new("email", l.t("대표 이메일", "Contact email"), &v("email")).kind("email").required(), err))
            (input(Field::new("description", l.t("소개", "Description"), &v("description")).kind("textarea"), err))
            (input(Field::new("logo_url", l.t("로고 URL", "Logo URL"), &v("logo_url")).kind("url"), err))
            (input(Field::new("seal_url", l.t("직인/인장 URL", "Seal URL"), &v("seal_url")).kind("url"), err))
            (input(Field::new("primary_color", l.t("주 색상", "Primary colour"), &v("primary_color")).hint("#1a4d8f"), err))
            (input(Field::new("accent_color", l.t("보조 색상", "Accent colour"), &v("accent_color")).hint("#f2a900"), err))
            (select("default_locale", l.t("기본 언어", "Default language"), &v("default_locale"), &locales, err))
            (input(Field::new("time_zone", l.t("시간대 (IANA)", "Time zone (IANA)"), &v("time_zone")).hint("Asia/Seoul"), err))
            (input(Field::new("linkedin_organization_id", l.t("LinkedIn 조직 ID (숫자)", "LinkedIn organization id (numeric)"), &v("linkedin_organization_id")), err))
            (checkbox("mask_recipient_names", l.t("공개 페이지에서 이름 가리기 (김*수)", "Mask names on public pages (K*m)"), flag("mask_recipient_names", false)))
            (checkbox("weekly_digest", l.t("주간 리포트 이메일 받기", "Send the weekly digest email"), flag("weekly_digest", true)))
            (input(Field::new("digest_recipients:lines", l.t("주간 리포트 받는 사람 (쉼표로 구분, 비우면 대표 이메일)", "Digest recipients (comma-separated; empty: the contact email)"), &v("digest_recipients")), err))
            button class="btn primary" type="submit" { (l.t("저장", "Save")) }
        }
    }
}

/// What the page shows besides the stored profile: the form as submitted (instead of the stored
/// values), the API's error, a note, and a key just created (shown once).
#[derive(Default)]
struct Shown<'a> {
    form: Option<&'a [(String, String)]>,
    err: Option<&'a FormError>,
    note: Option<&'a str>,
    new_key: Option<&'a str>,
}

async fn render(app: &App, s: &Session, shown: &Shown<'_>, status: StatusCode) -> Response {
    let doc = v1::issuer_json(app, &s.issuer);
    let v = |n: &str| match shown.form {
        Some(f) => form::value(f, n).unwrap_or("").to_owned(),
        None => form::text_of(doc.get(n)),
    };
    let keys = match app.store.list_api_keys(&s.issuer.id).await {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    let title = s.lang.t("설정", "Settings");
    let body = settings_body(s, &v, &keys, shown);
    respond(app, status, ui::page(s, "/console/settings", title, body))
}

fn settings_body(
    s: &Session,
    v: &dyn Fn(&str) -> String,
    keys: &[ApiKey],
    shown: &Shown<'_>,
) -> Markup {
    let l = s.lang;
    let key_err = shown.err.filter(|e| e.field.as_deref() == Some("key_name"));
    html! {
        @if let Some(n) = shown.note { div class="ok" role="status" { (n) } }
        (ui::summary(l, shown.err))
        p { a href="/console/settings/webhooks" { (l.t("웹훅 (LMS·CRM 연동 알림) →", "Webhooks (notify your LMS or CRM) →")) } }
        p { a href="/console/settings/kakao" { (l.t("카카오톡·문자 알림 →", "KakaoTalk and SMS →")) } }
        (profile_form(s, v, shown.err))
        section class="card" aria-labelledby="keys-h" {
            h2 id="keys-h" { (l.t("API 키", "API keys")) }
            @if let Some(k) = shown.new_key {
                div class="ok" role="status" {
                    p { strong { (l.t("새 API 키입니다. 지금만 보여 드립니다 — 안전한 곳에 보관하세요.", "Your new API key. It is shown only now — keep it somewhere safe.")) } }
                    code class="key" id="new-key" { (k) }
                }
            }
            (keys_table(s, keys))
            form method="post" action="/console/settings/keys" class="search" {
                (ui::csrf(s))
                (input(Field::new("key_name", l.t("새 키 이름", "New key name"), ""), key_err))
                button class="btn" type="submit" { (l.t("API 키 만들기", "Create an API key")) }
            }
        }
    }
}

/// The issuer's keys, each active one with its revoke button.
fn keys_table(s: &Session, keys: &[ApiKey]) -> Markup {
    let l = s.lang;
    html! {
        div class="table-wrap" { table {
            caption class="visually-hidden" { (l.t("API 키", "API keys")) }
            thead { tr { th scope="col" { (l.t("이름", "Name")) } th scope="col" { (l.t("끝자리", "Hint")) } th scope="col" { (l.t("상태", "State")) } th scope="col" { span class="visually-hidden" { (l.t("작업", "Actions")) } } } }
            tbody { @for k in keys {
                tr {
                    th scope="row" { (k.name) @if k.id == s.caller.key_id { " " span class="muted" { (l.t("(지금 로그인한 키)", "(this session)")) } } }
                    td { code { (k.hint) } }
                    td { @if k.revoked_at.is_some() { (l.t("폐기됨", "Revoked")) } @else { (l.t("사용 중", "Active")) } }
                    td { @if k.revoked_at.is_none() {
                        form method="post" action={"/console/settings/keys/" (k.id) "/revoke"} {
                            (ui::csrf(s))
                            button class="btn danger" type="submit" aria-label=(format!("{} {}", l.t("폐기", "Revoke"), k.name)) { (l.t("폐기", "Revoke")) }
                        }
                    } }
                }
            } }
        } }
    }
}

pub async fn page(
    State(app): State<App>,
    s: Session,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let note = q
        .contains_key("saved")
        .then(|| s.lang.t("저장했습니다.", "Saved."));
    let shown = Shown {
        note,
        ..Shown::default()
    };
    render(&app, &s, &shown, StatusCode::OK).await
}

pub async fn save(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    let mut body = json_of(&f);
    // An emptied list clears it.
    if !body.0.contains_key("digest_recipients") {
        body.0.insert("digest_recipients".into(), Value::Null);
    }
    match api(v1::patch_issuer(State(app.clone()), s.caller.clone(), HeaderMap::new(), body).await)
        .await
    {
        Ok(_) => Redirect::to("/console/settings?saved=1").into_response(),
        Err(e) => {
            let shown = Shown {
                form: Some(&f),
                err: Some(&FormError::from_api(&e, s.lang)),
                ..Shown::default()
            };
            render(&app, &s, &shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

pub async fn create_key(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    let mut m = serde_json::Map::new();
    if let Some(n) = form::value(&f, "key_name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        m.insert("name".into(), Value::String(n.to_owned()));
    }
    match api(api_keys::create(
        State(app.clone()),
        s.caller.clone(),
        HeaderMap::new(),
        crate::http::body::JsonObject(m),
    )
    .await)
    .await
    {
        Ok(v) => {
            let shown = Shown {
                new_key: Some(v["key"].as_str().unwrap_or("")),
                ..Shown::default()
            };
            render(&app, &s, &shown, StatusCode::CREATED).await
        }
        Err(e) => {
            // The API calls it `name`; on this page that input is `key_name`.
            let mut err = FormError::from_api(&e, s.lang);
            if err.field.as_deref() == Some("name") {
                err.field = Some("key_name".into());
            }
            refused(&app, &s, &err, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

pub async fn revoke_key(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Response {
    match api(api_keys::revoke(State(app.clone()), s.caller.clone(), Path(id)).await).await {
        Ok(_) => Redirect::to("/console/settings").into_response(),
        Err(e) => {
            let err = FormError::from_api(&e, s.lang);
            refused(&app, &s, &err, StatusCode::NOT_FOUND).await
        }
    }
}

/// The page with what the API refused about a key.
async fn refused(app: &App, s: &Session, err: &FormError, status: StatusCode) -> Response {
    let shown = Shown {
        err: Some(err),
        ..Shown::default()
    };
    render(app, s, &shown, status).await
}
