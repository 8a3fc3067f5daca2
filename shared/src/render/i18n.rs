//! Words on public pages, in Korean and English.

use crate::domain::locale::Locale;
use chrono::{DateTime, Datelike, Utc};

pub struct Words {
    pub lang: &'static str,
    pub valid: &'static str,
    pub valid_detail: &'static str,
    pub expired_on: &'static str,
    pub revoked: &'static str,
    pub superseded: &'static str,
    pub see_new: &'static str,
    pub awarded_to: &'static str,
    pub issued_by: &'static str,
    pub issued_on: &'static str,
    pub expires_on: &'static str,
    pub no_expiry: &'static str,
    pub criteria: &'static str,
    pub criteria_link: &'static str,
    pub skills: &'static str,
    pub about: &'static str,
    pub evidence: &'static str,
    pub evidence_link: &'static str,
    pub share: &'static str,
    pub add_to_linkedin: &'static str,
    pub share_on: &'static str,
    pub copy_link: &'static str,
    pub copied: &'static str,
    pub email: &'static str,
    pub qr_alt: &'static str,
    pub badge_alt: &'static str,
    pub logo_alt: &'static str,
    pub seal_alt: &'static str,
    pub verify_json: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub status_label: &'static str,
    pub powered: &'static str,
}

pub const KO: Words = Words {
    lang: "ko",
    valid: "유효한 배지",
    valid_detail: "발급 기관이 확인한 배지입니다.",
    expired_on: "만료됨",
    revoked: "취소된 배지",
    superseded: "새 배지로 재발급됨",
    see_new: "새 배지 보기",
    awarded_to: "수여 대상",
    issued_by: "발급 기관",
    issued_on: "발급일",
    expires_on: "만료일",
    no_expiry: "만료 없음",
    criteria: "취득 기준",
    criteria_link: "자세한 기준 보기",
    skills: "역량",
    about: "배지 설명",
    evidence: "증빙",
    evidence_link: "증빙 보기",
    share: "공유하기",
    add_to_linkedin: "LinkedIn 프로필에 추가",
    share_on: "에 공유",
    copy_link: "링크 복사",
    copied: "복사되었습니다",
    email: "이메일로 보내기",
    qr_alt: "이 배지 확인 페이지로 연결되는 QR 코드",
    badge_alt: "배지 이미지",
    logo_alt: "로고",
    seal_alt: "직인",
    verify_json: "Open Badges 데이터(JSON)",
    not_found_title: "배지를 찾을 수 없습니다",
    not_found_body: "주소가 정확한지 확인해 주세요. 배지가 삭제되었거나 잘못된 링크일 수 있습니다.",
    status_label: "상태",
    powered: "Accolade로 발급 · Open Badges 2.0",
};

pub const EN: Words = Words {
    lang: "en",
    valid: "Valid",
    valid_detail: "This badge was verified with its issuer.",
    expired_on: "Expired on",
    revoked: "Revoked",
    superseded: "Replaced by a newer award",
    see_new: "See the new award",
    awarded_to: "Awarded to",
    issued_by: "Issued by",
    issued_on: "Issued on",
    expires_on: "Expires on",
    no_expiry: "Does not expire",
    criteria: "Criteria",
    criteria_link: "Full criteria",
    skills: "Skills",
    about: "About this badge",
    evidence: "Evidence",
    evidence_link: "View evidence",
    share: "Share",
    add_to_linkedin: "Add to LinkedIn profile",
    share_on: "Share on",
    copy_link: "Copy link",
    copied: "Copied",
    email: "Email",
    qr_alt: "QR code linking to this verification page",
    badge_alt: "badge image",
    logo_alt: "logo",
    seal_alt: "official seal",
    verify_json: "Open Badges data (JSON)",
    not_found_title: "Badge not found",
    not_found_body: "Check the address. The link may be mistyped, or the badge does not exist.",
    status_label: "Status",
    powered: "Issued with Accolade · Open Badges 2.0",
};

pub fn words(l: Locale) -> &'static Words {
    match l {
        Locale::Ko => &KO,
        Locale::En => &EN,
    }
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
    match l {
        Locale::Ko => format!("{}년 {}월 {}일", d.year(), d.month(), d.day()),
        Locale::En => format!("{} {}, {}", MONTHS[d.month0() as usize], d.day(), d.year()),
    }
}
