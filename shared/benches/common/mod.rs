//! The award, template and issuer the rendering and signing benchmarks share: Korean text of
//! realistic length, evidence, skills, an expiry.

use accolade::domain::{
    award::{Award, Evidence, HashedIdentity, Recipient},
    email::Email,
    ids::{AwardId, IssuerId, TemplateId},
    issuer::{Issuer, IssuerProfile, LinkedInOrgId},
    template::{Criteria, ReissuePolicy, Template, TemplateImage, TemplateSpec, Validity},
    url::WebUrl,
};
use chrono::{Duration, Utc};

pub fn fixture() -> (Award, Template, Issuer) {
    let now = Utc::now();
    let mut profile = IssuerProfile::new(
        "한빛대학교 평생교육원".into(),
        WebUrl::parse("https://hanbit.example.ac.kr").unwrap(),
        Email::parse("badges@hanbit.example.ac.kr").unwrap(),
    );
    profile.linkedin_organization_id = Some(LinkedInOrgId::parse("1234567").unwrap());
    profile.mask_recipient_names = true;
    let issuer = Issuer::new(profile, now);
    let template = Template::new(
        issuer.id.clone(),
        TemplateSpec {
            name: "데이터 분석 기초".into(),
            description:
                "스프레드시트와 기초 통계로 데이터를 읽고 요약하는 8주 과정을 수료했습니다."
                    .repeat(3),
            criteria: Criteria {
                narrative: Some("8주 과정 수료, 과제 4개 제출, 최종 평가 70점 이상".into()),
                url: Some(WebUrl::parse("https://hanbit.example.ac.kr/c/1").unwrap()),
            },
            skills: vec!["데이터 리터러시".into(), "기초 통계".into(), "Excel".into()],
            image: TemplateImage::Generated,
            validity: Validity::DaysAfterIssue { days: 365 },
            reissue_policy: ReissuePolicy::OneActivePerRecipient,
            related: vec![],
            banner: None,
            enrolment: None,
            follow_ups: Default::default(),
        },
        now,
    );
    let email = Email::parse("minsu.kim@example.com").unwrap();
    let award = Award {
        id: AwardId::generate(),
        issuer_id: IssuerId::generate(),
        template_id: TemplateId::generate(),
        identity: HashedIdentity::new(&email),
        recipient: Recipient {
            email,
            name: "김민수".into(),
            phone: None,
        },
        issued_on: now,
        expires_on: Some(now + Duration::days(365)),
        narrative: Some("최종 프로젝트: 서울시 공공자전거 이용 분석".into()),
        evidence: vec![Evidence {
            url: Some(WebUrl::parse("https://github.com/example/p").unwrap()),
            narrative: Some("저장소".into()),
        }],
        external_id: None,
        locale: None,
        notify: true,
        revocation: None,
        superseded_by: None,
        supersedes: None,
        batch_id: None,
        cohort: None,
        created_at: now,
        unsubscribe_token: None,
    };
    (award, template, issuer)
}
