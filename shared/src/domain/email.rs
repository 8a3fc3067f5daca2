use super::{error::KO_EMPTY, Invalid};
use std::fmt;

/// An email address as people type it, normalised: surrounding space trimmed, domain lower-cased.
/// The local part keeps its case (RFC 5321 lets servers treat it case-sensitively); look-ups use
/// [`Email::lookup_key`], which lower-cases everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

const KO_NOT_AN_EMAIL: &str = "이메일 주소 형식이 아닙니다 (예: name@example.ac.kr).";

impl Email {
    /// An address as a person or a file gives it. Mail goes out without SMTPUTF8 (SES and many
    /// receivers do not take it), so the address must be ASCII: an internationalised domain is
    /// written in its ASCII form (`대학교.한국` → `xn--…`), and a local part with other
    /// characters is refused with a message that says so. Full-width characters (`ｋｉｍ＠…`,
    /// typed with a Korean input method in full-width mode) are read as their ASCII forms.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let stored = Self::checked(&super::text::half_width(raw))?;
        let (local, domain) = stored.0.rsplit_once('@').unwrap_or_default();
        if !local.is_ascii() {
            return Err(Invalid::new(format!(
                "`{}` is not an address mail can be sent to without SMTPUTF8 (non-ASCII characters before `@`); use the recipient's ASCII address",
                shorten(&stored.0)
            ))
            .ko(KO_NOT_AN_EMAIL));
        }
        let ascii = idna::domain_to_ascii(domain).map_err(|_| {
            Invalid::new(format!(
                "`{}` is not an email address (the domain is not a valid internationalised name)",
                shorten(&stored.0)
            ))
            .ko(KO_NOT_AN_EMAIL)
        })?;
        Ok(Self(format!("{local}@{ascii}")))
    }

    /// The syntax checks, without the ASCII rule: what addresses stored before it must still
    /// pass to be read back.
    fn checked(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Invalid::new("email address is empty").ko(KO_EMPTY));
        }
        if s.len() > 254 {
            return Err(Invalid::new("email address is longer than 254 characters")
                .ko("이메일 주소는 254자를 넘을 수 없습니다."));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new(format!(
                "`{}` is not an email address (it contains spaces or control characters)",
                shorten(s)
            ))
            .ko(KO_NOT_AN_EMAIL));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(
                Invalid::new(format!("`{}` is not an email address (no `@`)", shorten(s)))
                    .ko(KO_NOT_AN_EMAIL),
            );
        };
        let bad = |why: &str| {
            Invalid::new(format!("`{}` is not an email address ({why})", shorten(s)))
                .ko(KO_NOT_AN_EMAIL)
        };
        if local.is_empty() || local.len() > 64 {
            return Err(bad("the part before `@` must be 1 to 64 characters"));
        }
        if local.contains('@')
            || local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"'])
        {
            return Err(bad(
                "the part before `@` contains characters that are not allowed",
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad("misplaced dot before `@`"));
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(bad("the domain needs a dot, e.g. `example.com`"));
        }
        for label in &labels {
            if label.is_empty() || label.len() > 63 {
                return Err(bad("empty or over-long part in the domain"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("a domain part starts or ends with `-`"));
            }
            if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
                return Err(bad("the domain contains characters that are not allowed"));
            }
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-insensitive key used to find a recipient's awards and to detect duplicates.
    pub fn lookup_key(&self) -> String {
        self.0.to_lowercase()
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_owned()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    /// Reading a stored address: the syntax checks only (an award stored before the ASCII rule
    /// stays readable).
    fn try_from(s: String) -> Result<Self, String> {
        Self::checked(&s).map_err(|e| e.0)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_domain_and_trims() {
        let e = Email::parse("  Kim.MinSu@Example.AC.KR ").unwrap();
        assert_eq!(e.as_str(), "Kim.MinSu@example.ac.kr");
        assert_eq!(e.lookup_key(), "kim.minsu@example.ac.kr");
    }

    /// An address typed with a Korean input method in full-width mode reads as its ASCII form.
    #[test]
    fn full_width_addresses_read_as_ascii() {
        let e = Email::parse("ｋｉｍ．ｍｓ＠ｅｘａｍｐｌｅ．ａｃ．ｋｒ　").unwrap();
        assert_eq!(e.as_str(), "kim.ms@example.ac.kr");
        assert_eq!(
            Email::parse("kim＠example.com").unwrap().as_str(),
            "kim@example.com"
        );
    }

    #[test]
    fn accepts_plus_and_writes_idn_domains_in_ascii() {
        assert!(Email::parse("a+tag@mail.example.com").is_ok());
        let idn = Email::parse("student@대학교.한국").unwrap();
        assert!(idn.as_str().is_ascii(), "{idn}");
        assert!(idn.as_str().starts_with("student@xn--"), "{idn}");
        assert_eq!(Email::parse(idn.as_str()).unwrap(), idn);
    }

    #[test]
    fn refuses_non_ascii_before_the_at_but_reads_it_back_when_stored() {
        let e = Email::parse("학생@example.ac.kr").unwrap_err();
        assert!(e.0.contains("SMTPUTF8"), "{}", e.0);
        let stored: Result<Email, _> = Email::try_from("학생@대학교.한국".to_owned());
        assert!(stored.is_ok());
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@x.com",
            "a@.com",
            "a@x..com",
            "a@-x.com",
            ".a@x.com",
            "a..b@x.com",
            "<script>@x.com",
            "a@x.com\n",
        ] {
            let r = Email::parse(bad);
            if bad == "a@x.com\n" {
                // trailing newline is trimmed as surrounding space
                assert!(r.is_ok());
                continue;
            }
            assert!(r.is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse("nope").unwrap_err().0.contains("no `@`"));
    }
}
