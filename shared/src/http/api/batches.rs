use super::once::{self, once, Once};
use crate::{
    app::App,
    csv_import::{self, FileError},
    domain::{
        award::IssueRuleError,
        batch::{Batch, BatchMode, BatchStatus},
        ids::{BatchId, TemplateId},
        json::Obj,
        text,
    },
    http::{auth::Caller, body::JsonObject, error::ApiError, query::ApiQuery, PageQuery},
};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};
use std::time::Duration;

/// How long the upload and report links work.
const LINK_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// The documented columns, with two example rows (Korean and English).
pub const SAMPLE_CSV: &str = "email,name,phone,template_id,issued_on,expires_on,narrative,evidence_url,evidence_narrative,external_id,cohort,locale\r\n\
minsu.kim@example.com,김민수,010-1234-5678,,2026-03-01,,최종 프로젝트: 공공데이터 분석,https://example.com/portfolio/minsu,발표 자료,S2026-001,2026-봄,ko\r\n\
jane.smith@example.com,Jane Smith,,,2026-03-01,2028-03-01,,,,S2026-002,2026-spring,en\r\n";

async fn batch_json(app: &App, b: &Batch) -> Result<Value, ApiError> {
    let mut v = json!({
        "id": b.id,
        "template_id": b.template_id,
        "filename": b.filename,
        "notify": b.notify,
        "mode": b.mode,
        "status": b.status,
        "failure_reason": b.failure_reason,
        "failure_reason_ko": b.failure_reason_ko,
        "counts": b.counts.public(),
        "warnings": b.warnings,
        "warnings_ko": b.warnings_ko,
        "progress_row": b.checkpoint_row,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "started_at": b.started_at,
        "completed_at": b.completed_at,
        "stalled_since": b.stalled_since(chrono::Utc::now()),
        "error_report_url": Value::Null,
    });
    if let Some(key) = &b.report_key {
        let name = format!("{}-errors.csv", b.filename.trim_end_matches(".csv"));
        v["error_report_url"] = json!(app.blobs.presign_get(key, &name, LINK_VALIDITY).await?);
    }
    Ok(v)
}

/// Creates a batch and answers a presigned PUT URL: the browser uploads the CSV straight to S3,
/// and the S3 event starts ingest. With an `Idempotency-Key`, the same request sent again within
/// 24 hours answers the batch it made, 200 (with a fresh upload URL while it awaits its file).
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<axum::response::Response, ApiError> {
    let o = Obj::root(&body);
    o.only(&["template_id", "filename", "notify", "mode", "size"])?;
    let filename = o.req("filename", |s| text::line(s, 200))?;
    let lower = filename.to_lowercase();
    if !(lower.ends_with(".csv") || lower.ends_with(".txt") || lower.ends_with(".tsv")) {
        return Err(ApiError::field(
            "filename",
            "upload a CSV file (.csv); in Excel use File → Save As → CSV UTF-8",
        )
        .ko("CSV 파일(.csv)을 올리세요. 엑셀에서는 파일 → 다른 이름으로 저장 → CSV UTF-8(쉼표로 분리)을 고르세요."));
    }
    let template_id = o.parse("template_id", TemplateId::parse)?;
    let size = upload_size(&o)?;
    let mode = o.parse("mode", BatchMode::parse)?.unwrap_or_default();
    let notify = o.bool("notify")?.unwrap_or(true);
    let asked = json!({"template_id": template_id, "filename": filename, "notify": notify,
        "mode": mode, "size": size});
    let pending = match once(&app, &caller, &headers, "batch", &asked).await? {
        Once::Made(earlier) => return made_before(&app, &caller, &earlier.id, size).await,
        Once::Create(pending) => pending,
    };
    if let Some(t) = &template_id {
        template_takes_batches(&app, &caller, t).await?;
    }
    let now = chrono::Utc::now();
    let batch = Batch::new(
        caller.issuer_id.clone(),
        template_id,
        filename,
        notify,
        mode,
        now,
    );
    let record = pending.map(|p| p.of(&batch.id));
    if let Some(earlier) = app.store.create_batch(&batch, record.as_ref()).await? {
        once::made(&earlier, record.as_ref().unwrap_or(&earlier))?;
        return made_before(&app, &caller, &earlier.id, size).await;
    }
    tracing::info!(batch = %batch.id, "batch created");
    let v = with_upload(&app, &batch, size).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A batch's template must be the caller's and active.
async fn template_takes_batches(
    app: &App,
    caller: &Caller,
    t: &TemplateId,
) -> Result<(), ApiError> {
    let template = app
        .store
        .get_template_of(&caller.issuer_id, t)
        .await?
        .ok_or_else(|| super::awards::template_not_found(t))?;
    if !template.is_active() {
        return Err(IssueRuleError::TemplateArchived(t.clone()).into());
    }
    Ok(())
}

/// The batch and, while it awaits its file, a presigned PUT URL for it (`upload_url` null once
/// the file has come).
async fn with_upload(app: &App, batch: &Batch, size: Option<u64>) -> Result<Value, ApiError> {
    let mut v = batch_json(app, batch).await?;
    v["batch_id"] = json!(batch.id);
    v["upload_method"] = json!("PUT");
    v["upload_size"] = json!(size);
    v["upload_url"] = Value::Null;
    v["expires_at"] = Value::Null;
    if batch.status == BatchStatus::AwaitingUpload {
        let now = chrono::Utc::now();
        let url = app
            .blobs
            .presign_put(&batch.source_key, LINK_VALIDITY, size)
            .await?;
        v["upload_url"] = json!(url);
        v["expires_at"] =
            json!(now + chrono::Duration::from_std(LINK_VALIDITY).unwrap_or_default());
    }
    Ok(v)
}

/// The answer to a create sent again: the batch its key made, as it is now.
async fn made_before(
    app: &App,
    caller: &Caller,
    id: &str,
    size: Option<u64>,
) -> Result<axum::response::Response, ApiError> {
    let id = BatchId::parse(id).map_err(|_| ApiError::internal())?;
    let b = app
        .store
        .get_batch_of(&caller.issuer_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("batch"))?;
    Ok(Json(with_upload(app, &b, size).await?).into_response())
}

/// The file's size in bytes, if the client says it: the upload URL then takes exactly that many.
fn upload_size(o: &Obj<'_>) -> Result<Option<u64>, ApiError> {
    match o.u64("size")? {
        Some(0) => Err(FileError::Empty.invalid().at("size").into()),
        Some(n) if n > csv_import::MAX_FILE_BYTES => {
            Err(FileError::TooLarge(n).invalid().at("size").into())
        }
        n => Ok(n),
    }
}

pub async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = BatchId::parse(&id).map_err(|_| ApiError::not_found("batch"))?;
    let b = app
        .store
        .get_batch_of(&caller.issuer_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("batch"))?;
    Ok(Json(batch_json(&app, &b).await?))
}

pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (items, next) = app
        .store
        .list_batches(&caller.issuer_id, q.limit()?, q.cursor())
        .await?;
    let mut data = Vec::with_capacity(items.len());
    for b in &items {
        data.push(batch_json(&app, b).await?);
    }
    Ok(Json(super::list_json(data, next)))
}

/// The sample file, UTF-8 with a BOM so Excel opens the Korean correctly.
pub async fn sample(_caller: Caller) -> impl IntoResponse {
    let mut body = vec![0xEF, 0xBB, 0xBF];
    body.extend_from_slice(SAMPLE_CSV.as_bytes());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"accolade-sample.csv\"",
            ),
        ],
        body,
    )
}
