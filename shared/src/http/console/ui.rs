//! The console's page shell and form widgets (maud: escaped by construction).

use super::session::Session;
use crate::domain::{locale::Locale, template::Template};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub const CSS: &str = include_str!("console.css");
pub const JS: &str = include_str!("console.js");

#[cfg(test)]
mod tests {
    use crate::domain::{color::Color, email::Email, issuer::LinkedInOrgId, template::Validity};
    use crate::domain::{text, time, url::WebUrl, FieldError, Invalid};
    use crate::{domain::json::Obj, http::error::ApiError};
    use crate::{domain::locale::Locale, store::StoreError};

    /// What a Korean console page shows for an API error.
    fn shown(e: impl Into<ApiError>) -> String {
        super::FormError::from_api(&e.into(), Locale::Ko).message
    }

    fn at(e: Invalid) -> String {
        shown(e.at("f"))
    }

    #[test]
    fn common_messages_read_in_korean() {
        let body = serde_json::json!({"n": "x"});
        let o = Obj::root(body.as_object().unwrap());
        assert_eq!(shown(o.req_str("name").unwrap_err()), "필수 항목입니다.");
        assert_eq!(shown(o.u64("n").unwrap_err()), "숫자를 입력하세요.");
        assert_eq!(
            at(text::line(&"가".repeat(500), 200).unwrap_err()),
            "너무 깁니다 (최대 200자)."
        );
        assert_eq!(
            at(text::line(" ", 9).unwrap_err()),
            "비어 있을 수 없습니다."
        );
        assert_eq!(
            at(text::line("a\u{7}", 9).unwrap_err()),
            "제어 문자를 포함할 수 없습니다."
        );
        let days = Validity::DaysAfterIssue { days: 0 }.check().unwrap_err();
        assert_eq!(at(days), "일수는 1에서 36500 사이여야 합니다.");
        assert_eq!(
            at(Email::parse("x").unwrap_err()),
            "이메일 주소 형식이 아닙니다 (예: name@example.ac.kr)."
        );
        assert_eq!(
            at(WebUrl::parse("ftp://x").unwrap_err()),
            "올바른 웹 주소가 아닙니다 (https://로 시작하는 주소를 입력하세요)."
        );
        assert_eq!(
            at(WebUrl::parse(" ").unwrap_err()),
            "비어 있을 수 없습니다."
        );
        let date = time::parse_date("soon").unwrap_err();
        assert_eq!(at(date), "날짜 형식이 아닙니다 (예: 2026-03-01).");
        assert_eq!(
            at(Color::parse("blue").unwrap_err()),
            "색상 형식이 아닙니다 (예: #1a4d8f)."
        );
        let zone = time::Zone::parse("Seoul").unwrap_err();
        assert_eq!(at(zone), "시간대 이름이 아닙니다 (예: Asia/Seoul).");
        assert!(at(LinkedInOrgId::parse("acme").unwrap_err()).starts_with("LinkedIn 조직 ID는"));
        assert!(shown(ApiError::internal()).contains("다시 시도"));
        assert!(shown(StoreError::Throttled).starts_with("요청이 많아"));
    }

    #[test]
    fn other_messages_stay_as_the_api_wrote_them() {
        let e = FieldError::new("template_id", "template x not found");
        assert_eq!(shown(e.clone()), "template_id: template x not found");
        let english = super::FormError::from_api(&ApiError::internal(), Locale::En).message;
        assert_eq!(
            english,
            "something went wrong on our side; it has been logged"
        );
    }
}

/// A form's error: the field (a JSON path, also the input's name) and what is wrong with it.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub field: Option<String>,
    pub message: String,
}

impl FormError {
    /// The API's error: in Korean on Korean pages when the message carries its Korean (attached
    /// where it was made), otherwise as the API wrote it.
    pub fn from_api(e: &crate::http::error::ApiError, l: Locale) -> Self {
        let korean = l.t(e.ko.as_deref(), None);
        FormError {
            field: e.field.clone(),
            message: korean.unwrap_or(&e.message).to_owned(),
        }
    }
    /// The message for the input named `name` (type suffix ignored); an error on an object
    /// (`validity`) shows at its `kind` input.
    pub fn at(&self, name: &str) -> Option<&str> {
        let f = self.field.as_deref()?;
        let base = name.split(':').next().unwrap_or(name);
        (f == base || f == base.trim_end_matches(".kind")).then_some(self.message.as_str())
    }
}

