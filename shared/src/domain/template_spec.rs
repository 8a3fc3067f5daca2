//! A template's editable part ([`TemplateSpec`]) read from a JSON object: one parser per part,
//! each naming the field of every problem. The API parses a create, and the merged result of a
//! PATCH, with it; the console's preview too.

use super::{
    error::{KO_NOT_A_URL, KO_REQUIRED},
    ids::TemplateId,
    json::Obj,
    template::{
        Banner, Criteria, Enrolment, FollowUps, Localized, ReissuePolicy, RelatedBadge,
        TemplateImage, TemplateSpec, Validity, MAX_RELATED, MAX_SKILLS,
    },
    text,
    time::parse_date,
    url::WebUrl,
    FieldError,
};

/// The fields of a template spec; any other is refused.
pub const FIELDS: &[&str] = &[
    "name",
    "description",
    "criteria",
    "skills",
    "image",
    "validity",
    "reissue_policy",
    "related",
    "banner",
    "enrolment",
    "follow_ups",
];

impl TemplateSpec {
    /// Parses the editable part of a template. `current` is the stored spec on update: an uploaded
    /// image can be kept but not invented. Parts are read in [`FIELDS`] order; the first problem
    /// is the error.
    pub fn parse(o: &Obj<'_>, current: Option<&TemplateSpec>) -> Result<Self, FieldError> {
        o.only(FIELDS)?;
        Ok(Self {
            name: o.req("name", |s| text::line(s, text::NAME_MAX))?,
            description: o.req("description", |s| text::paragraph(s, text::DESCRIPTION_MAX))?,
            criteria: criteria(o)?,
            skills: skills(o)?,
            image: image(o, current)?,
            validity: validity(o)?,
            reissue_policy: reissue_policy(o)?,
            related: related(o)?,
            banner: banner(o, current)?,
            enrolment: enrolment(o)?,
            follow_ups: follow_ups(o)?,
        })
    }
}

/// `criteria`: a narrative, a URL, or both; one of them is required.
fn criteria(o: &Obj<'_>) -> Result<Criteria, FieldError> {
    let criteria = match o.obj("criteria")? {
        Some(c) => {
            c.only(&["narrative", "url"])?;
            Criteria {
                narrative: c.parse("narrative", |s| text::paragraph(s, text::NARRATIVE_MAX))?,
                url: c.parse("url", WebUrl::parse)?,
            }
        }
        None => Criteria::default(),
    };
    if criteria.narrative.is_none() && criteria.url.is_none() {
        return Err(FieldError::new(
            o.path("criteria"),
            "describe how the badge is earned: give criteria.narrative, criteria.url, or both",
        )
        .ko("배지를 받는 기준을 설명하거나 기준 URL을 입력하세요 (둘 다 입력해도 됩니다)."));
    }
    Ok(criteria)
}

/// `skills`: short labels; a repeat (ignoring ASCII case) is dropped.
fn skills(o: &Obj<'_>) -> Result<Vec<String>, FieldError> {
    let mut skills: Vec<String> = Vec::new();
    for (i, s) in o.strings("skills", MAX_SKILLS)?.into_iter().enumerate() {
        let s = text::line(s, text::LABEL_MAX)
            .map_err(|e| e.at(format!("{}[{i}]", o.path("skills"))))?;
        if !skills.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
            skills.push(s);
        }
    }
    Ok(skills)
}

/// An upload the stored spec already has (uploads are made by their own route, never by JSON).
fn kept_upload(stored: Option<&TemplateImage>) -> Option<TemplateImage> {
    match stored {
        Some(keep @ TemplateImage::Uploaded { .. }) => Some(keep.clone()),
        _ => None,
    }
}

