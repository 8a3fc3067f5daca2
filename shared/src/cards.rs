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
    /// Kept for its version: all of it was drawn. A card whose issuer's logo could not be
    /// fetched just now is not kept, so a later request draws it with the logo.
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
    let logo = match card.logo.as_deref() {
        Some(url) => logo_png(app, &i.id, url).await.map(|png| data_url(&png)),
        None => None,
    };
    let whole = card.logo.is_none() || logo.is_some();
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

/// The issuer's logo as PNG (kept under the URL's hash), or `None` — a card without a logo — when
/// it cannot be had: not a public address, not a 200, over 1 MiB, not an image we draw. A
/// failure is logged, not kept: the card's next request tries again.
async fn logo_png(app: &App, issuer: &IssuerId, url: &str) -> Option<Vec<u8>> {
    let key = format!("derived/logos/{issuer}/{}.png", card::short_hash(&[url]));
    let no_logo = |why: String| {
        tracing::warn!(issuer = %issuer, url, why, "card drawn without the logo");
        None
    };
    match app.blobs.get(&key).await {
        Ok(Some(b)) => return Some(b.bytes),
        Ok(None) => {}
        Err(e) => return no_logo(e.to_string()),
    }
    let parsed = url::Url::parse(url).ok()?;
    let body = match app
        .outbound
        .get(&parsed, Duration::from_secs(5), LOGO_BYTES)
        .await
    {
        Ok(a) if a.status == 200 && a.complete => a.body,
        Ok(a) => {
            let whole = if a.complete { "" } else { " (not all of it)" };
            return no_logo(format!(
                "HTTP {} with {} bytes{whole}",
                a.status,
                a.body.len()
            ));
        }
        Err(e) => return no_logo(e.to_string()),
    };
    let Some(content_type) = raster::sniff(&body) else {
        return no_logo("not a PNG, JPEG, WebP or SVG image".into());
    };
    let png = match draw(move || raster::image_to_png(&body, content_type, LOGO_SIDE)).await {
        Ok(png) => png,
        Err(e) => return no_logo(e.to_string()),
    };
    if let Err(e) = app.blobs.put(&key, png.clone(), "image/png").await {
        tracing::warn!(issuer = %issuer, error = %e, "logo not kept");
    }
    Some(png)
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
