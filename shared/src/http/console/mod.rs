//! The admin console under `/console`: server-rendered pages (maud) with one small script,
//! served by the api function (the same router locally and in AWS). Every change goes through
//! the `/v1` handlers themselves, so the console follows exactly the API's rules and errors; an
//! error's field path is also the input's name, so it is shown next to that input.

// Handlers answer early with a ready page (`Result<_, Response>`); boxing it buys nothing here.
#![allow(clippy::result_large_err)]

mod awards;
mod bulk;
mod dashboard;
pub mod form;
pub(crate) mod kakao;
mod page;
mod posted;
pub mod session;
mod settings;
mod templates;
pub mod ui;
mod webhooks;

use crate::{
    app::App,
    domain::locale::Locale,
    http::routes::{Route, Routes},
};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    Form, Router,
};
use chrono::Utc;
use maud::html;
use page::{failed, respond};
use posted::Posted;
use session::Session;
use std::collections::HashMap;

/// Every console route, declared once: [`router`] is built from it and [`routes`] lists it (the
/// cross-tenant matrix covers each).
fn declared() -> Routes<App> {
    Routes::new()
        .get("/console", dashboard::page)
        .get("/console/", || async { Redirect::to("/console") })
        .get("/console/login", login_page)
        .post("/console/login", login)
        .post("/console/logout", logout)
        .get("/console/lang/{lang}", set_lang)
        .get("/console/assets/console.css", css)
        .get("/console/assets/console.js", js)
        .get("/console/templates", templates::list)
        .post("/console/templates", templates::create)
        .get("/console/templates/new", templates::new_form)
        .post("/console/templates/preview", templates::preview)
        .get("/console/templates/{id}", templates::edit)
        .post("/console/templates/{id}", templates::update)
        .post("/console/templates/{id}/archive", templates::archive)
        .put("/console/templates/{id}/files/{what}", templates::upload)
        .get("/console/export.csv", export)
        .get("/console/issue", awards::issue_form)
        .post("/console/issue", awards::issue)
        .get("/console/bulk", bulk::page)
        .get("/console/bulk/sample.csv", bulk::sample)
        .post("/console/bulk/batches", bulk::create)
        .get("/console/bulk/batches/{id}", bulk::status)
        .get("/console/awards", awards::list)
        .get("/console/awards/{id}", awards::detail)
        .post("/console/awards/{id}/revoke", awards::revoke)
        .post("/console/awards/{id}/reissue", awards::reissue)
        .get("/console/settings", settings::page)
        .post("/console/settings", settings::save)
        .post("/console/settings/keys", settings::create_key)
        .post("/console/settings/keys/{id}/revoke", settings::revoke_key)
        .get("/console/settings/kakao", kakao::page)
        .post("/console/settings/kakao", kakao::save)
        .get("/console/settings/webhooks", webhooks::page)
        .post("/console/settings/webhooks", webhooks::create)
        .get("/console/settings/webhooks/{id}", webhooks::endpoint)
        .post("/console/settings/webhooks/{id}/{action}", webhooks::act)
        .post(
            "/console/settings/webhooks/{id}/deliveries/{delivery_id}/retry",
            webhooks::retry,
        )
}

/// Every route, as `(method, path)`.
pub fn routes() -> Vec<Route> {
    declared().table()
}

pub fn router(app: App) -> Router {
    declared()
        .router()
        .layer(middleware::from_fn_with_state(
            app.clone(),
            same_origin_posts,
        ))
        .with_state(app)
}

/// Refuses a state-changing request from another site (with `SameSite=Strict` cookies and
/// per-session CSRF tokens, the third line of defence; the only one for the sign-in form): its
/// `Origin` must be the deployment's public origin — from `PUBLIC_BASE_URL`, not from `Host`:
/// behind CloudFront or a custom domain, API Gateway sees another host than the browser does —
/// and, where a browser sends no `Origin`, its `Sec-Fetch-Site` must say same-origin (a sibling
/// subdomain is "same-site", not same-origin). A request with neither says nothing of where it
/// came from and is refused too: every current browser sends `Origin` on a POST, and the sign-in
/// form has no token to fall back on (a login CSRF signs the victim in as the attacker).
async fn same_origin_posts(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let public = public_origin(&app.config.public_base_url);
        let header_of = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let refused = match (header_of("origin"), header_of("sec-fetch-site")) {
            // `null` (sandboxed frames, some redirects) is not this site either.
            (Some(origin), _) if !origin.eq_ignore_ascii_case(public) => {
                Some("다른 사이트에서 온 요청을 거부했습니다. / cross-site request refused")
            }
            (None, Some(site)) if !matches!(site, "same-origin" | "none") => {
                Some("다른 사이트에서 온 요청을 거부했습니다. / cross-site request refused")
            }
            (None, None) => Some(
                "요청을 거부했습니다: Origin도 Sec-Fetch-Site 헤더도 없습니다. 최신 브라우저를 쓰세요. / \
                 refused: the request has neither an Origin nor a Sec-Fetch-Site header; \
                 use a current browser",
            ),
            _ => None,
        };
        if let Some(why) = refused {
            return (StatusCode::FORBIDDEN, why).into_response();
        }
    }
    next.run(req).await
}