/// `image`: generated (the default), a URL, or the upload `current` already has.
fn image(o: &Obj<'_>, current: Option<&TemplateSpec>) -> Result<TemplateImage, FieldError> {
    let Some(img) = o.obj("image")? else {
        return Ok(TemplateImage::Generated);
    };
    match img.req_str("kind")? {
        "generated" => {
            img.only(&["kind"])?;
            Ok(TemplateImage::Generated)
        }
        "url" => {
            img.only(&["kind", "url"])?;
            Ok(TemplateImage::Url {
                url: img.req("url", WebUrl::parse)?,
            })
        }
        "uploaded" => kept_upload(current.map(|c| &c.image)).ok_or_else(|| {
            FieldError::new(
                img.path("kind"),
                "upload the image with PUT /v1/templates/{id}/image; `uploaded` cannot be set directly",
            )
        }),
        other => Err(FieldError::new(
            img.path("kind"),
            format!("`{other}` is not an image kind (generated, url, uploaded)"),
        )),
    }
}

/// `validity`: never (the default), a number of days after issue, or a fixed date.
fn validity(o: &Obj<'_>) -> Result<Validity, FieldError> {
    let Some(v) = o.obj("validity")? else {
        return Ok(Validity::Never);
    };
    let validity = match v.req_str("kind")? {
        "never" => {
            v.only(&["kind"])?;
            Validity::Never
        }
        "days_after_issue" => {
            v.only(&["kind", "days"])?;
            let days = v
                .u64("days")?
                .ok_or_else(|| FieldError::new(v.path("days"), "is required").ko(KO_REQUIRED))?;
            Validity::DaysAfterIssue {
                days: u32::try_from(days).unwrap_or(u32::MAX),
            }
        }
        "fixed_date" => {
            v.only(&["kind", "date"])?;
            Validity::FixedDate {
                date: v.req("date", parse_date)?,
            }
        }
        other => {
            return Err(FieldError::new(
                v.path("kind"),
                format!("`{other}` is not a validity kind (never, days_after_issue, fixed_date)"),
            ))
        }
    };
    validity.check().map_err(|e| e.at(v.path("days")))?;
    Ok(validity)
}

/// `reissue_policy`: `allow_multiple` (the default) or `one_active_per_recipient`.
fn reissue_policy(o: &Obj<'_>) -> Result<ReissuePolicy, FieldError> {
    match o.str("reissue_policy")? {
        None | Some("allow_multiple") => Ok(ReissuePolicy::AllowMultiple),
        Some("one_active_per_recipient") => Ok(ReissuePolicy::OneActivePerRecipient),
        Some(other) => Err(FieldError::new(
            o.path("reissue_policy"),
            format!("`{other}` is not a policy (allow_multiple, one_active_per_recipient)"),
        )),
    }
}

/// `related`: recommended templates, in order, each at most once. Whether they are the
/// issuer's own is checked against the store by the caller.
fn related(o: &Obj<'_>) -> Result<Vec<RelatedBadge>, FieldError> {
    let mut related: Vec<RelatedBadge> = Vec::new();
    for r in o.objects("related", MAX_RELATED)? {
        r.only(&["template_id", "label", "enabled"])?;
        let template_id = r.req("template_id", TemplateId::parse)?;
        if related.iter().any(|x| x.template_id == template_id) {
            return Err(FieldError::new(
                r.path("template_id"),
                format!("template {template_id} is listed twice"),
            )
            .ko("같은 템플릿을 두 번 추천할 수 없습니다."));
        }
        related.push(RelatedBadge {
            template_id,
            label: r.parse("label", |s| text::line(s, text::LABEL_MAX))?,
            enabled: r.bool("enabled")?.unwrap_or(true),
        });
    }
    Ok(related)
}

