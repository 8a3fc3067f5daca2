use super::{
    error::{KO_EMPTY, KO_NOT_A_URL},
    Invalid,
};
use std::fmt;

pub const MAX_URL_LEN: usize = 2048;

/// An absolute `http` or `https` URL with a host. Nothing else (`javascript:`, `data:`, relative
/// paths) can be stored, so no page can ever render a script URL from admin input. Non-ASCII
/// characters (e.g. a Korean path) are percent-encoded; spaces and control characters are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(String);

impl WebUrl {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Invalid::new("URL is empty").ko(KO_EMPTY));
        }
        let lower = s.to_ascii_lowercase();
        let rest_at = if lower.starts_with("https://") {
            8
        } else if lower.starts_with("http://") {
            7
        } else {
            return Err(Invalid::new(
                "URL must start with https:// or http:// (other schemes such as javascript: or data: are not allowed)",
            ).ko(KO_NOT_A_URL));
        };
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new("URL contains spaces or control characters").ko(KO_NOT_A_URL));
        }
        if s.contains(['<', '>', '"', '\\', '`', '{', '}', '|', '^']) {
            return Err(Invalid::new(
                "URL contains characters that must be percent-encoded (< > \" \\ ` { } | ^)",
            )
            .ko(KO_NOT_A_URL));
        }
        let rest = &s[rest_at..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        let host = host.split(':').next().unwrap_or("");
        if host.is_empty() || host.starts_with('.') {
            return Err(Invalid::new("URL has no host name").ko(KO_NOT_A_URL));
        }
        let mut out = String::with_capacity(s.len());
        out.push_str(&lower[..rest_at]);
        for c in rest.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
        if out.len() > MAX_URL_LEN {
            return Err(
                Invalid::new(format!("URL is longer than {MAX_URL_LEN} characters"))
                    .ko(KO_NOT_A_URL),
            );
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WebUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|e| e.0)
    }
}

impl From<WebUrl> for String {
    fn from(u: WebUrl) -> String {
        u.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_good_urls_and_encodes_korean() {
        assert_eq!(
            WebUrl::parse(" https://example.ac.kr/courses?id=3 ")
                .unwrap()
                .as_str(),
            "https://example.ac.kr/courses?id=3"
        );
        assert_eq!(
            WebUrl::parse("HTTPS://x.kr/강의").unwrap().as_str(),
            "https://x.kr/%EA%B0%95%EC%9D%98"
        );
    }

    #[test]
    fn refuses_script_and_odd_urls() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<b>x</b>",
            "//evil.example",
            "/relative",
            "https://",
            "https:///path",
            "https://a b.com",
            "https://x.com/\"onmouseover=alert(1)",
            "ftp://x.com",
        ] {
            assert!(WebUrl::parse(bad).is_err(), "{bad} accepted");
        }
        let long = format!("https://x.com/{}", "a".repeat(3000));
        assert!(WebUrl::parse(&long).is_err());
    }
}
