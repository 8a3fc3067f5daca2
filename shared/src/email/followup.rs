//! Day-3, day-7 and expiry emails: advertising under Korean law (정보통신망법 제50조), so every
//! subject starts with `(광고)` — English ones too, followed by `[Ad]`: the marker must be written
//! so, in Korean, whatever the message's language — and every one carries one-click unsubscribe
//! (RFC 8058) and a footer link (in both languages for readers of English).

use crate::{
    domain::{
        award::Award,
        engagement::Slot,
        followup::Stage,
        issuer::Issuer,
        locale::Locale,
        template::{Enrolment, Template},
    },
    openbadges,
    render::{badge_page::Recommendation, i18n},
    urls::PublicUrls,
};
use maud::{html, DOCTYPE};

/// The advertising marker a promotional subject starts with: Korean law's `(광고)` in every
/// language, and `[Ad]` beside it for readers of English.
const AD_KO: &str = "(광고) ";
const AD_EN: &str = "(광고) [Ad] ";

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn unsubscribe_url(urls: &PublicUrls<'_>, award: &Award) -> String {
    match &award.unsubscribe_token {
        Some(t) => format!("{}/b/{}/unsubscribe?t={t}", urls.base(), award.id),
        None => format!("{}/b/{}/unsubscribe", urls.base(), award.id),
    }
}

/// The stage's subject when the admin wrote none.
fn default_subject(stage: Stage, l: Locale, badge: &str, expires: &str) -> String {
    match stage {
        Stage::Day3 => l.t(
            format!("{badge} 배지 취득 후 다음 과정을 소개합니다"),
            format!("Your next step after {badge}"),
        ),
        Stage::Day7 => l.t(
            format!("{badge} 배지 다음 과정을 다시 안내해 드립니다"),
            format!("A reminder: your next step after {badge}"),
        ),
        // `Expired` is no email (the award.expired webhook): never rendered.
        _ => l.t(
            format!("{badge} 배지가 {expires}에 만료됩니다"),
            format!("Your {badge} badge expires on {expires}"),
        ),
    }
}

/// The stage's opening sentence when the admin wrote none.
fn default_intro(
    stage: Stage,
    l: Locale,
    name: &str,
    badge: &str,
    issuer: &str,
    expires: &str,
) -> String {
    match stage {
        Stage::Day3 => l.t(
            format!("{name}님, {badge} 배지 취득을 다시 한번 축하드립니다. {issuer}에서 추천하는 다음 과정을 소개합니다."),
            format!("Congratulations again on {badge}, {name}. Here is what {issuer} recommends next."),
        ),
        Stage::Day7 => l.t(
            format!("{name}님, {badge} 이후의 다음 과정을 확인해 보세요."),
            format!("{name}, the next step after {badge} is still open."),
        ),
        _ => l.t(
            format!("{name}님의 {badge} 배지가 {expires}에 만료됩니다. 갱신 과정을 확인해 보세요."),
            format!("{name}, your {badge} badge expires on {expires}. See how to renew it."),
        ),
    }
}

/// What both parts of one email say.
struct Message<'a> {
    subject: String,
    intro: String,
    why: String,
    /// `None` for a notice, which has no opt-out to offer.
    unsubscribe: Option<String>,
    locale: Locale,
    issuer: &'a Issuer,
    enrol: Option<&'a Enrolment>,
    recs: &'a [Recommendation],
}

/// Who sent it and how to reach them, as the Korean law on advertising messages asks of every
/// promotional one (정보통신망법 제50조 제4항: the sender's name and contact).
fn why_you_get_it(l: Locale, p: &crate::domain::issuer::IssuerProfile) -> String {
    l.t(
        format!(
            "{}에서 배지를 받으신 분께 보내는 안내입니다. 보낸 곳: {} ({})",
            p.name, p.name, p.email
        ),
        format!(
            "You receive this because {} issued you a badge. Sender: {} ({})",
            p.name, p.name, p.email
        ),
    )
}

