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

/// RFC 2047 encoded-word for non-ASCII header text (`=?UTF-8?B?…?=`), split to keep lines short.
pub fn encode_header(text: &str) -> String {
    if text.is_ascii() && !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    encoded_words(text)
}

/// `text` (CR/LF dropped) as `=?UTF-8?B?…?=` words of at most 45 bytes each, folded.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars().filter(|c| *c != '\r' && *c != '\n') {
        if chunk.len() + c.len_utf8() > 45 {
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
/// encoded words. Control characters (a CR/LF could add a header) are dropped. An empty name
/// leaves the bare address. So "University of California, Berkeley" stays one mailbox, and a
/// name such as `Acme <ceo@bank.com>` cannot add one.
pub fn mailbox(name: &str, address: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        return address.to_owned();
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let phrase = if !name.is_ascii() || name.contains("=?") {
        encoded_words(name)
    } else if name
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
        let messages: Vec<String> = HOSTILE
            .iter()
            .map(|name| {
                let m = Message {
                    from_name: name,
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
        let found: Vec<Vec<Vec<String>>> = serde_json::from_slice(&out.stdout).unwrap();
        for (name, got) in HOSTILE.iter().zip(found) {
            let clean: String = name.chars().filter(|c| !c.is_control()).collect();
            let want = vec![
                vec![clean.trim().to_owned(), "badges@hanbit.ac.kr".to_owned()],
                vec!["0".to_owned()],
            ];
            assert_eq!(got, want, "From for {name:?}");
        }
    }
}
