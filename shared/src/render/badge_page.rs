//! The public badge page (`/b/{id}`): what recruiters and learners see.

use super::{
    card, i18n,
    layout::{self, issuer_bar, page, Brand},
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

fn status_word(s: &AwardStatus, l: Locale) -> &'static str {
    match s {
        AwardStatus::Valid => l.t("유효한 배지", "Valid"),
        AwardStatus::Expired { .. } => l.t("만료된 배지", "Expired"),
        AwardStatus::Revoked { .. } => l.t("취소된 배지", "Revoked"),
        AwardStatus::Superseded { .. } => l.t("새 배지로 재발급됨", "Replaced by a newer award"),
    }
}

fn status_banner(p: &BadgePage<'_>) -> Markup {
    let zone = p.issuer.profile.time_zone;
    let l = p.locale();
    let status = p.award.status(p.now);
    let word = status_word(&status, l);
    html! {
        @match &status {
            AwardStatus::Valid => {
                div class="status s-valid" role="status" {
                    span aria-hidden="true" { "✔" }
                    span { (word) small { (l.t("발급 기관이 확인한 배지입니다.", "This badge was verified with its issuer.")) } }
                }
            }
            AwardStatus::Expired { on } => {
                div class="status s-expired" role="status" {
                    span aria-hidden="true" { "⏱" }
                    span { @if l == Locale::Ko { (i18n::date(l, *on, zone)) "에 만료됨" } @else { "Expired on " (i18n::date(l, *on, zone)) } }
                }
            }
            AwardStatus::Revoked { reason, at } => {
                div class="status s-revoked" role="status" {
                    span aria-hidden="true" { "✖" }
                    span { (word) ": " (reason) small { (l.t("취소일", "Revoked on")) " " (i18n::date(l, *at, zone)) } }
                }
            }
            AwardStatus::Superseded { by } => {
                div class="status s-superseded" role="status" {
                    span aria-hidden="true" { "↻" }
                    span { (word) " — " a href=(p.urls.award_page(by)) { (l.t("새 배지 보기", "See the new award")) } }
                }
            }
        }
    }
}

fn share(p: &BadgePage<'_>, title: &str) -> Markup {
    let l = p.locale();
    let page_url = p.urls.award_page(&p.award.id);
    let go = |slot: Slot| p.urls.go(&p.award.id, &slot);
    let share_on = |network: &str| l.t(format!("{network}에 공유"), format!("Share on {network}"));
    html! {
        section class="card" aria-labelledby="share-h" {
            h2 id="share-h" { (l.t("공유하기", "Share")) }
            div class="share-grid" {
                div class="btns" {
                    button class="btn primary" type="button" hidden data-share=(page_url) data-title=(title) data-count=(go(Slot::Share(Network::Native))) { (l.t("공유…", "Share…")) }
                    a class="btn primary" href=(go(Slot::LinkedInAdd)) rel="noopener" target="_blank" { (i18n::add_to_linkedin(l)) }
                    a class="btn" href=(go(Slot::Share(Network::LinkedIn))) rel="noopener" target="_blank" { (share_on("LinkedIn")) }
                    a class="btn" href=(go(Slot::Share(Network::X))) rel="noopener" target="_blank" { (share_on("X")) }
                    a class="btn" href=(go(Slot::Share(Network::Facebook))) rel="noopener" target="_blank" { (share_on("Facebook")) }
                    a class="btn" href=(go(Slot::Share(Network::Email))) { (l.t("이메일로 보내기", "Email")) }
                    button class="btn" type="button" hidden data-copy=(page_url) data-done=(l.t("복사되었습니다", "Copied")) data-failed=(l.t("복사하지 못했습니다. 주소를 직접 복사하세요.", "Could not copy; copy the address yourself.")) data-count=(go(Slot::Share(Network::Copy))) { (l.t("링크 복사", "Copy link")) }
                }
                img class="qr" src=(p.urls.award_qr_svg(&p.award.id)) alt=(l.t("이 배지 확인 페이지로 연결되는 QR 코드", "QR code linking to this verification page")) width="160" height="160";
            }
        }
    }
}