/// `banner`: the issuer's advertisement under the badge (none by default).
fn banner(o: &Obj<'_>, current: Option<&TemplateSpec>) -> Result<Option<Banner>, FieldError> {
    let Some(b) = o.obj("banner")? else {
        return Ok(None);
    };
    b.only(&["image", "alt", "target_url", "enabled"])?;
    let stored = current.and_then(|c| c.banner.as_ref()).map(|b| &b.image);
    Ok(Some(Banner {
        image: banner_image(&b, stored)?,
        alt: b.req("alt", |s| text::line(s, 200))?,
        target_url: b.req("target_url", WebUrl::parse)?,
        enabled: b.bool("enabled")?.unwrap_or(true),
    }))
}

/// `banner.image`: an https URL, or the upload the stored banner already has (also when the
/// field is left out).
fn banner_image(b: &Obj<'_>, stored: Option<&TemplateImage>) -> Result<TemplateImage, FieldError> {
    let Some(img) = b.obj("image")? else {
        return kept_upload(stored).ok_or_else(|| {
            FieldError::new(
                b.path("image"),
                "is required: {\"kind\": \"url\", \"url\": \"https://…\"} or an upload",
            )
            .ko(KO_REQUIRED)
        });
    };
    match img.req_str("kind")? {
        "url" => {
            img.only(&["kind", "url"])?;
            let url = img.req("url", WebUrl::parse)?;
            if !url.as_str().starts_with("https://") {
                return Err(FieldError::new(
                    img.path("url"),
                    "the banner image must be an https URL",
                )
                .ko(KO_NOT_A_URL));
            }
            Ok(TemplateImage::Url { url })
        }
        "uploaded" => kept_upload(stored).ok_or_else(|| {
            FieldError::new(
                img.path("kind"),
                "upload the banner with PUT /v1/templates/{id}/banner-image; `uploaded` cannot be set directly",
            )
        }),
        other => Err(FieldError::new(
            img.path("kind"),
            format!("`{other}` is not a banner image kind (url, uploaded)"),
        )),
    }
}

/// `enrolment`: the next programme to enrol in (none by default).
fn enrolment(o: &Obj<'_>) -> Result<Option<Enrolment>, FieldError> {
    let Some(e) = o.obj("enrolment")? else {
        return Ok(None);
    };
    e.only(&[
        "program_type",
        "program_name",
        "program_url",
        "period",
        "enabled",
    ])?;
    Ok(Some(Enrolment {
        program_type: e.parse("program_type", |s| text::line(s, 60))?,
        program_name: e.parse("program_name", |s| text::line(s, text::NAME_MAX))?,
        program_url: e.req("program_url", WebUrl::parse)?,
        period: e.parse("period", |s| text::line(s, 60))?,
        enabled: e.bool("enabled")?.unwrap_or(true),
    }))
}

/// `follow_ups`: the day-3/day-7 emails, their texts and the expiry reminder; what is left out
/// keeps [`FollowUps::default`].
fn follow_ups(o: &Obj<'_>) -> Result<FollowUps, FieldError> {
    let Some(f) = o.obj("follow_ups")? else {
        return Ok(FollowUps::default());
    };
    f.only(&["day3", "day7", "subject", "intro", "expiry_reminder_days"])?;
    let defaults = FollowUps::default();
    let expiry_reminder_days = expiry_reminder_days(&f, defaults.expiry_reminder_days)?;
    Ok(FollowUps {
        day3: f.bool("day3")?.unwrap_or(defaults.day3),
        day7: f.bool("day7")?.unwrap_or(defaults.day7),
        subject: localized(&f, "subject", 150)?,
        intro: localized(&f, "intro", 2_000)?,
        expiry_reminder_days,
    })
}

/// `follow_ups.expiry_reminder_days`: 1 to 365; `null` for no reminder; left out, the default.
fn expiry_reminder_days(f: &Obj<'_>, default: Option<u32>) -> Result<Option<u32>, FieldError> {
    if !f.present("expiry_reminder_days") {
        return Ok(default);
    }
    match f.u64("expiry_reminder_days")? {
        None => Ok(None),
        Some(d) if (1..=365).contains(&d) => Ok(Some(d as u32)),
        Some(_) => Err(FieldError::new(
            f.path("expiry_reminder_days"),
            "must be 1 to 365 days, or null for no reminder",
        )
        .ko("1에서 365 사이의 일수를 입력하거나, 알림을 보내지 않으려면 비워 두세요.")),
    }
}

