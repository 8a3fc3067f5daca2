//! The page shell shared by public pages: inline CSS, no external scripts or fonts.

use crate::domain::locale::Locale;
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

/// The only script on public pages, allowed by hash in the CSP: the "Share…" button (shown only
/// where the browser has the Web Share API: it opens the device's share sheet, KakaoTalk
/// included, with no third-party script) and "Copy link" (shown only where the browser has a
/// clipboard the page may write; without script, neither shows). Each reports a done share through its
/// `data-count` link, requested as an image (no `connect-src` needed; the answer is a 204).
pub const PAGE_SCRIPT: &str = "(function(){function count(b){var u=b.getAttribute('data-count');if(u){new Image().src=u;}}document.querySelectorAll('[data-share]').forEach(function(b){if(!navigator.share){return;}b.hidden=false;b.addEventListener('click',function(){navigator.share({title:b.getAttribute('data-title'),url:b.getAttribute('data-share')}).then(function(){count(b);},function(){});});});document.querySelectorAll('[data-copy]').forEach(function(b){if(!navigator.clipboard){return;}b.hidden=false;b.addEventListener('click',function(){navigator.clipboard.writeText(b.getAttribute('data-copy')).then(function(){b.textContent=b.getAttribute('data-done');count(b);},function(){b.textContent=b.getAttribute('data-failed');});});});})();";

const CSS: &str = r#"
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font-family:system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR","Segoe UI",Roboto,sans-serif;color:#1b1b1f;background:#f5f6f8;line-height:1.55;-webkit-text-size-adjust:100%}
a{color:var(--link,#1a4d8f)}
a:focus,button:focus{outline:3px solid #1b1b1f;outline-offset:2px;box-shadow:0 0 0 6px #ffbf47}
.bar{background:var(--primary,#1a4d8f);color:var(--on-primary,#fff);padding:.75rem 1rem}
.bar-in{max-width:960px;margin:0 auto;display:flex;align-items:center;gap:.75rem}
.bar img{height:40px;width:auto;background:#fff;border-radius:6px;padding:2px}
.bar a{color:inherit;font-weight:600;text-decoration:none}
main{max-width:960px;margin:0 auto;padding:1rem}
.status{border-radius:10px;padding:.9rem 1rem;margin:0 0 1rem;font-weight:700;font-size:1.1rem;display:flex;gap:.6rem;align-items:flex-start;flex-wrap:wrap}
.status small{display:block;font-weight:400;font-size:.95rem}
.s-valid{background:#e6f4ea;color:#0b5d33;border:2px solid #0b5d33}
.s-expired{background:#fff4e0;color:#6b4100;border:2px solid #6b4100}
.s-revoked,.s-superseded{background:#fde8e8;color:#8a1414;border:2px solid #8a1414}
.card{background:#fff;border-radius:14px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:1.25rem;margin-bottom:1rem}
.hero{display:grid;grid-template-columns:1fr;gap:1.25rem;align-items:start}
@media(min-width:720px){.hero{grid-template-columns:220px 1fr}}
.badge-img{width:100%;max-width:220px;height:auto;display:block;margin:0 auto}
h1{font-size:1.6rem;margin:.2rem 0 .5rem;line-height:1.3}
h2{font-size:1.1rem;margin:1.2rem 0 .4rem}
.recipient{font-size:1.15rem;margin:.2rem 0 1rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.meta dt{color:#52525b}
dl.meta dd{margin:0;font-weight:600}
.pre{white-space:pre-wrap}
ul.chips{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.4rem}
ul.chips li{background:#eef1f6;border-radius:999px;padding:.2rem .75rem;font-size:.92rem}
.share-grid{display:grid;grid-template-columns:1fr;gap:1rem}
@media(min-width:720px){.share-grid{grid-template-columns:1fr 180px}}
.btns{display:flex;flex-wrap:wrap;gap:.5rem}
.btn{display:inline-flex;align-items:center;border:2px solid var(--link,#1a4d8f);color:var(--link,#1a4d8f);background:#fff;border-radius:8px;padding:.5rem .85rem;font:inherit;font-weight:600;text-decoration:none;cursor:pointer;min-height:44px}
.btn.primary{background:var(--primary,#1a4d8f);color:var(--on-primary,#fff)}
.qr{width:160px;height:160px;display:block;margin:0 auto;background:#fff}
.seal{width:84px;height:auto;float:right;margin-left:1rem}
footer{max-width:960px;margin:0 auto;padding:1rem;color:#52525b;font-size:.9rem}
.muted{color:#52525b}
.recs{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:.75rem;list-style:none;padding:0;margin:0}
.recs a{display:flex;gap:.6rem;align-items:center;border:1px solid #d4d4d8;border-radius:10px;padding:.6rem;text-decoration:none;color:inherit;min-height:44px}
.recs img{width:56px;height:56px;flex:none}
.recs .label{display:block;font-size:.8rem;color:#52525b}
.banner img{width:100%;height:auto;border-radius:10px;display:block}
.enrol{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between}
.enrol dl{margin:0}
"#;

/// The hash that lets [`PAGE_SCRIPT`] run under the page's Content-Security-Policy.
pub fn csp() -> String {
    let h =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(PAGE_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; img-src 'self' https: http: data:; style-src 'unsafe-inline'; script-src 'sha256-{h}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The enrolment's programme, type and period as a definition list: every `dd` has its `dt`
/// (the programme's type, or the word "programme").
pub fn programme_meta(e: &crate::domain::template::Enrolment, l: Locale) -> Markup {
    let programme = l.t("과정", "Programme");
    html! {
        dl class="meta" {
            @if let Some(n) = &e.program_name {
                dt { (e.program_type.as_deref().unwrap_or(programme)) }
                dd { (n) }
            } @else if let Some(ty) = &e.program_type {
                dt { (programme) }
                dd { (ty) }
            }
            @if let Some(d) = &e.period { dt { (super::i18n::period(l)) } dd { (d) } }
        }
    }
}

/// The issuer's coloured bar with logo and name, at the top of public pages.
pub fn issuer_bar(issuer: &crate::domain::issuer::Issuer, l: Locale) -> Markup {
    let p = &issuer.profile;
    html! {
        header class="bar" {
            div class="bar-in" {
                @if let Some(logo) = &p.logo_url {
                    img src=(logo.as_str()) alt=(format!("{} {}", p.name, l.t("로고", "logo")));
                }
                a href=(p.url.as_str()) { (p.name) }
            }
        }
    }
}

/// The issuer's colour on its pages: as the bar's and primary buttons' background (with black or
/// white text on it), and as links and outline buttons on white where it contrasts enough.
pub struct Brand<'a> {
    pub primary: &'a str,
    pub on_primary: &'a str,
    pub on_white: &'a str,
}

impl<'a> Brand<'a> {
    pub fn of(c: &'a crate::domain::color::Color) -> Self {
        Self {
            primary: c.as_str(),
            on_primary: c.readable_text(),
            on_white: c.on_white(),
        }
    }
}

pub fn page(
    lang: &str,
    title: &str,
    head: Markup,
    brand: Option<Brand<'_>>,
    body: Markup,
) -> Markup {
    let style = brand
        .map(|b| {
            format!(
                "--primary:{};--on-primary:{};--link:{}",
                b.primary, b.on_primary, b.on_white
            )
        })
        .unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                (head)
                style { (PreEscaped(CSS)) }
            }
            body style=(style) {
                (body)
                script { (PreEscaped(PAGE_SCRIPT)) }
            }
        }
    }
}
