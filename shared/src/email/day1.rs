//! The day-1 email: "your badge is here", sent when an award is inserted. Transactional (no
//! advertising, no unsubscribe needed), in the award's language.

use crate::{
    domain::{
        award::Award,
        engagement::{Network, Slot},
        issuer::Issuer,
        locale::Locale,
        template::Template,
    },
    openbadges,
    render::i18n,
    urls::PublicUrls,
};
use maud::{html, DOCTYPE};

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The email's sentences, chosen for the award's language with `Locale::t` (the text and HTML parts
/// say the same).
struct Sentences {
    subject: String,
    hello: String,
    body: String,
    view: &'static str,
    linkedin: &'static str,
    share_intro: &'static str,
    qr: &'static str,
    footer: String,
}

fn sentences(l: Locale, issuer: &str, badge: &str, name: &str) -> Sentences {
    Sentences {
        subject: l.t(
            format!("[{issuer}] {badge} 배지가 발급되었습니다"),
            format!("Your {badge} badge from {issuer}"),
        ),
        hello: l.t(
            format!("{name}님, 축하합니다!"),
            format!("Congratulations, {name}!"),
        ),
        body: l.t(
            format!("{issuer}에서 {badge} 배지를 발급했습니다. 아래에서 배지를 확인하고 공유해 보세요."),
            format!("{issuer} has awarded you the {badge} badge. View it, and share it with your network."),
        ),
        view: l.t("배지 확인하기", "View your badge"),
        linkedin: i18n::add_to_linkedin(l),
        share_intro: l.t("성취를 공유해 보세요:", "Share your achievement:"),
        qr: l.t("QR 코드로 배지 확인", "QR code of your badge"),
        footer: l.t(
            format!("이 메일은 {issuer}에서 발급한 디지털 배지 안내입니다."),
            format!("You receive this email because {issuer} issued you a digital badge."),
        ),
    }
}

/// Where the email's links and images point.
struct Links {
    page: String,
    linkedin: String,
    shares: [(&'static str, String); 3],
    image: String,
    qr: String,
}

impl Links {
    fn of(award: &Award, template: &Template, urls: &PublicUrls<'_>) -> Links {
        let go = |slot: Slot| urls.go(&award.id, &slot);
        Links {
            page: urls.award_page(&award.id),
            linkedin: go(Slot::LinkedInAdd),
            shares: [
                ("LinkedIn", go(Slot::Share(Network::LinkedIn))),
                ("X", go(Slot::Share(Network::X))),
                ("Facebook", go(Slot::Share(Network::Facebook))),
            ],
            image: openbadges::image_url(urls, template),
            qr: urls.award_qr_png(&award.id),
        }
    }
}

pub fn render(
    award: &Award,
    template: &Template,
    issuer: &Issuer,
    urls: PublicUrls<'_>,
) -> Rendered {
    let locale = award.locale.unwrap_or(issuer.profile.default_locale);
    let badge = &template.spec.name;
    let w = sentences(locale, &issuer.profile.name, badge, &award.recipient.name);
    let links = Links::of(award, template, &urls);
    Rendered {
        text: text_part(&w, &links),
        html: html_part(locale, &w, &links, issuer, badge),
        subject: w.subject,
    }
}

fn text_part(w: &Sentences, links: &Links) -> String {
    format!(
        "{hello}\n\n{body}\n\n{view}: {page}\n{linkedin}: {li}\n\n{share}\n{shares}\n\n--\n{footer}\n",
        hello = w.hello,
        body = w.body,
        view = w.view,
        page = links.page,
        linkedin = w.linkedin,
        li = links.linkedin,
        share = w.share_intro,
        shares = links
            .shares
            .iter()
            .map(|(n, u)| format!("{n}: {u}"))
            .collect::<Vec<_>>()
            .join("\n"),
        footer = w.footer,
    )
}

fn html_part(locale: Locale, w: &Sentences, links: &Links, issuer: &Issuer, badge: &str) -> String {
    let p = &issuer.profile;
    let primary = p.primary_color.as_str();
    let on_primary = p.primary_color.readable_text();
    let button = format!(
        "display:inline-block;background:{primary};color:{on_primary};padding:12px 20px;border-radius:8px;text-decoration:none;font-weight:700"
    );
    html! {
        (DOCTYPE)
        html lang=(locale.as_str()) {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { (w.subject) } }
            body style="margin:0;background:#f5f6f8;font-family:system-ui,-apple-system,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;color:#1b1b1f" {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" {
                    tr { td style=(format!("background:{primary};color:{on_primary};padding:16px 24px;font-weight:700")) { (p.name) } }
                    tr { td style="padding:24px" {
                        table role="presentation" width="100%" style="max-width:560px;margin:0 auto;background:#fff;border-radius:12px" cellpadding="24" {
                            tr { td align="center" {
                                img src=(links.image) alt=(badge) width="160" height="160" style="display:block;margin:0 auto 12px";
                                h1 style="font-size:22px;margin:0 0 8px" { (w.hello) }
                                p style="margin:0 0 20px;line-height:1.5" { (w.body) }
                                p { a href=(links.page) style=(button) { (w.view) } }
                                p { a href=(links.linkedin) style="color:#0a66c2;font-weight:700" { (w.linkedin) } }
                                p style="margin:20px 0 8px" { (w.share_intro) }
                                p { @for (i, (n, u)) in links.shares.iter().enumerate() { @if i > 0 { " · " } a href=(u) { (n) } } }
                                img src=(links.qr) alt=(w.qr) width="120" height="120" style="display:block;margin:16px auto 0";
                            } }
                        }
                    } }
                    tr { td style="padding:0 24px 24px;color:#52525b;font-size:12px;text-align:center" { (w.footer) } }
                }
            }
        }
    }
    .into_string()
}
