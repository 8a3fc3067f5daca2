//! Templates: list, create, edit (every field, related badges with order and switches, banner,
//! enrolment, follow-ups) with a live preview of the badge page.

use super::{
    form,
    page::{api, failed, found, not_found, refused, respond, script_error, templates},
    posted::{json_of, Posted, Scripted},
    session::Session,
    ui,
};
use crate::{
    app::App,
    domain::{
        award::{Award, HashedIdentity, Recipient},
        email::Email,
        ids::{AwardId, TemplateId},
        json::Obj,
        locale::Locale,
        template::{Template, TemplateImage, TemplateSpec},
        FieldError,
    },
    http::api::templates as v1,
    render::badge_page,
};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use base64::Engine;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde_json::Value;
use ui::{checkbox, input, select, Field, FormError};

/// Where a form's values come from: what was just submitted, or the stored template.
enum Src<'a> {
    Form(&'a [(String, String)]),
    Doc(&'a Value),
    Empty,
}

impl Src<'_> {
    fn get(&self, path: &str) -> String {
        match self {
            Src::Form(f) => form::value(f, path).unwrap_or("").to_owned(),
            Src::Doc(d) => {
                let pointer = format!("/{}", path.replace(['.', '['], "/").replace(']', ""));
                form::text_of(d.pointer(&pointer))
            }
            Src::Empty => String::new(),
        }
    }
    /// The value, or `default` when there is none.
    fn get_or(&self, path: &str, default: &str) -> String {
        let v = self.get(path);
        if v.is_empty() {
            default.to_owned()
        } else {
            v
        }
    }
    fn flag(&self, path: &str, default: bool) -> bool {
        form::flag(&self.get(path), default)
    }
    /// How many recommended badges there are.
    fn related_rows(&self) -> usize {
        match self {
            Src::Doc(d) => d
                .get("related")
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            Src::Form(f) => f
                .iter()
                .filter(|(n, _)| n.ends_with(".template_id"))
                .count(),
            Src::Empty => 0,
        }
    }
}

pub async fn list(State(app): State<App>, s: Session) -> Response {
    let l = s.lang;
    let list = match templates(&app, &s.issuer.id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let body = html! {
        p { a class="btn primary" href="/console/templates/new" { (l.t("새 템플릿", "New template")) } }
        @if list.is_empty() {
            p { (l.t("아직 템플릿이 없습니다.", "No templates yet.")) }
        } @else {
            div class="table-wrap" { table {
                (ui::thead(l.t("배지 템플릿", "Badge templates"), &[l.t("이름", "Name"), l.t("상태", "Status"), l.t("추천", "Recommends"), l.t("수정", "Updated")]))
                tbody { @for tp in &list {
                    tr {
                        th scope="row" { a href={"/console/templates/" (tp.id)} { (tp.spec.name) } }
                        td { @if tp.is_active() { (l.t("사용 중", "Active")) } @else { (l.t("보관됨", "Archived")) } }
                        td { (tp.spec.related.iter().filter(|r| r.enabled).count()) }
                        td { (tp.updated_at.with_timezone(&s.issuer.profile.time_zone.0).format("%Y-%m-%d %H:%M")) }
                    }
                } }
            } }
        }
    };
    respond(
        &app,
        StatusCode::OK,
        ui::page(
            &s,
            "/console/templates",
            l.t("배지 템플릿", "Templates"),
            body,
        ),
    )
}

/// The template form: the template being edited (None when creating), where its values come
/// from, the API's error, and whether it was just saved.
struct Editor<'a> {
    current: Option<&'a Template>,
    values: Src<'a>,
    err: Option<&'a FormError>,
    saved: bool,
}

