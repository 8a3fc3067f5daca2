//! A generated badge design (SVG) from the template's name and the issuer's colours, for
//! templates without an uploaded image.

use crate::domain::color::Color;
use maud::{html, PreEscaped};

/// A name in at most three lines that fit inside the medallion's circle (280 px at 38 px type).
fn lines(name: &str) -> Vec<String> {
    super::text::wrap(name, 280.0, 38.0, 3)
}

pub fn svg(name: &str, primary: &Color, accent: &Color) -> String {
    let ls = lines(name);
    let n = ls.len().max(1) as i32;
    let start = 250 - (n - 1) * 22;
    let text = primary.readable_text();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 500 500" width="500" height="500" role="img" aria-label=(name) {
            title { (name) }
            defs {
                linearGradient id="g" x1="0" y1="0" x2="0" y2="1" {
                    stop offset="0" stop-color=(primary.as_str()) {}
                    stop offset="1" stop-color=(primary.as_str()) stop-opacity="0.82" {}
                }
            }
            polygon points="250,18 451,134 451,366 250,482 49,366 49,134" fill=(accent.as_str()) {}
            polygon points="250,44 428,147 428,353 250,456 72,353 72,147" fill="url(#g)" {}
            circle cx="250" cy="250" r="150" fill="none" stroke=(accent.as_str()) stroke-width="6" stroke-dasharray="4 10" {}
            @for (i, l) in ls.iter().enumerate() {
                text x="250" y=((start + i as i32 * 44).to_string()) text-anchor="middle" dominant-baseline="middle"
                    font-family="system-ui, 'Apple SD Gothic Neo', 'Malgun Gothic', 'Noto Sans KR', sans-serif"
                    font-size="38" font-weight="700" fill=(text) { (l) }
            }
            (PreEscaped(""))
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_escapes_and_wraps() {
        let c = Color::parse("#1a4d8f").unwrap();
        let a = Color::parse("#f2a900").unwrap();
        let s = svg("<script>alert(1)</script> Data Science Foundations", &c, &a);
        assert!(s.starts_with("<svg"));
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;"));
        assert_eq!(
            lines("데이터 분석 기초 과정 수료"),
            vec!["데이터 분석", "기초 과정 수료"]
        );
        let long = lines("한국어 배지 이름이 아주 길어서 세 줄을 넘어가는 경우의 처리 확인용 문장");
        assert_eq!(long.len(), 3);
        assert!(long[2].ends_with('…'));
    }
}
