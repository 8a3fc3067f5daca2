//! Settings → KakaoTalk (`/console/settings/kakao`): the channel, the provider's service ids and
//! keys, the approved day-1 template code, the sender number, the opt-out number and the stages,
//! through `PUT /v1/issuer/kakao`. The keys are never shown: the page says whether they are set;
//! left empty, the stored ones are kept.

use super::{
    form,
    page::{failed, respond},
    posted::{json_of, Posted},
    session::Session,
    ui,
};
use crate::{app::App, domain::kakao::DAY1_TEMPLATE, http::api::kakao as v1};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use maud::{html, Markup};
use serde_json::Value;
use ui::{checkbox, input, Field, FormError};

fn kakao_form(
    s: &Session,
    v: &dyn Fn(&str) -> String,
    set: bool,
    err: Option<&FormError>,
) -> Markup {
    let l = s.lang;
    let flag = |n: &str| form::flag(&v(n), true);
    let keys_hint = if set {
        l.t(
            "저장되어 있습니다. 바꿀 때만 입력하세요.",
            "Saved. Fill in only to replace them.",
        )
    } else {
        l.t("아직 없습니다.", "Not set yet.")
    };
    html! {
        form method="post" action="/console/settings/kakao" class="card" novalidate {
            h2 { (l.t("카카오톡·문자 알림 (NAVER Cloud SENS)", "KakaoTalk and SMS (NAVER Cloud SENS)")) }
            (ui::csrf(s))
            (checkbox("enabled", l.t("카카오톡·문자 보내기", "Send KakaoTalk and SMS messages"), flag("enabled")))
            (input(Field::new("channel_id", l.t("카카오톡 채널 검색용 ID", "KakaoTalk channel id"), &v("channel_id")).hint("@accolade").required(), err))
            (input(Field::new("alimtalk_service_id", l.t("알림톡(비즈메시지) 서비스 ID", "Biz Message (AlimTalk) service id"), &v("alimtalk_service_id")).hint("ncp:kkobizmsg:kr:…").required(), err))
            (input(Field::new("sms_service_id", l.t("SMS 서비스 ID", "SMS service id"), &v("sms_service_id")).hint("ncp:sms:kr:…").required(), err))
            (input(Field::new("day1_template_code", l.t("승인된 발급 알림 템플릿 코드", "Approved day-1 template code"), &v("day1_template_code")).required(), err))
            (input(Field::new("sms_sender", l.t("등록된 발신번호", "Registered sender number"), &v("sms_sender")).hint("02-1234-5678").required(), err))
            (input(Field::new("opt_out_number", l.t("무료 수신거부 080 번호 (비우면 링크)", "Free 080 opt-out number (empty: a link)"), &v("opt_out_number")).hint("080-123-4567"), err))
            (checkbox("stages.day1", l.t("발급 당일 알림톡", "Day 1: AlimTalk"), flag("stages.day1")))
            (checkbox("stages.day3", l.t("3일 후 과정 추천 문자 (광고)", "Day 3: recommendation text (advertising)"), flag("stages.day3")))
            (checkbox("stages.day7", l.t("7일 후 과정 추천 문자 (광고)", "Day 7: recommendation text (advertising)"), flag("stages.day7")))
            p class="muted" { (l.t("API 인증키: ", "API keys: ")) (keys_hint) }
            (input(Field::new("access_key", "Access Key ID", "").kind("password"), err))
            (input(Field::new("secret_key", "Secret Key", "").kind("password"), err))
            button class="btn primary" type="submit" { (l.t("저장", "Save")) }
        }
        section class="card" {
            h2 { (l.t("카카오에 승인받을 발급 알림 템플릿", "The day-1 template to get approved by Kakao")) }
            pre { (DAY1_TEMPLATE) }
            p class="muted" { (l.t("버튼: 웹링크 \"배지 확인하기\", 링크 https://(배지 도메인)/b/#{배지ID}", "Button: web link \"배지 확인하기\", link https://(badge domain)/b/#{배지ID}")) }
        }
    }
}

async fn render(
    app: &App,
    s: &Session,
    form: Option<&[(String, String)]>,
    err: Option<&FormError>,
    note: Option<&str>,
    status: StatusCode,
) -> Response {
    let stored = match app.store.get_kakao(&s.issuer.id).await {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    let doc = stored
        .as_ref()
        .map(|(k, c)| k.view(c.is_some()))
        .unwrap_or(Value::Null);
    let v = |n: &str| match form {
        Some(f) => form::value(f, n).unwrap_or("").to_owned(),
        None => match n.split_once('.') {
            Some((a, b)) => form::text_of(doc.get(a).and_then(|x| x.get(b))),
            None => form::text_of(doc.get(n)),
        },
    };
    let l = s.lang;
    let body = html! {
        @if let Some(n) = note { div class="ok" role="status" { (n) } }
        (ui::summary(l, err))
        p { a href="/console/settings" { (l.t("← 설정", "← Settings")) } }
        (kakao_form(s, &v, stored.as_ref().is_some_and(|(_, c)| c.is_some()), err))
    };
    respond(
        app,
        status,
        ui::page(
            s,
            "/console/settings",
            l.t("카카오톡·문자", "KakaoTalk and SMS"),
            body,
        ),
    )
}

pub async fn page(
    State(app): State<App>,
    s: Session,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let note = q
        .contains_key("saved")
        .then(|| s.lang.t("저장했습니다.", "Saved."));
    render(&app, &s, None, None, note, StatusCode::OK).await
}

pub async fn save(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    if let Err(e) = s.caller.require_admin("change the KakaoTalk settings") {
        return failed(e);
    }
    let body = json_of(&f);
    match v1::save(&app, &s.issuer.id, &body.0).await {
        Ok(_) => Redirect::to("/console/settings/kakao?saved=1").into_response(),
        Err(e) => {
            let err = FormError::from_api(&e, s.lang);
            render(
                &app,
                &s,
                Some(&f),
                Some(&err),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
