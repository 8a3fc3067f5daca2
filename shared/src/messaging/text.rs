//! The texts of KakaoTalk and SMS messages: the day-1 AlimTalk (the approved template with its
//! variables filled, and its SMS fallback) and the promotional day-3/day-7 messages (`(광고)`, the
//! sender's name, the recommendations as tracked links, a free opt-out).

use super::{AlimTalk, Sms};
use crate::{
    domain::{
        award::Award,
        engagement::Slot,
        followup::Stage,
        issuer::Issuer,
        kakao::{euc_kr_len, euc_kr_safe, DAY1_BUTTON, DAY1_TEMPLATE},
        locale::Locale,
        phone::Phone,
        template::Template,
    },
    render::{badge_page::Recommendation, i18n},
    urls::PublicUrls,
};

/// LMS subjects: at most 40 bytes (EUC-KR).
const SUBJECT_BYTES: usize = 40;
/// LMS bodies: at most 2,000 bytes (EUC-KR).
const LMS_BYTES: usize = 2000;

/// `template` with each `#{name}` replaced by its value (a variable without one stays as written,
/// which the provider then refuses: nothing is sent that differs from the approved text).
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("#{{{name}}}"), value);
    }
    out
}

/// A variable's value: one line (AlimTalk variables are inline), without `#{` that would read as
/// another variable, and at most [`VALUE_CHARS`] characters (an AlimTalk is at most 1,000, and
/// one long name must not make the provider refuse a whole request).
fn value(s: &str) -> String {
    let line = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("#{", "# {");
    match line.char_indices().nth(VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

const VALUE_CHARS: usize = 60;

/// Whom a message is for and what about.
pub struct To<'a> {
    pub award: &'a Award,
    pub phone: &'a Phone,
    pub template: &'a Template,
    pub issuer: &'a Issuer,
}

/// The day-1 AlimTalk of one award, with its SMS fallback (the same words and the link).
pub fn day1(to: &To<'_>, urls: PublicUrls<'_>) -> AlimTalk {
    let To {
        award,
        phone,
        template,
        issuer,
    } = *to;
    let p = &issuer.profile;
    let page = urls.award_page(&award.id);
    let content = fill(
        DAY1_TEMPLATE,
        &[
            ("이름", &value(&award.recipient.name)),
            ("기관", &value(&p.name)),
            ("배지", &value(&template.spec.name)),
            (
                "발급일",
                &i18n::date(Locale::Ko, award.issued_on, p.time_zone),
            ),
        ],
    );
    // The link last and whole: the text is cut to make room for it. A text message has no
    // button: the template's "press the button below" becomes "at the link below".
    let words = content.replace("아래 버튼을 눌러", "아래 링크에서");
    let text = euc_kr_safe(&format!("[{}]\n{words}", value(&p.name)));
    let fallback = format!("{}\n{page}", cut(&text, LMS_BYTES - euc_kr_len(&page) - 1));
    AlimTalk {
        to: phone.clone(),
        content,
        button: (DAY1_BUTTON.to_owned(), page),
        fallback_subject: subject(&value(&p.name), ""),
        fallback,
    }
}

/// How a promotional message says how to stop them, free: the issuer's 080 number, or a link.
pub enum OptOut {
    Number(String),
    Link(String),
}

/// A promotional day-3 or day-7 message, as Korean law wants it: `(광고)` first, the sender's
/// name, and a free opt-out last.
pub fn promotion(
    stage: Stage,
    to: &To<'_>,
    urls: PublicUrls<'_>,
    recs: &[Recommendation],
    opt_out: &OptOut,
) -> Sms {
    let To {
        award,
        phone,
        template,
        issuer,
    } = *to;
    let p = &issuer.profile;
    let (name, badge) = (value(&award.recipient.name), value(&template.spec.name));
    let intro = match stage {
        Stage::Day7 => format!("{name}님, {badge} 이후의 다음 과정을 확인해 보세요."),
        _ => format!(
            "{name}님, {badge} 배지 취득을 축하드립니다. {}에서 다음 과정을 추천합니다.",
            p.name
        ),
    };
    let tag = sms_tag(stage);
    let go = |slot: Slot| format!("{}?src={tag}", urls.go(&award.id, &slot));
    let mut lines = vec![format!("(광고) {}", value(&p.name)), intro];
    for r in recs {
        let title = r
            .label
            .clone()
            .unwrap_or_else(|| r.template.spec.name.clone());
        lines.push(format!(
            "- {}: {}",
            value(&title),
            go(Slot::Related(r.template.id.clone()))
        ));
    }
    if template.spec.enrolment.as_ref().is_some_and(|e| e.enabled) {
        lines.push(format!("- 수강 신청: {}", go(Slot::Enrol)));
    }
    lines.push(format!("배지 보기: {}", urls.award_page(&award.id)));
    let footer = match opt_out {
        OptOut::Number(n) => format!("무료수신거부 {n}"),
        OptOut::Link(url) => format!("무료수신거부: {url}"),
    };
    let body = cut(
        &euc_kr_safe(&lines.join("\n")),
        LMS_BYTES - euc_kr_len(&footer) - 1,
    );
    Sms {
        to: phone.clone(),
        subject: subject(&value(&p.name), "(광고) "),
        content: format!("{body}\n{footer}"),
    }
}

/// The `?src=` of links in promotional texts.
pub fn sms_tag(stage: Stage) -> &'static str {
    match stage {
        Stage::Day7 | Stage::KakaoDay7 => "sms-day7",
        _ => "sms-day3",
    }
}