/// The editor page with the issuer's other templates to recommend.
async fn editor_page(app: &App, s: &Session, status: StatusCode, e: &Editor<'_>) -> Response {
    let others = match templates(app, &s.issuer.id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let title = match e.current {
        Some(c) => c.spec.name.as_str(),
        None => s.lang.t("새 템플릿", "New template"),
    };
    let page = ui::page(s, "/console/templates", title, editor(s, &others, e));
    respond(app, status, page)
}

/// The form beside the uploads, the archive button and the live preview.
fn editor(s: &Session, others: &[Template], e: &Editor<'_>) -> Markup {
    let l = s.lang;
    html! {
        @if e.saved { div class="ok" role="status" { (l.t("저장했습니다.", "Saved.")) } }
        (ui::summary(l, e.err))
        div class="split" {
            (template_form(s, others, e))
            div {
                @if let Some(c) = e.current {
                    (uploads(s, c))
                    (archive_card(s, c))
                }
                h2 { (l.t("배지 페이지 미리보기", "Badge page preview")) }
                iframe name="preview" class="preview" title=(l.t("배지 페이지 미리보기", "Badge page preview")) src="about:blank" {}
            }
        }
    }
}

fn template_form(s: &Session, others: &[Template], e: &Editor<'_>) -> Markup {
    let (l, v, err) = (s.lang, &e.values, e.err);
    let action = match e.current {
        Some(c) => format!("/console/templates/{}", c.id),
        None => "/console/templates".into(),
    };
    let version = match v {
        Src::Form(f) => form::value(f, "_version").unwrap_or("").to_owned(),
        _ => e.current.map(|c| c.version.to_string()).unwrap_or_default(),
    };
    html! {
        form method="post" action=(action) data-preview novalidate {
            (ui::csrf(s))
            input type="hidden" name="_version" value=(version);
            @if let Some(c) = e.current { input type="hidden" name="_id" value=(c.id); }
            (basic_fields(l, v, err))
            (image_fields(l, e.current, v, err))
            (validity_fields(l, v, err))
            (related_fields(l, e.current, others, v, err))
            (banner_fields(l, v, err))
            (enrolment_fields(l, v, err))
            (follow_up_fields(l, v, err))
            div class="btns" {
                button class="btn primary" type="submit" { (l.t("저장", "Save")) }
                button class="btn" type="submit" formaction="/console/templates/preview" formtarget="preview" data-preview-button { (l.t("미리보기", "Preview")) }
                @if let Some(c) = e.current {
                    a class="btn" href=(format!("/templates/{}", c.id)) { (l.t("공개 페이지", "Public page")) }
                }
            }
        }
    }
}

fn basic_fields(l: Locale, v: &Src<'_>, err: Option<&FormError>) -> Markup {
    html! {
        fieldset {
            legend { (l.t("기본 정보", "Basics")) }
            (input(Field::new("name", l.t("이름", "Name"), &v.get("name")).required(), err))
            (input(Field::new("description", l.t("설명", "Description"), &v.get("description")).kind("textarea").required(), err))
            (input(Field::new("criteria.narrative", l.t("취득 기준", "Criteria"), &v.get("criteria.narrative")).kind("textarea").hint(l.t("기준 설명이나 기준 URL 중 하나는 필요합니다.", "Give the criteria, a criteria URL, or both.")), err))
            (input(Field::new("criteria.url", l.t("기준 URL", "Criteria URL"), &v.get("criteria.url")).kind("url"), err))
            (input(Field::new("skills:lines", l.t("역량 (쉼표로 구분)", "Skills (comma-separated)"), &v.get("skills")), err))
        }
    }
}

/// The image's kind and URL; an uploaded image can be kept but not chosen.
fn image_fields(
    l: Locale,
    current: Option<&Template>,
    v: &Src<'_>,
    err: Option<&FormError>,
) -> Markup {
    let mut kinds = ui::options(&[
        (
            "generated",
            l.t("자동 생성 (이름과 색상)", "Generated (name and colours)"),
        ),
        ("url", l.t("이미지 URL", "Image URL")),
    ]);
    if current.is_some_and(|c| matches!(c.spec.image, TemplateImage::Uploaded { .. })) {
        let uploaded = l.t(
            "업로드한 이미지 (API로 교체)",
            "Uploaded image (replace via the API)",
        );
        kinds.push(("uploaded".into(), uploaded.into()));
    }
    html! {
        fieldset {
            legend { (l.t("이미지", "Image")) }
            (select("image.kind", l.t("배지 이미지", "Badge image"), &v.get_or("image.kind", "generated"), &kinds, err))
            (input(Field::new("image.url", l.t("이미지 URL (URL 선택 시)", "Image URL (when URL is chosen)"), &v.get("image.url")).kind("url"), err))
        }
    }
}

fn validity_fields(l: Locale, v: &Src<'_>, err: Option<&FormError>) -> Markup {
    let validity = ui::options(&[
        ("never", l.t("만료 없음", "Never expires")),
        ("days_after_issue", l.t("발급 후 N일", "N days after issue")),
        ("fixed_date", l.t("지정한 날짜", "On a fixed date")),
    ]);
    let policy = ui::options(&[
        (
            "allow_multiple",
            l.t("여러 번 발급 허용", "Allow several per recipient"),
        ),
        (
            "one_active_per_recipient",
            l.t("수신자당 유효 배지 1개", "One active badge per recipient"),
        ),
    ]);
    html! {
        fieldset {
            legend { (l.t("유효기간과 재발급", "Validity and re-issue")) }
            (select("validity.kind", l.t("유효기간", "Validity"), &v.get_or("validity.kind", "never"), &validity, err))
            (input(Field::new("validity.days:int", l.t("일수 (발급 후 N일)", "Days (N days after issue)"), &v.get("validity.days")).kind("number"), err))
            (input(Field::new("validity.date", l.t("만료일 (지정한 날짜)", "Expiry date (fixed date)"), &v.get("validity.date")).kind("date"), err))
            (select("reissue_policy", l.t("재발급 정책", "Re-issue policy"), &v.get_or("reissue_policy", "allow_multiple"), &policy, err))
        }
    }
}

/// The recommended badges: the rows there are and two empty ones (ten at most), each with its
/// order, badge (any other active template), label, switch and move buttons.
fn related_fields(
    l: Locale,
    current: Option<&Template>,
    others: &[Template],
    v: &Src<'_>,
    err: Option<&FormError>,
) -> Markup {
    let choices = ui::template_options(
        l.t("— 선택 안 함 —", "— none —"),
        others
            .iter()
            .filter(|o| current.is_none_or(|c| c.id != o.id) && o.is_active()),
    );
    let rows = (v.related_rows() + 2).min(10);
    html! {
        fieldset {
            legend { (l.t("추천 배지 (순서대로 표시)", "Recommended badges (shown in this order)")) }
            div class="related-list" {
                @for i in 0..rows { (related_row(l, i, &choices, v, err)) }
            }
        }
    }
}

fn related_row(
    l: Locale,
    i: usize,
    choices: &[(String, String)],
    v: &Src<'_>,
    err: Option<&FormError>,
) -> Markup {
    let base = format!("related[{i}]");
    html! {
        div class="related-row" {
            (input(Field::new(&format!("{base}._order:int"), l.t("순서", "Order"), &(i + 1).to_string()).kind("number"), err))
            (select(&format!("{base}.template_id"), l.t("배지", "Badge"), &v.get(&format!("{base}.template_id")), choices, err))
            (input(Field::new(&format!("{base}.label"), l.t("라벨 (선택)", "Label (optional)"), &v.get(&format!("{base}.label"))), err))
            div {
                (checkbox(&format!("{base}.enabled"), l.t("표시", "Show"), v.flag(&format!("{base}.enabled"), true)))
                div class="btns" {
                    button class="btn" type="button" data-move="up" aria-label=(format!("{} {}", l.t("위로", "Move up"), i + 1)) { "↑" }
                    button class="btn" type="button" data-move="down" aria-label=(format!("{} {}", l.t("아래로", "Move down"), i + 1)) { "↓" }
                }
            }
        }
    }
}

fn banner_fields(l: Locale, v: &Src<'_>, err: Option<&FormError>) -> Markup {
    html! {
        fieldset {
            legend { (l.t("배너", "Banner")) }
            (input(Field::new("banner.image.url", l.t("배너 이미지 URL (https)", "Banner image URL (https)"), &v.get("banner.image.url")).kind("url"), err))
            (input(Field::new("banner.alt", l.t("대체 텍스트", "Alt text"), &v.get("banner.alt")), err))
            (input(Field::new("banner.target_url", l.t("클릭 시 이동할 URL", "Link target URL"), &v.get("banner.target_url")).kind("url"), err))
            (checkbox("banner.enabled", l.t("배너 표시", "Show the banner"), v.flag("banner.enabled", true)))
        }
    }
}

fn enrolment_fields(l: Locale, v: &Src<'_>, err: Option<&FormError>) -> Markup {
    html! {
        fieldset {
            legend { (l.t("수강 신청 링크", "Enrolment link")) }
            (input(Field::new("enrolment.program_type", l.t("과정 유형", "Programme type"), &v.get("enrolment.program_type")), err))
            (input(Field::new("enrolment.program_name", l.t("과정 이름", "Programme name"), &v.get("enrolment.program_name")), err))
            (input(Field::new("enrolment.program_url", l.t("신청 URL", "Enrolment URL"), &v.get("enrolment.program_url")).kind("url"), err))
            (input(Field::new("enrolment.period", l.t("기간", "Period"), &v.get("enrolment.period")), err))
            (checkbox("enrolment.enabled", l.t("신청 링크 표시", "Show the enrolment link"), v.flag("enrolment.enabled", true)))
        }
    }
}

fn follow_up_fields(l: Locale, v: &Src<'_>, err: Option<&FormError>) -> Markup {
    html! {
        fieldset {
            legend { (l.t("후속 이메일", "Follow-up emails")) }
            (checkbox("follow_ups.day3", l.t("3일 후 추천 이메일", "Day-3 recommendation email"), v.flag("follow_ups.day3", true)))
            (checkbox("follow_ups.day7", l.t("7일 후 리마인더", "Day-7 reminder"), v.flag("follow_ups.day7", true)))
            (input(Field::new("follow_ups.expiry_reminder_days:int", l.t("만료 며칠 전 알림 (비우면 없음)", "Expiry reminder, days before (empty: none)"), &v.get("follow_ups.expiry_reminder_days")).kind("number"), err))
        }
    }
}

/// Uploads of the badge image and, when there is a banner, its image (saved at once).
fn uploads(s: &Session, c: &Template) -> Markup {
    let l = s.lang;
    html! {
        section class="card" aria-labelledby="files-h" {
            h2 id="files-h" { (l.t("이미지 업로드", "Upload images")) }
            p class="hint" { (l.t("PNG, JPEG, WebP, SVG · 최대 1MB. 올리면 바로 저장됩니다.", "PNG, JPEG, WebP or SVG, up to 1 MB. Saved as soon as it is uploaded.")) }
            div class="field" {
                label for="f-upload-image" { (l.t("배지 이미지 파일", "Badge image file")) }
                input id="f-upload-image" type="file" accept="image/png,image/jpeg,image/webp,image/svg+xml" data-upload={"/console/templates/" (c.id) "/files/image"} data-csrf=(s.csrf);
            }
            @if c.spec.banner.is_some() {
                div class="field" {
                    label for="f-upload-banner" { (l.t("배너 이미지 파일", "Banner image file")) }
                    input id="f-upload-banner" type="file" accept="image/png,image/jpeg,image/webp,image/svg+xml" data-upload={"/console/templates/" (c.id) "/files/banner-image"} data-csrf=(s.csrf);
                }
            }
            p id="upload-status" role="status" aria-live="polite" {}
        }
    }
}

/// The archive button, or a note that the template is archived.
fn archive_card(s: &Session, c: &Template) -> Markup {
    let l = s.lang;
    html! {
        @if c.is_active() {
            form method="post" action={"/console/templates/" (c.id) "/archive"} class="card" {
                (ui::csrf(s))
                h2 { (l.t("보관", "Archive")) }
                p class="hint" { (l.t("보관하면 더 이상 발급할 수 없고, 이미 발급된 배지는 계속 검증됩니다.", "Archived templates issue no new badges; issued badges stay verifiable.")) }
                button class="btn danger" type="submit" { (l.t("보관하기", "Archive")) }
            }
        } @else {
            p class="card" { (l.t("보관된 템플릿입니다.", "This template is archived.")) }
        }
    }
}

pub async fn new_form(State(app): State<App>, s: Session) -> Response {
    let e = Editor {
        current: None,
        values: Src::Empty,
        err: None,
        saved: false,
    };
    editor_page(&app, &s, StatusCode::OK, &e).await
}

/// The form as the API's JSON: without nulls when creating (absent = default), with them when
/// editing (a merge patch: null removes). A banner without an image URL keeps its image.
fn body(fields: &[(String, String)], patch: bool) -> serde_json::Map<String, Value> {
    let mut m = json_of(fields).0;
    if let Some(b) = m.get_mut("banner").and_then(Value::as_object_mut) {
        match b
            .get("image")
            .and_then(|i| i.get("url"))
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            Some(url) => {
                b.insert(
                    "image".into(),
                    serde_json::json!({"kind": "url", "url": url}),
                );
            }
            None => {
                b.remove("image");
            }
        }
    }
    if !patch {
        m = form::without_nulls(m);
    }
    m
}

