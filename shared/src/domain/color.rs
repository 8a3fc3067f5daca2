use super::Invalid;

/// A brand colour as `#rrggbb` (lower-case). `#rgb` is expanded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Color(String);

impl Color {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().trim_start_matches('#').to_ascii_lowercase();
        let ok = s.bytes().all(|b| b.is_ascii_hexdigit());
        let full = match (ok, s.len()) {
            (true, 6) => s,
            (true, 3) => s.chars().flat_map(|c| [c, c]).collect(),
            _ => {
                return Err(Invalid::new(format!(
                    "`{}` is not a colour (use #RRGGBB, e.g. #1a4d8f)",
                    raw.trim()
                ))
                .ko("색상 형식이 아닙니다 (예: #1a4d8f)."))
            }
        };
        Ok(Self(format!("#{full}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn rgb(&self) -> [f64; 3] {
        let v = u32::from_str_radix(&self.0[1..], 16).unwrap_or(0);
        [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff].map(|c| c as f64 / 255.0)
    }

    /// WCAG relative luminance.
    pub fn luminance(&self) -> f64 {
        let [r, g, b] = self.rgb().map(|c| {
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        });
        0.2126 * r + 0.7152 * g + 0.0722 * b
    }

    /// This colour where it is text or a border on white (links, outline buttons): itself when
    /// it contrasts 4.5:1 with white (WCAG 1.4.3), else the default dark blue (a light brand
    /// colour, such as a yellow, is only a background).
    pub fn on_white(&self) -> &str {
        if 1.05 / (self.luminance() + 0.05) >= 4.5 {
            self.as_str()
        } else {
            "#1a4d8f"
        }
    }

    /// Black or white, whichever contrasts more with this colour as a background.
    pub fn readable_text(&self) -> &'static str {
        let l = self.luminance();
        let on_white = 1.05 / (l + 0.05);
        let on_black = (l + 0.05) / 0.05;
        if on_black > on_white {
            "#111111"
        } else {
            "#ffffff"
        }
    }
}

impl TryFrom<String> for Color {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).map_err(|e| e.0)
    }
}

impl From<Color> for String {
    fn from(c: Color) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_contrast() {
        assert_eq!(Color::parse("#ABC").unwrap().as_str(), "#aabbcc");
        assert_eq!(Color::parse("1a4d8f").unwrap().as_str(), "#1a4d8f");
        assert!(Color::parse("red;}</style>").is_err());
        assert_eq!(Color::parse("#1a4d8f").unwrap().readable_text(), "#ffffff");
        assert_eq!(Color::parse("#ffe066").unwrap().readable_text(), "#111111");
        assert_eq!(Color::parse("#1a4d8f").unwrap().on_white(), "#1a4d8f");
        assert_eq!(
            Color::parse("#f2a900").unwrap().on_white(),
            "#1a4d8f",
            "amber: 2.1:1"
        );
        assert_eq!(
            Color::parse("#767676").unwrap().on_white(),
            "#767676",
            "4.54:1"
        );
    }
}
