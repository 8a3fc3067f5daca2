//! The public page of a template (`/templates/{id}`): what the badge is, how to earn it, and the
//! enrolment link. Recommendations on badge pages point here.

use super::{
    i18n,
    layout::{self, issuer_bar, page, Brand},
};
use crate::{
    domain::{issuer::Issuer, locale::Locale, template::Template},
    openbadges,
    urls::PublicUrls,
};
use maud::html;

pub fn render(t: &Template, issuer: &Issuer, urls: PublicUrls<'_>, l: Locale) -> maud::Markup {
    let s = &t.spec;
    let p = &issuer.profile;
    let image = openbadges::page_image_url(&urls, t);
    let description: String = s.description.chars().take(200).collect();
    // An archived template is no longer offered: its page says what it was, without enrolment.
    let enrol = s.enrolment.as_ref().filter(|e| e.enabled && t.is_active());
    let head = html! {
        meta name="description" content=(description);
        link rel="canonical" href=(urls.template_page(&t.id));
        link rel="alternate" type="application/ld+json" href=(urls.template_json(&t.id));
        meta property="og:type" content="website";
        meta property="og:title" content=(s.name);
        meta property="og:description" content=(description);
        meta property="og:image" content=(openbadges::image_url(&urls, t));
        meta property="og:url" content=(urls.template_page(&t.id));
        meta property="og:site_name" content=(p.name);
        // The picture is square: the small card, not the 2:1 one (which would crop it).
        meta name="twitter:card" content="summary";
    };
    let body = html! {
        (issuer_bar(issuer, l))
        main id="main" {
            article class="card" aria-labelledby="t-name" {
                div class="hero" {
                    img class="badge-img" src=(image) alt=(format!("{} {}", s.name, i18n::badge_alt(l))) width="220" height="220";
                    div {
                        h1 id="t-name" { (s.name) }
                        dl class="meta" { dt { (l.t("운영 기관", "Offered by")) } dd { (p.name) } }
                        p class="pre" { (s.description) }
                    }
                }
                @if !t.is_active() {
                    p class="status s-expired" role="status" { (l.t("이 배지는 더 이상 발급되지 않습니다.", "This badge is no longer offered.")) }
                }
                h2 { (l.t("취득 방법", "How to earn it")) }
                @if let Some(n) = &s.criteria.narrative { p class="pre" { (n) } }
                @if let Some(u) = &s.criteria.url { p { a href=(u.as_str()) rel="noopener" { (i18n::criteria_link(l)) } } }
                @if !s.skills.is_empty() {
                    h2 { (i18n::skills(l)) }
                    ul class="chips" { @for k in &s.skills { li { (k) } } }
                }
            }
            @if let Some(e) = enrol {
                section class="card" aria-labelledby="enrol-h" {
                    h2 id="enrol-h" { (i18n::next_step(l)) }
                    div class="enrol" {
                        (layout::programme_meta(e, l))
                        a class="btn primary" href=(e.program_url.as_str()) rel="noopener" { (i18n::enrol(l)) }
                    }
                }
            }
        }
        footer { a href=(urls.template_json(&t.id)) { (i18n::verify_json(l)) } " · " span { (i18n::powered(l)) } }
    };
    let brand = Brand::of(&p.primary_color);
    page(l.as_str(), &s.name, head, Some(brand), body)
}
