//! Draws a share card (Korean, valid) and one in English (revoked) as a fresh process would:
//! the first includes inflating the embedded fonts. Prints each PNG's size and time and the
//! process's peak memory, and writes the PNGs to OUT_DIR (the README shows one):
//! `cargo run --release -p accolade --example card -- OUT_DIR` (run by `make bench`).

// A tool: a failed unwrap stops it with its message.
#![allow(clippy::unwrap_used)]

use accolade::domain::{color::Color, locale::Locale};
use accolade::render::{
    badge_image,
    card::{Card, CardStatus, HEIGHT, WIDTH},
    raster,
};
use std::time::Instant;

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let primary = Color::parse("#1a4d8f").unwrap();
    let accent = Color::parse("#f2a900").unwrap();
    let started = Instant::now();
    let svg = badge_image::svg("데이터 분석 기초", &primary, &accent);
    let badge = raster::image_to_png(svg.as_bytes(), "image/svg+xml", 600).unwrap();
    let ms = |i: Instant| i.elapsed().as_secs_f64() * 1000.0;
    println!(
        "| template PNG (600×600, first drawing: fonts inflated) | {:.1} ms | {} KB |",
        ms(started),
        badge.len() / 1024
    );
    let logo_svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle cx="32" cy="32" r="30" fill="#1a4d8f"/><text x="32" y="42" text-anchor="middle" font-size="28" font-weight="700" fill="#f2a900">한빛</text></svg>"##;
    let logo = raster::image_to_png(logo_svg.as_bytes(), "image/svg+xml", 160).unwrap();
    for (name, locale, status) in [
        ("card-ko", Locale::Ko, CardStatus::Valid),
        ("card-en-revoked", Locale::En, CardStatus::Revoked),
    ] {
        let card = Card {
            badge_name: "데이터 분석 기초 과정 (Data Analysis Foundations)".into(),
            recipient: "김*수".into(),
            issuer_name: "한빛대학교 평생교육원".into(),
            logo: Some("https://example.ac.kr/logo.svg".into()),
            issued: "2026년 3월 1일".into(),
            status,
            primary: primary.clone(),
            accent: accent.clone(),
            locale,
        };
        let started = Instant::now();
        let png = raster::svg_to_png(
            card.svg(&data_url(&badge), Some(&data_url(&logo)))
                .as_bytes(),
            WIDTH,
            HEIGHT,
        )
        .unwrap();
        println!(
            "| {name}.png (1200×630) | {:.1} ms | {} KB |",
            ms(started),
            png.len() / 1024
        );
        std::fs::write(format!("{out}/{name}.png"), png).unwrap();
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?");
    println!(
        "| peak resident memory of this process | {} | |",
        peak.trim_start_matches("VmHWM:").trim()
    );
}

fn data_url(png: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}