pub fn render(
    stage: Stage,
    award: &Award,
    template: &Template,
    issuer: &Issuer,
    urls: PublicUrls<'_>,
    recs: &[Recommendation],
) -> Rendered {
    let l = award.locale.unwrap_or(issuer.profile.default_locale);
    let p = &issuer.profile;
    let badge = &template.spec.name;
    let f = &template.spec.follow_ups;
    let expires = award
        .expires_on
        .map(|e| i18n::date(l, e, p.time_zone))
        .unwrap_or_default();
    // An award without an unsubscribe token (issued before 2026-11-30) has no working opt-out:
    // its expiry reminder is a plain notice — no `(광고)`, recommendations or enrolment link.
    // (Its day-3 and day-7 emails, which are nothing but promotion, are not sent at all.)
    let notice = !award.can_unsubscribe();
    let recs = if notice { &[][..] } else { recs };
    let custom_subject = f.subject.get(l).map(str::to_owned);
    let subject = custom_subject.unwrap_or_else(|| default_subject(stage, l, badge, &expires));
    let intro = f.intro.get(l).map(str::to_owned).unwrap_or_else(|| {
        default_intro(stage, l, &award.recipient.name, badge, &p.name, &expires)
    });
    let message = Message {
        subject: if notice {
            subject
        } else {
            format!("{}{subject}", l.t(AD_KO, AD_EN))
        },
        intro,
        why: why_you_get_it(l, p),
        unsubscribe: (!notice).then(|| unsubscribe_url(&urls, award)),
        locale: l,
        issuer,
        enrol: template
            .spec
            .enrolment
            .as_ref()
            .filter(|e| e.enabled && !notice),
        recs,
    };
    let tag = stage.source_tag();
    let go = |slot: Slot| format!("{}?src={tag}", urls.go(&award.id, &slot));
    Rendered {
        text: text_part(&message, &go),
        html: html_part(&message, &go, &urls),
        subject: message.subject,
    }
}

fn text_part(m: &Message<'_>, go: &dyn Fn(Slot) -> String) -> String {
    let mut text = format!("{}\n\n", m.intro);
    for r in m.recs {
        text.push_str(&format!(
            "- {}: {}\n",
            r.template.spec.name,
            go(Slot::Related(r.template.id.clone()))
        ));
    }
    if let Some(e) = m.enrol {
        text.push_str(&format!(
            "\n{}{}: {}\n",
            e.program_name
                .clone()
                .map(|n| format!("{n} — "))
                .unwrap_or_default(),
            i18n::enrol(m.locale),
            go(Slot::Enrol)
        ));
    }
    text.push_str(&format!("\n--\n{}\n", m.why));
    if let Some(u) = &m.unsubscribe {
        text.push_str(&format!("{}: {u}\n", i18n::unsubscribe_notice(m.locale)));
    }
    text
}

fn html_part(m: &Message<'_>, go: &dyn Fn(Slot) -> String, urls: &PublicUrls<'_>) -> String {
    let p = &m.issuer.profile;
    let primary = p.primary_color.as_str();
    let on_primary = p.primary_color.readable_text();
    html! {
        (DOCTYPE)
        html lang=(m.locale.as_str()) {
            head { meta charset="utf-8"; title { (m.subject) } }
            body style="margin:0;background:#f5f6f8;font-family:system-ui,-apple-system,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;color:#1b1b1f" {
                div style=(format!("background:{primary};color:{on_primary};padding:16px 24px;font-weight:700")) { (p.name) }
                div style="max-width:560px;margin:24px auto;background:#fff;border-radius:12px;padding:24px" {
                    p style="line-height:1.5" { (m.intro) }
                    @for r in m.recs {
                        p { a href=(go(Slot::Related(r.template.id.clone()))) style="display:flex;gap:12px;align-items:center;color:inherit;text-decoration:none" {
                            img src=(openbadges::image_url(urls, &r.template)) alt="" width="48" height="48";
                            span { @if let Some(l) = &r.label { small { (l) } br; } strong { (r.template.spec.name) } }
                        } }
                    }
                    @if let Some(e) = m.enrol {
                        p style="margin-top:20px" {
                            @if let Some(n) = &e.program_name { strong { (n) } " " }
                            @if let Some(d) = &e.period { "(" (d) ") " }
                        }
                        p { a href=(go(Slot::Enrol)) style=(format!("display:inline-block;background:{primary};color:{on_primary};padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:700")) { (i18n::enrol(m.locale)) } }
                    }
                }
                p style="text-align:center;color:#52525b;font-size:12px" {
                    (m.why)
                    @if let Some(u) = &m.unsubscribe { " " a href=(u) { (i18n::unsubscribe_notice(m.locale)) } }
                }
            }
        }
    }
    .into_string()
}
