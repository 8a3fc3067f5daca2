//! Text measured without a layout engine, for the SVGs we draw (share cards, the generated
//! badge): widths from the card font's approximate advances, lines broken between words, "…"
//! where text is cut.

/// A character's approximate advance in ems (the card font: Hangul and CJK full width).
fn advance(c: char) -> f32 {
    match c as u32 {
        0x1100..=0x11FF | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFF00..=0xFF60 => {
            1.0
        }
        _ if c.is_ascii_uppercase() => 0.68,
        _ if c == ' ' => 0.3,
        _ => 0.56,
    }
}

pub(super) fn width(s: &str, size: f32) -> f32 {
    s.chars().map(advance).sum::<f32>() * size
}

/// `s` cut to `max` pixels, with "…" when cut.
pub(super) fn fit(s: &str, max: f32, size: f32) -> String {
    if width(s, size) <= max {
        s.to_owned()
    } else {
        ellipsis(s, max, size)
    }
}

/// As much of `s` as fits in `max` pixels with "…" after it.
fn ellipsis(s: &str, max: f32, size: f32) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if width(&out, size) + (advance(c) + 1.0) * size > max {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

/// `s` in at most `lines` lines of `max` pixels, broken between words (a word too long for a
/// line is cut), the last line ending in "…" when text is left over.
pub(super) fn wrap(s: &str, max: f32, size: f32, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_owned()
        } else {
            format!("{cur} {word}")
        };
        if width(&candidate, size) > max && !cur.is_empty() {
            out.push(std::mem::replace(&mut cur, word.to_owned()));
        } else {
            cur = candidate;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    let cut = out.len() > lines;
    out.truncate(lines);
    let last = out.len().saturating_sub(1);
    out.into_iter()
        .enumerate()
        .map(
            |(n, line)| match (n == last && cut, width(&line, size) > max) {
                (true, _) => ellipsis(&line, max, size),
                (false, true) => fit(&line, max, size),
                _ => line,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_wrap_into_three_lines_and_are_cut() {
        let long = "한국어 배지 이름이 아주 길어서 세 줄을 넘어가는 경우의 처리를 확인하기 위한 아주 아주 긴 문장입니다";
        let lines = wrap(long, 600.0, 54.0, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with('…'), "{lines:?}");
        assert!(lines.iter().all(|l| width(l, 54.0) <= 600.0), "{lines:?}");
        let one_word = "Supercalifragilisticexpialidocious-Data-Engineering-Certificate";
        let cut = wrap(one_word, 600.0, 54.0, 3);
        assert_eq!(cut.len(), 1);
        assert!(cut[0].ends_with('…') && width(&cut[0], 54.0) <= 600.0);
        assert_eq!(wrap("Data Science", 600.0, 54.0, 3), vec!["Data Science"]);
    }
}
