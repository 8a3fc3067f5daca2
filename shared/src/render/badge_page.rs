//! The public badge page (`/b/{id}`): what recruiters and learners see.

use super::{
    i18n::{self, Words},
    layout::{issuer_bar, page, Brand},
};
use crate::domain::engagement::{Network, Slot};
use crate::{
    domain::{
        award::{Award, AwardStatus},
        issuer::Issuer,
        locale::Locale,
        mask::mask_name,
        template::Template,
    },
    openbadges,
    urls::PublicUrls,
};
use chrono::{DateTime, Utc};
use maud::{html, Markup};

pub struct BadgePage<'a> {
    pub award: &'a Award,
    pub template: &'a Template,
    pub issuer: &'a Issuer,
    pub urls: PublicUrls<'a>,
    pub now: DateTime<Utc>,
    /// Enabled, active related templates, in the admin's order.
    pub recommendations: &'a [Recommendation],
}

/// A related template as shown under a badge.
pub struct Recommendation {
    pub template: std::sync::Arc<Template>,
    pub label: Option<String>,
}

impl BadgePage<'_> {
    pub fn locale(&self) -> Locale {
        self.award
            .locale
            .unwrap_or(self.issuer.profile.default_locale)
    }

    /// The name shown publicly (masked when the issuer asks).
    pub fn display_name(&self) -> String {
        if self.issuer.profile.mask_recipient_names {
            mask_name(&self.award.recipient.name)
        } else {
            self.award.recipient.name.clone()
        }
    }
}

fn status_word(s: &AwardStatus, w: &Words) -> &'static str {
    match s {
        AwardStatus::Valid => w.valid,
        AwardStatus::Expired { .. } => w.expired,
        AwardStatus::Revoked { .. } => w.revoked,
        AwardStatus::Superseded { .. } => w.superseded,
    }
}

fn status_banner(p: &BadgePage, w: &Words) -> Markup {
    let zone = p.issuer.profile.time_zone;
    let l = p.locale();
    let status = p.award.status(p.now);
    html! {
        @match &status {
            AwardStatus::Valid => {
                div class="status s-valid" role="status" {
                    span aria-hidden="true" { "✔" }
                    span { (w.valid) small { (w.valid_detail) } }
                }
            }
            AwardStatus::Expired { on } => {
                div class="status s-expired" role="status" {
                    span aria-hidden="true" { "⏱" }
                    span { (w.expired_on) " " (i18n::date(l, *on, zone)) }
                }
            }
            AwardStatus::Revoked { reason, at } => {
                div class="status s-revoked" role="status" {
                    span aria-hidden="true" { "✖" }
                    span { (w.revoked) ": " (reason) small { (i18n::date(l, *at, zone)) } }
                }
            }
            AwardStatus::Superseded { by } => {
                div class="status s-superseded" role="status" {
                    span aria-hidden="true" { "↻" }
                    span { (w.superseded) " — " a href=(p.urls.award_page(by)) { (w.see_new) } }
                }
            }
        }
    }
}

fn share(p: &BadgePage, w: &Words, title: &str) -> Markup {
    let page_url = p.urls.award_page(&p.award.id);
    let _ = title;
    let go = |slot: Slot| p.urls.go(&p.award.id, &slot);
    html! {
        section class="card" aria-labelledby="share-h" {
            h2 id="share-h" { (w.share) }
            div class="share-grid" {
                div class="btns" {
                    a class="btn primary" href=(go(Slot::LinkedInAdd)) rel="noopener" target="_blank" { (w.add_to_linkedin) }
                    a class="btn" href=(go(Slot::Share(Network::LinkedIn))) rel="noopener" target="_blank" {
                        @if p.locale() == Locale::Ko { "LinkedIn" (w.share_on) } @else { (w.share_on) " LinkedIn" }
                    }
                    a class="btn" href=(go(Slot::Share(Network::X))) rel="noopener" target="_blank" {
                        @if p.locale() == Locale::Ko { "X" (w.share_on) } @else { (w.share_on) " X" }
                    }
                    a class="btn" href=(go(Slot::Share(Network::Facebook))) rel="noopener" target="_blank" {
                        @if p.locale() == Locale::Ko { "Facebook" (w.share_on) } @else { (w.share_on) " Facebook" }
                    }
                    a class="btn" href=(go(Slot::Share(Network::Email))) { (w.email) }
                    button class="btn" type="button" data-copy=(page_url) data-done=(w.copied) { (w.copy_link) }
                }
                img class="qr" src=(p.urls.award_qr_svg(&p.award.id)) alt=(w.qr_alt) width="160" height="160";
            }
        }
    }
}

