//! An issuer's editable profile ([`IssuerProfile`]) read from a JSON object, naming the field of
//! every problem. The API parses a create, and the merged result of a PATCH, with it.

use super::{
    color::Color,
    email::Email,
    issuer::{IssuerProfile, LinkedInOrgId},
    json::Obj,
    locale::Locale,
    text,
    time::Zone,
    url::WebUrl,
    FieldError,
};

/// The fields of an issuer profile; any other is refused.
pub const FIELDS: &[&str] = &[
    "name",
    "url",
    "email",
    "description",
    "logo_url",
    "seal_url",
    "primary_color",
    "accent_color",
    "default_locale",
    "time_zone",
    "linkedin_organization_id",
    "mask_recipient_names",
    "weekly_digest",
    "digest_recipients",
];

/// At most this many digest recipients.
pub const MAX_DIGEST_RECIPIENTS: usize = 10;

impl IssuerProfile {
    /// Parses the editable issuer profile; what is left out takes [`IssuerProfile::new`]'s
    /// defaults. Fields are read in [`FIELDS`] order; the first problem is the error.
    pub fn parse(o: &Obj<'_>) -> Result<Self, FieldError> {
        o.only(FIELDS)?;
        let mut p = IssuerProfile::new(
            o.req("name", |s| text::line(s, text::NAME_MAX))?,
            o.req("url", WebUrl::parse)?,
            o.req("email", Email::parse)?,
        );
        p.description = o.parse("description", |s| text::paragraph(s, text::DESCRIPTION_MAX))?;
        p.logo_url = o.parse("logo_url", WebUrl::parse)?;
        p.seal_url = o.parse("seal_url", WebUrl::parse)?;
        if let Some(c) = o.parse("primary_color", Color::parse)? {
            p.primary_color = c;
        }
        if let Some(c) = o.parse("accent_color", Color::parse)? {
            p.accent_color = c;
        }
        if let Some(l) = o.parse("default_locale", Locale::parse)? {
            p.default_locale = l;
        }
        if let Some(z) = o.parse("time_zone", Zone::parse)? {
            p.time_zone = z;
        }
        p.linkedin_organization_id = o.parse("linkedin_organization_id", LinkedInOrgId::parse)?;
        p.mask_recipient_names = o.bool("mask_recipient_names")?.unwrap_or(false);
        p.weekly_digest = o.bool("weekly_digest")?.unwrap_or(true);
        p.digest_recipients = digest_recipients(o)?;
        Ok(p)
    }
}

