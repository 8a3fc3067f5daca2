//! Issue #19: share cards (`/b/{id}/card.png`) that link previews can show, and every template
//! image as PNG (`/templates/{id}/image.png`), drawn by the verify function as its own principal
//! (S3 `derived/*`) and decoded here by the `png` crate.

use accolade_tests::{spawn_app, template_body, Response, StatusCode, TestApp};
use axum::{body::Body, http::Request};
use serde_json::{json, Value};

/// Width, height and RGBA pixels of a PNG (any colour type, expanded to 8-bit RGBA).
fn decode(png: &[u8]) -> (u32, u32, Vec<[u8; 4]>) {
    let mut d = png::Decoder::new(std::io::Cursor::new(png));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut r = d.read_info().expect("a PNG");
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).expect("a PNG that decodes");
    let px = buf[..info.buffer_size()]
        .chunks(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect();
    (info.width, info.height, px)
}

/// The `content` of the first `<meta {attr}="{name}">` of a page.
fn meta(html: &str, attr: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("<meta {attr}=\"{name}\" content=\""))?;
    let rest = &html[at..];
    let start = rest.find("content=\"")? + "content=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].replace("&amp;", "&"))
}

async fn issuer(t: &TestApp, profile: Value) -> (String, Value) {
    let (_, key) = t.issuer("한빛대학교 평생교육원").await;
    let r = t
        .call("PATCH", "/v1/issuer", Some(&key), Some(profile))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let tpl = t
        .create_template(&key, template_body("데이터 분석 기초 과정"))
        .await;
    (key, tpl)
}

async fn award(t: &TestApp, key: &str, tpl: &Value, name: &str) -> String {
    let a = t
        .issue(key, json!({"template_id": tpl["id"], "issued_on": "2026-03-02", "recipient": {"email": "card@example.com", "name": name}}))
        .await;
    a["id"].as_str().unwrap().to_owned()
}

/// The page's `og:image`, fetched as a link preview would.
async fn card_of(t: &TestApp, award: &str) -> (String, Response) {
    let html = t.browse(&format!("/b/{award}")).await.text();
    let url = meta(&html, "property", "og:image").expect("og:image");
    let card = t.browse(&t.path_of(&url)).await;
    (url, card)
}

#[tokio::test]
async fn the_badge_page_unfurls_as_a_1200_by_630_png_card_with_hangul_drawn() {
    let t = spawn_app().await;
    let (key, tpl) = issuer(&t, json!({"primary_color": "#1a4d8f"})).await;
    let id = award(&t, &key, &tpl, "김민수").await;
    let html = t.browse(&format!("/b/{id}")).await.text();
    let url = meta(&html, "property", "og:image").unwrap();
    assert!(
        url.starts_with(&format!("{}/b/{id}/card/", t.base_url)) && url.ends_with(".png"),
        "absolute, versioned: {url}"
    );
    assert_eq!(meta(&html, "name", "twitter:image"), Some(url.clone()));
    assert_eq!(
        meta(&html, "name", "twitter:card").as_deref(),
        Some("summary_large_image")
    );
    assert_eq!(
        meta(&html, "property", "og:image:width").as_deref(),
        Some("1200")
    );
    assert_eq!(
        meta(&html, "property", "og:image:height").as_deref(),
        Some("630")
    );
    assert_eq!(
        meta(&html, "property", "og:image:type").as_deref(),
        Some("image/png")
    );
    assert_eq!(
        meta(&html, "property", "og:url"),
        Some(format!("{}/b/{id}", t.base_url))
    );
    let card = t.browse(&t.path_of(&url)).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.text());
    assert_eq!(card.header("content-type"), Some("image/png"));
    // A day, not for good: a cache in front asks again and meets a masked name or a revocation.
    assert_eq!(card.header("cache-control"), Some("public, max-age=86400"));
    let (w, h, px) = decode(&card.body);
    assert_eq!((w, h), (1200, 630));
    // The badge's name (white on the primary colour) fills part of its box: glyphs, drawn.
    let white_in = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| px[(y * w + x) as usize][..3].iter().all(|&c| c > 200))
            .count()
    };
    let name_box = white_in(540, 180, 1140, 330);
    assert!(
        name_box > 3_000,
        "the name's glyphs are drawn ({name_box} px)"
    );
    assert_eq!(white_in(500, 0, 1200, 60), 0, "nothing above the text");
    // Kept in the bucket, at a key named by the card's version.
    let version = url.rsplit('/').next().unwrap().trim_end_matches(".png");
    let kept = accolade::aws::s3(&t.sdk)
        .head_object()
        .bucket(&t.names.bucket)
        .key(format!("derived/cards/{id}/{version}.png"))
        .send()
        .await;
    assert!(kept.is_ok(), "the card is kept: {kept:?}");
    // Asked again (or without the version): the same picture, now from the bucket.
    let again = t.browse(&format!("/b/{id}/card.png")).await;
    assert_eq!(again.body, card.body);
    assert_eq!(again.header("cache-control"), Some("public, max-age=300"));
}