pub async fn create(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    let res = api(v1::create(
        State(app.clone()),
        s.caller.clone(),
        Default::default(),
        crate::http::body::JsonObject(body(&f, false)),
    )
    .await)
    .await;
    match res {
        Ok(v) => Redirect::to(&format!(
            "/console/templates/{}?saved=1",
            v["id"].as_str().unwrap_or("")
        ))
        .into_response(),
        Err(e) => {
            let e = Editor {
                current: None,
                values: Src::Form(&f),
                err: Some(&FormError::from_api(&e, s.lang)),
                saved: false,
            };
            editor_page(&app, &s, StatusCode::UNPROCESSABLE_ENTITY, &e).await
        }
    }
}

async fn load(app: &App, s: &Session, id: &str) -> Result<Template, Response> {
    let Ok(id) = TemplateId::parse(id) else {
        return Err(not_found(app, s.lang));
    };
    found(
        app,
        s.lang,
        app.store.get_template_of(&s.issuer.id, &id).await,
    )
}

pub async fn edit(
    State(app): State<App>,
    s: Session,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let tpl = match load(&app, &s, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let doc = v1::template_json(&app, &tpl);
    let e = Editor {
        current: Some(&tpl),
        values: Src::Doc(&doc),
        err: None,
        saved: q.contains_key("saved"),
    };
    editor_page(&app, &s, StatusCode::OK, &e).await
}

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { s, f }: Posted,
) -> Response {
    let tpl = match load(&app, &s, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut headers = HeaderMap::new();
    if let Some(v) =
        form::value(&f, "_version").and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok())
    {
        headers.insert(header::IF_MATCH, v);
    }
    let res = api(v1::patch(
        State(app.clone()),
        s.caller.clone(),
        Path(id.clone()),
        headers,
        crate::http::body::JsonObject(body(&f, true)),
    )
    .await)
    .await;
    match res {
        Ok(_) => Redirect::to(&format!("/console/templates/{id}?saved=1")).into_response(),
        Err(e) => {
            let mut err = FormError::from_api(&e, s.lang);
            if e.status == StatusCode::PRECONDITION_FAILED {
                err.message = s.lang.t("다른 사람이 먼저 이 템플릿을 수정했습니다. 페이지를 새로 고쳐 최신 내용을 확인하세요.", "Someone else changed this template meanwhile. Reload to see their version.").into();
            }
            let e = Editor {
                current: Some(&tpl),
                values: Src::Form(&f),
                err: Some(&err),
                saved: false,
            };
            editor_page(&app, &s, StatusCode::UNPROCESSABLE_ENTITY, &e).await
        }
    }
}

