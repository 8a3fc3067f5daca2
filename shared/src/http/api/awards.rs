use crate::{
    app::App,
    domain::{
        award::{Award, IssueRuleError},
        email::Email,
        ids::{AwardId, BatchId, TemplateId},
        issue_request::{self, IssueRequest},
        issuer::Issuer,
        json::Obj,
        template::Template,
        text,
    },
    http::{auth::Caller, body::JsonObject, error::ApiError, query::ApiQuery, PageQuery},
    issuing::{self, IssueError, Issued},
    store::awards::AwardsBy,
};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    Json,
};
use chrono::Utc;
use serde_json::{json, Value};

/// The award as the issuer's API sees it (the recipient's email included: it is their data).
pub fn award_json(
    app: &App,
    a: &Award,
    template: Option<&Template>,
    issuer: Option<&Issuer>,
) -> Value {
    let u = app.urls();
    let now = Utc::now();
    let status = a.status(now);
    let mut urls = json!({
        "page": u.award_page(&a.id),
        "open_badges_assertion": u.award_json(&a.id),
        "qr_svg": u.award_qr_svg(&a.id),
        "qr_png": u.award_qr_png(&a.id),
        "verifiable_credential": u.award_credential(&a.id),
        "baked_png": u.award_baked(&a.id, "png"),
        "baked_svg": u.award_baked(&a.id, "svg"),
    });
    if let (Some(t), Some(i)) = (template, issuer) {
        urls["linkedin_add_to_profile"] = json!(u.linkedin_add(a, t, i));
    }
    json!({
        "id": a.id,
        "issuer_id": a.issuer_id,
        "template_id": a.template_id,
        "recipient": { "email": a.recipient.email, "name": a.recipient.name, "phone": a.recipient.phone },
        "issued_on": a.issued_on,
        "expires_on": a.expires_on,
        "status": status.code(),
        "revocation": a.revocation,
        "superseded_by": a.superseded_by,
        "supersedes": a.supersedes,
        "narrative": a.narrative,
        "evidence": a.evidence,
        "external_id": a.external_id,
        "locale": a.locale,
        "notify": a.notify,
        "cohort": a.cohort,
        "batch_id": a.batch_id,
        "created_at": a.created_at,
        "urls": urls,
    })
}

/// The caller has no template of this id (another issuer's is not found either).
pub(crate) fn template_not_found(t: &TemplateId) -> ApiError {
    IssueRuleError::TemplateNotFound(t.clone()).into()
}

pub(crate) fn issue_error(e: IssueError) -> ApiError {
    let ko = e.invalid().korean().map(str::to_owned);
    let with_ko = |err: ApiError| ApiError {
        ko: ko.clone(),
        ..err
    };
    match e {
        IssueError::Rule(r) => r.into(),
        IssueError::AlreadyHolds { ref existing } => {
            let err = with_ko(ApiError::conflict("already_awarded", e.to_string()));
            ApiError {
                field: Some("recipient.email".into()),
                ..err.related("existing_award_id", existing.to_string())
            }
        }
        IssueError::KeyReused { what, ref existing } => {
            let (code, field, ko) = if what == "external_id" {
                (
                    "external_id_reused",
                    "external_id",
                    format!(
                        "이 외부 ID는 다른 수신자나 템플릿의 배지 {existing}에 이미 쓰였습니다."
                    ),
                )
            } else {
                (
                    "idempotency_key_reused",
                    "Idempotency-Key",
                    format!(
                        "이 요청은 앞서 다른 내용으로 보내져 배지 {existing}가 발급되었습니다."
                    ),
                )
            };
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()).ko(ko);
            err.field = Some(field.into());
            err
        }
        IssueError::NotReissuable(_) => {
            with_ko(ApiError::conflict("not_reissuable", e.to_string()))
        }
        IssueError::Store(s) => s.into(),
    }
}

/// Issues one award. 201 when created; 200 with the same award when the `Idempotency-Key` or
/// `external_id` was used before for the same recipient and template.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let o = Obj::root(&body);
    o.only(issue_request::FIELDS)?;
    let template_id = o.req("template_id", TemplateId::parse)?;
    let idem = super::idempotency_key(&headers)?;
    let issuer = caller.issuer(&app).await?;
    let template = app
        .store
        .get_template_of(&caller.issuer_id, &template_id)
        .await?
        .ok_or_else(|| template_not_found(&template_id))?;
    let req = IssueRequest::parse(&o, issuer.profile.time_zone)?;
    let outcome = issuing::issue(
        &app.store,
        &issuer,
        &template,
        &req,
        idem.as_deref(),
        Utc::now(),
    )
    .await
    .map_err(issue_error)?;
    let (status, award) = match outcome {
        Issued::Created(a) => {
            tracing::info!(award = %a.id, template = %a.template_id, "award issued");
            (StatusCode::CREATED, a)
        }
        Issued::Existing(a) => (StatusCode::OK, a),
    };
    Ok((
        status,
        Json(award_json(&app, &award, Some(&template), Some(&issuer))),
    ))
}

fn parse_award_id(raw: &str) -> Result<AwardId, ApiError> {
    AwardId::parse(raw).map_err(|_| ApiError::not_found("award"))
}