/// A text per language (`ko`, `en`), each at most `max` characters.
fn localized(f: &Obj<'_>, name: &str, max: usize) -> Result<Localized, FieldError> {
    let Some(l) = f.obj(name)? else {
        return Ok(Localized::default());
    };
    l.only(&["ko", "en"])?;
    Ok(Localized {
        ko: l.parse("ko", |s| text::paragraph(s, max))?,
        en: l.parse("en", |s| text::paragraph(s, max))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::json::test_support::{fe, invalid, unknown, with_fields};
    use serde_json::{json, Value};

    /// A valid spec, with the top-level `fields` set.
    fn doc(fields: Value) -> Value {
        with_fields(
            json!({
                "name": "Data Analysis",
                "description": "Twelve weeks of projects.",
                "criteria": {"narrative": "Pass the final project."},
            }),
            fields,
        )
    }

    fn parse(fields: Value, current: Option<&TemplateSpec>) -> Result<TemplateSpec, FieldError> {
        TemplateSpec::parse(&Obj::root(doc(fields).as_object().unwrap()), current)
    }

    fn ok(fields: Value) -> TemplateSpec {
        parse(fields, None).unwrap()
    }

    fn err(fields: Value) -> FieldError {
        parse(fields, None).unwrap_err()
    }

    fn err_with(fields: Value, current: &TemplateSpec) -> FieldError {
        parse(fields, Some(current)).unwrap_err()
    }

    fn url(s: &str) -> WebUrl {
        WebUrl::parse(s).unwrap()
    }

    fn uploaded(key: &str) -> TemplateImage {
        TemplateImage::Uploaded {
            key: key.into(),
            content_type: "image/png".into(),
        }
    }

    /// A stored spec with an uploaded badge image and an uploaded banner image.
    fn stored() -> TemplateSpec {
        let mut s = ok(json!({}));
        s.image = uploaded("images/badge");
        s.banner = Some(Banner {
            image: uploaded("images/banner"),
            alt: "Spring courses".into(),
            target_url: url("https://example.ac.kr/courses"),
            enabled: true,
        });
        s
    }

    #[test]
    fn minimal_spec_takes_the_defaults() {
        let s = ok(json!({"name": "  Data Analysis ", "description": "a\r\nb"}));
        assert_eq!(s.name, "Data Analysis");
        assert_eq!(s.description, "a\nb");
        assert!(s.skills.is_empty());
        assert_eq!(s.image, TemplateImage::Generated);
        assert_eq!(s.validity, Validity::Never);
        assert_eq!(s.reissue_policy, ReissuePolicy::AllowMultiple);
        assert!(s.related.is_empty());
        assert_eq!((s.banner, s.enrolment), (None, None));
        assert_eq!(s.follow_ups, FollowUps::default());
    }

    #[test]
    fn top_level_fields() {
        assert_eq!(
            err(json!({"expires_at": "2026-01-01"})),
            unknown("expires_at", "expires_at", FIELDS)
        );
        assert_eq!(err(json!({"name": null})), fe("name", "is required"));
        assert_eq!(
            err(json!({"name": 3})),
            fe("name", "must be a string, not a number")
        );
        assert_eq!(err(json!({"name": " "})), fe("name", "must not be empty"));
        let long = "x".repeat(text::NAME_MAX + 1);
        assert_eq!(
            err(json!({"name": long})),
            fe("name", "is 201 characters long; at most 200 are allowed")
        );
        assert_eq!(
            err(json!({"description": null})),
            fe("description", "is required")
        );
    }

    #[test]
    fn the_first_problem_in_field_order_is_the_error() {
        let e = err(json!({"follow_ups": {"day3": 1}, "image": {"kind": "x"}, "criteria": {}}));
        assert_eq!(e.field, "criteria");
        let e = err(json!({"follow_ups": {"day3": 1}, "image": {"kind": "x"}}));
        assert_eq!(e.field, "image.kind");
    }

    #[test]
    fn criteria_narrative_url_or_both() {
        let c = ok(json!({"criteria": {"url": "https://example.ac.kr/c"}})).criteria;
        assert_eq!(
            (c.narrative, c.url),
            (None, Some(url("https://example.ac.kr/c")))
        );
        let c = ok(json!({"criteria": {"narrative": "Pass", "url": "https://x.kr"}})).criteria;
        assert_eq!(c.narrative.as_deref(), Some("Pass"));
        let none = fe(
            "criteria",
            "describe how the badge is earned: give criteria.narrative, criteria.url, or both",
        );
        assert_eq!(err(json!({"criteria": null})), none);
        assert_eq!(err(json!({"criteria": {}})), none);
        assert_eq!(
            err(json!({"criteria": {"narrative": " ", "url": ""}})),
            none
        );
        assert_eq!(
            err(json!({"criteria": "Pass"})),
            fe("criteria", "must be an object, not a string")
        );
        assert_eq!(
            err(json!({"criteria": {"text": "Pass"}})),
            unknown("criteria.text", "text", &["narrative", "url"])
        );
        assert_eq!(
            err(json!({"criteria": {"url": "javascript:alert(1)"}})),
            fe(
                "criteria.url",
                invalid(WebUrl::parse("javascript:alert(1)"))
            )
        );
    }

    #[test]
    fn skills_trimmed_and_deduplicated() {
        let s = ok(json!({"skills": [" SQL ", "Python", "sql", "python"]}));
        assert_eq!(s.skills, ["SQL", "Python"]);
        assert_eq!(
            err(json!({"skills": ["SQL", ""]})),
            fe("skills[1]", "must not be empty")
        );
        assert_eq!(
            err(json!({"skills": ["SQL", 3]})),
            fe("skills[1]", "must be a string")
        );
        assert_eq!(
            err(json!({"skills": "SQL"})),
            fe("skills", "must be an array, not a string")
        );
        let many: Vec<String> = (0..=MAX_SKILLS).map(|i| format!("s{i}")).collect();
        assert_eq!(
            err(json!({"skills": many})),
            fe("skills", "at most 30 entries")
        );
        let long = "x".repeat(text::LABEL_MAX + 1);
        assert_eq!(
            err(json!({"skills": [long]})),
            fe("skills[0]", "is 61 characters long; at most 60 are allowed")
        );
    }

    #[test]
    fn image_generated_url_or_kept_upload() {
        assert_eq!(
            ok(json!({"image": {"kind": "generated"}})).image,
            TemplateImage::Generated
        );
        let img = ok(json!({"image": {"kind": "url", "url": "https://x.kr/b.png"}})).image;
        assert_eq!(
            img,
            TemplateImage::Url {
                url: url("https://x.kr/b.png")
            }
        );
        let cur = stored();
        let kept = parse(json!({"image": {"kind": "uploaded"}}), Some(&cur)).unwrap();
        assert_eq!(kept.image, uploaded("images/badge"));
    }

    #[test]
    fn image_errors() {
        let upload = fe(
            "image.kind",
            "upload the image with PUT /v1/templates/{id}/image; `uploaded` cannot be set directly",
        );
        assert_eq!(err(json!({"image": {"kind": "uploaded"}})), upload);
        let mut generated = stored();
        generated.image = TemplateImage::Generated;
        assert_eq!(
            err_with(json!({"image": {"kind": "uploaded"}}), &generated),
            upload
        );
        assert_eq!(
            err(json!({"image": {"kind": "svg"}})),
            fe(
                "image.kind",
                "`svg` is not an image kind (generated, url, uploaded)"
            )
        );
        assert_eq!(err(json!({"image": {}})), fe("image.kind", "is required"));
        assert_eq!(
            err(json!({"image": {"kind": "generated", "url": "https://x.kr"}})),
            unknown("image.url", "url", &["kind"])
        );
        assert_eq!(
            err(json!({"image": {"kind": "url"}})),
            fe("image.url", "is required")
        );
        assert_eq!(
            err(json!({"image": {"kind": "url", "url": "https://x.kr", "key": "k"}})),
            unknown("image.key", "key", &["kind", "url"])
        );
    }

    #[test]
    fn validity_kinds() {
        assert_eq!(
            ok(json!({"validity": {"kind": "never"}})).validity,
            Validity::Never
        );
        let days = json!({"validity": {"kind": "days_after_issue", "days": 365}});
        assert_eq!(ok(days).validity, Validity::DaysAfterIssue { days: 365 });
        let fixed = json!({"validity": {"kind": "fixed_date", "date": "2026년 12월 31일"}});
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(ok(fixed).validity, Validity::FixedDate { date });
    }

    #[test]
    fn validity_errors() {
        let v = |v: Value| err(json!({ "validity": v }));
        let range = fe("validity.days", "days must be between 1 and 36500");
        assert_eq!(
            v(json!({"kind": "days_after_issue"})),
            fe("validity.days", "is required")
        );
        assert_eq!(v(json!({"kind": "days_after_issue", "days": 0})), range);
        assert_eq!(
            v(json!({"kind": "days_after_issue", "days": 36_501})),
            range
        );
        assert_eq!(
            v(json!({"kind": "days_after_issue", "days": 5_000_000_000u64})),
            range
        );
        assert_eq!(
            v(json!({"kind": "days_after_issue", "days": -1})),
            fe("validity.days", "must be a whole number ≥ 0")
        );
        assert_eq!(
            v(json!({"kind": "fixed_date", "date": "soon"})),
            fe("validity.date", invalid(parse_date("soon")))
        );
        assert_eq!(
            v(json!({"kind": "never", "days": 3})),
            unknown("validity.days", "days", &["kind"])
        );
        assert_eq!(
            v(json!({"kind": "yearly"})),
            fe(
                "validity.kind",
                "`yearly` is not a validity kind (never, days_after_issue, fixed_date)"
            )
        );
        assert_eq!(
            v(json!("never")),
            fe("validity", "must be an object, not a string")
        );
    }

    #[test]
    fn reissue_policies() {
        let p = |v: Value| parse(json!({ "reissue_policy": v }), None).map(|s| s.reissue_policy);
        assert_eq!(p(json!(null)), Ok(ReissuePolicy::AllowMultiple));
        assert_eq!(p(json!("allow_multiple")), Ok(ReissuePolicy::AllowMultiple));
        assert_eq!(
            p(json!("one_active_per_recipient")),
            Ok(ReissuePolicy::OneActivePerRecipient)
        );
        assert_eq!(
            p(json!("once")),
            Err(fe(
                "reissue_policy",
                "`once` is not a policy (allow_multiple, one_active_per_recipient)"
            ))
        );
        assert_eq!(
            p(json!(true)),
            Err(fe("reissue_policy", "must be a string, not a boolean"))
        );
    }

    #[test]
    fn related_in_order() {
        let (a, b) = (TemplateId::generate(), TemplateId::generate());
        let r = ok(json!({"related": [
            {"template_id": a.as_str(), "label": " Next step ", "enabled": false},
            {"template_id": b.as_str()},
        ]}))
        .related;
        assert_eq!(r.len(), 2);
        assert_eq!(
            (&r[0].template_id, r[0].label.as_deref(), r[0].enabled),
            (&a, Some("Next step"), false)
        );
        assert_eq!(
            (&r[1].template_id, r[1].label.as_deref(), r[1].enabled),
            (&b, None, true)
        );
    }

    #[test]
    fn related_errors() {
        let a = TemplateId::generate();
        let one = json!({"template_id": a.as_str()});
        assert_eq!(
            err(json!({"related": [one, one]})),
            fe(
                "related[1].template_id",
                format!("template {a} is listed twice")
            )
        );
        assert_eq!(
            err(json!({"related": [{"template_id": "tpl"}]})),
            fe("related[0].template_id", invalid(TemplateId::parse("tpl")))
        );
        assert_eq!(
            err(json!({"related": [{}]})),
            fe("related[0].template_id", "is required")
        );
        assert_eq!(
            err(json!({"related": [one, a.as_str()]})),
            fe("related[1]", "must be an object, not a string")
        );
        assert_eq!(
            err(json!({"related": [{"template_id": a.as_str(), "order": 1}]})),
            unknown(
                "related[0].order",
                "order",
                &["template_id", "label", "enabled"]
            )
        );
        let many: Vec<Value> = (0..=MAX_RELATED)
            .map(|_| json!({"template_id": TemplateId::generate().as_str()}))
            .collect();
        assert_eq!(
            err(json!({"related": many})),
            fe("related", "at most 10 entries")
        );
    }

    fn banner_with(image: Value) -> Value {
        json!({"banner": {"image": image, "alt": "Spring", "target_url": "https://x.kr/c"}})
    }

    #[test]
    fn banner_with_url_or_kept_upload() {
        let b = ok(banner_with(
            json!({"kind": "url", "url": "https://x.kr/b.png"}),
        ))
        .banner
        .unwrap();
        assert_eq!(
            b.image,
            TemplateImage::Url {
                url: url("https://x.kr/b.png")
            }
        );
        assert_eq!(
            (b.alt.as_str(), b.target_url, b.enabled),
            ("Spring", url("https://x.kr/c"), true)
        );
        let cur = stored();
        let kept = parse(banner_with(json!({"kind": "uploaded"})), Some(&cur)).unwrap();
        assert_eq!(kept.banner.unwrap().image, uploaded("images/banner"));
        let left_out =
            json!({"banner": {"alt": "Spring", "target_url": "https://x.kr", "enabled": false}});
        let b = parse(left_out, Some(&cur)).unwrap().banner.unwrap();
        assert_eq!((b.image, b.enabled), (uploaded("images/banner"), false));
    }

    #[test]
    fn banner_errors() {
        assert_eq!(
            err(banner_with(
                json!({"kind": "url", "url": "http://x.kr/b.png"})
            )),
            fe("banner.image.url", "the banner image must be an https URL")
        );
        let upload = fe(
            "banner.image.kind",
            "upload the banner with PUT /v1/templates/{id}/banner-image; `uploaded` cannot be set directly",
        );
        assert_eq!(err(banner_with(json!({"kind": "uploaded"}))), upload);
        let mut badge_only = stored();
        badge_only.banner = None;
        assert_eq!(
            err_with(banner_with(json!({"kind": "uploaded"})), &badge_only),
            upload
        );
        assert_eq!(
            err(banner_with(json!({"kind": "generated"}))),
            fe(
                "banner.image.kind",
                "`generated` is not a banner image kind (url, uploaded)"
            )
        );
        assert_eq!(
            err(json!({"banner": {"alt": "Spring", "target_url": "https://x.kr"}})),
            fe(
                "banner.image",
                "is required: {\"kind\": \"url\", \"url\": \"https://…\"} or an upload"
            )
        );
        let mut no_alt = banner_with(json!({"kind": "url", "url": "https://x.kr/b.png"}));
        no_alt["banner"]["alt"] = Value::Null;
        assert_eq!(err(no_alt), fe("banner.alt", "is required"));
        assert_eq!(
            err(json!({"banner": {"link": "https://x.kr"}})),
            unknown(
                "banner.link",
                "link",
                &["image", "alt", "target_url", "enabled"]
            )
        );
    }

    #[test]
    fn enrolment_fields() {
        let e = ok(json!({"enrolment": {
            "program_type": "Bootcamp", "program_name": "Data II",
            "program_url": "https://x.kr/apply", "period": "8주"
        }}))
        .enrolment
        .unwrap();
        assert_eq!(e.program_type.as_deref(), Some("Bootcamp"));
        assert_eq!(e.program_name.as_deref(), Some("Data II"));
        assert_eq!(
            (e.program_url, e.period.as_deref(), e.enabled),
            (url("https://x.kr/apply"), Some("8주"), true)
        );
        assert_eq!(
            err(json!({"enrolment": {"program_name": "Data II"}})),
            fe("enrolment.program_url", "is required")
        );
        assert_eq!(
            err(json!({"enrolment": {"program_url": "https://x.kr", "period": "x".repeat(61)}})),
            fe(
                "enrolment.period",
                "is 61 characters long; at most 60 are allowed"
            )
        );
        assert_eq!(
            err(json!({"enrolment": {"program_url": "https://x.kr", "enabled": "yes"}})),
            fe("enrolment.enabled", "must be true or false, not a string")
        );
        let fields = [
            "program_type",
            "program_name",
            "program_url",
            "period",
            "enabled",
        ];
        assert_eq!(
            err(json!({"enrolment": {"url": "https://x.kr"}})),
            unknown("enrolment.url", "url", &fields)
        );
    }

    #[test]
    fn follow_ups_keep_defaults_for_what_is_left_out() {
        let f =
            ok(json!({"follow_ups": {"day7": false, "subject": {"ko": "축하합니다"}}})).follow_ups;
        assert_eq!(
            (f.day3, f.day7, f.expiry_reminder_days),
            (true, false, Some(30))
        );
        assert_eq!(f.subject.ko.as_deref(), Some("축하합니다"));
        assert_eq!((f.subject.en, f.intro), (None, Localized::default()));
        let f = ok(json!({"follow_ups": {"expiry_reminder_days": null}})).follow_ups;
        assert_eq!(f.expiry_reminder_days, None);
        let f = ok(json!({"follow_ups": {"expiry_reminder_days": 365}})).follow_ups;
        assert_eq!(f.expiry_reminder_days, Some(365));
    }

    #[test]
    fn follow_ups_errors() {
        let f = |v: Value| err(json!({ "follow_ups": v }));
        let range = fe(
            "follow_ups.expiry_reminder_days",
            "must be 1 to 365 days, or null for no reminder",
        );
        assert_eq!(f(json!({"expiry_reminder_days": 0})), range);
        assert_eq!(f(json!({"expiry_reminder_days": 366})), range);
        assert_eq!(
            f(json!({"expiry_reminder_days": "30"})),
            fe(
                "follow_ups.expiry_reminder_days",
                "must be a number, not a string"
            )
        );
        assert_eq!(
            f(json!({"subject": {"ko": "x".repeat(151)}})),
            fe(
                "follow_ups.subject.ko",
                "is 151 characters long; at most 150 are allowed"
            )
        );
        assert_eq!(
            f(json!({"intro": {"en": "x".repeat(2_001)}})),
            fe(
                "follow_ups.intro.en",
                "is 2001 characters long; at most 2000 are allowed"
            )
        );
        assert_eq!(
            f(json!({"subject": {"fr": "Bravo"}})),
            unknown("follow_ups.subject.fr", "fr", &["ko", "en"])
        );
        let fields = ["day3", "day7", "subject", "intro", "expiry_reminder_days"];
        assert_eq!(
            f(json!({"day1": true})),
            unknown("follow_ups.day1", "day1", &fields)
        );
        assert_eq!(
            f(json!({"day3": 1})),
            fe("follow_ups.day3", "must be true or false, not a number")
        );
    }
}