/// The badge page as a sample recipient would see it with the form's values (nothing saved).
pub async fn preview(State(app): State<App>, Posted { s, f }: Posted) -> Response {
    let current = match form::value(&f, "_id") {
        Some(id) => match load(&app, &s, id).await {
            Ok(t) => Some(t),
            Err(r) => return r,
        },
        None => None,
    };
    let m = body(&f, false);
    let spec = match TemplateSpec::parse(&Obj::root(&m), current.as_ref().map(|c| &c.spec)) {
        Ok(spec) => spec,
        Err(e) => return cannot_preview(&app, s.lang, &e),
    };
    let now = Utc::now();
    let mut tpl = current.unwrap_or_else(|| Template::new(s.issuer.id.clone(), spec.clone(), now));
    tpl.spec = spec;
    let award = sample_award(&s, &tpl, now);
    let recommendations = match app.recommendations(&tpl).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let html = badge_page::render(&badge_page::BadgePage {
        award: &award,
        template: &tpl,
        issuer: &s.issuer,
        urls: app.urls(),
        now,
        recommendations: &recommendations,
    })
    .into_string();
    framed(with_typed_image(&app, &s, &tpl, html))
}

/// What stops the form's values from making a template yet.
fn cannot_preview(app: &App, l: Locale, e: &FieldError) -> Response {
    let said = l.t(e.ko.as_deref(), None).unwrap_or(&e.message);
    let page = ui::bare(
        l,
        l.t("미리보기", "Preview"),
        html! {
            p class="alert" { (l.t("미리보기를 만들 수 없습니다: ", "Cannot preview yet: ")) (e.field) " — " (said) }
        },
    );
    respond(app, StatusCode::OK, page)
}

