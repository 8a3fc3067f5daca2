//! A minimal, correct MIME builder for `multipart/alternative` mail in UTF-8.

use base64::Engine;

pub struct Message<'a> {
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// Extra headers (e.g. `List-Unsubscribe`), already valid header values.
    pub headers: Vec<(&'a str, String)>,
    pub message_id_domain: &'a str,
}

/// Header text (a subject): control characters (a CR/LF could add a header) dropped; ASCII as it
/// is, non-ASCII or text that looks like an encoded word as RFC 2047 encoded words.
pub fn encode_header(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if text.is_ascii() && !text.contains("=?") {
        return text;
    }
    encoded_words(&text)
}

/// Text bytes per encoded word: 52 base64 characters, a 64-character word, so a line holding one
/// (`Subject: ` and the word) stays within RFC 2047's 76 characters.
const WORD_BYTES: usize = 39;

/// `text` (CR/LF dropped) as `=?UTF-8?B?…?=` words of at most [`WORD_BYTES`] bytes of whole
/// characters each, one word a line.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars().filter(|c| *c != '\r' && *c != '\n') {
        if chunk.len() + c.len_utf8() > WORD_BYTES {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// `name <address>` as RFC 5322 writes a mailbox, whatever the name holds: words of plain ASCII
/// letters, digits and `!#$%&'*+-/=?^_`{|}~` as they are; other ASCII (`,` `<` `>` `"` `@` …)
/// as a quoted string; anything non-ASCII, or text that looks like an encoded word, as RFC 2047
/// encoded words, the address then on a line of its own (a line with an encoded word is at most
/// 76 characters). Control characters (a CR/LF could add a header) are dropped. An empty name
/// leaves the bare address. So "University of California, Berkeley" stays one mailbox, and a
/// name such as `Acme <ceo@bank.com>` cannot add one.
pub fn mailbox(name: &str, address: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        return address.to_owned();
    }
    if !name.is_ascii() || name.contains("=?") {
        return format!("{}\r\n <{address}>", encoded_words(name));
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let phrase = if name
        .split(' ')
        .all(|w| !w.is_empty() && w.chars().all(atext))
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    };
    format!("{phrase} <{address}>")
}

