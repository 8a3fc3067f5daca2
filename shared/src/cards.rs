//! PNG pictures made from what the admin gave (served by the verify Lambda): each template's
//! image as PNG, and each award's share card. Both are drawn on their first request and kept in
//! the uploads bucket under `derived/`, at keys that name what was drawn (a hash of the inputs),
//! so a change of image, name, colours or status draws a new one and nothing is ever drawn twice.
//! A hosted badge image (the admin's URL) is never fetched: its PNG is not ours to make (the route
//! redirects) and its card shows the generated design. The issuer's logo, which is always a URL,
//! is fetched for the card through [`crate::outbound`] (public addresses only, no redirects, 5 s,
//! 1 MiB), drawn once and kept. Drawing runs on a blocking thread; pages never wait for it (they
//! only compute the version).

use crate::{
    app::App,
    blobs::BlobError,
    domain::{
        award::Award,
        ids::IssuerId,
        issuer::Issuer,
        template::{Template, TemplateImage},
    },
    render::{
        badge_image,
        card::{self, Card},
        raster::{self, RasterError},
    },
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The largest side of a template's PNG.
pub const BADGE_SIDE: u32 = 600;
/// The largest side of the logo drawn on a card.
const LOGO_SIDE: u32 = 160;
/// The most of a logo that is read.
const LOGO_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("the template's image is missing from the bucket")]
    MissingImage,
    #[error("the template's image cannot be converted: {0}")]
    Raster(#[from] RasterError),
    #[error("drawing stopped: {0}")]
    Panicked(String),
}

/// The bucket key of a template's PNG (see [`card::art_version`]).
pub fn template_png_key(t: &Template, i: &Issuer) -> String {
    format!("derived/templates/{}/{}.png", t.id, card::art_version(t, i))
}

/// A template's picture as PNG (drawn once, then read from the bucket).
pub async fn template_png(app: &App, t: &Template, i: &Issuer) -> Result<Vec<u8>, CardError> {
    let key = template_png_key(t, i);
    if let Some(b) = app.blobs.get(&key).await? {
        return Ok(b.bytes);
    }
    let drawn = match &t.spec.image {
        TemplateImage::Uploaded { key, content_type } => {
            Some(draw_upload(app, key, content_type.clone()).await)
        }
        _ => None,
    };
    // The generated design stands in for an upload that cannot be drawn (too complex, gone) and
    // is kept under the upload's key, so a bad file costs one attempt, not one per request. A
    // failed S3 read is no verdict on the file: it is an error, and nothing is kept.
    let png = match drawn {
        Some(Ok(png)) => png,
        Some(Err(CardError::Blob(e))) => return Err(CardError::Blob(e)),
        other => {
            if let Some(Err(e)) = other {
                tracing::warn!(template = %t.id, error = %e, "PNG drawn from the generated design");
            }
            let svg = generated(t, i);
            draw(move || raster::image_to_png(svg.as_bytes(), "image/svg+xml", BADGE_SIDE)).await?
        }
    };
    app.blobs.put(&key, png.clone(), "image/png").await?;
    Ok(png)
}

async fn draw_upload(app: &App, key: &str, content_type: String) -> Result<Vec<u8>, CardError> {
    let upload = app.blobs.get(key).await?.ok_or(CardError::MissingImage)?;
    draw(move || raster::image_to_png(&upload.bytes, &content_type, BADGE_SIDE)).await
}

fn generated(t: &Template, i: &Issuer) -> String {
    let p = &i.profile;
    badge_image::svg(&t.spec.name, &p.primary_color, &p.accent_color)
}

/// An award's share card, drawn.
pub struct DrawnCard {
    pub version: String,
    pub png: Vec<u8>,
    /// Kept for its version: all of it was drawn, or what is missing cannot be had (a logo at an
    /// inside address, a 404, not an image). A card whose issuer's logo failed for now (a
    /// timeout, a 5xx) is not kept, so a later request draws it with the logo.
    pub whole: bool,
}

