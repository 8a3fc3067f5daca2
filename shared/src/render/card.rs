//! The share card (`/b/{id}/card.png`): a 1200×630 picture for link previews (LinkedIn,
//! KakaoTalk, Facebook, X, Slack), with the badge image, its name, the recipient's public name,
//! the issuer, the issue date and the award's status, in the issuer's colours.
//!
//! The card is an SVG drawn by [`super::raster`]. Its text with the image left out
//! ([`Card::svg`] with [`IMAGE_SLOT`]) is also its identity: [`Card::version`] hashes it, so
//! anything that changes what the card shows (a revocation, the issuer's colours, a renamed
//! badge, this layout) changes the version, and nothing else does.

use super::{
    i18n,
    text::{fit, width, wrap},
};
use crate::domain::{
    award::{Award, AwardStatus},
    color::Color,
    issuer::Issuer,
    locale::Locale,
    mask::mask_name,
    template::{Template, TemplateImage},
};
use chrono::{DateTime, Utc};
use maud::html;
use sha2::{Digest, Sha256};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;
/// Where the badge image's URL goes in [`Card::svg`].
pub const IMAGE_SLOT: &str = "accolade:badge-image";
/// Where the issuer logo's URL goes in [`Card::svg`].
pub const LOGO_SLOT: &str = "accolade:logo";

/// Bumped when drawing changes in a way the inputs do not show (a new font, a new decoder).
const DRAWING: &str = "1";

/// A short hash (hex, 16 characters) of what a template's picture is drawn from: the uploaded
/// file, or the name and colours of the generated design (also used for a hosted image, which
/// is never fetched).
pub fn art_version(t: &Template, i: &Issuer) -> String {
    let source = match &t.spec.image {
        TemplateImage::Uploaded { key, content_type } => format!("uploaded\0{key}\0{content_type}"),
        _ => {
            let p = &i.profile;
            let (primary, accent) = (p.primary_color.as_str(), p.accent_color.as_str());
            format!("generated\0{}\0{primary}\0{accent}", t.spec.name)
        }
    };
    short_hash(&[DRAWING, &source])
}

/// The version of an award's card at `now` (what `card/{version}.png` names).
pub fn version_of(a: &Award, t: &Template, i: &Issuer, now: DateTime<Utc>) -> String {
    Card::of(a, t, i, now).version(&art_version(t, i))
}

/// A short hash (hex, 16 characters) of `parts`.
pub fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// What a card shows, all as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub badge_name: String,
    /// The public name: masked when the issuer masks names.
    pub recipient: String,
    pub issuer_name: String,
    /// The issuer's logo (its URL as the issuer gave it), drawn when it could be fetched.
    pub logo: Option<String>,
    pub issued: String,
    pub status: CardStatus,
    pub primary: Color,
    pub accent: Color,
    pub locale: Locale,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardStatus {
    Valid,
    /// With the date, as shown.
    Expired(String),
    Revoked,
    Superseded,
}

impl Card {
    /// The card of an award as its public page shows it at `now`.
    pub fn of(a: &Award, t: &Template, i: &Issuer, now: DateTime<Utc>) -> Card {
        let p = &i.profile;
        let locale = a.locale.unwrap_or(p.default_locale);
        let status = match a.status(now) {
            AwardStatus::Valid => CardStatus::Valid,
            AwardStatus::Expired { on } => CardStatus::Expired(i18n::date(locale, on, p.time_zone)),
            AwardStatus::Revoked { .. } => CardStatus::Revoked,
            AwardStatus::Superseded { .. } => CardStatus::Superseded,
        };
        let recipient = if p.mask_recipient_names {
            mask_name(&a.recipient.name)
        } else {
            a.recipient.name.clone()
        };
        Card {
            badge_name: t.spec.name.clone(),
            recipient,
            issuer_name: p.name.clone(),
            logo: p.logo_url.as_ref().map(|u| u.as_str().to_owned()),
            issued: i18n::date(locale, a.issued_on, p.time_zone),
            status,
            primary: p.primary_color.clone(),
            accent: p.accent_color.clone(),
            locale,
        }
    }

    /// A short hash of the card as drawn with the picture `art` ([`art_version`]).
    pub fn version(&self, art: &str) -> String {
        let logo = self.logo.as_deref();
        let svg = self.svg(IMAGE_SLOT, logo.map(|_| LOGO_SLOT));
        short_hash(&[DRAWING, &svg, art, logo.unwrap_or_default()])
    }

