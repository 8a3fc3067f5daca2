//! Page and JSON rendering cost, one core, no I/O: `cargo bench -p accolade --bench render`.

// A benchmark is a tool: a failed unwrap stops it with its message.
#![allow(clippy::unwrap_used)]

mod common;

use accolade::{
    openbadges,
    render::{badge_image, badge_page, card, qr, raster},
    urls::PublicUrls,
};
use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let (award, template, issuer) = common::fixture();
    let urls = PublicUrls::new("https://badges.example.ac.kr");
    let now = Utc::now();
    c.bench_function("badge_page_html", |b| {
        b.iter(|| {
            let page = badge_page::BadgePage {
                award: &award,
                template: &template,
                issuer: &issuer,
                urls,
                now,
                recommendations: &[],
            };
            black_box(badge_page::render(&page).into_string())
        });
    });
    c.bench_function("ob2_assertion_json", |b| {
        b.iter(|| black_box(openbadges::assertion(&urls, &award, now).to_string()));
    });
    c.bench_function("generated_badge_svg", |b| {
        b.iter(|| {
            black_box(badge_image::svg(
                &template.spec.name,
                &issuer.profile.primary_color,
                &issuer.profile.accent_color,
            ))
        });
    });
    let badge_svg = badge_image::svg(
        &template.spec.name,
        &issuer.profile.primary_color,
        &issuer.profile.accent_color,
    );
    c.bench_function("template_png_from_generated_svg", |b| {
        b.iter(|| {
            black_box(raster::image_to_png(
                badge_svg.as_bytes(),
                "image/svg+xml",
                600,
            ))
        });
    });
    let badge_png = raster::image_to_png(badge_svg.as_bytes(), "image/svg+xml", 600).unwrap();
    let inlined = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&badge_png);
        format!("data:image/png;base64,{b64}")
    };
    c.bench_function("share_card_png", |b| {
        b.iter(|| {
            let svg = card::Card::of(&award, &template, &issuer, now).svg(&inlined, None);
            black_box(raster::svg_to_png(svg.as_bytes(), card::WIDTH, card::HEIGHT).unwrap())
        });
    });
    c.bench_function("share_card_version", |b| {
        b.iter(|| black_box(card::version_of(&award, &template, &issuer, now)));
    });
    let page_url = urls.award_page(&award.id);
    c.bench_function("qr_svg", |b| {
        b.iter(|| black_box(qr::svg(&page_url).unwrap()));
    });
    c.bench_function("qr_png", |b| {
        b.iter(|| black_box(qr::png(&page_url, 8).unwrap()));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