fn csp(app_endpoint: Option<&str>) -> String {
    let extra = app_endpoint
        .and_then(url_origin)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; connect-src 'self' https:{extra}; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    )
}

fn url_origin(u: &str) -> Option<String> {
    let (scheme, rest) = u.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

pub fn html_response(status: StatusCode, page: Markup, endpoint: Option<&str>) -> Response {
    let mut r = (status, page.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp(endpoint)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// Every console page's `<head>`: the title (" · Accolade" follows it), the stylesheet and, on
/// signed-in pages, the script.
fn head(title: &str, script: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Accolade" }
            link rel="stylesheet" href="/console/assets/console.css";
            @if script { script src="/console/assets/console.js" defer {} }
        }
    }
}

/// A bare page (sign-in, errors).
pub fn bare(l: Locale, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.as_str()) {
            (head(title, false))
            body class="bare" {
                main id="main" { (body) }
            }
        }
    }
}

/// The main menu: each page's path and name.
pub fn nav(l: Locale) -> [(&'static str, &'static str); 6] {
    [
        ("/console", l.t("대시보드", "Dashboard")),
        ("/console/templates", l.t("배지 템플릿", "Templates")),
        ("/console/issue", l.t("발급", "Issue")),
        ("/console/bulk", l.t("일괄 발급", "Bulk upload")),
        ("/console/awards", l.t("발급 내역", "Awards")),
        ("/console/settings", l.t("설정", "Settings")),
    ]
}

