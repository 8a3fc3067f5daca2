//! Demo data for `make dev`: an issuer with branding, an API key, two templates and one award.

use crate::operator::{self, NewIssuer};
use accolade::{
    app::App,
    domain::{
        api_key::ApiKeySecret,
        award::Award,
        color::Color,
        email::Email,
        ids::{AwardId, IssuerId, TemplateId},
        issuer::{Issuer, LinkedInOrgId},
        template::{
            Banner, Criteria, Enrolment, ReissuePolicy, RelatedBadge, Template, TemplateImage,
            TemplateSpec, Validity,
        },
        url::WebUrl,
    },
    issuing::{self, IssueRequest, Issued},
};
use chrono::Utc;

pub struct Demo {
    pub issuer_id: IssuerId,
    pub api_key: ApiKeySecret,
    pub template_id: TemplateId,
    pub award_id: AwardId,
}

fn url(s: &str) -> WebUrl {
    WebUrl::parse(s).expect("demo URL")
}

/// A banner image for the demo (an SVG in the uploads bucket, as an admin's upload would be).
async fn banner_image(
    app: &App,
    issuer: &IssuerId,
) -> Result<TemplateImage, Box<dyn std::error::Error + Send + Sync>> {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 960 200" width="960" height="200"><rect width="960" height="200" rx="16" fill="#0b3d91"/><circle cx="860" cy="40" r="120" fill="#f2a900" opacity=".9"/><text x="48" y="92" font-family="system-ui,'Apple SD Gothic Neo','Noto Sans KR',sans-serif" font-size="40" font-weight="700" fill="#fff">2027년 봄학기 데이터 과정 모집</text><text x="48" y="146" font-family="system-ui,'Apple SD Gothic Neo','Noto Sans KR',sans-serif" font-size="28" fill="#fff">조기 등록 20% 할인 · 3월 2일 개강</text></svg>"##;
    let key = format!("images/{issuer}/demo/banner.svg");
    app.blobs
        .put(&key, svg.as_bytes().to_vec(), "image/svg+xml")
        .await?;
    Ok(TemplateImage::Uploaded {
        key,
        content_type: "image/svg+xml".into(),
    })
}

/// KakaoTalk on, with the local SENS stand-in's account (`/_local/outbox/kakao` shows what goes).
async fn kakao(
    app: &App,
    issuer: &IssuerId,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use crate::sens;
    use accolade::domain::kakao::{Credentials, KakaoSettings};
    let settings = KakaoSettings {
        enabled: true,
        provider: "sens".into(),
        channel_id: sens::CHANNEL.into(),
        alimtalk_service_id: sens::ALIMTALK_SERVICE.into(),
        sms_service_id: sens::SMS_SERVICE.into(),
        day1_template_code: sens::TEMPLATE_CODE.into(),
        sms_sender: sens::SENDER.into(),
        opt_out_number: None,
        day1: true,
        day3: true,
        day7: true,
    };
    let keys = serde_json::to_vec(&Credentials {
        access_key: sens::ACCESS_KEY.into(),
        secret_key: sens::SECRET_KEY.into(),
    })?;
    let sealed = app
        .kms
        .encrypt_secret(issuer, accolade::notify::kakao::PURPOSE, &keys)
        .await?;
    app.store
        .put_kakao(issuer, &settings, Some(&sealed))
        .await?;
    Ok(())
}

type SeedResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub async fn seed(app: &App) -> SeedResult<Demo> {
    let (issuer, api_key) = demo_issuer(app).await?;
    let basics = demo_templates(app, &issuer).await?;
    kakao(app, &issuer.id).await?;
    let award = demo_award(app, &issuer, &basics).await?;
    Ok(Demo {
        issuer_id: issuer.id,
        api_key,
        template_id: basics.id,
        award_id: award.id,
    })
}

