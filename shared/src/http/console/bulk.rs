//! Bulk upload: pick or drop a CSV, download the sample, upload straight to S3 through the
//! presigned URL with a byte progress bar, then follow the batch (rows validated/issued) to the
//! end, with the counts and the error report. The JSON endpoints are the `/v1` batch handlers
//! behind the session (and its CSRF token).

use super::{
    page::{api, failed, respond, script_error, templates},
    posted::Scripted,
    session::Session,
    ui,
};
use crate::{
    app::App,
    domain::{batch::Batch, locale::Locale, template::Template},
    http::api::batches as v1,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use maud::{html, Markup, PreEscaped};
use serde_json::{json, Value};

pub async fn page(State(app): State<App>, s: Session) -> Response {
    let l = s.lang;
    let tpls = match templates(&app, &s.issuer.id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let recent = match app.store.list_batches(&s.issuer.id, 10, None).await {
        Ok((b, _)) => b,
        Err(e) => return failed(e),
    };
    respond(
        &app,
        StatusCode::OK,
        ui::page(
            &s,
            "/console/bulk",
            l.t("CSV 일괄 발급", "Bulk upload"),
            page_body(&s, &tpls, &recent),
        ),
    )
}

fn page_body(s: &Session, tpls: &[Template], recent: &[Batch]) -> Markup {
    let words = words(s.lang).to_string().replace('<', "\\u003c");
    html! {
        (upload_form(s, tpls))
        script type="application/json" id="bulk-words" { (PreEscaped(words)) }
        (recent_batches(s.lang, recent))
    }
}

/// What a stalled batch ([`Batch::stalled_since`]) tells its admin (Korean, English).
const STALLED: (&str, &str) = (
    "멈춤: 15분 넘게 처리하는 작업이 없어 멈췄을 수 있습니다. 계속 이 상태라면 운영자에게 재개를 요청하거나 파일을 새 일괄 발급으로 다시 올리세요(이미 발급된 행은 건너뜁니다).",
    "Stalled: nothing has worked on it for over 15 minutes, so it may have stopped. If it stays so, ask your operator to resume it, or upload the file again as a new batch (rows already issued are skipped).",
);

/// What the page's script says while it uploads and follows the batch.
fn words(l: Locale) -> Value {
    json!({
        "creating": l.t("일괄 발급을 준비하는 중…", "Preparing the batch…"),
        "uploading": l.t("업로드 중", "Uploading"),
        "uploaded": l.t("업로드 완료. 처리를 기다리는 중…", "Uploaded. Waiting for processing…"),
        "failed": l.t("업로드하지 못했습니다", "The upload failed"),
        "choose": l.t("CSV 파일을 선택하세요.", "Choose a CSV file."),
        "stalled": l.t(STALLED.0, STALLED.1),
        "signin": l.t("세션이 끝났습니다. 다시 로그인하면 진행 상황을 볼 수 있습니다 (일괄 발급은 계속됩니다).", "Your session ended. Sign in again to see the progress (the batch carries on)."),
        "rows": l.t("행", "rows"), "valid": l.t("유효", "valid"), "issued": l.t("발급", "issued"),
        "invalid": l.t("오류", "invalid"), "duplicates": l.t("중복", "duplicates"),
        "st_awaiting_upload": status_word(l, "awaiting_upload"), "st_validating": status_word(l, "validating"),
        "st_issuing": status_word(l, "issuing"), "st_completed": status_word(l, "completed"), "st_failed": status_word(l, "failed"),
    })
}

/// The upload form: template and mode, the file (picked or dropped), progress and outcome.
fn upload_form(s: &Session, tpls: &[Template]) -> Markup {
    let l = s.lang;
    let choices = ui::template_options(
        l.t(
            "— 파일의 template_id 열 사용 —",
            "— use the file's template_id column —",
        ),
        tpls.iter().filter(|x| x.is_active()),
    );
    let modes = ui::options(&[
        (
            "skip_invalid",
            l.t(
                "오류 행은 건너뛰고 나머지 발급",
                "Skip invalid rows, issue the rest",
            ),
        ),
        (
            "all_or_nothing",
            l.t(
                "오류가 하나라도 있으면 발급하지 않음",
                "Issue nothing if any row is invalid",
            ),
        ),
    ]);
    html! {
        form id="bulk-form" class="card" data-csrf=(s.csrf) novalidate {
            (ui::select("template_id", l.t("배지 템플릿", "Badge template"), "", &choices, None))
            (ui::select("mode", l.t("오류 처리", "Invalid rows"), "skip_invalid", &modes, None))
            div class="check" {
                input type="checkbox" id="f-notify" name="notify" checked;
                label for="f-notify" { (l.t("수신자에게 이메일 보내기", "Email the recipients")) }
            }
            div id="drop" class="drop" {
                label for="f-file" { (l.t("CSV 파일을 선택하거나 여기에 끌어다 놓으세요", "Choose a CSV file or drop it here")) }
                input id="f-file" type="file" name="file" accept=".csv,text/csv" aria-describedby="file-hint file-error";
                p class="hint" id="file-hint" { (l.t("UTF-8, CP949(엑셀), UTF-16 모두 가능. 최대 50MB.", "UTF-8, CP949 (Excel), UTF-16 all work. Up to 50 MB.")) " " a href="/console/bulk/sample.csv" download { (l.t("샘플 CSV 내려받기", "Download the sample CSV")) } }
                p class="error" id="file-error" aria-live="assertive" {}
            }
            p {
                label for="upload-progress" { (l.t("업로드 진행률", "Upload progress")) }
                progress id="upload-progress" max="1" value="0" {}
            }
            p id="batch-status" role="status" aria-live="polite" {}
            ul id="batch-warnings" class="hint" hidden {}
            p class="btns" {
                a id="report-link" class="btn" hidden href="#" { (l.t("오류 보고서 내려받기", "Download the error report")) }
                a id="batch-link" class="btn" hidden href="#" { (l.t("발급된 배지 보기", "See the issued badges")) }
            }
            button class="btn primary" type="submit" { (l.t("업로드하고 발급", "Upload and issue")) }
        }
    }
}

/// A batch's status as the page says it (the API's word is its class).
fn status_word(l: Locale, status: &str) -> &str {
    match status {
        "awaiting_upload" => l.t("업로드 대기", "Awaiting upload"),
        "validating" => l.t("검증 중", "Validating"),
        "issuing" => l.t("발급 중", "Issuing"),
        "completed" => l.t("완료", "Completed"),
        "failed" => l.t("실패", "Failed"),
        other => other,
    }
}

fn recent_batches(l: Locale, recent: &[Batch]) -> Markup {
    let now = chrono::Utc::now();
    html! {
        h2 { (l.t("최근 일괄 발급", "Recent batches")) }
        @if recent.is_empty() { p { (l.t("아직 없습니다.", "None yet.")) } } @else {
            div class="table-wrap" { table {
                (ui::thead(l.t("최근 일괄 발급", "Recent batches"), &[l.t("파일", "File"), l.t("상태", "Status"), l.t("행", "Rows"), l.t("발급", "Issued"), l.t("오류", "Invalid")]))
                tbody { @for b in recent {
                    @let st = serde_json::to_value(b.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                    tr {
                        th scope="row" { a href={"/console/awards?batch=" (b.id)} { (b.filename) } }
                        td {
                            span class={"status st-" (st)} { (status_word(l, &st)) }
                            @if b.stalled_since(now).is_some() {
                                " " span class="status st-failed" { (l.t("멈춤", "stalled")) }
                                p class="hint" { (l.t(STALLED.0, STALLED.1)) }
                            }
                        }
                        td { (b.counts.rows) } td { (b.counts.issued) } td { (b.counts.invalid) }
                    }
                } }
            } }
        }
    }
}

/// Creates a batch (JSON in and out; the page's script sends the CSRF token).
pub async fn create(
    State(app): State<App>,
    Scripted(s): Scripted,
    body: crate::http::body::JsonObject,
) -> Response {
    match api(v1::create(
        State(app.clone()),
        s.caller.clone(),
        Default::default(),
        body,
    )
    .await)
    .await
    {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => script_error(s.lang, e),
    }
}

pub async fn status(State(app): State<App>, s: Session, Path(id): Path<String>) -> Response {
    match api(v1::get_one(State(app.clone()), s.caller.clone(), Path(id)).await).await {
        Ok(v) => ([(axum::http::header::CACHE_CONTROL, "no-store")], Json(v)).into_response(),
        Err(e) => script_error(s.lang, e),
    }
}

pub async fn sample(s: Session) -> Response {
    v1::sample(s.caller).await.into_response()
}
