//! A recipient's mobile number for KakaoTalk and SMS: Korean mobile numbers only (AlimTalk and
//! the SMS fallback reach a Korean KakaoTalk account or handset), as people and spreadsheets
//! write them — `010-1234-5678`, `01012345678`, `010 1234 5678`, `+82 10-1234-5678`,
//! `+82 (0)10…`, `0082…`, full-width digits, and the `1012345678` a spreadsheet leaves when it
//! stored the number as a number — normalised to E.164 (`+821012345678`).

use super::Invalid;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

const KO_NOT_A_PHONE: &str =
    "휴대전화 번호 형식이 아닙니다 (예: 010-1234-5678 또는 +82 10-1234-5678).";

/// Korean mobile prefixes after the leading 0: 010, and the older 011, 016, 017, 018, 019.
const MOBILE: [&str; 6] = ["10", "11", "16", "17", "18", "19"];

/// The digits of a number as typed (full-width ones too), and whether it began with `+`.
fn digits_of(s: &str, shown: &str) -> Result<(String, bool), Invalid> {
    let mut digits = String::new();
    let mut plus = false;
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '０'..='９' => digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            '+' | '＋' if i == 0 => plus = true,
            ' ' | '-' | '－' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return Err(not_a_phone(shown, "it has characters other than digits")),
        }
    }
    Ok((digits, plus))
}

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let shown: String = raw.trim().chars().take(40).collect();
        let s = raw.trim();
        if s.is_empty() {
            return Err(Invalid::new("phone number is empty").ko(super::error::KO_EMPTY));
        }
        if s.contains(['e', 'E']) && s.contains('+') {
            return Err(Invalid::new(format!(
                "`{shown}` is a number in scientific notation: the spreadsheet stored the phone number as a number; format the column as text and export again"
            ))
            .ko("스프레드시트가 전화번호를 숫자로 저장했습니다. 열 서식을 텍스트로 바꾸어 다시 내보내세요."));
        }
        let (digits, plus) = digits_of(s, &shown)?;
        let national = if plus {
            digits
                .strip_prefix("82")
                .ok_or_else(|| not_korean(&shown))?
                .to_owned()
        } else if let Some(rest) = digits.strip_prefix("0082") {
            rest.to_owned()
        } else if digits.starts_with('0') {
            digits
        } else if let Some(rest) = digits
            .strip_prefix("82")
            .filter(|r| r.starts_with('1') && matches!(r.len(), 9 | 10))
        {
            // +821012345678 typed into a spreadsheet, stored as a number: 821012345678.
            rest.to_owned()
        } else if digits.starts_with('1') && matches!(digits.len(), 9 | 10) {
            // 010-1234-5678 (or 011-123-4567) stored as a number: the leading 0 lost.
            format!("0{digits}")
        } else {
            return Err(not_a_phone(&shown, "it does not start with 0 or +82"));
        };
        let subscriber = national.strip_prefix('0').unwrap_or(&national);
        let prefix = subscriber.get(..2).unwrap_or_default();
        let len_ok = match prefix {
            "10" => subscriber.len() == 10,
            _ => matches!(subscriber.len(), 9 | 10),
        };
        if !MOBILE.contains(&prefix) {
            return Err(not_a_phone(
                &shown,
                "it is not a mobile number (010, 011, 016–019)",
            ));
        }
        if !len_ok {
            return Err(not_a_phone(&shown, "it has the wrong number of digits"));
        }
        Ok(Self(format!("+82{subscriber}")))
    }

    /// E.164: `+821012345678`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number in the country, as providers take it: `01012345678`.
    pub fn national(&self) -> String {
        format!("0{}", &self.0[3..])
    }

    /// As Koreans write it: `010-1234-5678`.
    pub fn display(&self) -> String {
        let n = self.national();
        let (head, rest) = n.split_at(3);
        let (mid, tail) = rest.split_at(rest.len() - 4);
        format!("{head}-{mid}-{tail}")
    }

    /// For logs: `010-****-5678`.
    pub fn masked(&self) -> String {
        let d = self.display();
        let tail = &d[d.len() - 4..];
        format!("{}-****-{tail}", &d[..3])
    }

    /// The key of this number in the KakaoTalk/SMS opt-out list (apart from email opt-outs).
    pub fn lookup_key(&self) -> String {
        format!("tel:{}", self.0)
    }
}

fn not_a_phone(shown: &str, why: &str) -> Invalid {
    Invalid::new(format!(
        "`{shown}` is not a Korean mobile number ({why}); write it as 010-1234-5678 or +82 10-1234-5678"
    ))
    .ko(KO_NOT_A_PHONE)
}

fn not_korean(shown: &str) -> Invalid {
    Invalid::new(format!(
        "`{shown}` is not a Korean number: KakaoTalk and SMS messages go to Korean mobile numbers (+82) only"
    ))
    .ko("한국 휴대전화 번호(+82)만 카카오톡·문자를 받을 수 있습니다.")
}

impl TryFrom<String> for Phone {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_mobile_numbers_as_people_write_them() {
        for raw in [
            "010-1234-5678",
            "01012345678",
            " 010 1234 5678 ",
            "010.1234.5678",
            "+82 10-1234-5678",
            "+821012345678",
            "+82 (0)10 1234 5678",
            "+82-010-1234-5678",
            "0082-10-1234-5678",
            "１０１２３４５６７８",
            "０１０－１２３４－５６７８",
            "1012345678",
            "821012345678",
            "82-10-1234-5678",
        ] {
            assert_eq!(
                Phone::parse(raw).map(|p| p.0),
                Ok("+821012345678".into()),
                "{raw}"
            );
        }
        assert_eq!(
            Phone::parse("011-234-5678").unwrap().as_str(),
            "+82112345678"
        );
        assert_eq!(Phone::parse("112345678").unwrap().as_str(), "+82112345678");
        let p = Phone::parse("010-1234-5678").unwrap();
        assert_eq!(p.national(), "01012345678");
        assert_eq!(p.display(), "010-1234-5678");
        assert_eq!(p.masked(), "010-****-5678");
        assert_eq!(
            Phone::parse("016-234-5678").unwrap().display(),
            "016-234-5678"
        );
    }

    #[test]
    fn everything_else_is_refused_with_the_reason() {
        for (raw, why) in [
            ("", "empty"),
            ("02-123-4567", "not a mobile"),
            ("031-123-4567", "not a mobile"),
            ("010-1234-567", "wrong number of digits"),
            ("010-1234-56789", "wrong number of digits"),
            ("+1 212 555 0100", "not a Korean number"),
            ("1.01235E+10", "scientific notation"),
            ("010-CALL-ME", "characters other than digits"),
            ("12345", "does not start with 0"),
            ("010+1234", "characters other than digits"),
        ] {
            let e = Phone::parse(raw).unwrap_err().to_string();
            assert!(e.contains(why), "{raw}: {e}");
        }
    }

    #[test]
    fn stored_numbers_read_back() {
        let p: Phone = serde_json::from_str("\"+821012345678\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"+821012345678\"");
        assert!(serde_json::from_str::<Phone>("\"hello\"").is_err());
    }
}