/// "Recommended next", the banner, then the enrolment block: all through tracked links.
fn recommendations(p: &BadgePage<'_>) -> Markup {
    let l = p.locale();
    let t = &p.template.spec;
    let banner = t.banner.as_ref().filter(|b| b.enabled);
    let enrol = t.enrolment.as_ref().filter(|e| e.enabled);
    let go = |slot: Slot| p.urls.go(&p.award.id, &slot);
    html! {
        @if !p.recommendations.is_empty() {
            section class="card" aria-labelledby="recs-h" {
                h2 id="recs-h" { (l.t("다음 추천 과정", "Recommended next")) }
                ul class="recs" {
                    @for r in p.recommendations {
                        li {
                            a href=(go(Slot::Related(r.template.id.clone()))) {
                                img src=(openbadges::page_image_url(&p.urls, &r.template)) alt="" width="56" height="56";
                                span {
                                    @if let Some(label) = &r.label { span class="label" { (label) } }
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
                h2 id="enrol-h" { (i18n::next_step(l)) }
                div class="enrol" {
                    (layout::programme_meta(e, l))
                    a class="btn primary" href=(go(Slot::Enrol)) rel="noopener" { (i18n::enrol(l)) }
                }
            }
        }
    }
}

/// The badge image, its name, the recipient and the award's dates and status.
fn hero(p: &BadgePage<'_>, image: &str) -> Markup {
    let l = p.locale();
    let zone = p.issuer.profile.time_zone;
    let t = &p.template.spec;
    let issuer = &p.issuer.profile;
    let name = p.display_name();
    html! {
        div class="hero" {
            img class="badge-img" src=(image) alt=(format!("{} {}", t.name, i18n::badge_alt(l))) width="220" height="220";
            div {
                @if let Some(seal) = &issuer.seal_url {
                    img class="seal" src=(seal.as_str()) alt=(format!("{} {}", issuer.name, l.t("직인", "official seal")));
                }
                h1 id="badge-name" { (t.name) }
                p class="recipient" { (l.t("수여 대상", "Awarded to")) ": " strong { (name) } }
                dl class="meta" {
                    dt { (l.t("발급 기관", "Issued by")) } dd { (issuer.name) }
                    dt { (l.t("발급일", "Issued on")) } dd { (i18n::date(l, p.award.issued_on, zone)) }
                    dt { (l.t("만료일", "Expires on")) }
                    dd { @match p.award.expires_on { Some(e) => (i18n::date(l, e, zone)), None => (l.t("만료 없음", "Does not expire")) } }
                    dt { (l.t("상태", "Status")) } dd { (status_word(&p.award.status(p.now), l)) }
                }
            }
        }
    }
}

/// What the badge is about, its criteria and skills, and the award's narrative and evidence.
fn about(p: &BadgePage<'_>) -> Markup {
    let l = p.locale();
    let t = &p.template.spec;
    html! {
        h2 { (l.t("배지 설명", "About this badge")) }
        p class="pre" { (t.description) }
        h2 { (l.t("취득 기준", "Criteria")) }
        @if let Some(n) = &t.criteria.narrative { p class="pre" { (n) } }
        @if let Some(u) = &t.criteria.url { p { a href=(u.as_str()) rel="noopener" { (i18n::criteria_link(l)) } } }
        @if !t.skills.is_empty() {
            h2 { (i18n::skills(l)) }
            ul class="chips" { @for s in &t.skills { li { (s) } } }
        }
        @if let Some(n) = &p.award.narrative { p class="pre" { (n) } }
        @if !p.award.evidence.is_empty() {
            h2 { (l.t("증빙", "Evidence")) }
            ul {
                @for e in &p.award.evidence {
                    li {
                        @if let Some(n) = &e.narrative { span class="pre" { (n) } " " }
                        @if let Some(u) = &e.url { a href=(u.as_str()) rel="noopener nofollow" { (l.t("증빙 보기", "View evidence")) } }
                    }
                }
            }
        }
    }
}

pub fn render(p: &BadgePage<'_>) -> Markup {
    let l = p.locale();
    let t = &p.template.spec;
    let issuer = &p.issuer.profile;
    let name = p.display_name();
    let title = format!("{} — {}", t.name, name);
    let image = openbadges::page_image_url(&p.urls, p.template);
    let card = p.urls.award_card(
        &p.award.id,
        &card::version_of(p.award, p.template, p.issuer, p.now),
    );
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
        meta property="og:image" content=(card);
        meta property="og:image:type" content="image/png";
        meta property="og:image:width" content=(card::WIDTH);
        meta property="og:image:height" content=(card::HEIGHT);
        meta property="og:image:alt" content=(format!("{} — {name}", t.name));
        meta property="og:url" content=(page_url);
        meta property="og:site_name" content=(issuer.name);
        meta property="og:locale" content=(l.t("ko_KR", "en_US"));
        meta name="twitter:card" content="summary_large_image";
        meta name="twitter:title" content=(title);
        meta name="twitter:description" content=(description);
        meta name="twitter:image" content=(card);
        meta name="twitter:image:alt" content=(format!("{} — {name}", t.name));
        meta name="robots" content="noindex";
    };
    let body = html! {
        (issuer_bar(p.issuer, l))
        main id="main" {
            (status_banner(p))
            article class="card" aria-labelledby="badge-name" {
                (hero(p, &image))
                (about(p))
            }
            @if valid {
                (share(p, &title))
                (recommendations(p))
            }
        }
        (footer(p))
    };
    let brand = Brand::of(&issuer.primary_color);
    page(l.as_str(), &title, head, Some(brand), body)
}

/// The page's machine-readable forms and downloads (none of a revoked or replaced badge).
fn footer(p: &BadgePage<'_>) -> Markup {
    let l = p.locale();
    html! {
        footer {
            a href=(p.urls.award_json(&p.award.id)) { (i18n::verify_json(l)) }
            @if p.award.revocation.is_none() && p.award.superseded_by.is_none() {
                " · " a href=(p.urls.award_credential(&p.award.id)) download { (i18n::download_credential(l)) }
                @if let Some(ext) = baked_extension(&p.template.spec.image) {
                    " · " a href=(p.urls.award_baked(&p.award.id, ext)) download { (i18n::download_baked(l)) }
                }
            }
            " · " span { (i18n::powered(l)) }
        }
    }
}

/// The baked image a template's picture allows: SVG for the generated one or an uploaded SVG,
/// PNG (its PNG copy) for other uploads; none for a hosted URL (not fetched).
fn baked_extension(image: &crate::domain::template::TemplateImage) -> Option<&'static str> {
    use crate::domain::template::TemplateImage;
    match image {
        TemplateImage::Generated => Some("svg"),
        TemplateImage::Uploaded { content_type, .. } if content_type == "image/svg+xml" => {
            Some("svg")
        }
        TemplateImage::Uploaded { .. } => Some("png"),
        TemplateImage::Url { .. } => None,
    }
}

/// The friendly 404 page for unknown or malformed badge ids.
pub fn not_found(l: Locale) -> Markup {
    missing(
        l,
        |l| l.t("배지를 찾을 수 없습니다", "Badge not found"),
        |l| {
            l.t(
                "주소가 정확한지 확인해 주세요. 잘못 입력되었거나 없는 페이지의 링크일 수 있습니다.",
                "Check the address. The link may be mistyped, or the badge does not exist.",
            )
        },
    )
}

/// The friendly 404 page for a path that is no page of this site (no badge is named).
pub fn page_not_found(l: Locale) -> Markup {
    missing(
        l,
        |l| l.t("페이지를 찾을 수 없습니다", "Page not found"),
        |l| {
            l.t(
                "주소가 정확한지 확인해 주세요. 잘못 입력된 링크일 수 있습니다.",
                "Check the address. The link may be mistyped.",
            )
        },
    )
}

/// A 404 page: its title and text in the visitor's language, then both in the other.
fn missing(
    l: Locale,
    title: fn(Locale) -> &'static str,
    text: fn(Locale) -> &'static str,
) -> Markup {
    let other = l.other();
    page(
        l.as_str(),
        title(l),
        html! { meta name="robots" content="noindex"; },
        None,
        html! {
            main id="main" {
                div class="card" {
                    h1 { (title(l)) }
                    p { (text(l)) }
                    p class="muted" lang=(other.as_str()) { (title(other)) ". " (text(other)) }
                }
            }
        },
    )
}