/// An LMS subject: `prefix` and the issuer's name, within 40 bytes.
fn subject(issuer: &str, prefix: &str) -> String {
    cut(&euc_kr_safe(&format!("{prefix}{issuer}")), SUBJECT_BYTES)
}

/// `s` cut to at most `bytes` EUC-KR bytes, on a character boundary.
pub fn cut(s: &str, bytes: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let mut b = [0u8; 4];
        if euc_kr_len(&out) + euc_kr_len(c.encode_utf8(&mut b)) > bytes {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filling_the_template() {
        let t = "#{이름}님 #{배지} #{없음}";
        assert_eq!(
            fill(t, &[("이름", "김민수"), ("배지", "SQL")]),
            "김민수님 SQL #{없음}"
        );
        assert_eq!(value("a\n  b #{x}"), "a b # {x}");
    }

    fn urls() -> PublicUrls<'static> {
        PublicUrls::new("https://badges.example.ac.kr")
    }

    #[test]
    fn day1_is_the_approved_template_filled_and_its_fallback_keeps_the_link() {
        let (mut award, template, issuer, _) = crate::email::snapshot_tests::fixture(Locale::Ko);
        let phone = Phone::parse("010-1234-5678").unwrap();
        let to = To {
            award: &award,
            phone: &phone,
            template: &template,
            issuer: &issuer,
        };
        let m = day1(&to, urls());
        assert!(m.content.starts_with("김민수님, "), "{}", m.content);
        assert!(
            !m.content.contains("#{"),
            "every variable filled: {}",
            m.content
        );
        assert_eq!(
            m.button.1,
            format!("https://badges.example.ac.kr/b/{}", award.id)
        );
        assert!(m.fallback.ends_with(&m.button.1));
        // The text message has no button: it points at the link.
        assert!(m.content.contains("아래 버튼을 눌러"));
        assert!(
            m.fallback.contains("아래 링크에서") && !m.fallback.contains("버튼"),
            "{}",
            m.fallback
        );
        // A name full of line breaks stays on its line; a huge one still leaves the link whole.
        award.recipient.name = format!(
            "김
민수{}",
            "가".repeat(3000)
        );
        let to = To {
            award: &award,
            phone: &phone,
            template: &template,
            issuer: &issuer,
        };
        let m = day1(&to, urls());
        assert!(m.content.starts_with("김 민수"));
        assert!(
            m.content.chars().count() < 1_000,
            "within AlimTalk's 1,000 characters"
        );
        assert!(euc_kr_len(&m.fallback) <= LMS_BYTES);
        assert!(m.fallback.ends_with(&m.button.1));
    }

    #[test]
    fn promotions_start_with_the_ad_mark_and_end_with_a_free_opt_out() {
        let (award, template, issuer, recs) = crate::email::snapshot_tests::fixture(Locale::Ko);
        let phone = Phone::parse("010-1234-5678").unwrap();
        let to = To {
            award: &award,
            phone: &phone,
            template: &template,
            issuer: &issuer,
        };
        let number = OptOut::Number("080-123-4567".into());
        let m = promotion(Stage::Day3, &to, urls(), &recs, &number);
        assert!(
            m.content
                .starts_with(&format!("(광고) {}", issuer.profile.name)),
            "{}",
            m.content
        );
        assert!(
            m.content.ends_with("무료수신거부 080-123-4567"),
            "{}",
            m.content
        );
        assert!(m.content.contains("?src=sms-day3"));
        assert!(m.subject.starts_with("(광고) "));
        let link = OptOut::Link("https://badges.example.ac.kr/b/x/unsubscribe?c=sms&t=T".into());
        let m = promotion(Stage::Day7, &to, urls(), &recs, &link);
        assert!(m
            .content
            .ends_with("무료수신거부: https://badges.example.ac.kr/b/x/unsubscribe?c=sms&t=T"));
        assert!(euc_kr_len(&m.content) <= LMS_BYTES && euc_kr_len(&m.subject) <= SUBJECT_BYTES);
    }

    #[test]
    fn cutting_counts_korean_as_two_bytes() {
        assert_eq!(cut("가나다", 4), "가나");
        assert_eq!(cut("ab가", 3), "ab");
        assert!(euc_kr_len(&subject(&"가".repeat(40), "(광고) ")) <= SUBJECT_BYTES);
    }
}
