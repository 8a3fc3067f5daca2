//! The Open Badges 3.0 routes: `/b/{id}/credential.json`, the baked images, the issuer's DID
//! document and status lists. Errors name the problem; a store or KMS failure is a 503.

use super::PublicError;
use crate::{
    app::App,
    baking::{self, BakeError},
    cards,
    credentials::{self, CredentialError},
    domain::{
        award::Award,
        ids::IssuerId,
        issuer::Issuer,
        template::{Template, TemplateImage},
    },
    ob3,
    render::badge_image,
};
use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

/// Verifiers fetch status lists fresh; a minute of caching keeps a revocation visible quickly.
const STATUS_CACHE: &str = "public, max-age=60";
/// A stored credential changes only when its key is retired (signed again); its status lives in
/// the status list.
const CREDENTIAL_CACHE: &str = "public, max-age=300";

/// An error in JSON, readable by a verifier in a browser (CORS, as the documents themselves): a
/// revoked badge's 410 must reach it as "revoked", not as a network error.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn failed(e: &CredentialError) -> Response {
    match e {
        CredentialError::Gone => error(
            StatusCode::GONE,
            "revoked",
            "this badge was revoked or replaced: no verifiable credential is issued for it",
        ),
        CredentialError::NoSuchList => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the issuer has no such status list",
        ),
        other => {
            tracing::error!(error = %other, "credential unavailable");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the credential could not be produced just now; retry in a few seconds",
            )
        }
    }
}

fn ld(body: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ob3::CONTENT_TYPE),
            (header::CACHE_CONTROL, cache),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

/// A credential already signed and stored.
pub(super) fn stored(json: String) -> Response {
    ld(json, CREDENTIAL_CACHE)
}

/// The credential JSON, or one of the baked images (`badge.png` / `badge.svg` with the OB 3.0
/// credential, `badge-ob2.*` with the OB 2.0 assertion URL).
pub(super) async fn serve(
    app: &App,
    a: &Award,
    t: &Template,
    i: &Issuer,
    file: &str,
    not_found: PublicError,
) -> Result<Response, PublicError> {
    let (text, ob3) = if file.starts_with("badge-ob2.") {
        (app.urls().award_json(&a.id), false)
    } else {
        match credentials::credential(app, a, t, i).await {
            Ok(json) => (json, true),
            Err(e) => return Ok(failed(&e)),
        }
    };
    if file == "credential.json" {
        return Ok(ld(text, CREDENTIAL_CACHE));
    }
    let Some((mut content_type, mut image)) = badge_bytes(app, t, i).await? else {
        return Err(not_found);
    };
    // A PNG is baked into the template's PNG copy whatever was uploaded (or generated).
    if file.ends_with(".png") && content_type != "image/png" {
        image = cards::template_png(app, t, i).await.map_err(|e| {
            tracing::error!(error = %e, template = %t.id, "template PNG failed");
            PublicError::Unavailable
        })?;
        content_type = "image/png".into();
    }
    let baked = match (file.ends_with(".png"), content_type.as_str(), ob3) {
        (true, "image/png", true) => baking::bake_png(&image, baking::OB3_KEYWORD, &text),
        (true, "image/png", false) => baking::bake_png(&image, baking::OB2_KEYWORD, &text),
        (false, "image/svg+xml", true) => svg(&image)
            .and_then(|s| baking::bake_svg_credential(&s, &text))
            .map(String::into_bytes),
        (false, "image/svg+xml", false) => svg(&image)
            .and_then(|s| baking::bake_svg_assertion(&s, &text))
            .map(String::into_bytes),
        _ => {
            let want = if file.ends_with(".png") { "PNG" } else { "SVG" };
            let message = format!(
                "this badge's image is {content_type}, not {want}: download badge.{} instead",
                if want == "PNG" { "svg" } else { "png" }
            );
            return Ok(error(StatusCode::NOT_FOUND, "other_format", &message));
        }
    };
    match baked {
        Ok(bytes) => Ok(super::image_response(content_type, bytes)),
        Err(e) => Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_bakeable",
            &e.to_string(),
        )),
    }
}

fn svg(bytes: &[u8]) -> Result<String, BakeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| BakeError::NotSvg)
}

/// The template's image and its content type: the uploaded file, or the generated SVG. A hosted
/// image (a URL elsewhere) is not fetched: `None`.
async fn badge_bytes(
    app: &App,
    t: &Template,
    i: &Issuer,
) -> Result<Option<(String, Vec<u8>)>, PublicError> {
    match &t.spec.image {
        TemplateImage::Generated => Ok(Some((
            "image/svg+xml".into(),
            badge_image::svg(
                &t.spec.name,
                &i.profile.primary_color,
                &i.profile.accent_color,
            )
            .into_bytes(),
        ))),
        TemplateImage::Uploaded { key, content_type } => match app.blobs.get(key).await {
            Ok(Some(b)) => Ok(Some((content_type.clone(), b.bytes))),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "image read failed");
                Err(PublicError::Unavailable)
            }
        },
        TemplateImage::Url { .. } => Ok(None),
    }
}

pub(super) async fn did_document(app: &App, issuer: &IssuerId) -> Result<Response, PublicError> {
    match credentials::did_document(app, issuer).await {
        Ok(doc) => Ok((
            [
                (header::CONTENT_TYPE, "application/did+ld+json"),
                (header::CACHE_CONTROL, STATUS_CACHE),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            doc.to_string(),
        )
            .into_response()),
        Err(e) => Ok(failed(&e)),
    }
}

pub(super) async fn status_list(
    app: &App,
    issuer: &IssuerId,
    list: u32,
) -> Result<Response, PublicError> {
    match credentials::status_list(app, issuer, list).await {
        Ok(json) => Ok(ld(json, STATUS_CACHE)),
        Err(e) => Ok(failed(&e)),
    }
}
