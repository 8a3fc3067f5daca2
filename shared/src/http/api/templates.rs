use super::once::{self, once, Once};
use crate::{
    app::App,
    domain::{
        ids::TemplateId,
        json::{merge_patch, reject_read_only, Obj},
        template::{Template, TemplateImage, TemplateSpec, TemplateStatus},
    },
    http::{
        auth::Caller,
        body::{read_limited, JsonObject},
        error::ApiError,
        etag, if_match,
        query::ApiQuery,
        versioned::{self, TemplateRecord},
        PageQuery,
    },
    render::raster::{self, RasterError},
};
use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderMap, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

/// Fields of the API's template that a PATCH cannot set (the spec's own are
/// `domain::template_spec::FIELDS`).
const READ_ONLY: &[&str] = &[
    "id",
    "issuer_id",
    "status",
    "version",
    "created_at",
    "updated_at",
    "urls",
];
pub const MAX_IMAGE_BYTES: usize = 1024 * 1024;

/// Recommendations may only point at other templates of the same issuer.
async fn check_related(
    app: &App,
    caller: &Caller,
    own: Option<&TemplateId>,
    spec: &TemplateSpec,
) -> Result<(), ApiError> {
    for (i, r) in spec.related.iter().enumerate() {
        let field = format!("related[{i}].template_id");
        if Some(&r.template_id) == own {
            return Err(ApiError::field(field, "a template cannot recommend itself"));
        }
        if app
            .store
            .get_template_of(&caller.issuer_id, &r.template_id)
            .await?
            .is_none()
        {
            return Err(ApiError::field(
                field,
                format!("template {} is not one of your templates", r.template_id),
            ));
        }
    }
    Ok(())
}

fn spec_doc(spec: &TemplateSpec) -> Value {
    serde_json::to_value(spec).unwrap_or_else(|_| json!({}))
}

pub fn template_json(app: &App, t: &Template) -> Value {
    let mut v = spec_doc(&t.spec);
    if let Some(img) = v.get_mut("image").and_then(Value::as_object_mut) {
        img.remove("key");
    }
    if let Some(img) = v
        .pointer_mut("/banner/image")
        .and_then(Value::as_object_mut)
    {
        img.remove("key");
    }
    v["id"] = json!(t.id);
    v["issuer_id"] = json!(t.issuer_id);
    v["status"] = json!(t.status);
    v["version"] = json!(t.version);
    v["created_at"] = json!(t.created_at);
    v["updated_at"] = json!(t.updated_at);
    let u = app.urls();
    v["urls"] = json!({
        "page": u.template_page(&t.id),
        "open_badges_badge_class": u.template_json(&t.id),
        "image": u.template_image(&t.id),
    });
    v
}

fn parse_id(raw: &str) -> Result<TemplateId, ApiError> {
    TemplateId::parse(raw).map_err(|_| ApiError::not_found("template"))
}

async fn load(app: &App, caller: &Caller, id: &TemplateId) -> Result<Template, ApiError> {
    app.store
        .get_template_of(&caller.issuer_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))
}

fn with_etag(app: &App, t: &Template, status: StatusCode) -> impl IntoResponse {
    (
        status,
        [(header::ETAG, etag(t.version))],
        Json(template_json(app, t)),
    )
}

/// Creates a template, 201. With an `Idempotency-Key`, the same request sent again within 24
/// hours answers the template it made, 200.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<axum::response::Response, ApiError> {
    let spec = TemplateSpec::parse(&Obj::root(&body), None)?;
    let pending = match once(&app, &caller, &headers, "template", &spec_doc(&spec)).await? {
        Once::Made(earlier) => return made_before(&app, &caller, &earlier.id).await,
        Once::Create(pending) => pending,
    };
    check_related(&app, &caller, None, &spec).await?;
    let t = Template::new(caller.issuer_id.clone(), spec, chrono::Utc::now());
    let record = pending.map(|p| p.of(&t.id));
    if let Some(earlier) = app.store.create_template(&t, record.as_ref()).await? {
        once::made(&earlier, record.as_ref().unwrap_or(&earlier))?;
        return made_before(&app, &caller, &earlier.id).await;
    }
    tracing::info!(template = %t.id, "template created");
    Ok(with_etag(&app, &t, StatusCode::CREATED).into_response())
}

/// The answer to a create sent again: the template its key made, as it is now.
async fn made_before(
    app: &App,
    caller: &Caller,
    id: &str,
) -> Result<axum::response::Response, ApiError> {
    let t = app
        .store
        .get_template_consistent_of(&caller.issuer_id, &parse_id(id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("template"))?;
    Ok(with_etag(app, &t, StatusCode::OK).into_response())
}

/// `deny_unknown_fields` does not work through `flatten`: the page's two fields are here too.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let status = match q.status.as_deref() {
        None | Some("" | "all") => None,
        Some("active") => Some(TemplateStatus::Active),
        Some("archived") => Some(TemplateStatus::Archived),
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "status must be active, archived or all",
            ))
        }
    };
    let (items, next) = app
        .store
        .list_templates(&caller.issuer_id, page.limit()?, page.cursor(), |t| {
            status.is_none_or(|s| t.status == s)
        })
        .await?;
    let data = items.iter().map(|t| template_json(&app, t)).collect();
    Ok(Json(super::list_json(data, next)))
}

