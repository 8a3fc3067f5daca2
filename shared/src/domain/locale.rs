use super::Invalid;

/// The two languages Accolade speaks. Korean first: the first users are Korean institutions.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Ko,
    En,
}

impl Locale {
    /// Accepts `ko`, `en` and regional forms such as `ko-KR`, `en_US`, `EN`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_ascii_lowercase();
        let lang = s.split(['-', '_']).next().unwrap_or("");
        match lang {
            "ko" | "kor" | "korean" | "한국어" => Ok(Self::Ko),
            "en" | "eng" | "english" | "영어" => Ok(Self::En),
            _ => Err(Invalid::new(format!(
                "`{}` is not a supported language (use `ko` or `en`)",
                raw.trim()
            ))
            .ko("지원하지 않는 언어입니다 (ko 또는 en을 쓰세요).")),
        }
    }

    /// The one way to choose Korean or English text (or markup, or any value): `l.t("발급", "Issued")`.
    pub fn t<T>(self, ko: T, en: T) -> T {
        match self {
            Self::Ko => ko,
            Self::En => en,
        }
    }

    /// The other language (a page's note in the second language).
    pub fn other(self) -> Self {
        self.t(Self::En, Self::Ko)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ko => "ko",
            Self::En => "en",
        }
    }

    /// Picks the first supported language from an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(|tag| Self::parse(tag).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags() {
        assert_eq!(Locale::parse("ko-KR").unwrap(), Locale::Ko);
        assert_eq!(Locale::parse("EN_us").unwrap(), Locale::En);
        assert!(Locale::parse("fr").unwrap_err().0.contains("`fr`"));
        assert_eq!(
            Locale::from_accept_language("fr-FR,en;q=0.8,ko;q=0.5"),
            Some(Locale::En)
        );
    }

    #[test]
    fn chooses_text() {
        assert_eq!(Locale::Ko.t("발급", "Issued"), "발급");
        assert_eq!(Locale::En.t("발급", "Issued"), "Issued");
        assert_eq!(Locale::Ko.other(), Locale::En);
    }
}
