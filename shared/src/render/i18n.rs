//! Words shared by public pages and emails, and dates, in Korean and English.

use crate::domain::locale::Locale;
use chrono::{DateTime, Datelike, Utc};

/// Words that appear on more than one page or email; the rest are chosen where they are shown.
pub fn badge_alt(l: Locale) -> &'static str {
    l.t("배지 이미지", "badge image")
}

pub fn criteria_link(l: Locale) -> &'static str {
    l.t("자세한 기준 보기", "Full criteria")
}

pub fn skills(l: Locale) -> &'static str {
    l.t("역량", "Skills")
}

pub fn next_step(l: Locale) -> &'static str {
    l.t("다음 단계", "Next step")
}

pub fn period(l: Locale) -> &'static str {
    l.t("기간", "Duration")
}

pub fn enrol(l: Locale) -> &'static str {
    l.t("수강 신청", "Enrol")
}

pub fn unsubscribe(l: Locale) -> &'static str {
    l.t("수신 거부", "Unsubscribe")
}

/// The opt-out link of a promotional message: in Korean, and for readers of English in both
/// languages, as the Korean guidance on advertising messages asks of messages to foreigners.
pub fn unsubscribe_notice(l: Locale) -> &'static str {
    l.t("수신 거부", "Unsubscribe (수신 거부)")
}

pub fn add_to_linkedin(l: Locale) -> &'static str {
    l.t("LinkedIn 프로필에 추가", "Add to LinkedIn profile")
}

pub fn verify_json(l: Locale) -> &'static str {
    l.t("Open Badges 데이터(JSON)", "Open Badges data (JSON)")
}

pub fn download_credential(l: Locale) -> &'static str {
    l.t(
        "검증 가능한 자격증명 다운로드 (Open Badges 3.0)",
        "Download verifiable credential (Open Badges 3.0)",
    )
}

pub fn download_baked(l: Locale) -> &'static str {
    l.t(
        "자격증명이 담긴 배지 이미지",
        "Badge image with the credential",
    )
}

pub fn powered(l: Locale) -> &'static str {
    l.t(
        "Accolade로 발급 · Open Badges 2.0 · 3.0",
        "Issued with Accolade · Open Badges 2.0 · 3.0",
    )
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date in the issuer's time zone: `2026년 3월 1일` / `March 1, 2026`.
pub fn date(l: Locale, t: DateTime<Utc>, zone: crate::domain::time::Zone) -> String {
    let d = zone.date_of(t);
    l.t(
        format!("{}년 {}월 {}일", d.year(), d.month(), d.day()),
        format!("{} {}, {}", MONTHS[d.month0() as usize], d.day(), d.year()),
    )
}