/// `digest_recipients`: email addresses, each once.
fn digest_recipients(o: &Obj<'_>) -> Result<Vec<Email>, FieldError> {
    let mut out: Vec<Email> = Vec::new();
    let field = o.path("digest_recipients");
    for (i, raw) in o
        .strings("digest_recipients", MAX_DIGEST_RECIPIENTS)?
        .into_iter()
        .enumerate()
    {
        let e = Email::parse(raw).map_err(|e| e.at(format!("{field}[{i}]")))?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::json::test_support::{fe, invalid, with_fields};
    use serde_json::{json, Value};

    /// A valid profile, with the top-level `fields` set.
    fn doc(fields: Value) -> Value {
        with_fields(
            json!({
                "name": "한국데이터대학",
                "url": "https://example.ac.kr",
                "email": "badges@example.ac.kr",
            }),
            fields,
        )
    }

    fn parse(fields: Value) -> Result<IssuerProfile, FieldError> {
        IssuerProfile::parse(&Obj::root(doc(fields).as_object().unwrap()))
    }

    fn err(fields: Value) -> FieldError {
        parse(fields).unwrap_err()
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn required_fields_and_the_house_defaults() {
        let p = parse(json!({})).unwrap();
        let defaults = IssuerProfile::new(
            "한국데이터대학".into(),
            WebUrl::parse("https://example.ac.kr").unwrap(),
            email("badges@example.ac.kr"),
        );
        assert_eq!(p, defaults);
        assert!(p.weekly_digest && !p.mask_recipient_names);
        let blanks = json!({"primary_color": "", "time_zone": " ", "logo_url": ""});
        assert_eq!(parse(blanks).unwrap(), defaults);
    }

    #[test]
    fn every_field() {
        let p = parse(json!({
            "description": "Data courses", "logo_url": "https://example.ac.kr/logo.png",
            "seal_url": "https://example.ac.kr/seal.png", "primary_color": "#ABC",
            "accent_color": "112233", "default_locale": "en", "time_zone": "America/New_York",
            "linkedin_organization_id": " 12345 ", "mask_recipient_names": true,
            "weekly_digest": false, "digest_recipients": ["a@x.kr", "b@x.kr", "a@X.KR"],
        }))
        .unwrap();
        assert_eq!(p.description.as_deref(), Some("Data courses"));
        assert_eq!(
            p.logo_url.unwrap().as_str(),
            "https://example.ac.kr/logo.png"
        );
        assert_eq!(
            p.seal_url.unwrap().as_str(),
            "https://example.ac.kr/seal.png"
        );
        assert_eq!(p.primary_color, Color::parse("#aabbcc").unwrap());
        assert_eq!(p.accent_color, Color::parse("#112233").unwrap());
        assert_eq!(p.default_locale, Locale::En);
        assert_eq!(p.time_zone, Zone::parse("America/New_York").unwrap());
        assert_eq!(p.linkedin_organization_id.unwrap().as_str(), "12345");
        assert!(p.mask_recipient_names && !p.weekly_digest);
        assert_eq!(p.digest_recipients, [email("a@x.kr"), email("b@x.kr")]);
    }

    #[test]
    fn required_field_errors() {
        assert_eq!(err(json!({"name": null})), fe("name", "is required"));
        assert_eq!(err(json!({"url": null})), fe("url", "is required"));
        assert_eq!(err(json!({"email": null})), fe("email", "is required"));
        assert_eq!(err(json!({"name": ""})), fe("name", "must not be empty"));
        assert_eq!(
            err(json!({"url": "example.ac.kr"})),
            fe("url", invalid(WebUrl::parse("example.ac.kr")))
        );
        assert_eq!(
            err(json!({"email": "badges"})),
            fe("email", invalid(Email::parse("badges")))
        );
    }

    #[test]
    fn optional_field_errors() {
        let list = FIELDS.join(", ");
        assert_eq!(
            err(json!({"logo": "https://x.kr"})),
            fe(
                "logo",
                format!("unknown field `logo`; expected one of: {list}")
            )
        );
        assert_eq!(
            err(json!({"seal_url": "data:image/png"})),
            fe("seal_url", invalid(WebUrl::parse("data:image/png")))
        );
        assert_eq!(
            err(json!({"accent_color": "blue"})),
            fe("accent_color", invalid(Color::parse("blue")))
        );
        assert_eq!(
            err(json!({"default_locale": "ja"})),
            fe("default_locale", invalid(Locale::parse("ja")))
        );
        assert_eq!(
            err(json!({"time_zone": "Mars/Olympus"})),
            fe("time_zone", invalid(Zone::parse("Mars/Olympus")))
        );
        assert_eq!(
            err(json!({"linkedin_organization_id": "acme"})),
            fe(
                "linkedin_organization_id",
                invalid(LinkedInOrgId::parse("acme"))
            )
        );
        assert_eq!(
            err(json!({"weekly_digest": "no"})),
            fe("weekly_digest", "must be true or false, not a string")
        );
    }

    #[test]
    fn digest_recipient_errors() {
        assert_eq!(
            err(json!({"digest_recipients": ["a@x.kr", "nope"]})),
            fe("digest_recipients[1]", invalid(Email::parse("nope")))
        );
        assert_eq!(
            err(json!({"digest_recipients": [3]})),
            fe("digest_recipients[0]", "must be a string")
        );
        let many: Vec<String> = (0..=MAX_DIGEST_RECIPIENTS)
            .map(|i| format!("u{i}@x.kr"))
            .collect();
        assert_eq!(
            err(json!({"digest_recipients": many})),
            fe("digest_recipients", "at most 10 entries")
        );
    }
}
