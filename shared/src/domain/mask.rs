//! Masking recipient names on public pages when the issuer asks for it.

/// `김민수` → `김*수`, `이현` → `이*`, `John Smith` → `J*** S****`.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.len() == 1 && words[0].chars().any(is_cjk) {
        let chars: Vec<char> = words[0].chars().collect();
        return match chars.len() {
            0 => String::new(),
            1 => "*".to_string(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        };
    }
    words
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) => format!("{first}{}", "*".repeat(cs.count())),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0xAC00..=0xD7A3 | 0x1100..=0x11FF | 0x3130..=0x318F | 0x4E00..=0x9FFF | 0x3040..=0x30FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_korean_and_latin_names() {
        assert_eq!(mask_name("김민수"), "김*수");
        assert_eq!(mask_name("이현"), "이*");
        assert_eq!(mask_name("남궁민수"), "남**수");
        assert_eq!(mask_name("John Smith"), "J*** S****");
        assert_eq!(mask_name("Cher"), "C***");
        assert_eq!(mask_name("김 민수"), "김 민*");
    }
}