#[tokio::test]
async fn a_masked_name_never_shows_in_full_on_the_card() {
    let t = spawn_app().await;
    // Masked, "김민수" and "김철수" both show as "김*수": their cards are the same picture.
    let (key, tpl) = issuer(&t, json!({"mask_recipient_names": true})).await;
    let a = award(&t, &key, &tpl, "김민수").await;
    let b = award(&t, &key, &tpl, "김철수").await;
    let (ua, ca) = card_of(&t, &a).await;
    let (ub, cb) = card_of(&t, &b).await;
    assert_eq!(ca.status, StatusCode::OK);
    assert_eq!(ca.body, cb.body, "only the masked name is drawn");
    let version = |url: &str| url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(version(&ua), version(&ub), "the same version");
    // Unmasked, the same two names make two different cards (the comparison can fail).
    let (key, tpl) = issuer(&t, json!({"mask_recipient_names": false})).await;
    let a = award(&t, &key, &tpl, "김민수").await;
    let b = award(&t, &key, &tpl, "김철수").await;
    let ((_, ca), (_, cb)) = (card_of(&t, &a).await, card_of(&t, &b).await);
    assert_ne!(ca.body, cb.body);
}

#[tokio::test]
async fn a_revoked_badge_gets_a_new_card_at_a_new_url() {
    let t = spawn_app().await;
    let (key, tpl) = issuer(&t, json!({"default_locale": "en"})).await;
    let id = award(&t, &key, &tpl, "Rae Kim").await;
    let (before_url, before) = card_of(&t, &id).await;
    let r = t
        .call(
            "POST",
            &format!("/v1/awards/{id}/revoke"),
            Some(&key),
            Some(json!({"reason": "Issued to the wrong person"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = t
        .browse_until(&format!("/b/{id}"), |r| r.text().contains("Revoked"))
        .await
        .text();
    let after_url = meta(&page, "property", "og:image").unwrap();
    assert_ne!(
        after_url, before_url,
        "a new version, so previews fetch it again"
    );
    let after = t.browse(&t.path_of(&after_url)).await;
    assert_eq!(decode(&after.body).0, 1200);
    assert_ne!(after.body, before.body);
    // The old URL now answers the current card, and only for five minutes.
    let old = t.browse(&t.path_of(&before_url)).await;
    assert_eq!(old.body, after.body);
    assert_eq!(old.header("cache-control"), Some("public, max-age=300"));
}

/// A web server on this machine that answers every request with `body` (a PNG), counting them.
async fn logo_server(body: Vec<u8>) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    logo_server_down_for(body, 0).await
}

/// A logo server answering 503 to its first `down` requests.
async fn logo_server_down_for(
    body: Vec<u8>,
    down: usize,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            if n < down {
                let _ = tcp
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                continue;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = tcp.write_all(head.as_bytes()).await;
            let _ = tcp.write_all(&body).await;
        }
    });
    (port, served)
}

#[tokio::test]
async fn the_issuers_logo_is_drawn_when_it_can_be_fetched_and_left_out_when_not() {
    let t = spawn_app().await;
    let images = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
    let (port, served) = logo_server(std::fs::read(images.join("badge.png")).unwrap()).await;
    // The logo box's middle: orange (the logo) with a logo, the primary colour without.
    let middle = |png: &[u8]| {
        let (w, _, px) = decode(png);
        px[(92 * w + 576) as usize]
    };
    let orange = |p: [u8; 4]| p[0] > 200 && p[1] > 120 && p[1] < 200 && p[2] < 80;
    let logo = format!("http://localhost:{port}/logo.png");
    let (key, tpl) = issuer(&t, json!({"logo_url": logo})).await;
    let id = award(&t, &key, &tpl, "김민수").await;
    let (_, card) = card_of(&t, &id).await;
    assert_eq!(card.status, StatusCode::OK, "{}", card.text());
    assert!(orange(middle(&card.body)), "{:?}", middle(&card.body));
    // The logo is kept: another award's card does not fetch it again.
    let fetched = served.load(std::sync::atomic::Ordering::SeqCst);
    let other = award(&t, &key, &tpl, "이영희").await;
    assert!(orange(middle(&card_of(&t, &other).await.1.body)));
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), fetched);
    // Inside addresses are never fetched (127.0.0.1 is not the local stack's allowed host):
    // the card comes without the logo.
    let inside = format!("http://127.0.0.1:{port}/logo.png");
    let (key, tpl) = issuer(&t, json!({"logo_url": inside})).await;
    let id = award(&t, &key, &tpl, "김민수").await;
    let (_, card) = card_of(&t, &id).await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(!orange(middle(&card.body)), "{:?}", middle(&card.body));
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), fetched);
    // Never to be had, that logo: the card without it is kept (drawn once) and cached a day.
    assert_eq!(card.header("cache-control"), Some("public, max-age=86400"));
}

