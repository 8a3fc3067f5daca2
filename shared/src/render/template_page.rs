//! The public page of a template (`/templates/{id}`): what the badge is, how to earn it, and the
//! enrolment link. Recommendations on badge pages point here.

use super::{
    i18n,
    layout::{issuer_bar, page, Brand},
};
use crate::{
    domain::{issuer::Issuer, locale::Locale, template::Template},
    openbadges,
    urls::PublicUrls,
};
use maud::html;

pub fn render(t: &Template, issuer: &Issuer, urls: PublicUrls, locale: Locale) -> maud::Markup {
    let w = i18n::words(locale);
    let s = &t.spec;
    let p = &issuer.profile;
    let image = openbadges::image_url(&urls, t);
    let description: String = s.description.chars().take(200).collect();
    let enrol = s.enrolment.as_ref().filter(|e| e.enabled);
    let head = html! {
        meta name="description" content=(description);
        link rel="canonical" href=(urls.template_page(&t.id));
        link rel="alternate" type="application/ld+json" href=(urls.template_json(&t.id));
        meta property="og:type" content="website";
        meta property="og:title" content=(s.name);
        meta property="og:description" content=(description);
        meta property="og:image" content=(image);
        meta property="og:site_name" content=(p.name);
        meta name="twitter:card" content="summary_large_image";
    };
    let body = html! {
        (issuer_bar(issuer, w))
        main id="main" {
            article class="card" aria-labelledby="t-name" {
                div class="hero" {
                    img class="badge-img" src=(image) alt=(format!("{} {}", s.name, w.badge_alt)) width="220" height="220";
                    div {
                        h1 id="t-name" { (s.name) }
                        dl class="meta" { dt { (w.offered_by) } dd { (p.name) } }
                        p class="pre" { (s.description) }
                    }
                }
                h2 { (w.how_to_earn) }
                @if let Some(n) = &s.criteria.narrative { p class="pre" { (n) } }
                @if let Some(u) = &s.criteria.url { p { a href=(u.as_str()) rel="noopener" { (w.criteria_link) } } }
                @if !s.skills.is_empty() {
                    h2 { (w.skills) }
                    ul class="chips" { @for k in &s.skills { li { (k) } } }
                }
            }
            @if let Some(e) = enrol {
                section class="card" aria-labelledby="enrol-h" {
                    h2 id="enrol-h" { (w.next_step) }
                    div class="enrol" {
                        dl class="meta" {
                            @if let Some(ty) = &e.program_type { dt { (ty) } }
                            @if let Some(n) = &e.program_name { dd { (n) } }
                            @if let Some(d) = &e.period { dt { (w.period) } dd { (d) } }
                        }
                        a class="btn primary" href=(e.program_url.as_str()) rel="noopener" { (w.enrol) }
                    }
                }
            }
        }
        footer { a href=(urls.template_json(&t.id)) { (w.verify_json) } " · " span { (w.powered) } }
    };
    let brand = Brand {
        primary: p.primary_color.as_str(),
        on_primary: p.primary_color.readable_text(),
    };
    page(w.lang, &s.name, head, Some(brand), body)
}