fn body_base64(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    b64.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

pub fn build(m: &Message<'_>, date: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let boundary = format!("=_accolade_{}", crate::domain::ids::random_token());
    let mut out = String::new();
    let mut h = |k: &str, v: &str| {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push_str("\r\n");
    };
    h("From", &mailbox(m.from_name, m.from_address));
    h("To", m.to);
    h("Subject", &encode_header(m.subject));
    h("Date", &date.to_rfc2822());
    h(
        "Message-ID",
        &format!(
            "<{}@{}>",
            crate::domain::ids::random_token(),
            m.message_id_domain
        ),
    );
    h("MIME-Version", "1.0");
    for (k, v) in &m.headers {
        h(k, v);
    }
    h(
        "Content-Type",
        &format!("multipart/alternative; boundary=\"{boundary}\""),
    );
    out.push_str("\r\n");
    for (ct, body) in [("text/plain", m.text), ("text/html", m.html)] {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str(&format!("Content-Type: {ct}; charset=UTF-8\r\n"));
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&body_base64(body));
        out.push_str("\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_parts() {
        let raw = build(
            &Message {
                from_name: "한빛대학교",
                from_address: "badges@hanbit.ac.kr",
                to: "kim@example.com",
                subject: "배지가 발급되었습니다",
                text: "안녕하세요",
                html: "<p>안녕하세요</p>",
                headers: vec![],
                message_id_domain: "hanbit.ac.kr",
            },
            chrono::Utc::now(),
        );
        let s = String::from_utf8(raw).unwrap();
        assert!(s.contains("Subject: =?UTF-8?B?"));
        assert!(s.contains("To: kim@example.com\r\n"));
        assert!(s.contains("Content-Type: text/plain; charset=UTF-8"));
        assert!(s.contains("Content-Type: text/html; charset=UTF-8"));
        assert!(s.is_ascii(), "the raw message is 7-bit clean");
        assert_eq!(encode_header("Hello"), "Hello");
        assert!(
            !encode_header("a\r\nBcc: x@y").contains('\n')
                || encode_header("a\r\nBcc: x@y").starts_with("=?")
        );
    }
}

/// A raw message read back (tests and the local outbox): unfolded headers, RFC 2047 words
/// decoded, and the decoded text and HTML parts.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `=?UTF-8?B?…?=` words (what [`encode_header`] writes) and keeps plain text; white
/// space between two encoded words is dropped, as RFC 2047 says.
pub fn decode_header(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?UTF-8?B?") {
        let (before, tail) = rest.split_at(start);
        let Some(end) = tail[10..].find("?=") else {
            break;
        };
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&tail[10..10 + end])
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|_| tail[..10 + end + 2].to_owned());
        out.push_str(&decoded);
        rest = &tail[10 + end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

pub fn parse(raw: &str) -> Parsed {
    let (head, _) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim_start());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    for (_, v) in &mut headers {
        *v = decode_header(v);
    }
    let part = |ct: &str| -> String {
        let Some(start) = raw.find(&format!("Content-Type: {ct}")) else {
            return String::new();
        };
        let rest = &raw[start..];
        let body_start = rest.find("\r\n\r\n").map(|i| i + 4).unwrap_or(rest.len());
        let body_end = rest[body_start..]
            .find("\r\n--")
            .map(|i| body_start + i)
            .unwrap_or(rest.len());
        let b64: String = rest[body_start..body_end].split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Parsed {
        text: part("text/plain"),
        html: part("text/html"),
        headers,
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn round_trip() {
        let raw = build(
            &Message {
                from_name: "한빛대학교 평생교육원",
                from_address: "b@x.kr",
                to: "k@example.com",
                subject: "(광고) 다음 과정을 소개합니다 — 데이터 분석 심화 과정 모집",
                text: "본문",
                html: "<p>본문</p>",
                headers: vec![("List-Unsubscribe", "<https://x.kr/u>".into())],
                message_id_domain: "x.kr",
            },
            chrono::Utc::now(),
        );
        let p = parse(&String::from_utf8(raw).unwrap());
        assert_eq!(
            p.header("Subject"),
            Some("(광고) 다음 과정을 소개합니다 — 데이터 분석 심화 과정 모집")
        );
        assert_eq!(p.header("From"), Some("한빛대학교 평생교육원 <b@x.kr>"));
        assert_eq!(p.header("List-Unsubscribe"), Some("<https://x.kr/u>"));
        assert_eq!(p.text, "본문");
        assert_eq!(p.html, "<p>본문</p>");
    }
}

#[cfg(test)]
mod mailbox_tests {
    use super::*;

    const HOSTILE: &[&str] = &[
        "Hanbit University",
        "University of California, Berkeley",
        "Acme <ceo@bank.com>",
        "\"Quoted\" \\ back\\slash",
        "a\r\nBcc: evil@example.com",
        "=?UTF-8?B?ZXZpbEBleGFtcGxlLmNvbQ==?=",
        "O'Brien & Sons; (Ltd.) [x]: y@z",
        "한빛대학교, 서울캠퍼스",
        "김\"민수 <kim@evil.example>",
        "  ",
        "Ünïcödé, Inc.",
    ];

    #[test]
    fn plain_names_stay_as_they_are() {
        assert_eq!(
            mailbox("Hanbit University", "b@x.kr"),
            "Hanbit University <b@x.kr>"
        );
        assert_eq!(mailbox("", "b@x.kr"), "b@x.kr");
        assert_eq!(
            mailbox("University of California, Berkeley", "b@x.kr"),
            "\"University of California, Berkeley\" <b@x.kr>"
        );
        assert!(mailbox("한빛대학교", "b@x.kr").starts_with("=?UTF-8?B?"));
    }

    /// Every From header parsed by Python's email package in strict mode (RFC 5322 with
    /// RFC 2047 words) holds exactly one mailbox: the sender's address, with the intended name.
    #[test]
    fn a_strict_rfc5322_parser_finds_exactly_the_intended_mailbox() {
        for (name, got) in HOSTILE.iter().zip(strict_from_headers(HOSTILE)) {
            assert_eq!(got, intended(name), "From for {name:?}");
        }
    }

    /// What the strict parser should find: the name without control characters, trimmed, the
    /// sender's address, and no Bcc.
    pub(super) fn intended(name: &str) -> Vec<Vec<String>> {
        let clean: String = name.chars().filter(|c| !c.is_control()).collect();
        vec![
            vec![clean.trim().to_owned(), "badges@hanbit.ac.kr".to_owned()],
            vec!["0".to_owned()],
        ]
    }

    /// For each name, a message from `name <badges@hanbit.ac.kr>` as Python's email package in
    /// strict mode reads its From: `[display name, address]` per mailbox, then each defect's
    /// class, then the number of Bcc headers.
    pub(super) fn strict_from_headers(names: &[impl AsRef<str>]) -> Vec<Vec<Vec<String>>> {
        let messages: Vec<String> = names
            .iter()
            .map(|name| {
                let m = Message {
                    from_name: name.as_ref(),
                    from_address: "badges@hanbit.ac.kr",
                    to: "kim@example.com",
                    subject: "s",
                    text: "t",
                    html: "<p>t</p>",
                    headers: vec![],
                    message_id_domain: "hanbit.ac.kr",
                };
                String::from_utf8(build(&m, chrono::Utc::now())).unwrap()
            })
            .collect();
        let script = r#"
import email, email.policy, json, sys
out = []
for raw in json.load(sys.stdin):
    msg = email.message_from_bytes(raw.encode(), policy=email.policy.strict)
    frm = msg["From"]
    out.append([[a.display_name, a.addr_spec] for a in frm.addresses]
               + [[d.__class__.__name__] for d in frm.defects]
               + [[str(len(msg.get_all("Bcc") or []))]])
print(json.dumps(out))
"#;
        let python = std::env::var("TOOLS_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (make test installs it)");
        let input = serde_json::to_vec(&messages).unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Property tests (issue #14, hostile input): From and Subject header values for any text.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::proptest_config;
    use base64::engine::general_purpose::STANDARD;
    use proptest::{prelude::*, test_runner::TestCaseError};

    /// Names people type and names built to break headers: Korean, quotes, backslashes, `<>`,
    /// commas, encoded-word look-alikes, CR/LF, controls, Unicode spaces and marks.
    fn display_name() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-zA-Z0-9]{1,6}",
            3 => prop::char::range('가', '힣').prop_map(String::from),
            3 => prop::sample::select(vec![
                " ", "  ", "\"", "\\", "<", ">", ",", "@", ";", ":", "(", ")", ".", "[", "]",
                "'", "=?", "?=", "=?utf-8?b?", "=?UTF-8?B?ZXZpbA==?=", "\r", "\n", "\r\n",
                "\t", "\0", "\x1b", "\x7f", "\u{85}", "\u{a0}", "\u{3000}", "\u{2028}",
                "\u{202e}", "\u{feff}", "😀", "é", "e\u{301}",
            ])
            .prop_map(String::from),
            1 => any::<char>().prop_map(String::from),
            1 => "[ -~]{1,8}",
        ];
        prop::collection::vec(piece, 0..30).prop_map(|p| p.concat())
    }

    fn address() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "badges@hanbit.ac.kr",
            "a@b.co",
            "no-reply+x@xn--3e0b707e.xn--3e0b707e",
            "first.last@a-very-long-subdomain-name-for-testing.example.ac.kr",
        ])
        .prop_map(String::from)
    }

    /// `field: value` as [`build`] writes it: ASCII; CR only in CRLF before a folded line's space;
    /// no other control character; a line with an encoded word at most 76 characters (RFC 2047),
    /// every line at most 998 (RFC 5322); no line of white space alone.
    fn check_field(field: &str, value: &str) -> Result<(), TestCaseError> {
        let header = format!("{field}: {value}");
        prop_assert!(header.is_ascii(), "{:?}", header);
        for (i, line) in header.split("\r\n").enumerate() {
            prop_assert!(
                i == 0 || (line.starts_with(' ') && !line.trim().is_empty()),
                "{:?}",
                header
            );
            prop_assert!(!line.chars().any(char::is_control), "{:?}", header);
            prop_assert!(!line.contains("=?") || line.len() <= 76, "{:?}", line);
            prop_assert!(line.len() <= 998);
        }
        Ok(())
    }

    /// The text of encoded words (one a line), each whole characters of at most `WORD_BYTES`.
    fn decode_words(value: &str) -> Result<String, TestCaseError> {
        let mut out = String::new();
        for word in value.split("\r\n ") {
            let b64 = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="));
            let Some(b64) = b64 else {
                return Err(TestCaseError::fail(format!(
                    "not an encoded word: {word:?}"
                )));
            };
            let bytes = STANDARD
                .decode(b64)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(!bytes.is_empty() && bytes.len() <= WORD_BYTES, "{:?}", word);
            let text = String::from_utf8(bytes);
            prop_assert!(text.is_ok(), "a word cut inside a character: {:?}", word);
            out.push_str(&text.unwrap());
        }
        Ok(out)
    }

    /// The text of a quoted string's inside: `\` quotes the next character; a bare `"`, or a `\`
    /// quoting the closing quote, fails.
    fn unquote(inside: &str) -> Result<String, TestCaseError> {
        let mut out = String::new();
        let mut chars = inside.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(quoted) => out.push(quoted),
                    None => return Err(TestCaseError::fail(format!("unclosed: {inside:?}"))),
                },
                '"' => return Err(TestCaseError::fail(format!("a bare quote: {inside:?}"))),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// The display name a phrase holds: encoded words, a quoted string, or atoms (no specials).
    fn phrase_text(phrase: &str) -> Result<String, TestCaseError> {
        if phrase.starts_with("=?") {
            return decode_words(phrase);
        }
        if let Some(inside) = phrase.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            return unquote(inside);
        }
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        prop_assert!(
            phrase
                .split(' ')
                .all(|w| !w.is_empty() && w.chars().all(atext)),
            "{:?}",
            phrase
        );
        Ok(phrase.to_owned())
    }

    proptest! {
        #![proptest_config(proptest_config(1_000))]

        /// Any name: one ASCII From value without control characters; the address once, last,
        /// in `<…>`; the phrase before it decodes to the name minus control characters, trimmed.
        #[test]
        fn a_mailbox_is_one_address_after_the_name_it_decodes_to(
            name in display_name(),
            address in address(),
        ) {
            let value = mailbox(&name, &address);
            check_field("From", &value)?;
            let want: String = name.chars().filter(|c| !c.is_control()).collect();
            let want = want.trim();
            if want.is_empty() {
                prop_assert_eq!(value, address);
                return Ok(());
            }
            let angle = format!("<{address}>");
            let phrase = value
                .strip_suffix(&angle)
                .and_then(|p| p.strip_suffix(' '))
                .map(|p| p.strip_suffix("\r\n").unwrap_or(p));
            prop_assert!(phrase.is_some(), "{:?}", value);
            prop_assert_eq!(phrase_text(phrase.unwrap())?, want);
        }

        /// Any subject: one ASCII header value without control characters; decoded (by this
        /// test's decoder and by `decode_header`), the text minus control characters.
        #[test]
        fn a_subject_decodes_to_its_text(text in display_name()) {
            let value = encode_header(&text);
            check_field("Subject", &value)?;
            let want: String = text.chars().filter(|c| !c.is_control()).collect();
            let got = if value.starts_with("=?") { decode_words(&value)? } else { value.clone() };
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(decode_header(&value.replace("\r\n ", " ")), want);
        }
    }

    /// A From as the strict parser's answer lists it, with white space removed from display
    /// names: Python (3.11–3.13, CPython gh-128110) keeps the folding white space between two
    /// encoded words of a display name (and merges spaces next to it), where RFC 2047 §6.2 says
    /// to drop it. The exact text is checked by `a_mailbox_is_one_address_after_the_name_…`.
    fn without_white_space(from: Vec<Vec<String>>) -> Vec<Vec<String>> {
        let mut from = from;
        if let Some(name) = from.first_mut().and_then(|mailbox| mailbox.first_mut()) {
            name.retain(|c| !c.is_whitespace());
        }
        from
    }

    proptest! {
        #![proptest_config(proptest_config(3))]

        /// Python's strict RFC 5322 parser reads 200 generated names each time as exactly one
        /// mailbox, the sender's, with the intended name (white space aside), no defect, no Bcc.
        #[test]
        fn a_strict_parser_agrees_on_generated_names(
            names in prop::collection::vec(display_name(), 200),
        ) {
            let found = mailbox_tests::strict_from_headers(&names);
            for (name, got) in names.iter().zip(found) {
                prop_assert_eq!(
                    without_white_space(got),
                    without_white_space(mailbox_tests::intended(name)),
                    "From for {:?}", name
                );
            }
        }
    }

    /// Regressions (found by `a_subject_decodes_to_its_text`): ASCII controls other than CR/LF
    /// went into the Subject as they were, and an ASCII encoded-word look-alike was left for mail
    /// readers to decode into other text.
    #[test]
    fn subject_controls_are_dropped_and_look_alikes_encoded() {
        assert_eq!(encode_header("a\u{0}b\u{1b}c\td"), "abcd");
        let look_alike = "=?UTF-8?B?ZXZpbA==?=";
        assert_eq!(decode_header(&encode_header(look_alike)), look_alike);
    }

    /// Regression (found by `a_mailbox_is_one_address_after_the_name_it_decodes_to`): lines with
    /// encoded words were longer than RFC 2047's 76 characters (`Subject: ` and a 72-character
    /// word; the last word with the address after it).
    #[test]
    fn lines_with_encoded_words_are_at_most_76() {
        let name = "한빛대학교 평생교육원 데이터 분석 심화 과정";
        let from = format!("From: {}", mailbox(name, "badges@hanbit.ac.kr"));
        let subject = format!("Subject: {}", encode_header(name));
        for line in from.split("\r\n").chain(subject.split("\r\n")) {
            assert!(line.len() <= 76, "{line:?}");
        }
    }
}