/// `https://badges.example.ac.kr/anything` → `https://badges.example.ac.kr`.
fn public_origin(base_url: &str) -> &str {
    let after_scheme = base_url.find("://").map_or(0, |i| i + 3);
    match base_url[after_scheme..].find('/') {
        Some(i) => &base_url[..after_scheme + i],
        None => base_url,
    }
}

/// The analytics export (every award with its counters) for the signed-in issuer.
async fn export(
    State(app): State<App>,
    s: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match crate::http::analytics::export(
        State(app.clone()),
        s.caller,
        crate::http::query::ApiQuery(q),
    )
    .await
    {
        Ok(mut r) => {
            // The next page of the same export, under the console's own path.
            if let Some(l) = r.headers().get(header::LINK).and_then(|v| v.to_str().ok()) {
                if let Ok(v) =
                    HeaderValue::from_str(&l.replace("/v1/analytics/export", "/console/export.csv"))
                {
                    r.headers_mut().insert(header::LINK, v);
                }
            }
            r
        }
        Err(e) => page::refused(&app, s.lang, e),
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        ui::CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        ui::JS,
    )
        .into_response()
}

/// Only local paths under /console are followed after sign-in or a language switch.
fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\') => {
            n.clone()
        }
        _ => "/console".into(),
    }
}

fn login_form(
    app: &App,
    l: Locale,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let err = error.map(|m| ui::FormError {
        field: Some("api_key".into()),
        message: m.to_owned(),
    });
    respond(
        app,
        status,
        ui::bare(
            l,
            l.t("로그인", "Sign in"),
            html! {
                h1 { "Accolade · " (l.t("관리자 로그인", "Admin sign-in")) }
                (ui::summary(l, err.as_ref()))
                form method="post" action="/console/login" novalidate {
                    input type="hidden" name="next" value=(next);
                    (ui::input(ui::Field::new("api_key", l.t("API 키", "API key"), "")
                        .kind("password")
                        .hint(l.t("운영자가 발급한 acc_로 시작하는 키", "The acc_… key your operator gave you"))
                        .required(), err.as_ref()))
                    button class="btn primary" type="submit" { (l.t("로그인", "Sign in")) }
                }
                p class="muted" {
                    a href={"/console/lang/" (l.other().as_str()) "?back=/console/login"} lang=(l.other().as_str()) {
                        (l.t("English", "한국어"))
                    }
                }
            },
        ),
    )
}

async fn login_page(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let l = session::lang(&headers, Locale::Ko);
    login_form(&app, l, &safe_next(q.get("next")), None, StatusCode::OK)
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let l = session::lang(&headers, Locale::Ko);
    let next = safe_next(form::value(&f, "next").map(str::to_owned).as_ref());
    let raw = form::value(&f, "api_key").unwrap_or("").trim().to_owned();
    let invalid = |m: &str| login_form(&app, l, &next, Some(m), StatusCode::UNAUTHORIZED);
    if raw.is_empty() {
        return invalid(l.t("API 키를 입력하세요.", "Enter your API key."));
    }
    let Ok(secret) = crate::domain::api_key::ApiKeySecret::parse(&raw) else {
        return invalid(l.t(
            "API 키 형식이 아닙니다 (acc_로 시작).",
            "That is not an API key (they start with acc_).",
        ));
    };
    let owner = match app.store.authenticate(&secret.hash()).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return invalid(l.t(
                "알 수 없거나 폐기된 API 키입니다.",
                "This API key is unknown or revoked.",
            ))
        }
        Err(e) => return failed(e),
    };
    if owner.scope != crate::domain::api_key::Scope::Admin {
        let m = l.t(
            "연동용 API 키로는 콘솔에 로그인할 수 없습니다. 관리자 키를 사용하세요.",
            "This key is for integrations; sign in to the console with an admin key.",
        );
        return login_form(&app, l, &next, Some(m), StatusCode::FORBIDDEN);
    }
    let key = match app.session_key().await {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    let now = Utc::now();
    let claims = session::Claims {
        issuer_id: owner.issuer_id,
        key_id: owner.key_id,
        expires: (now + chrono::Duration::hours(session::LIFETIME_HOURS)).timestamp(),
        signed_in_ms: now.timestamp_millis(),
        nonce: session::new_nonce(),
    };
    tracing::info!(issuer = %claims.issuer_id, "console sign-in");
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        &session::sign(key, &claims),
        session::LIFETIME_HOURS * 3600,
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Signs out: ends the key's console sessions on the server (a copied cookie stops working
/// too; other browsers signed in with the same key sign in again) and clears the cookie.
async fn logout(State(app): State<App>, p: Posted) -> Response {
    let key = app
        .store
        .get_api_key(&p.s.caller.issuer_id, &p.s.caller.key_id)
        .await;
    let ended = match key {
        Ok(Some(k)) => app.store.end_sessions(&k, Utc::now()).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = ended {
        return failed(e);
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&session::set_cookie("", 0)).expect("constant cookie"),
    );
    r
}

async fn set_lang(
    axum::extract::Path(lang): axum::extract::Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = if lang == "en" { "en" } else { "ko" };
    let mut r = Redirect::to(&safe_next(q.get("back"))).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}={lang}; Path=/console; Max-Age=31536000; Secure; SameSite=Lax",
            session::LANG_COOKIE
        ))
        .expect("constant cookie"),
    );
    r
}