/// The signed-in page shell: skip link, navigation, language switch, sign-out.
pub fn page(s: &Session, current: &str, title: &str, body: Markup) -> Markup {
    let l = s.lang;
    html! {
        (DOCTYPE)
        html lang=(l.as_str()) {
            (head(&format!("{title} · {}", s.issuer.profile.name), true))
            body {
                a class="skip" href="#main" { (l.t("본문으로 건너뛰기", "Skip to content")) }
                header class="top" {
                    div class="brand" { "Accolade" span class="org" { (s.issuer.profile.name) } }
                    nav aria-label=(l.t("주 메뉴", "Main")) {
                        ul {
                            @for (href, name) in nav(l) {
                                li { a href=(href) aria-current=[(href == current).then_some("page")] { (name) } }
                            }
                        }
                    }
                    div class="tools" {
                        a href={"/console/lang/" (l.other().as_str()) "?back=" (crate::urls::encode(&s.here))} lang=(l.other().as_str()) { (l.t("English", "한국어")) }
                        form method="post" action="/console/logout" {
                            input type="hidden" name="_csrf" value=(s.csrf);
                            button class="link" type="submit" { (l.t("로그아웃", "Sign out")) }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="_csrf" value=(s.csrf); }
}

pub fn id_of(name: &str) -> String {
    let base = name.split(':').next().unwrap_or(name);
    format!("f-{}", base.replace(['.', '[', ']'], "-"))
}

/// The error summary at the top of a form (focusable, announced).
pub fn summary(l: Locale, err: Option<&FormError>) -> Markup {
    html! {
        @if let Some(e) = err {
            div class="alert" role="alert" tabindex="-1" id="form-error" {
                strong { (l.t("저장하지 못했습니다. ", "Not saved. ")) }
                @if let Some(f) = &e.field {
                    a href={"#" (id_of(f))} { (e.message) }
                } @else {
                    (e.message)
                }
            }
        }
    }
}

pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub kind: &'a str,
    pub required: bool,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Field {
            name,
            label,
            value,
            hint: None,
            kind: "text",
            required: false,
        }
    }
    pub fn kind(mut self, k: &'a str) -> Self {
        self.kind = k;
        self
    }
    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

fn described(id: &str, hint: bool, error: bool) -> Option<String> {
    let mut v = Vec::new();
    if hint {
        v.push(format!("{id}-hint"));
    }
    if error {
        v.push(format!("{id}-error"));
    }
    (!v.is_empty()).then(|| v.join(" "))
}

/// A labelled input with its hint and, when the API refused it, its error.
pub fn input(f: Field<'_>, err: Option<&FormError>) -> Markup {
    let id = id_of(f.name);
    let error = err.and_then(|e| e.at(f.name));
    html! {
        div class={"field" @if error.is_some() { " has-error" }} {
            label for=(id) { (f.label) @if f.required { " *" } }
            @if let Some(h) = f.hint { p class="hint" id={(id) "-hint"} { (h) } }
            @if let Some(e) = error { p class="error" id={(id) "-error"} { (e) } }
            @if f.kind == "textarea" {
                textarea id=(id) name=(f.name) rows="4" required[f.required] aria-invalid=[error.map(|_| "true")] aria-describedby=[described(&id, f.hint.is_some(), error.is_some())] { (f.value) }
            } @else {
                input id=(id) type=(f.kind) name=(f.name) value=(f.value) required[f.required] aria-invalid=[error.map(|_| "true")] aria-describedby=[described(&id, f.hint.is_some(), error.is_some())];
            }
        }
    }
}

/// A `<select>` of `(value, label)` options.
pub fn select(
    name: &str,
    label: &str,
    value: &str,
    options: &[(String, String)],
    err: Option<&FormError>,
) -> Markup {
    let id = id_of(name);
    let error = err.and_then(|e| e.at(name));
    html! {
        div class={"field" @if error.is_some() { " has-error" }} {
            label for=(id) { (label) }
            @if let Some(e) = error { p class="error" id={(id) "-error"} { (e) } }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @for (v, l) in options {
                    option value=(v) selected[v == value] { (l) }
                }
            }
        }
    }
}

/// A checkbox that always submits a value (`false` unless checked).
pub fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    let id = id_of(name);
    html! {
        div class="check" {
            input type="hidden" name={(name) ":bool"} value="false";
            input type="checkbox" id=(id) name={(name) ":bool"} value="true" checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// `(value, label)` pairs as a `<select>`'s options.
pub fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect()
}

/// A template `<select>`'s options: `none` (the empty value) first, then each template by name.
pub fn template_options<'a>(
    none: &str,
    templates: impl IntoIterator<Item = &'a Template>,
) -> Vec<(String, String)> {
    let mut choices = vec![(String::new(), none.to_owned())];
    choices.extend(
        templates
            .into_iter()
            .map(|t| (t.id.to_string(), t.spec.name.clone())),
    );
    choices
}

/// A table's caption (for screen readers) and column headings.
pub fn thead(caption: &str, cols: &[&str]) -> Markup {
    html! {
        caption class="visually-hidden" { (caption) }
        thead { tr { @for c in cols { th scope="col" { (c) } } } }
    }
}

pub fn pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// A small inline SVG bar chart of `values` with `labels` (accessible: a title and a table
/// fallback are given by the caller).
/// A bar per week; a week without a value (a rate with nothing to divide by) has no bar and
/// reads "–", never 0.
pub fn bars(
    title: &str,
    values: &[Option<f64>],
    labels: &[String],
    fmt: &dyn Fn(f64) -> String,
) -> Markup {
    let w = 320.0;
    let h = 120.0;
    let max = values
        .iter()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let n = values.len().max(1) as f64;
    let bw = w / n;
    let shown = |v: &Option<f64>| v.map_or_else(|| "–".to_owned(), fmt);
    let said = values
        .iter()
        .zip(labels)
        .map(|(v, l)| format!("{l} {}", shown(v)))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        figure class="chart" {
            figcaption { (title) }
            svg viewBox={"0 0 " (w) " " (h + 18.0)} role="img" aria-label=(format!("{title}: {said}")) {
                @for (i, v) in values.iter().enumerate() {
                    @if let Some(v) = v {
                        @let bh = v / max * h;
                        rect x=(format!("{:.1}", i as f64 * bw + 2.0)) y=(format!("{:.1}", h - bh)) width=(format!("{:.1}", (bw - 4.0).max(1.0))) height=(format!("{:.1}", bh)) class="bar" {
                            title { (labels.get(i).cloned().unwrap_or_default()) ": " (fmt(*v)) }
                        }
                    }
                }
                @if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
                    text x="0" y=(h + 14.0) class="axis" { (first) }
                    text x=(w) y=(h + 14.0) class="axis" text-anchor="end" { (last) }
                }
            }
        }
    }
}

pub fn raw(s: &str) -> PreEscaped<&str> {
    PreEscaped(s)
}
