//! A request to issue one award ([`IssueRequest`]), and reading it from the JSON object of
//! `POST /v1/awards`, naming the field of every problem. Ingest builds the same request from a
//! CSV row's columns.

use super::{
    award::Evidence,
    email::Email,
    error::KO_REQUIRED,
    ids::BatchId,
    json::Obj,
    locale::Locale,
    phone::Phone,
    text,
    time::{order_hint, parse_instant, OrderHint, Zone},
    url::WebUrl,
    FieldError,
};
use chrono::{DateTime, Utc};

/// A request to issue one award, already parsed.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub email: Email,
    pub name: String,
    pub phone: Option<Phone>,
    pub issued_on: Option<DateTime<Utc>>,
    /// `Some(None)`: explicitly no expiry; `None`: the template's rule.
    pub expires_on: Option<Option<DateTime<Utc>>>,
    pub narrative: Option<String>,
    pub evidence: Vec<Evidence>,
    pub external_id: Option<String>,
    pub locale: Option<Locale>,
    pub notify: bool,
    pub cohort: Option<String>,
    pub batch_id: Option<BatchId>,
}

/// The fields of `POST /v1/awards`; any other is refused. `template_id` is the caller's to read
/// (it names the template to load); [`IssueRequest::parse`] reads the rest.
pub const FIELDS: &[&str] = &[
    "template_id",
    "recipient",
    "issued_on",
    "expires_on",
    "narrative",
    "evidence",
    "external_id",
    "locale",
    "notify",
    "cohort",
];

/// At most this many pieces of evidence per award.
pub const MAX_EVIDENCE: usize = 20;

impl IssueRequest {
    /// Parses the fields of `POST /v1/awards` other than `template_id`; bare dates are days in
    /// `zone` (the issuer's). Fields are read in [`FIELDS`] order; the first problem is the error.
    pub fn parse(o: &Obj<'_>, zone: Zone) -> Result<Self, FieldError> {
        o.only(FIELDS)?;
        let (email, name, phone) = recipient(o)?;
        Ok(Self {
            email,
            name,
            phone,
            issued_on: o.parse("issued_on", |s| instant(s, zone))?,
            expires_on: parse_expires_on(o, zone)?,
            evidence: evidence(o)?,
            narrative: o.parse("narrative", |s| text::paragraph(s, text::NARRATIVE_MAX))?,
            external_id: o.parse("external_id", |s| text::line(s, 200))?,
            locale: o.parse("locale", Locale::parse)?,
            notify: o.bool("notify")?.unwrap_or(true),
            cohort: o.parse("cohort", |s| text::label(s, 100))?,
            batch_id: None,
        })
    }
}

/// A date or date-time of a request. One that reads as two different dates (`01/03/2026`: 3
/// January or 1 March) is refused: a file's other dates can settle its order (CSV), a single
/// request's cannot.
fn instant(s: &str, zone: Zone) -> Result<DateTime<Utc>, super::Invalid> {
    if order_hint(s) == OrderHint::Either {
        return Err(super::Invalid::new(format!(
            "`{}` reads as two different dates (month first or day first); write YYYY-MM-DD",
            s.trim()
        ))
        .ko("월과 일 중 어느 쪽이 먼저인지 알 수 없습니다. YYYY-MM-DD 형식으로 적어 주세요."));
    }
    parse_instant(s, zone)
}

/// `expires_on`: left out, `None` (the template's rule); `null` or empty, `Some(None)` (no
/// expiry); a date or date-time, `Some(Some(t))`. Re-issuing reads it the same way.
pub fn parse_expires_on(
    o: &Obj<'_>,
    zone: Zone,
) -> Result<Option<Option<DateTime<Utc>>>, FieldError> {
    if o.present("expires_on") {
        Ok(Some(o.parse("expires_on", |s| instant(s, zone))?))
    } else {
        Ok(None)
    }
}