/// An award of `tpl` to a sample recipient, issued `now` (never stored).
fn sample_award(s: &Session, tpl: &Template, now: DateTime<Utc>) -> Award {
    let email = Email::parse("learner@example.com").expect("constant address");
    Award {
        id: AwardId::generate(),
        issuer_id: s.issuer.id.clone(),
        template_id: tpl.id.clone(),
        identity: HashedIdentity::new(&email),
        recipient: Recipient {
            email,
            name: s.lang.t("홍길동", "Alex Kim").into(),
            phone: None,
        },
        issued_on: now,
        expires_on: tpl.spec.validity.expiry(now, s.issuer.profile.time_zone),
        narrative: None,
        evidence: vec![],
        external_id: None,
        locale: Some(s.lang),
        notify: false,
        revocation: None,
        superseded_by: None,
        supersedes: None,
        batch_id: None,
        cohort: None,
        created_at: now,
        unsubscribe_token: None,
    }
}

/// A generated image is drawn from what was typed (the stored one may be stale or absent).
fn with_typed_image(app: &App, s: &Session, tpl: &Template, html: String) -> String {
    if !matches!(tpl.spec.image, TemplateImage::Generated) {
        return html;
    }
    let svg = crate::render::badge_image::svg(
        &tpl.spec.name,
        &s.issuer.profile.primary_color,
        &s.issuer.profile.accent_color,
    );
    let data = format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    );
    html.replace(&app.urls().template_image(&tpl.id), &data)
}