async fn load(app: &App, caller: &Caller, id: &str) -> Result<Award, ApiError> {
    app.store
        .get_award_of(&caller.issuer_id, &parse_award_id(id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("award"))
}

async fn with_context(app: &App, a: &Award) -> Result<Value, ApiError> {
    let t = app.template_for_page(&a.template_id).await?;
    let i = app.issuer_for_page(&a.issuer_id).await?;
    Ok(award_json(app, a, t.as_deref(), i.as_deref()))
}

pub async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let a = load(&app, &caller, &id).await?;
    Ok(Json(with_context(&app, &a).await?))
}

/// `deny_unknown_fields` does not work through `flatten`: the page's two fields are here too.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    template: Option<String>,
    recipient: Option<String>,
    status: Option<String>,
    batch: Option<String>,
}

/// The list's template and batch filters must be the caller's. Another issuer's template or
/// batch is not found, like every foreign id: its index partition would otherwise page (and its
/// cursor reveal) that issuer's award ids and times.
async fn filters_are_own(
    app: &App,
    caller: &Caller,
    template: Option<&TemplateId>,
    batch: Option<&BatchId>,
) -> Result<(), ApiError> {
    if let Some(t) = template {
        app.store
            .get_template_of(&caller.issuer_id, t)
            .await?
            .ok_or_else(|| ApiError::not_found("template"))?;
    }
    if let Some(b) = batch {
        app.store
            .get_batch_of(&caller.issuer_id, b)
            .await?
            .ok_or_else(|| ApiError::not_found("batch"))?;
    }
    Ok(())
}

/// Lists awards newest first, from one index: by recipient, template, batch or the whole issuer.
/// The other filters are applied as the index is read, which goes on until the page is full (at
/// most `store::FILTERED_QUERIES` Queries: a page can then hold fewer, its cursor going on).
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = PageQuery {
        limit: q.limit.clone(),
        cursor: q.cursor.clone(),
    };
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let template = nonempty(&q.template)
        .map(|s| TemplateId::parse(&s).map_err(|e| ApiError::invalid("template", e)))
        .transpose()?;
    let recipient = nonempty(&q.recipient)
        .map(|s| Email::parse(&s).map_err(|e| ApiError::invalid("recipient", e)))
        .transpose()?;
    let batch = nonempty(&q.batch)
        .map(|s| BatchId::parse(&s).map_err(|e| ApiError::invalid("batch", e)))
        .transpose()?;
    let status = nonempty(&q.status);
    if let Some(s) = &status {
        if !["valid", "expired", "revoked", "superseded"].contains(&s.as_str()) {
            return Err(ApiError::field(
                "status",
                "status must be valid, expired, revoked or superseded",
            ));
        }
    }
    filters_are_own(&app, &caller, template.as_ref(), batch.as_ref()).await?;
    let lookup = recipient.as_ref().map(Email::lookup_key);
    let by = match (&lookup, &template, &batch) {
        (Some(r), _, _) => AwardsBy::Recipient(&caller.issuer_id, r),
        (None, Some(t), _) => AwardsBy::Template(t),
        (None, None, Some(b)) => AwardsBy::Batch(b),
        (None, None, None) => AwardsBy::Issuer(&caller.issuer_id),
    };
    let now = Utc::now();
    let keep = |a: &Award| {
        a.issuer_id == caller.issuer_id
            && template.as_ref().is_none_or(|t| &a.template_id == t)
            && batch
                .as_ref()
                .is_none_or(|b| a.batch_id.as_ref() == Some(b))
            && status.as_deref().is_none_or(|s| a.status(now).code() == s)
    };
    let (items, next) = app
        .store
        .list_awards(by, page.limit()?, page.cursor(), keep)
        .await?;
    let mut data = Vec::new();
    for a in &items {
        data.push(with_context(&app, a).await?);
    }
    Ok(Json(super::list_json(data, next)))
}

/// Revokes with a reason (required). Revoking again answers the award unchanged.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, award = %id))]
pub async fn revoke(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let o = Obj::root(&body);
    o.only(&["reason"])?;
    let reason = o.req("reason", |s| text::paragraph(s, 500))?;
    let a = load(&app, &caller, &id).await?;
    let issuer = caller.issuer(&app).await?;
    let revoked = issuing::revoke(&app.store, &issuer, &a, reason, Utc::now()).await?;
    tracing::info!("award revoked");
    Ok(Json(with_context(&app, &revoked).await?))
}

/// Issues a new award replacing this one; the old page says so and links to the new one. An
/// award re-issued already answers 200 with the award that replaced it (a client retrying after
/// a lost answer gets what its first call made).
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, award = %id))]
pub async fn reissue(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let old = load(&app, &caller, &id).await?;
    let issuer = caller.issuer(&app).await?;
    let o = Obj::root(&body);
    o.only(&["expires_on"])?;
    let expires_on = issue_request::parse_expires_on(&o, issuer.profile.time_zone)?;
    if let Some(by) = &old.superseded_by {
        let replaced = load(&app, &caller, by.as_str()).await?;
        return Ok((StatusCode::OK, Json(with_context(&app, &replaced).await?)));
    }
    let template = app
        .store
        .get_template(&old.template_id)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))?;
    let new = issuing::reissue(&app.store, &issuer, &template, &old, expires_on, Utc::now())
        .await
        .map_err(issue_error)?;
    tracing::info!(new = %new.id, "award re-issued");
    Ok((
        StatusCode::CREATED,
        Json(award_json(&app, &new, Some(&template), Some(&issuer))),
    ))
}