pub async fn get_one(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let t = load(&app, &caller, &parse_id(&id)?).await?;
    Ok(with_etag(&app, &t, StatusCode::OK))
}

/// Merge-patches the template. With `If-Match`, a stale version is refused (412); without it,
/// a concurrent change is re-read and the patch applied again, so no update is lost.
#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, template = %id))]
pub async fn patch(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(patch): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    reject_read_only(&patch, READ_ONLY)?;
    let expected = if_match(&headers)?;
    let patch = Value::Object(patch);
    let record = TemplateRecord {
        app: &app,
        issuer: &caller.issuer_id,
        id: &id,
    };
    let (app, caller, patch) = (&app, &caller, &patch);
    let next = versioned::update(&record, expected.as_deref(), |mut t: Template| async move {
        let mut doc = spec_doc(&t.spec);
        merge_patch(&mut doc, patch);
        let obj = doc.as_object().cloned().unwrap_or_default();
        let spec = TemplateSpec::parse(&Obj::root(&obj), Some(&t.spec))?;
        if spec.related != t.spec.related {
            check_related(app, caller, Some(&t.id), &spec).await?;
        }
        t.spec = spec;
        Ok(Some(t))
    })
    .await?;
    Ok(with_etag(app, &next, StatusCode::OK))
}

/// DELETE archives: no new awards, existing awards stay verifiable forever.
pub async fn archive(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let record = TemplateRecord {
        app: &app,
        issuer: &caller.issuer_id,
        id: &id,
    };
    let next = versioned::update(&record, None, |mut t: Template| async move {
        if t.status == TemplateStatus::Archived {
            return Ok(None);
        }
        t.status = TemplateStatus::Archived;
        Ok(Some(t))
    })
    .await?;
    Ok(with_etag(&app, &next, StatusCode::OK))
}

/// `PUT /v1/templates/{id}/image` with the image as the body (PNG, JPEG, WebP or SVG, ≤ 1 MiB).
pub async fn upload_image(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<axum::response::Response, ApiError> {
    upload(app, caller, id, req, Asset::BadgeImage).await
}

/// `PUT /v1/templates/{id}/banner-image`: the banner's image (the banner must exist).
pub async fn upload_banner_image(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<axum::response::Response, ApiError> {
    upload(app, caller, id, req, Asset::Banner).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Asset {
    BadgeImage,
    Banner,
}

/// The uploaded image's media type, if it is one a template takes: PNG, JPEG, WebP or SVG; a
/// raster badge image must also say how big it is, and be small enough to be drawn as PNG.
fn image_type(bytes: &[u8], asset: Asset) -> Result<&'static str, ApiError> {
    let content_type = raster::sniff(bytes).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
            "the body is not a PNG, JPEG, WebP or SVG image",
        )
        .ko("PNG, JPEG, WebP, SVG 이미지만 올릴 수 있습니다.")
    })?;
    if asset == Asset::BadgeImage && content_type != "image/svg+xml" {
        raster::dimensions(bytes).map_err(|e| match e {
            RasterError::TooLarge { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "image_too_large",
                e.to_string(),
            )
            .ko(e.korean()),
            _ => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unreadable_image",
                e.to_string(),
            )
            .ko(e.korean()),
        })?;
    }
    Ok(content_type)
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id, template = %id))]
async fn upload(
    app: App,
    caller: Caller,
    id: String,
    req: Request,
    asset: Asset,
) -> Result<axum::response::Response, ApiError> {
    let id = parse_id(&id)?;
    let existing = load(&app, &caller, &id).await?;
    if asset == Asset::Banner && existing.spec.banner.is_none() {
        return Err(ApiError::conflict(
            "no_banner",
            "set the banner first (PATCH the template with banner.alt, banner.target_url and an image URL, banner.image {kind: url}), then upload its image, which replaces that one",
        )
        .ko("먼저 배너를 설정하세요 (배너의 대체 텍스트, 링크, 이미지 URL). 그다음 올린 이미지가 그 이미지를 대신합니다."));
    }
    let bytes = read_limited(req, MAX_IMAGE_BYTES).await?;
    let content_type = image_type(&bytes, asset)?;
    let key = format!(
        "images/{}/{}/{}",
        caller.issuer_id,
        id,
        crate::domain::ids::random_token()
    );
    app.blobs.put(&key, bytes.to_vec(), content_type).await?;
    let uploaded = TemplateImage::Uploaded {
        key,
        content_type: content_type.to_owned(),
    };
    let record = TemplateRecord {
        app: &app,
        issuer: &caller.issuer_id,
        id: &id,
    };
    let uploaded = &uploaded;
    let next = versioned::update(&record, None, |mut next: Template| async move {
        match (asset, next.spec.banner.as_mut()) {
            (Asset::BadgeImage, _) => next.spec.image = uploaded.clone(),
            (Asset::Banner, Some(b)) => b.image = uploaded.clone(),
            (Asset::Banner, None) => {
                return Err(ApiError::conflict(
                    "no_banner",
                    "the banner was removed meanwhile",
                ))
            }
        }
        Ok(Some(next))
    })
    .await?;
    Ok(with_etag(&app, &next, StatusCode::OK).into_response())
}
