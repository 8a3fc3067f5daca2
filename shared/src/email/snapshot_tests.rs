//! Snapshot tests of both parts of every email, in Korean and English. A change to an email
//! shows up as a diff of the files in `snapshots/`; `UPDATE_SNAPSHOTS=1 cargo test` rewrites them
//! after a deliberate change.

use crate::{
    domain::{
        award::{Award, HashedIdentity, Recipient},
        email::Email,
        followup::Stage,
        ids::{AwardId, IssuerId, TemplateId},
        issuer::{Issuer, IssuerProfile},
        locale::Locale,
        template::{Criteria, Enrolment, Template, TemplateSpec},
        url::WebUrl,
    },
    render::badge_page::Recommendation,
    urls::PublicUrls,
};
use chrono::{TimeZone, Utc};
use std::{path::PathBuf, sync::Arc};

fn template(id: &str, name: &str, issuer: &IssuerId) -> Template {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    Template {
        id: TemplateId::parse(id).unwrap(),
        issuer_id: issuer.clone(),
        spec: TemplateSpec {
            name: name.into(),
            description: "설명".into(),
            criteria: Criteria {
                narrative: Some("기준".into()),
                url: None,
            },
            skills: vec![],
            image: Default::default(),
            validity: Default::default(),
            reissue_policy: Default::default(),
            related: vec![],
            banner: None,
            enrolment: Some(Enrolment {
                program_type: Some("교육 프로그램".into()),
                program_name: Some("데이터 분석 심화 과정".into()),
                program_url: WebUrl::parse("https://hanbit.example.ac.kr/enrol").unwrap(),
                period: Some("12주".into()),
                enabled: true,
            }),
            follow_ups: Default::default(),
        },
        status: Default::default(),
        version: 1,
        created_at: t,
        updated_at: t,
    }
}

pub(crate) fn fixture(locale: Locale) -> (Award, Template, Issuer, Vec<Recommendation>) {
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let issuer = Issuer {
        id: IssuerId::parse("iss_AAAAAAAAAAAAAAAAAAAAAA").unwrap(),
        profile: IssuerProfile::new(
            "한빛대학교 평생교육원".into(),
            WebUrl::parse("https://hanbit.example.ac.kr").unwrap(),
            Email::parse("badges@hanbit.example.ac.kr").unwrap(),
        ),
        version: 1,
        created_at: t,
        updated_at: t,
    };
    let main = template("tpl_BBBBBBBBBBBBBBBBBBBBBB", "데이터 분석 기초", &issuer.id);
    let next = template("tpl_CCCCCCCCCCCCCCCCCCCCCC", "데이터 분석 심화", &issuer.id);
    let email = Email::parse("minsu.kim@example.com").unwrap();
    let award = Award {
        id: AwardId::parse("DDDDDDDDDDDDDDDDDDDDDD").unwrap(),
        issuer_id: issuer.id.clone(),
        template_id: main.id.clone(),
        identity: HashedIdentity::with_salt(&email, "salt".into()),
        recipient: Recipient {
            email,
            name: "김민수".into(),
            phone: None,
        },
        issued_on: t,
        expires_on: Some(Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap()),
        narrative: None,
        evidence: vec![],
        external_id: None,
        locale: Some(locale),
        notify: true,
        revocation: None,
        superseded_by: None,
        supersedes: None,
        batch_id: None,
        cohort: None,
        created_at: t,
        unsubscribe_token: Some("TOKEN-in-unsubscribe-links".into()),
    };
    let recs = vec![Recommendation {
        template: Arc::new(next),
        label: Some("다음 단계".into()),
    }];
    (award, main, issuer, recs)
}

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/email/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("snapshot {name} is missing; run with UPDATE_SNAPSHOTS=1 and review it")
    });
    assert!(
        expected == actual,
        "{name} changed; review and run with UPDATE_SNAPSHOTS=1 if intended.\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn emails_in_both_languages() {
    let urls = PublicUrls::new("https://badges.hanbit.example.ac.kr");
    for locale in [Locale::Ko, Locale::En] {
        let (award, template, issuer, recs) = fixture(locale);
        let l = locale.as_str();
        let d1 = super::day1::render(&award, &template, &issuer, urls);
        check(&format!("day1.{l}.subject.txt"), &d1.subject);
        check(&format!("day1.{l}.txt"), &d1.text);
        check(&format!("day1.{l}.html"), &d1.html);
        for stage in [Stage::Day3, Stage::Day7, Stage::Expiry] {
            let f = super::followup::render(stage, &award, &template, &issuer, urls, &recs);
            let s = stage.as_str();
            check(&format!("{s}.{l}.subject.txt"), &f.subject);
            check(&format!("{s}.{l}.txt"), &f.text);
            check(&format!("{s}.{l}.html"), &f.html);
        }
    }
}

/// Korean law's advertising marker opens every promotional subject, in Korean whatever the
/// language, and readers of English get the opt-out in both languages.
#[test]
fn every_promotional_subject_starts_with_the_korean_marker() {
    let urls = PublicUrls::new("https://badges.hanbit.example.ac.kr");
    for locale in [Locale::Ko, Locale::En] {
        let (award, template, issuer, recs) = fixture(locale);
        for stage in [Stage::Day3, Stage::Day7, Stage::Expiry] {
            let f = super::followup::render(stage, &award, &template, &issuer, urls, &recs);
            assert!(f.subject.starts_with("(광고) "), "{}", f.subject);
            assert!(f.text.contains("수신 거부"), "{}", f.text);
            if locale == Locale::En {
                assert!(f.subject.starts_with("(광고) [Ad] "), "{}", f.subject);
                assert!(
                    f.html.contains(">Unsubscribe (수신 거부)</a>"),
                    "{}",
                    f.html
                );
            }
        }
    }
}