    /// The card as SVG, the badge image taken from `image_href` and the logo from `logo_href`
    /// (`data:` URLs when drawn; no logo, no logo box).
    pub fn svg(&self, image_href: &str, logo_href: Option<&str>) -> String {
        let l = self.locale;
        let valid = self.status == CardStatus::Valid;
        let ink = self.primary.readable_text();
        let names = wrap(&self.badge_name, 600.0, 54.0, 3);
        let name_top = 250 - (names.len() as i32 - 1) * 32;
        let (pill, pill_color) = self.pill();
        html! {
            svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT) viewBox="0 0 1200 630" font-family=(super::raster::FONT_FAMILY) {
                rect width="1200" height="630" fill=(self.primary.as_str()) {}
                rect x="0" y="600" width="1200" height="30" fill=(self.accent.as_str()) {}
                rect x="60" y="95" width="420" height="420" rx="36" fill="#ffffff" {}
                image x="80" y="115" width="380" height="380" href=(image_href) opacity=(if valid { "1" } else { "0.35" }) {}
                @if let Some(logo) = logo_href {
                    rect x="540" y="56" width="72" height="72" rx="12" fill="#ffffff" {}
                    image x="544" y="60" width="64" height="64" href=(logo) {}
                    text x="628" y="104" font-size="30" fill=(ink) { (fit(&self.issuer_name, 512.0, 30.0)) }
                } @else {
                    text x="540" y="120" font-size="30" fill=(ink) { (fit(&self.issuer_name, 600.0, 30.0)) }
                }
                @for (n, line) in names.iter().enumerate() {
                    text x="540" y=(name_top + n as i32 * 64) font-size="54" font-weight="700" fill=(ink) { (line) }
                }
                text x="540" y="420" font-size="34" font-weight="700" fill=(ink) { (fit(&self.recipient, 600.0, 34.0)) }
                text x="540" y="468" font-size="26" fill=(ink) { (l.t("발급일 ", "Issued ")) (self.issued) }
                rect x="540" y="498" width=(pill_width(&pill, 28.0)) height="52" rx="26" fill=(pill_color) {}
                text x="564" y="534" font-size="28" font-weight="700" fill="#ffffff" { (pill) }
            }
        }
        .into_string()
    }

    /// The status as words, and the colour of its pill.
    fn pill(&self) -> (String, &'static str) {
        let l = self.locale;
        match &self.status {
            CardStatus::Valid => (l.t("유효한 배지", "Verified badge").into(), "#1b7f3b"),
            CardStatus::Expired(on) => (
                l.t(format!("{on}에 만료됨"), format!("Expired {on}")),
                "#8a5a00",
            ),
            CardStatus::Revoked => (l.t("취소된 배지", "Revoked").into(), "#b3261e"),
            CardStatus::Superseded => (l.t("재발급됨", "Replaced").into(), "#5f6368"),
        }
    }
}

fn pill_width(s: &str, size: f32) -> f32 {
    width(s, size) + 48.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(status: CardStatus) -> Card {
        Card {
            badge_name: "데이터 분석 기초 <과정> & 실습".into(),
            recipient: "김*수".into(),
            issuer_name: "한빛대학교 평생교육원".into(),
            logo: None,
            issued: "2026년 3월 1일".into(),
            status,
            primary: Color::parse("#1a4d8f").unwrap(),
            accent: Color::parse("#f2a900").unwrap(),
            locale: Locale::Ko,
        }
    }

    #[test]
    fn the_svg_escapes_text_and_has_the_image_slot() {
        let s = card(CardStatus::Valid).svg(IMAGE_SLOT, None);
        assert!(s.contains("&lt;과정&gt;") && s.contains("&amp;") && !s.contains("<과정>"));
        assert!(s.contains(r#"href="accolade:badge-image""#));
        assert!(s.contains("유효한 배지"));
    }

    #[test]
    fn the_version_follows_what_is_shown() {
        let valid = card(CardStatus::Valid);
        assert_eq!(
            valid.version("img-1"),
            card(CardStatus::Valid).version("img-1")
        );
        assert_ne!(valid.version("img-1"), valid.version("img-2"));
        assert_ne!(
            valid.version("img-1"),
            card(CardStatus::Revoked).version("img-1")
        );
        let mut renamed = card(CardStatus::Valid);
        renamed.recipient = "김*희".into();
        assert_ne!(valid.version("img-1"), renamed.version("img-1"));
        assert_eq!(valid.version("img-1").len(), 16);
    }

    #[test]
    fn the_card_draws_at_1200_by_630() {
        let png = super::super::raster::svg_to_png(
            card(CardStatus::Expired("2027년 3월 1일".into()))
                .svg("data:,", Some("data:,"))
                .as_bytes(),
            WIDTH,
            HEIGHT,
        )
        .unwrap();
        let info = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        assert_eq!((info.info().width, info.info().height), (1200, 630));
    }
}