/// The award's share card as PNG, with its version (drawn once per version).
pub async fn card_png(
    app: &App,
    a: &Award,
    t: &Template,
    i: &Issuer,
    now: DateTime<Utc>,
) -> Result<DrawnCard, CardError> {
    let card = Card::of(a, t, i, now);
    let version = card.version(&card::art_version(t, i));
    let key = format!("derived/cards/{}/{version}.png", a.id);
    if let Some(b) = app.blobs.get(&key).await? {
        let png = b.bytes;
        return Ok(DrawnCard {
            version,
            png,
            whole: true,
        });
    }
    let image = template_png(app, t, i).await?;
    let (logo, whole) = match card.logo.as_deref() {
        None => (None, true),
        Some(url) => match logo_png(app, &i.id, url).await {
            Ok(png) => (Some(data_url(&png)), true),
            // A logo that cannot be had for good (an inside address, a 404, not an image, too
            // large) leaves the card without it, kept; one that failed for now (a timeout, a 5xx)
            // leaves this drawing unkept, so a later request draws it with the logo.
            Err(Missing { for_now }) => (None, !for_now),
        },
    };
    let png = draw(move || {
        let svg = card.svg(&data_url(&image), logo.as_deref());
        raster::svg_to_png(svg.as_bytes(), card::WIDTH, card::HEIGHT)
    })
    .await?;
    if whole {
        app.blobs.put(&key, png.clone(), "image/png").await?;
    }
    Ok(DrawnCard {
        version,
        png,
        whole,
    })
}

/// Why a card goes without its logo: for now (a timeout, a 5xx, storage failing) or for good.
struct Missing {
    for_now: bool,
}

/// The issuer's logo as PNG (kept under the URL's hash), or why not — a card without a logo —
/// when it cannot be had: not a public address, not a 200, over 1 MiB, not an image we draw. A
/// failure is logged, not kept.
async fn logo_png(app: &App, issuer: &IssuerId, url: &str) -> Result<Vec<u8>, Missing> {
    let key = format!("derived/logos/{issuer}/{}.png", card::short_hash(&[url]));
    let no_logo = |why: String, for_now: bool| {
        tracing::warn!(issuer = %issuer, url, why, for_now, "card drawn without the logo");
        Err(Missing { for_now })
    };
    match app.blobs.get(&key).await {
        Ok(Some(b)) => return Ok(b.bytes),
        Ok(None) => {}
        Err(e) => return no_logo(e.to_string(), true),
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return no_logo("not a URL".into(), false);
    };
    let body = match app
        .outbound
        .get(&parsed, Duration::from_secs(5), LOGO_BYTES)
        .await
    {
        Ok(a) if a.status == 200 && a.complete => a.body,
        Ok(a) => {
            let too_large = a.body.len() >= LOGO_BYTES;
            let for_now = a.status == 429 || a.status >= 500 || (a.status == 200 && !too_large);
            let whole = if a.complete { "" } else { " (not all of it)" };
            let why = format!("HTTP {} with {} bytes{whole}", a.status, a.body.len());
            return no_logo(why, for_now);
        }
        Err(e) => {
            let for_now = !matches!(e, crate::outbound::OutboundError::Refused(_));
            return no_logo(e.to_string(), for_now);
        }
    };
    let Some(content_type) = raster::sniff(&body) else {
        return no_logo("not a PNG, JPEG, WebP or SVG image".into(), false);
    };
    let png = match draw(move || raster::image_to_png(&body, content_type, LOGO_SIDE)).await {
        Ok(png) => png,
        Err(e) => return no_logo(e.to_string(), false),
    };
    if let Err(e) = app.blobs.put(&key, png.clone(), "image/png").await {
        tracing::warn!(issuer = %issuer, error = %e, "logo not kept");
    }
    Ok(png)
}

fn data_url(png: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// Runs a drawing off the async threads.
async fn draw(
    f: impl FnOnce() -> Result<Vec<u8>, RasterError> + Send + 'static,
) -> Result<Vec<u8>, CardError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CardError::Panicked(e.to_string()))?
        .map_err(CardError::from)
}