/// A logo that could not be fetched once (its host briefly down) is not left off the card for
/// good: that card is served for five minutes and not kept, and the next request draws it with
/// the logo, cached a day.
#[tokio::test]
async fn a_card_drawn_without_its_logo_is_not_kept_and_the_next_request_draws_it() {
    let t = spawn_app().await;
    let images = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
    let logo = std::fs::read(images.join("badge.png")).unwrap();
    let (port, _) = logo_server_down_for(logo, 1).await;
    let middle = |png: &[u8]| {
        let (w, _, px) = decode(png);
        px[(92 * w + 576) as usize]
    };
    let orange = |p: [u8; 4]| p[0] > 200 && p[1] > 120 && p[1] < 200 && p[2] < 80;
    let url = format!("http://localhost:{port}/logo.png");
    let (key, tpl) = issuer(&t, json!({"logo_url": url})).await;
    let id = award(&t, &key, &tpl, "김민수").await;
    let (card_url, first) = card_of(&t, &id).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!orange(middle(&first.body)), "drawn without the logo");
    assert_eq!(first.header("cache-control"), Some("public, max-age=300"));
    let again = t.browse(&t.path_of(&card_url)).await;
    assert!(orange(middle(&again.body)), "{:?}", middle(&again.body));
    assert_eq!(again.header("cache-control"), Some("public, max-age=86400"));
}

fn upload(id: &str, key: &str, content_type: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("PUT")
        .uri(format!("/v1/templates/{id}/image"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type)
        .body(Body::from(bytes))
        .unwrap()
}

#[tokio::test]
async fn every_kind_of_template_image_is_served_as_png() {
    let t = spawn_app().await;
    let (_, key) = t.issuer("U").await;
    let tpl = t.create_template(&key, template_body("Pic")).await;
    let id = tpl["id"].as_str().unwrap();
    // The generated design (SVG) as a 600×600 PNG; the Open Badges class points at it.
    let png = t.browse(&format!("/templates/{id}/image.png")).await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text());
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(decode(&png.body).0, 600);
    let class = t.browse(&format!("/templates/{id}.json")).await.json();
    assert_eq!(
        class["image"],
        format!("{}/templates/{id}/image.png", t.base_url)
    );
    let images = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
    let file = |name: &str| std::fs::read(images.join(name)).unwrap();
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 20"><rect width="10" height="20" fill="#f2a900"/></svg>"##;
    let cases: Vec<(&str, Vec<u8>, (u32, u32))> = vec![
        ("image/png", file("badge.png"), (256, 256)),
        ("image/jpeg", file("badge.jpg"), (300, 200)),
        ("image/jpeg", file("badge-progressive.jpg"), (300, 200)),
        ("image/jpeg", file("badge-cmyk.jpg"), (300, 200)),
        ("image/webp", file("badge.webp"), (200, 300)),
        ("image/webp", file("badge-alpha.webp"), (200, 300)),
        ("image/svg+xml", svg.to_vec(), (300, 600)),
    ];
    for (content_type, bytes, size) in cases {
        // A template of its own, never shown before its upload (so no cache has it).
        let tpl = t.create_template(&key, template_body("Pic")).await;
        let id = tpl["id"].as_str().unwrap();
        let r = t.send(upload(id, &key, content_type, bytes)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let png = t.browse(&format!("/templates/{id}/image.png")).await;
        assert_eq!(png.status, StatusCode::OK, "{content_type}: {}", png.text());
        let (w, h, px) = decode(&png.body);
        assert_eq!((w, h), size, "{content_type}");
        let centre = px[(h / 2 * w + w / 2) as usize];
        assert!(
            centre[3] > 0 && centre[0] > 200,
            "{content_type}: drawn, orange in the middle"
        );
    }
    // An image too big to draw, or whose size cannot be read, is refused at upload, by name.
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    huge.extend(20_000u32.to_be_bytes());
    huge.extend(20_000u32.to_be_bytes());
    huge.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let r = t.send(upload(id, &key, "image/png", huge)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "image_too_large");
    assert!(r.text().contains("20000×20000"), "{}", r.text());
    let r = t
        .send(upload(id, &key, "image/jpeg", b"\xFF\xD8\xFF".to_vec()))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "unreadable_image");
    // A hosted image is the admin's: its PNG URL redirects there.
    let mut body = template_body("Hosted");
    body["image"] = json!({"kind": "url", "url": "https://cdn.example.org/b.png"});
    let tpl = t.create_template(&key, body).await;
    let r = t
        .browse(&format!(
            "/templates/{}/image.png",
            tpl["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.header("location"), Some("https://cdn.example.org/b.png"));
}
