//! Day-3, day-7 and expiry emails: advertising under Korean law, so Korean subjects start with
//! `(광고)`, and every one carries one-click unsubscribe (RFC 8058) and a footer link.

use crate::{
    domain::{
        award::Award, engagement::Slot, followup::Stage, issuer::Issuer, locale::Locale,
        template::Template,
    },
    openbadges,
    render::{badge_page::Recommendation, i18n},
    urls::PublicUrls,
};
use maud::{html, DOCTYPE};

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn unsubscribe_url(urls: &PublicUrls, award: &Award) -> String {
    format!("{}/b/{}/unsubscribe", urls.base(), award.id)
}

pub fn render(
    stage: Stage,
    award: &Award,
    template: &Template,
    issuer: &Issuer,
    urls: PublicUrls,
    recs: &[Recommendation],
) -> Rendered {
    let locale = award.locale.unwrap_or(issuer.profile.default_locale);
    let ko = locale == Locale::Ko;
    let p = &issuer.profile;
    let badge = &template.spec.name;
    let f = &template.spec.follow_ups;
    let custom_subject = if ko {
        f.subject.ko.clone()
    } else {
        f.subject.en.clone()
    };
    let custom_intro = if ko {
        f.intro.ko.clone()
    } else {
        f.intro.en.clone()
    };
    let expires = award
        .expires_on
        .map(|e| i18n::date(locale, e, p.time_zone))
        .unwrap_or_default();
    let default_subject = match (stage, ko) {
        (Stage::Day3, true) => format!("{badge} 다음 단계를 소개합니다"),
        (Stage::Day3, false) => format!("Your next step after {badge}"),
        (Stage::Day7, true) => format!("{badge} 다음 과정, 아직 늦지 않았어요"),
        (Stage::Day7, false) => format!("A reminder: your next step after {badge}"),
        (Stage::Expiry, true) => format!("{badge} 배지가 {expires}에 만료됩니다"),
        (Stage::Expiry, false) => format!("Your {badge} badge expires on {expires}"),
    };
    let subject = format!(
        "{}{}",
        if ko { "(광고) " } else { "" },
        custom_subject.unwrap_or(default_subject)
    );
    let intro = custom_intro.unwrap_or_else(|| match (stage, ko) {
        (Stage::Day3, true) => format!("{}님, {badge} 배지 취득을 다시 한번 축하드립니다. {}에서 추천하는 다음 과정을 소개합니다.", award.recipient.name, p.name),
        (Stage::Day3, false) => format!("Congratulations again on {badge}, {}. Here is what {} recommends next.", award.recipient.name, p.name),
        (Stage::Day7, true) => format!("{}님, {badge} 이후의 다음 과정을 확인해 보세요.", award.recipient.name),
        (Stage::Day7, false) => format!("{}, the next step after {badge} is still open.", award.recipient.name),
        (Stage::Expiry, true) => format!("{}님의 {badge} 배지가 {expires}에 만료됩니다. 갱신 과정을 확인해 보세요.", award.recipient.name),
        (Stage::Expiry, false) => format!("{}, your {badge} badge expires on {expires}. See how to renew it.", award.recipient.name),
    });
    let tag = stage.source_tag();
    let go = |slot: Slot| format!("{}?src={tag}", urls.go(&award.id, &slot));
    let enrol = template.spec.enrolment.as_ref().filter(|e| e.enabled);
    let unsubscribe = unsubscribe_url(&urls, award);
    let enrol_word = if ko { "수강 신청" } else { "Enrol" };
    let unsub_word = if ko { "수신 거부" } else { "Unsubscribe" };
    let why = if ko {
        format!("{}에서 배지를 받으신 분께 보내는 안내입니다.", p.name)
    } else {
        format!("You receive this because {} issued you a badge.", p.name)
    };
    let mut text = format!("{intro}\n\n");
    for r in recs {
        text.push_str(&format!(
            "- {}: {}\n",
            r.template.spec.name,
            go(Slot::Related(r.template.id.clone()))
        ));
    }
    if let Some(e) = enrol {
        text.push_str(&format!(
            "\n{}{}: {}\n",
            e.program_name
                .clone()
                .map(|n| format!("{n} — "))
                .unwrap_or_default(),
            enrol_word,
            go(Slot::Enrol)
        ));
    }
    text.push_str(&format!("\n--\n{why}\n{unsub_word}: {unsubscribe}\n"));
    let primary = p.primary_color.as_str();
    let on_primary = p.primary_color.readable_text();
    let html = html! {
        (DOCTYPE)
        html lang=(locale.as_str()) {
            head { meta charset="utf-8"; title { (subject) } }
            body style="margin:0;background:#f5f6f8;font-family:system-ui,-apple-system,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;color:#1b1b1f" {
                div style=(format!("background:{primary};color:{on_primary};padding:16px 24px;font-weight:700")) { (p.name) }
                div style="max-width:560px;margin:24px auto;background:#fff;border-radius:12px;padding:24px" {
                    p style="line-height:1.5" { (intro) }
                    @for r in recs {
                        p { a href=(go(Slot::Related(r.template.id.clone()))) style="display:flex;gap:12px;align-items:center;color:inherit;text-decoration:none" {
                            img src=(openbadges::image_url(&urls, &r.template)) alt="" width="48" height="48";
                            span { @if let Some(l) = &r.label { small { (l) } br; } strong { (r.template.spec.name) } }
                        } }
                    }
                    @if let Some(e) = enrol {
                        p style="margin-top:20px" {
                            @if let Some(n) = &e.program_name { strong { (n) } " " }
                            @if let Some(d) = &e.period { "(" (d) ") " }
                        }
                        p { a href=(go(Slot::Enrol)) style=(format!("display:inline-block;background:{primary};color:{on_primary};padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:700")) { (enrol_word) } }
                    }
                }
                p style="text-align:center;color:#52525b;font-size:12px" { (why) " " a href=(unsubscribe) { (unsub_word) } }
            }
        }
    }
    .into_string();
    Rendered {
        subject,
        text,
        html,
    }
}
