//! Free text from admins and recipients: trimmed, length-limited, without control characters.

use super::{
    error::{KO_CONTROL_CHARACTERS, KO_EMPTY},
    Invalid,
};

/// One line of text (names, labels): required, trimmed, at most `max` characters.
pub fn line(raw: &str, max: usize) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::new("must not be empty").ko(KO_EMPTY));
    }
    if s.chars().any(char::is_control) {
        return Err(
            Invalid::new("must be a single line without control characters")
                .ko(KO_CONTROL_CHARACTERS),
        );
    }
    no_direction_overrides(s)?;
    check_len(s, max)?;
    Ok(s.to_owned())
}

/// A label that groups things (a cohort): [`line`], in Unicode NFC, so the same words typed on
/// macOS (whose files may hold Hangul decomposed into jamo) and on Windows are one label. `max`
/// holds for what was sent or for its NFC form (decomposed Hangul is three times as long; a
/// few scripts' characters grow under NFC).
pub fn label(raw: &str, max: usize) -> Result<String, Invalid> {
    let composed = nfc(raw);
    let fits_as_sent = raw.trim().chars().count() <= max;
    line(&composed, if fits_as_sent { 3 * max } else { max })
}

/// `s` in Unicode NFC (what [`label`] stores), to compare with a label stored before labels were.
pub fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(s)
}

/// `s` with full-width ASCII (`０`–`９`, `＠`, `Ａ`–`ｚ`, `－`, `／`, `．`…, what a Korean or
/// Japanese input method types in full-width mode) and the ideographic space as their ASCII
/// forms: how addresses and dates are read, as phone numbers are. Nothing else changes.
pub fn half_width(s: &str) -> std::borrow::Cow<'_, str> {
    let wide = |c: char| matches!(c, '\u{ff01}'..='\u{ff5e}' | '\u{3000}');
    if !s.contains(wide) {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            c if wide(c) => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// Several lines of text (descriptions, narratives): required, trimmed, at most `max`
/// characters; newlines and tabs are kept, other control characters refused.
pub fn paragraph(raw: &str, max: usize) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::new("must not be empty").ko(KO_EMPTY));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Invalid::new("contains control characters").ko(KO_CONTROL_CHARACTERS));
    }
    no_direction_overrides(s)?;
    check_len(s, max)?;
    Ok(s.replace("\r\n", "\n"))
}

/// Refuses the invisible bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069): they make a name shown on a badge page, a card or an email read otherwise
/// than it is written ("Trojan Source"). The marks U+200E and U+200F stay allowed.
fn no_direction_overrides(s: &str) -> Result<(), Invalid> {
    let found = s
        .chars()
        .find(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'));
    match found {
        None => Ok(()),
        Some(c) => {
            let code = format!("U+{:04X}", u32::from(c));
            Err(Invalid::new(format!(
                "contains an invisible text-direction control ({code}), which makes text read otherwise than it is written"
            ))
            .ko(format!("보이지 않는 텍스트 방향 제어 문자({code})가 들어 있습니다.")))
        }
    }
}

fn check_len(s: &str, max: usize) -> Result<(), Invalid> {
    let n = s.chars().count();
    if n > max {
        return Err(
            Invalid::new(format!("is {n} characters long; at most {max} are allowed"))
                .ko(format!("너무 깁니다 (최대 {max}자).")),
        );
    }
    Ok(())
}

pub const NAME_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5_000;
pub const NARRATIVE_MAX: usize = 10_000;
pub const LABEL_MAX: usize = 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_typed_on_macos_is_the_label_typed_on_windows() {
        // "2026-봄" as macOS files may hold it: 봄 decomposed into its three jamo.
        let decomposed = "2026-\u{1107}\u{1169}\u{11B7}";
        assert_ne!(decomposed, "2026-봄");
        assert_eq!(label(decomposed, 100).unwrap(), "2026-봄");
        assert_eq!(label(" 2026-봄 ", 100).unwrap(), "2026-봄");
        assert!(label("a\u{0007}", 100).is_err());
        // The limit holds for what was sent or its NFC form: 100 decomposed syllables (300
        // characters as sent) are 100 once composed; 100 characters that grow under NFC
        // (U+0958 is two once normalised) still fit.
        assert_eq!(
            label(&"\u{1107}\u{1169}\u{11B7}".repeat(100), 100).unwrap(),
            "봄".repeat(100)
        );
        assert!(label(&"\u{0958}".repeat(100), 100).is_ok());
        assert!(label(&"a".repeat(101), 100).is_err());
        // Identifiers are not labels: `line` keeps what was sent.
        assert_eq!(line(decomposed, 100).unwrap(), decomposed);
    }

    #[test]
    fn lines_and_paragraphs() {
        assert_eq!(line("  김민수 ", 10).unwrap(), "김민수");
        assert!(line("   ", 10).is_err());
        assert!(line("a\u{0}b", 10).is_err());
        assert!(line("a\nb", 10).is_err());
        assert!(line(&"가".repeat(11), 10)
            .unwrap_err()
            .0
            .contains("11 characters"));
        assert_eq!(paragraph("a\r\nb", 10).unwrap(), "a\nb");
        assert!(paragraph("a\u{7}", 10).is_err());
    }

    #[test]
    fn direction_overrides_are_refused_by_name() {
        for bad in ["김민\u{202E}수", "a\u{2066}b\u{2069}", "\u{202A}x"] {
            let e = line(bad, NAME_MAX).unwrap_err();
            assert!(e.0.contains("text-direction control (U+20"), "{}", e.0);
            assert!(paragraph(bad, NARRATIVE_MAX).is_err());
        }
        assert_eq!(
            line("עברית\u{200F} 김민수", NAME_MAX).unwrap(),
            "עברית\u{200F} 김민수"
        );
    }
}