/// `recipient`: `{"email", "name"}`, both required, and an optional `phone` (a Korean mobile
/// number, for KakaoTalk and SMS).
fn recipient(o: &Obj<'_>) -> Result<(Email, String, Option<Phone>), FieldError> {
    let r = o.obj("recipient")?.ok_or_else(|| {
        FieldError::new(o.path("recipient"), "is required: {\"email\", \"name\"}").ko(KO_REQUIRED)
    })?;
    r.only(&["email", "name", "phone"])?;
    let email = r.req("email", Email::parse)?;
    let name = r.req("name", |s| text::line(s, text::NAME_MAX))?;
    let phone = r.parse("phone", Phone::parse)?;
    Ok((email, name, phone))
}

/// `evidence`: each a URL, a narrative, or both.
fn evidence(o: &Obj<'_>) -> Result<Vec<Evidence>, FieldError> {
    let mut evidence = Vec::new();
    for e in o.objects("evidence", MAX_EVIDENCE)? {
        e.only(&["url", "narrative"])?;
        let ev = Evidence {
            url: e.parse("url", WebUrl::parse)?,
            narrative: e.parse("narrative", |s| text::paragraph(s, text::NARRATIVE_MAX))?,
        };
        if ev.url.is_none() && ev.narrative.is_none() {
            return Err(FieldError::new(
                e.path("url"),
                "evidence needs a url or a narrative",
            ));
        }
        evidence.push(ev);
    }
    Ok(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        json::test_support::{fe, invalid, unknown, with_fields},
        time::parse_date,
    };
    use chrono::TimeZone;
    use serde_json::{json, Value};

    /// A valid request, with the top-level `fields` set.
    fn doc(fields: Value) -> Value {
        with_fields(
            json!({
                "template_id": "tpl_ignored_here",
                "recipient": {"email": "minsu@example.com", "name": "김민수"},
            }),
            fields,
        )
    }

    fn parse(fields: Value) -> Result<IssueRequest, FieldError> {
        IssueRequest::parse(
            &Obj::root(doc(fields).as_object().unwrap()),
            Zone::default(),
        )
    }

    fn ok(fields: Value) -> IssueRequest {
        parse(fields).unwrap()
    }

    fn err(fields: Value) -> FieldError {
        parse(fields).unwrap_err()
    }

    #[test]
    fn a_date_that_reads_two_ways_is_refused_and_one_way_is_read() {
        let e = err(json!({"issued_on": "01/03/2026"}));
        assert_eq!(e.field, "issued_on");
        assert!(e.message.contains("YYYY-MM-DD"), "{}", e.message);
        assert_eq!(err(json!({"expires_on": "3/1/2027"})).field, "expires_on");
        // The same day both ways, and ISO: read.
        assert!(ok(json!({"expires_on": "3/3/2027"})).expires_on.is_some());
        assert!(ok(json!({"expires_on": "2027-03-01"})).expires_on.is_some());
    }

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn recipient_alone_takes_the_defaults() {
        let r = ok(json!({}));
        assert_eq!(
            (r.email.as_str(), r.name.as_str()),
            ("minsu@example.com", "김민수")
        );
        assert_eq!((r.issued_on, r.expires_on), (None, None));
        assert!(r.evidence.is_empty() && r.notify);
        assert_eq!((r.narrative, r.external_id, r.cohort), (None, None, None));
        assert_eq!((r.locale, r.batch_id), (None, None));
    }

    #[test]
    fn every_field() {
        let r = ok(json!({
            "issued_on": "2026-03-01", "expires_on": "2028-03-01T09:00:00+09:00",
            "narrative": "Final project", "external_id": " S2026-001 ", "locale": "en",
            "notify": false, "cohort": "2026-봄",
            "evidence": [{"url": "https://x.kr/p"}, {"narrative": "Slides"}],
        }));
        assert_eq!(r.issued_on, Some(utc(2026, 2, 28, 15)));
        assert_eq!(r.expires_on, Some(Some(utc(2028, 3, 1, 0))));
        assert_eq!(r.narrative.as_deref(), Some("Final project"));
        assert_eq!(r.external_id.as_deref(), Some("S2026-001"));
        assert_eq!((r.locale, r.notify), (Some(Locale::En), false));
        assert_eq!(r.cohort.as_deref(), Some("2026-봄"));
        assert_eq!(
            r.evidence[0].url,
            Some(WebUrl::parse("https://x.kr/p").unwrap())
        );
        assert_eq!(r.evidence[1].narrative.as_deref(), Some("Slides"));
    }

    #[test]
    fn expires_on_left_out_none_or_a_date() {
        assert_eq!(ok(json!({})).expires_on, None);
        assert_eq!(ok(json!({"expires_on": null})).expires_on, Some(None));
        assert_eq!(ok(json!({"expires_on": " "})).expires_on, Some(None));
        let in_seoul = ok(json!({"expires_on": "2027년 3월 1일"})).expires_on;
        assert_eq!(in_seoul, Some(Some(utc(2027, 2, 28, 15))));
        let v = json!({"expires_on": "2027-03-01"});
        let ny = Zone::parse("America/New_York").unwrap();
        let e = parse_expires_on(&Obj::root(v.as_object().unwrap()), ny).unwrap();
        assert_eq!(e, Some(Some(utc(2027, 3, 1, 5))));
    }

    #[test]
    fn date_errors() {
        assert_eq!(
            err(json!({"expires_on": "next year"})),
            fe("expires_on", invalid(parse_date("next year")))
        );
        assert_eq!(
            err(json!({"issued_on": "2026-13-01"})),
            fe("issued_on", invalid(parse_date("2026-13-01")))
        );
        assert_eq!(
            err(json!({"issued_on": 20260301})),
            fe("issued_on", "must be a string, not a number")
        );
    }

    #[test]
    fn recipient_errors() {
        let required = fe("recipient", "is required: {\"email\", \"name\"}");
        assert_eq!(err(json!({"recipient": null})), required);
        assert_eq!(
            err(json!({"recipient": "minsu@example.com"})),
            fe("recipient", "must be an object, not a string")
        );
        assert_eq!(
            err(json!({"recipient": {"email": "a@x.kr", "name": "A", "id": 1}})),
            unknown("recipient.id", "id", &["email", "name", "phone"])
        );
        assert_eq!(
            err(json!({"recipient": {"name": "A"}})),
            fe("recipient.email", "is required")
        );
        assert_eq!(
            err(json!({"recipient": {"email": "a.x.kr", "name": "A"}})),
            fe("recipient.email", invalid(Email::parse("a.x.kr")))
        );
        assert_eq!(
            err(json!({"recipient": {"email": "a@x.kr"}})),
            fe("recipient.name", "is required")
        );
    }

    #[test]
    fn evidence_errors() {
        let needs = fe("evidence[1].url", "evidence needs a url or a narrative");
        assert_eq!(
            err(json!({"evidence": [{"url": "https://x.kr"}, {}]})),
            needs
        );
        assert_eq!(
            err(json!({"evidence": [{"narrative": "n"}, {"url": ""}]})),
            needs
        );
        assert_eq!(
            err(json!({"evidence": [{"url": "ftp://x.kr"}]})),
            fe("evidence[0].url", invalid(WebUrl::parse("ftp://x.kr")))
        );
        assert_eq!(
            err(json!({"evidence": [{"link": "https://x.kr"}]})),
            unknown("evidence[0].link", "link", &["url", "narrative"])
        );
        assert_eq!(
            err(json!({"evidence": ["https://x.kr"]})),
            fe("evidence[0]", "must be an object, not a string")
        );
        let many = vec![json!({"narrative": "n"}); MAX_EVIDENCE + 1];
        assert_eq!(
            err(json!({"evidence": many})),
            fe("evidence", "at most 20 entries")
        );
    }

    #[test]
    fn other_field_errors() {
        assert_eq!(
            err(json!({"expires_at": "2027-01-01"})),
            unknown("expires_at", "expires_at", FIELDS)
        );
        assert_eq!(
            err(json!({"external_id": "x".repeat(201)})),
            fe(
                "external_id",
                "is 201 characters long; at most 200 are allowed"
            )
        );
        assert_eq!(
            err(json!({"cohort": "x".repeat(101)})),
            fe("cohort", "is 101 characters long; at most 100 are allowed")
        );
        assert_eq!(
            err(json!({"locale": "ja"})),
            fe("locale", invalid(Locale::parse("ja")))
        );
        assert_eq!(
            err(json!({"notify": "yes"})),
            fe("notify", "must be true or false, not a string")
        );
        let first = err(json!({"cohort": 1, "evidence": [{}], "recipient": {"name": "A"}}));
        assert_eq!(first.field, "recipient.email");
    }
}
