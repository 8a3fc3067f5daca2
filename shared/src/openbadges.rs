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
                    o.insert("id".into(), json!(u.as_str()));
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
        criteria.insert("id".into(), json!(u.as_str()));
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
        "image": image_url(urls, t),
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
        "url": p.url.as_str(),
        "email": p.email.as_str(),
    });
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    if let Some(l) = &p.logo_url {
        v["image"] = json!(l.as_str());
    }
    v
}
