use crate::{
    app::App,
    domain::{
        color::Color,
        email::Email,
        issuer::{Issuer, IssuerProfile, LinkedInOrgId},
        json::{merge_patch, reject_read_only, Obj},
        locale::Locale,
        text,
        time::Zone,
        url::WebUrl,
        FieldError,
    },
    http::{auth::Caller, body::JsonObject, error::ApiError, etag, if_match},
};
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::IntoResponse,
    Json,
};
use serde_json::{json, Value};

const FIELDS: &[&str] = &[
    "name",
    "url",
    "email",
    "description",
    "logo_url",
    "seal_url",
    "primary_color",
    "accent_color",
    "default_locale",
    "time_zone",
    "linkedin_organization_id",
    "mask_recipient_names",
    "weekly_digest",
    "digest_recipients",
];
const READ_ONLY: &[&str] = &["id", "version", "created_at", "updated_at", "urls"];

/// Parses the editable issuer profile (create, or the merged result of a PATCH).
pub fn parse_profile(o: &Obj) -> Result<IssuerProfile, FieldError> {
    o.only(FIELDS)?;
    let mut p = IssuerProfile::new(
        o.req("name", |s| text::line(s, text::NAME_MAX))?,
        o.req("url", WebUrl::parse)?,
        o.req("email", Email::parse)?,
    );
    p.description = o.parse("description", |s| text::paragraph(s, text::DESCRIPTION_MAX))?;
    p.logo_url = o.parse("logo_url", WebUrl::parse)?;
    p.seal_url = o.parse("seal_url", WebUrl::parse)?;
    if let Some(c) = o.parse("primary_color", Color::parse)? {
        p.primary_color = c;
    }
    if let Some(c) = o.parse("accent_color", Color::parse)? {
        p.accent_color = c;
    }
    if let Some(l) = o.parse("default_locale", Locale::parse)? {
        p.default_locale = l;
    }
    if let Some(z) = o.parse("time_zone", Zone::parse)? {
        p.time_zone = z;
    }
    p.linkedin_organization_id = o.parse("linkedin_organization_id", LinkedInOrgId::parse)?;
    p.mask_recipient_names = o.bool("mask_recipient_names")?.unwrap_or(false);
    p.weekly_digest = o.bool("weekly_digest")?.unwrap_or(true);
    for (i, raw) in o.strings("digest_recipients", 10)?.into_iter().enumerate() {
        let e = Email::parse(raw).map_err(|e| e.at(format!("digest_recipients[{i}]")))?;
        if !p.digest_recipients.contains(&e) {
            p.digest_recipients.push(e);
        }
    }
    Ok(p)
}

pub fn issuer_json(app: &App, i: &Issuer) -> Value {
    let mut v = serde_json::to_value(&i.profile).unwrap_or_else(|_| json!({}));
    v["id"] = json!(i.id);
    v["version"] = json!(i.version);
    v["created_at"] = json!(i.created_at);
    v["updated_at"] = json!(i.updated_at);
    v["urls"] = json!({ "open_badges_profile": app.urls().issuer_json(&i.id) });
    v
}

async fn load(app: &App, caller: &Caller) -> Result<Issuer, ApiError> {
    app.store
        .get_issuer(&caller.issuer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("issuer"))
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn get_issuer(
    State(app): State<App>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let i = load(&app, &caller).await?;
    Ok((
        [(header::ETAG, etag(i.version))],
        Json(issuer_json(&app, &i)),
    ))
}

#[tracing::instrument(skip_all, fields(issuer = %caller.issuer_id))]
pub async fn patch_issuer(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(patch): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    reject_read_only(&patch, READ_ONLY)?;
    let expected = if_match(&headers)?;
    let patch = Value::Object(patch);
    for _ in 0..5 {
        let current = load(&app, &caller).await?;
        if let Some(v) = expected {
            if v != current.version {
                return Err(crate::store::StoreError::VersionConflict { expected: v }.into());
            }
        }
        let mut doc = serde_json::to_value(&current.profile).map_err(|_| ApiError::internal())?;
        merge_patch(&mut doc, &patch);
        let obj = doc.as_object().cloned().unwrap_or_default();
        let profile = parse_profile(&Obj::root(&obj))?;
        let mut next = current.clone();
        next.profile = profile;
        next.version += 1;
        next.updated_at = chrono::Utc::now();
        match app.store.update_issuer(&next).await {
            Ok(()) => {
                app.forget_issuer(&next.id);
                return Ok((
                    [(header::ETAG, etag(next.version))],
                    Json(issuer_json(&app, &next)),
                ));
            }
            Err(crate::store::StoreError::VersionConflict { .. }) if expected.is_none() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::store::StoreError::Throttled.into())
}