/// The preview as a page the editor may frame (the badge page's policy otherwise).
fn framed(html: String) -> Response {
    let mut r = (StatusCode::OK, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(
        &crate::render::layout::csp().replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
    ) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// Archives a template: no new badges; issued ones stay verifiable.
pub async fn archive(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { s, .. }: Posted,
) -> Response {
    if let Err(r) = load(&app, &s, &id).await {
        return r;
    }
    match api(v1::archive(State(app.clone()), s.caller.clone(), Path(id.clone())).await).await {
        Ok(_) => Redirect::to(&format!("/console/templates/{id}?saved=1")).into_response(),
        Err(e) => refused(&app, s.lang, e),
    }
}

/// `PUT` of an image file from the edit page (the `/v1` upload handler, behind the session and
/// its CSRF token): the badge image or the banner's.
pub async fn upload(
    State(app): State<App>,
    Scripted(s): Scripted,
    Path((id, what)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Response {
    let res = match what.as_str() {
        "image" => v1::upload_image(State(app.clone()), s.caller.clone(), Path(id), req).await,
        "banner-image" => {
            v1::upload_banner_image(State(app.clone()), s.caller.clone(), Path(id), req).await
        }
        _ => return not_found(&app, s.lang),
    };
    match res {
        Ok(r) => r,
        Err(e) => script_error(s.lang, e),
    }
}
