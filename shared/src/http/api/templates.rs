use crate::{
    app::App,
    domain::{
        error::{KO_NOT_A_URL, KO_REQUIRED},
        ids::TemplateId,
        template::{
            Banner, Criteria, Enrolment, FollowUps, Localized, ReissuePolicy, RelatedBadge,
            Template, TemplateImage, TemplateSpec, TemplateStatus, Validity, MAX_RELATED,
            MAX_SKILLS,
        },
        text,
        time::parse_date,
        url::WebUrl,
        FieldError,
    },
    http::{
        auth::Caller,
        body::{read_limited, JsonObject},
        error::ApiError,
        etag, if_match,
        input::{merge_patch, reject_read_only, Obj},
        PageQuery,
    },
    store::StoreError,
};
use axum::{
    extract::{Path, Query, Request, State},
    http::{header, HeaderMap, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

const FIELDS: &[&str] = &[
    "name",
    "description",
    "criteria",
    "skills",
    "image",
    "validity",
    "reissue_policy",
    "related",
    "banner",
    "enrolment",
    "follow_ups",
];
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

/// Parses the editable part of a template. `current` is the stored spec on update: an uploaded
/// image can be kept but not invented.
pub fn parse_spec(o: &Obj, current: Option<&TemplateSpec>) -> Result<TemplateSpec, FieldError> {
    o.only(FIELDS)?;
    let name = o.req("name", |s| text::line(s, text::NAME_MAX))?;
    let description = o.req("description", |s| text::paragraph(s, text::DESCRIPTION_MAX))?;
    let criteria = match o.obj("criteria")? {
        Some(c) => {
            c.only(&["narrative", "url"])?;
            Criteria {
                narrative: c.parse("narrative", |s| text::paragraph(s, text::NARRATIVE_MAX))?,
                url: c.parse("url", WebUrl::parse)?,
            }
        }
        None => Criteria::default(),
    };
    if criteria.narrative.is_none() && criteria.url.is_none() {
        return Err(FieldError::new(
            "criteria",
            "describe how the badge is earned: give criteria.narrative, criteria.url, or both",
        ));
    }
    let mut skills: Vec<String> = Vec::new();
    for (i, s) in o.strings("skills", MAX_SKILLS)?.into_iter().enumerate() {
        let s = text::line(s, text::LABEL_MAX).map_err(|e| e.at(format!("skills[{i}]")))?;
        if !skills.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
            skills.push(s);
        }
    }
    let image = match o.obj("image")? {
        None => TemplateImage::Generated,
        Some(img) => match img.req_str("kind")? {
            "generated" => {
                img.only(&["kind"])?;
                TemplateImage::Generated
            }
            "url" => {
                img.only(&["kind", "url"])?;
                TemplateImage::Url {
                    url: img.req("url", WebUrl::parse)?,
                }
            }
            "uploaded" => match current.map(|c| &c.image) {
                Some(keep @ TemplateImage::Uploaded { .. }) => keep.clone(),
                _ => {
                    return Err(FieldError::new(
                        "image.kind",
                        "upload the image with PUT /v1/templates/{id}/image; `uploaded` cannot be set directly",
                    ))
                }
            },
            other => {
                return Err(FieldError::new(
                    "image.kind",
                    format!("`{other}` is not an image kind (generated, url, uploaded)"),
                ))
            }
        },
    };
    let validity = match o.obj("validity")? {
        None => Validity::Never,
        Some(v) => {
            let val = match v.req_str("kind")? {
                "never" => {
                    v.only(&["kind"])?;
                    Validity::Never
                }
                "days_after_issue" => {
                    v.only(&["kind", "days"])?;
                    let days = v.u64("days")?.ok_or_else(|| {
                        FieldError::new("validity.days", "is required").ko(KO_REQUIRED)
                    })?;
                    Validity::DaysAfterIssue {
                        days: u32::try_from(days).unwrap_or(u32::MAX),
                    }
                }
                "fixed_date" => {
                    v.only(&["kind", "date"])?;
                    Validity::FixedDate {
                        date: v.req("date", parse_date)?,
                    }
                }
                other => {
                    return Err(FieldError::new(
                        "validity.kind",
                        format!(
                        "`{other}` is not a validity kind (never, days_after_issue, fixed_date)"
                    ),
                    ))
                }
            };
            val.check().map_err(|e| e.at("validity.days"))?;
            val
        }
    };
    let reissue_policy = match o.str("reissue_policy")? {
        None | Some("allow_multiple") => ReissuePolicy::AllowMultiple,
        Some("one_active_per_recipient") => ReissuePolicy::OneActivePerRecipient,
        Some(other) => {
            return Err(FieldError::new(
                "reissue_policy",
                format!("`{other}` is not a policy (allow_multiple, one_active_per_recipient)"),
            ))
        }
    };
    let mut related: Vec<RelatedBadge> = Vec::new();
    for (i, r) in o.objects("related", MAX_RELATED)?.iter().enumerate() {
        r.only(&["template_id", "label", "enabled"])?;
        let template_id = r.req("template_id", crate::domain::ids::TemplateId::parse)?;
        if related.iter().any(|x| x.template_id == template_id) {
            return Err(FieldError::new(
                format!("related[{i}].template_id"),
                format!("template {template_id} is listed twice"),
            ));
        }
        related.push(RelatedBadge {
            template_id,
            label: r.parse("label", |s| text::line(s, text::LABEL_MAX))?,
            enabled: r.bool("enabled")?.unwrap_or(true),
        });
    }
    let banner = match o.obj("banner")? {
        None => None,
        Some(b) => {
            b.only(&["image", "alt", "target_url", "enabled"])?;
            let image = match b.obj("image")? {
                Some(img) => match img.req_str("kind")? {
                    "url" => {
                        img.only(&["kind", "url"])?;
                        let url = img.req("url", WebUrl::parse)?;
                        if !url.as_str().starts_with("https://") {
                            return Err(FieldError::new("banner.image.url", "the banner image must be an https URL").ko(KO_NOT_A_URL));
                        }
                        TemplateImage::Url { url }
                    }
                    "uploaded" => match current.and_then(|c| c.banner.as_ref()).map(|b| &b.image) {
                        Some(keep @ TemplateImage::Uploaded { .. }) => keep.clone(),
                        _ => {
                            return Err(FieldError::new(
                                "banner.image.kind",
                                "upload the banner with PUT /v1/templates/{id}/banner-image; `uploaded` cannot be set directly",
                            ))
                        }
                    },
                    other => {
                        return Err(FieldError::new("banner.image.kind", format!("`{other}` is not a banner image kind (url, uploaded)")))
                    }
                },
                None => match current.and_then(|c| c.banner.as_ref()).map(|b| &b.image) {
                    Some(keep @ TemplateImage::Uploaded { .. }) => keep.clone(),
                    _ => return Err(FieldError::new("banner.image", "is required: {\"kind\": \"url\", \"url\": \"https://…\"} or an upload").ko(KO_REQUIRED)),
                },
            };
            Some(Banner {
                image,
                alt: b.req("alt", |s| text::line(s, 200))?,
                target_url: b.req("target_url", WebUrl::parse)?,
                enabled: b.bool("enabled")?.unwrap_or(true),
            })
        }
    };
    let enrolment = match o.obj("enrolment")? {
        None => None,
        Some(e) => {
            e.only(&[
                "program_type",
                "program_name",
                "program_url",
                "period",
                "enabled",
            ])?;
            Some(Enrolment {
                program_type: e.parse("program_type", |s| text::line(s, 60))?,
                program_name: e.parse("program_name", |s| text::line(s, text::NAME_MAX))?,
                program_url: e.req("program_url", WebUrl::parse)?,
                period: e.parse("period", |s| text::line(s, 60))?,
                enabled: e.bool("enabled")?.unwrap_or(true),
            })
        }
    };
    let follow_ups = match o.obj("follow_ups")? {
        None => FollowUps::default(),
        Some(f) => {
            f.only(&["day3", "day7", "subject", "intro", "expiry_reminder_days"])?;
            let localized = |name: &str, max: usize| -> Result<Localized, FieldError> {
                match f.obj(name)? {
                    None => Ok(Localized::default()),
                    Some(l) => {
                        l.only(&["ko", "en"])?;
                        Ok(Localized {
                            ko: l.parse("ko", |s| text::paragraph(s, max))?,
                            en: l.parse("en", |s| text::paragraph(s, max))?,
                        })
                    }
                }
            };
            let defaults = FollowUps::default();
            let expiry_reminder_days = if f.present("expiry_reminder_days") {
                match f.u64("expiry_reminder_days")? {
                    None => None,
                    Some(d) if (1..=365).contains(&d) => Some(d as u32),
                    Some(_) => {
                        return Err(FieldError::new(
                            "follow_ups.expiry_reminder_days",
                            "must be 1 to 365 days, or null for no reminder",
                        ))
                    }
                }
            } else {
                defaults.expiry_reminder_days
            };
            FollowUps {
                day3: f.bool("day3")?.unwrap_or(defaults.day3),
                day7: f.bool("day7")?.unwrap_or(defaults.day7),
                subject: localized("subject", 150)?,
                intro: localized("intro", 2_000)?,
                expiry_reminder_days,
            }
        }
    };
    Ok(TemplateSpec {
        name,
        description,
        criteria,
        skills,
        image,
        validity,
        reissue_policy,
        related,
        banner,
        enrolment,
        follow_ups,
    })
}

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

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    let spec = parse_spec(&Obj::root(&body), None)?;
    check_related(&app, &caller, None, &spec).await?;
    let t = Template::new(caller.issuer_id.clone(), spec, chrono::Utc::now());
    app.store.create_template(&t).await?;
    tracing::info!(template = %t.id, "template created");
    Ok(with_etag(&app, &t, StatusCode::CREATED))
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    page: PageQuery,
    status: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") | Some("all") => None,
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
        .list_templates(&caller.issuer_id, q.page.limit()?, q.page.cursor())
        .await?;
    let data = items
        .iter()
        .filter(|t| status.is_none_or(|s| t.status == s))
        .map(|t| template_json(&app, t))
        .collect();
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
    for _ in 0..8 {
        let current = load(&app, &caller, &id).await?;
        if let Some(v) = expected {
            if v != current.version {
                return Err(StoreError::VersionConflict { expected: v }.into());
            }
        }
        let mut doc = spec_doc(&current.spec);
        merge_patch(&mut doc, &patch);
        let obj = doc.as_object().cloned().unwrap_or_default();
        let spec = parse_spec(&Obj::root(&obj), Some(&current.spec))?;
        if spec.related != current.spec.related {
            check_related(&app, &caller, Some(&current.id), &spec).await?;
        }
        let mut next = current.clone();
        next.spec = spec;
        next.version += 1;
        next.updated_at = chrono::Utc::now();
        match app.store.update_template(&next).await {
            Ok(()) => {
                app.forget_template(&next.id);
                return Ok(with_etag(&app, &next, StatusCode::OK));
            }
            Err(StoreError::VersionConflict { .. }) if expected.is_none() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled.into())
}

/// DELETE archives: no new awards, existing awards stay verifiable forever.
pub async fn archive(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    for _ in 0..8 {
        let current = load(&app, &caller, &id).await?;
        if current.status == TemplateStatus::Archived {
            return Ok(with_etag(&app, &current, StatusCode::OK));
        }
        let mut next = current;
        next.status = TemplateStatus::Archived;
        next.version += 1;
        next.updated_at = chrono::Utc::now();
        match app.store.update_template(&next).await {
            Ok(()) => {
                app.forget_template(&next.id);
                return Ok(with_etag(&app, &next, StatusCode::OK));
            }
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled.into())
}

/// What an uploaded image really is, from its first bytes (the Content-Type header is not trusted).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if (head.starts_with("<svg") || head.starts_with("<?xml")) && head.contains("<svg") {
        return Some("image/svg+xml");
    }
    None
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
            "set the banner first (PATCH the template with banner.alt and banner.target_url), then upload its image",
        ));
    }
    let bytes = read_limited(req, MAX_IMAGE_BYTES).await?;
    let content_type = sniff_image(&bytes).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_image",
            "the body is not a PNG, JPEG, WebP or SVG image",
        )
    })?;
    let key = format!(
        "images/{}/{}/{}",
        caller.issuer_id,
        id,
        crate::domain::ids::random_token()
    );
    app.blobs.put(&key, bytes.to_vec(), content_type).await?;
    for _ in 0..8 {
        let current = load(&app, &caller, &id).await?;
        let mut next = current;
        let uploaded = TemplateImage::Uploaded {
            key: key.clone(),
            content_type: content_type.to_owned(),
        };
        match (asset, next.spec.banner.as_mut()) {
            (Asset::BadgeImage, _) => next.spec.image = uploaded,
            (Asset::Banner, Some(b)) => b.image = uploaded,
            (Asset::Banner, None) => {
                return Err(ApiError::conflict(
                    "no_banner",
                    "the banner was removed meanwhile",
                ))
            }
        }
        next.version += 1;
        next.updated_at = chrono::Utc::now();
        match app.store.update_template(&next).await {
            Ok(()) => {
                app.forget_template(&next.id);
                return Ok(with_etag(&app, &next, StatusCode::OK).into_response());
            }
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled.into())
}