/// The demo institution, with its colours and LinkedIn page, and its API key.
async fn demo_issuer(app: &App) -> SeedResult<(Issuer, ApiKeySecret)> {
    let (mut issuer, api_key) = operator::create_issuer(
        &app.store,
        &NewIssuer {
            name: "한빛대학교 평생교육원",
            url: "https://hanbit.example.ac.kr",
            email: "badges@hanbit.example.ac.kr",
            locale: Some("ko"),
            time_zone: Some("Asia/Seoul"),
        },
    )
    .await?;
    issuer.profile.primary_color = Color::parse("#0b3d91")?;
    issuer.profile.accent_color = Color::parse("#f2a900")?;
    issuer.profile.description = Some("한빛대학교 평생교육원의 디지털 배지".into());
    issuer.profile.linkedin_organization_id = Some(LinkedInOrgId::parse("1234567")?);
    issuer.version += 1;
    app.store.update_issuer(&issuer).await?;
    Ok((issuer, api_key))
}

/// "데이터 분석 심화", and "데이터 분석 기초" that recommends it (with a banner and enrolment):
/// the latter, which the demo badge is of.
async fn demo_templates(app: &App, issuer: &Issuer) -> SeedResult<Template> {
    let now = Utc::now();
    let advanced = Template::new(
        issuer.id.clone(),
        TemplateSpec {
            name: "데이터 분석 심화".into(),
            description: "Python과 SQL로 실제 데이터를 분석하고 결과를 발표하는 심화 과정입니다."
                .into(),
            criteria: Criteria {
                narrative: Some("12주 과정 출석 80% 이상, 최종 프로젝트 통과".into()),
                url: None,
            },
            skills: vec!["Python".into(), "SQL".into(), "데이터 시각화".into()],
            image: TemplateImage::Generated,
            validity: Validity::DaysAfterIssue { days: 730 },
            reissue_policy: ReissuePolicy::OneActivePerRecipient,
            related: vec![],
            banner: None,
            enrolment: None,
            follow_ups: Default::default(),
        },
        now,
    );
    app.store.create_template(&advanced, None).await?;
    let basics = Template::new(
        issuer.id.clone(),
        TemplateSpec {
            name: "데이터 분석 기초".into(),
            description:
                "스프레드시트와 기초 통계로 데이터를 읽고 요약하는 8주 과정을 수료했습니다.".into(),
            criteria: Criteria {
                narrative: Some("8주 과정 수료, 과제 4개 제출, 최종 평가 70점 이상".into()),
                url: Some(url("https://hanbit.example.ac.kr/courses/data-basics")),
            },
            skills: vec!["데이터 리터러시".into(), "기초 통계".into(), "Excel".into()],
            image: TemplateImage::Generated,
            validity: Validity::DaysAfterIssue { days: 365 },
            reissue_policy: ReissuePolicy::OneActivePerRecipient,
            related: vec![RelatedBadge {
                template_id: advanced.id.clone(),
                label: Some("다음 단계".into()),
                enabled: true,
            }],
            banner: Some(Banner {
                image: banner_image(app, &issuer.id).await?,
                alt: "2027년 봄학기 데이터 과정 모집 — 조기 등록 20% 할인".into(),
                target_url: url("https://hanbit.example.ac.kr/admissions/spring-2027"),
                enabled: true,
            }),
            enrolment: Some(Enrolment {
                program_type: Some("교육 프로그램".into()),
                program_name: Some("데이터 분석 심화 과정".into()),
                program_url: url("https://hanbit.example.ac.kr/courses/data-advanced"),
                period: Some("12주".into()),
                enabled: true,
            }),
            follow_ups: Default::default(),
        },
        now,
    );
    app.store.create_template(&basics, None).await?;
    Ok(basics)
}

/// The demo badge (with a phone number: its day-1 AlimTalk goes to the local SENS stand-in).
async fn demo_award(app: &App, issuer: &Issuer, basics: &Template) -> SeedResult<Award> {
    let now = Utc::now();
    let req = IssueRequest {
        email: Email::parse("jiyoung.park@example.com")?,
        name: "박지영".into(),
        phone: Some(accolade::domain::phone::Phone::parse("010-2345-6789")?),
        issued_on: None,
        expires_on: None,
        narrative: Some("최종 프로젝트: 서울시 공공자전거 이용 분석".into()),
        evidence: vec![],
        external_id: Some("demo-0001".into()),
        locale: None,
        notify: true,
        cohort: Some("2026-가을".into()),
        batch_id: None,
    };
    Ok(
        match issuing::issue(&app.store, issuer, basics, &req, None, now).await? {
            Issued::Created(a) | Issued::Existing(a) => a,
        },
    )
}