/// "Recommended next", the banner, then the enrolment block: all through tracked links.
fn recommendations(p: &BadgePage, w: &Words) -> Markup {
    let t = &p.template.spec;
    let banner = t.banner.as_ref().filter(|b| b.enabled);
    let enrol = t.enrolment.as_ref().filter(|e| e.enabled);
    let go = |slot: Slot| p.urls.go(&p.award.id, &slot);
    html! {
        @if !p.recommendations.is_empty() {
            section class="card" aria-labelledby="recs-h" {
                h2 id="recs-h" { (w.recommended) }
                ul class="recs" {
                    @for r in p.recommendations {
                        li {
                            a href=(go(Slot::Related(r.template.id.clone()))) {
                                img src=(openbadges::image_url(&p.urls, &r.template)) alt="" width="56" height="56";
                                span {
                                    @if let Some(l) = &r.label { span class="label" { (l) } }
                                    strong { (r.template.spec.name) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(b) = banner {
            section class="card banner" {
                a href=(go(Slot::Banner)) rel="noopener" {
                    img src=(match &b.image {
                        crate::domain::template::TemplateImage::Url { url } => url.to_string(),
                        _ => p.urls.template_banner(&p.template.id),
                    }) alt=(b.alt);
                }
            }
        }
        @if let Some(e) = enrol {
            section class="card" aria-labelledby="enrol-h" {
                h2 id="enrol-h" { (w.next_step) }
                div class="enrol" {
                    dl class="meta" {
                        // Every dd has its dt (the programme type, or the word "programme").
                        @if let Some(n) = &e.program_name {
                            dt { (e.program_type.as_deref().unwrap_or(w.programme)) }
                            dd { (n) }
                        } @else if let Some(ty) = &e.program_type {
                            dt { (w.programme) }
                            dd { (ty) }
                        }
                        @if let Some(d) = &e.period { dt { (w.period) } dd { (d) } }
                    }
                    a class="btn primary" href=(go(Slot::Enrol)) rel="noopener" { (w.enrol) }
                }
            }
        }
    }
}

pub fn render(p: &BadgePage) -> Markup {
    let w = i18n::words(p.locale());
    let l = p.locale();
    let zone = p.issuer.profile.time_zone;
    let t = &p.template.spec;
    let issuer = &p.issuer.profile;
    let name = p.display_name();
    let title = format!("{} — {}", t.name, name);
    let image = openbadges::image_url(&p.urls, p.template);
    let page_url = p.urls.award_page(&p.award.id);
    let description: String = t.description.chars().take(200).collect();
    let valid = p.award.status(p.now).is_valid();
    let head = html! {
        meta name="description" content=(description);
        link rel="canonical" href=(page_url);
        link rel="alternate" type="application/ld+json" href=(p.urls.award_json(&p.award.id));
        meta property="og:type" content="website";
        meta property="og:title" content=(title);
        meta property="og:description" content=(description);
        meta property="og:image" content=(image);
        meta property="og:image:alt" content=(format!("{} {}", t.name, w.badge_alt));
        meta property="og:url" content=(page_url);
        meta property="og:site_name" content=(issuer.name);
        meta property="og:locale" content=(if l == Locale::Ko { "ko_KR" } else { "en_US" });
        meta name="twitter:card" content="summary_large_image";
        meta name="twitter:title" content=(title);
        meta name="twitter:description" content=(description);
        meta name="twitter:image" content=(image);
        meta name="robots" content="noindex";
    };
    let body = html! {
        (issuer_bar(p.issuer, w))
        main id="main" {
            (status_banner(p, w))
            article class="card" aria-labelledby="badge-name" {
                div class="hero" {
                    img class="badge-img" src=(image) alt=(format!("{} {}", t.name, w.badge_alt)) width="220" height="220";
                    div {
                        @if let Some(seal) = &issuer.seal_url {
                            img class="seal" src=(seal.as_str()) alt=(format!("{} {}", issuer.name, w.seal_alt));
                        }
                        h1 id="badge-name" { (t.name) }
                        p class="recipient" { (w.awarded_to) ": " strong { (name) } }
                        dl class="meta" {
                            dt { (w.issued_by) } dd { (issuer.name) }
                            dt { (w.issued_on) } dd { (i18n::date(l, p.award.issued_on, zone)) }
                            dt { (w.expires_on) }
                            dd { @match p.award.expires_on { Some(e) => (i18n::date(l, e, zone)), None => (w.no_expiry) } }
                            dt { (w.status_label) } dd { (status_word(&p.award.status(p.now), w)) }
                        }
                    }
                }
                h2 { (w.about) }
                p class="pre" { (t.description) }
                h2 { (w.criteria) }
                @if let Some(n) = &t.criteria.narrative { p class="pre" { (n) } }
                @if let Some(u) = &t.criteria.url { p { a href=(u.as_str()) rel="noopener" { (w.criteria_link) } } }
                @if !t.skills.is_empty() {
                    h2 { (w.skills) }
                    ul class="chips" { @for s in &t.skills { li { (s) } } }
                }
                @if let Some(n) = &p.award.narrative { p class="pre" { (n) } }
                @if !p.award.evidence.is_empty() {
                    h2 { (w.evidence) }
                    ul {
                        @for e in &p.award.evidence {
                            li {
                                @if let Some(n) = &e.narrative { span class="pre" { (n) } " " }
                                @if let Some(u) = &e.url { a href=(u.as_str()) rel="noopener nofollow" { (w.evidence_link) } }
                            }
                        }
                    }
                }
            }
            @if valid {
                (share(p, w, &title))
                (recommendations(p, w))
            }
        }
        footer {
            a href=(p.urls.award_json(&p.award.id)) { (w.verify_json) }
            " · " span { (w.powered) }
        }
    };
    let brand = Brand {
        primary: issuer.primary_color.as_str(),
        on_primary: issuer.primary_color.readable_text(),
    };
    page(w.lang, &title, head, Some(brand), body)
}

/// The friendly 404 page for unknown or malformed badge ids.
pub fn not_found(l: Locale) -> Markup {
    let w = i18n::words(l);
    let other = i18n::words(if l == Locale::Ko {
        Locale::En
    } else {
        Locale::Ko
    });
    page(
        w.lang,
        w.not_found_title,
        html! { meta name="robots" content="noindex"; },
        None,
        html! {
            main id="main" {
                div class="card" {
                    h1 { (w.not_found_title) }
                    p { (w.not_found_body) }
                    p class="muted" lang=(other.lang) { (other.not_found_title) ". " (other.not_found_body) }
                }
            }
        },
    )
}
