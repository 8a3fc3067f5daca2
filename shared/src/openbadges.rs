//! Open Badges 2.0 hosted documents (JSON-LD). Our own wire format for a standard we do not own,
//! so it is built explicitly here rather than derived from domain types.

use crate::{
    domain::{
        award::{Award, AwardStatus},
        issuer::Issuer,
        template::{Template, TemplateImage},
    },
    urls::PublicUrls,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

pub const CONTEXT_V2: &str = "https://w3id.org/openbadges/v2";
pub const CONTENT_TYPE: &str = "application/ld+json";

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The image URL published for a template (Open Badges documents, e-mail, link previews): our
/// PNG, or the admin's own hosted image.
pub fn image_url(urls: &PublicUrls<'_>, t: &Template) -> String {
    match &t.spec.image {
        TemplateImage::Url { url } => url.to_string(),
        _ => urls.template_png(&t.id),
    }
}

/// `url` as an IRI that JSON-LD keeps: a URL our parser accepts may still not be a valid IRI
/// (`a[1]`, a stray `%`, a second `#`), and a node whose id is not an IRI is silently left out of
/// the canonical form, so it would not be signed. Such characters are percent-encoded; what
/// still is not an IRI (a non-numeric port) is `None`, and the caller leaves the id out.
pub fn iri(url: &str) -> Option<String> {
    let valid = |s: &str| json_ld::iref::Iri::new(s).is_ok();
    if valid(url) {
        return Some(url.to_owned());
    }
    let bytes = url.as_bytes();
    let hex = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
    let mut out = String::with_capacity(url.len() + 8);
    let mut fragment = false;
    for (i, c) in url.char_indices() {
        match c {
            '[' | ']' | '{' | '}' | '|' | '\\' | '^' | '`' | '<' | '>' | '"' | ' ' => {
                out.push_str(&format!("%{:02X}", u32::from(c)));
            }
            '%' if !(hex(i + 1) && hex(i + 2)) => out.push_str("%25"),
            '#' if fragment => out.push_str("%23"),
            c => {
                fragment |= c == '#';
                out.push(c);
            }
        }
    }
    valid(&out).then_some(out)
}

/// An admin's URL as the 2.0 validator accepts it (an RFC 3986 URI: `tags[]=rust` encoded as
/// `tags%5B%5D=rust`; `WebUrl` has already percent-encoded anything not ASCII): [`iri`], or the
/// URL as given when it cannot be mended.
fn uri(url: &str) -> String {
    iri(url).unwrap_or_else(|| url.to_owned())
}

/// The image shown on our own pages (browsers read SVG and WebP): the file as uploaded or
/// generated, or the hosted one.
pub fn page_image_url(urls: &PublicUrls<'_>, t: &Template) -> String {
    match &t.spec.image {
        TemplateImage::Url { url } => url.to_string(),
        _ => urls.template_image(&t.id),
    }
}

/// The hosted `Assertion`. Revoked and superseded awards answer the revocation document.
pub fn assertion(urls: &PublicUrls<'_>, a: &Award, now: DateTime<Utc>) -> Value {
    let id = urls.award_json(&a.id);
    match a.status(now) {
        AwardStatus::Revoked { reason, .. } => {
            return json!({
                "@context": CONTEXT_V2, "id": id, "type": "Assertion",
                "revoked": true, "revocationReason": reason,
            })
        }
        AwardStatus::Superseded { by } => {
            return json!({
                "@context": CONTEXT_V2, "id": id, "type": "Assertion",
                "revoked": true,
                "revocationReason": format!("Superseded by a newer award: {}", urls.award_page(&by)),
            })
        }
        AwardStatus::Valid | AwardStatus::Expired { .. } => {}
    }
    let mut m = Map::new();
    m.insert("@context".into(), json!(CONTEXT_V2));
    m.insert("type".into(), json!("Assertion"));
    m.insert("id".into(), json!(id));
    m.insert(
        "recipient".into(),
        json!({
            "type": "email",
            "hashed": true,
            "salt": a.identity.salt,
            "identity": a.identity.hash,
        }),
    );
    m.insert("badge".into(), json!(urls.template_json(&a.template_id)));
    m.insert("verification".into(), json!({ "type": "hosted" }));
    m.insert("issuedOn".into(), json!(ts(a.issued_on)));
    if let Some(e) = a.expires_on {
        m.insert("expires".into(), json!(ts(e)));
    }
    if let Some(n) = &a.narrative {
        m.insert("narrative".into(), json!(n));
    }
    if !a.evidence.is_empty() {
        let ev: Vec<Value> = a
            .evidence
            .iter()
            .map(|e| {
                let mut o = Map::new();
                o.insert("type".into(), json!("Evidence"));
                if let Some(u) = &e.url {
                    o.insert("id".into(), json!(uri(u.as_str())));
                }
                if let Some(n) = &e.narrative {
                    o.insert("narrative".into(), json!(n));
                }
                Value::Object(o)
            })
            .collect();
        m.insert("evidence".into(), Value::Array(ev));
    }
    Value::Object(m)
}

/// The `BadgeClass` of a template.
pub fn badge_class(urls: &PublicUrls<'_>, t: &Template) -> Value {
    let mut criteria = Map::new();
    if let Some(u) = &t.spec.criteria.url {
        criteria.insert("id".into(), json!(uri(u.as_str())));
    }
    if let Some(n) = &t.spec.criteria.narrative {
        criteria.insert("narrative".into(), json!(n));
    }
    let mut v = json!({
        "@context": CONTEXT_V2,
        "type": "BadgeClass",
        "id": urls.template_json(&t.id),
        "name": t.spec.name,
        "description": t.spec.description,
        "image": uri(&image_url(urls, t)),
        "criteria": Value::Object(criteria),
        "issuer": urls.issuer_json(&t.issuer_id),
    });
    if !t.spec.skills.is_empty() {
        v["tags"] = json!(t.spec.skills);
    }
    v
}

/// The issuer `Profile`.
pub fn profile(urls: &PublicUrls<'_>, i: &Issuer) -> Value {
    let p = &i.profile;
    let mut v = json!({
        "@context": CONTEXT_V2,
        "type": "Issuer",
        "id": urls.issuer_json(&i.id),
        "name": p.name,
        "url": uri(p.url.as_str()),
        "email": p.email.as_str(),
    });
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    if let Some(l) = &p.logo_url {
        v["image"] = json!(uri(l.as_str()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn admin_urls_are_published_as_uris() {
        assert_eq!(
            uri("https://lms.example.ac.kr/course?tags[]=rust"),
            "https://lms.example.ac.kr/course?tags%5B%5D=rust"
        );
        assert_eq!(
            uri("https://e.example/a?b=1#c"),
            "https://e.example/a?b=1#c"
        );
    }
}
