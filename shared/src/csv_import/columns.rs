//! Header names → columns, case- and space-insensitively, with the aliases people really use.

use super::{FileError, Warning};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Email,
    Name,
    Phone,
    TemplateId,
    IssuedOn,
    ExpiresOn,
    Narrative,
    EvidenceUrl,
    EvidenceNarrative,
    ExternalId,
    Cohort,
    Locale,
}

impl Column {
    /// The documented (canonical) header.
    pub fn header(self) -> &'static str {
        match self {
            Column::Email => "email",
            Column::Name => "name",
            Column::Phone => "phone",
            Column::TemplateId => "template_id",
            Column::IssuedOn => "issued_on",
            Column::ExpiresOn => "expires_on",
            Column::Narrative => "narrative",
            Column::EvidenceUrl => "evidence_url",
            Column::EvidenceNarrative => "evidence_narrative",
            Column::ExternalId => "external_id",
            Column::Cohort => "cohort",
            Column::Locale => "locale",
        }
    }

    pub const ALL: [Column; 12] = [
        Column::Email,
        Column::Name,
        Column::Phone,
        Column::TemplateId,
        Column::IssuedOn,
        Column::ExpiresOn,
        Column::Narrative,
        Column::EvidenceUrl,
        Column::EvidenceNarrative,
        Column::ExternalId,
        Column::Cohort,
        Column::Locale,
    ];
}

impl Column {
    /// A column about one person and badge, which a sheet never fills down: a row with none of
    /// them names nobody.
    fn is_personal(self) -> bool {
        !matches!(
            self,
            Column::TemplateId
                | Column::IssuedOn
                | Column::ExpiresOn
                | Column::Cohort
                | Column::Locale
        )
    }
}

/// In Unicode NFKC (full-width letters and brackets as ASCII, Hangul composed), without a hint
/// in brackets for whoever fills the sheet (`발급일(YYYY-MM-DD)`, `휴대폰 번호 [선택]`, `(필수)`;
/// other brackets stay: `성명(영문)` beside `성명` is another column, `이메일(담당자)` no
/// recipient's), lower-cased, without spaces, `_`, `-`, `.`, `(`, `)`, `*`, `:`, `/` and a BOM.
pub fn normalize(h: &str) -> String {
    let nfkc = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(h);
    let bare = without_hints(&nfkc);
    let kept: &str = if bare.trim().is_empty() { &nfkc } else { &bare };
    kept.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(c, '_' | '-' | '.' | '(' | ')' | '[' | ']' | '*' | ':' | '/')
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Words that make a bracketed part of a header a hint: a date format, "required", "optional",
/// an example.
const HINTS: &[&str] = &[
    "yyyy", "yy", "mm", "dd", "선택", "필수", "optional", "required", "예:", "예시", "e.g", "형식",
    "format",
];

/// `h` without its `(…)` and `[…]` parts that are hints ([`HINTS`]); other brackets and an
/// unclosed one are kept as they are.
fn without_hints(h: &str) -> String {
    let mut out = String::new();
    let mut rest = h;
    while let Some(open) = rest.find(['(', '[']) {
        let close = if rest[open..].starts_with('(') {
            ')'
        } else {
            ']'
        };
        let Some(len) = rest[open..].find(close) else {
            break;
        };
        let inside = rest[open + 1..open + len].to_lowercase();
        out.push_str(&rest[..open]);
        if !HINTS.iter().any(|w| inside.contains(w)) {
            out.push_str(&rest[open..=open + len]);
        }
        rest = &rest[open + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Normalized aliases for each column.
const ALIASES: &[(Column, &[&str])] = &[
    (
        Column::Email,
        &[
            "email",
            "emailaddress",
            "mail",
            "mailaddress",
            "recipientemail",
            "이메일",
            "이메일주소",
            "전자우편",
            "메일",
            "메일주소",
            "전자메일",
        ],
    ),
    (
        Column::Name,
        &[
            "name",
            "fullname",
            "recipientname",
            "recipient",
            "learner",
            "learnername",
            "studentname",
            "이름",
            "성명",
            "성함",
            "수료자",
            "수료자명",
            "수령자",
            "수령자명",
            "학생명",
            "학습자",
            "학습자명",
        ],
    ),
    (
        Column::Phone,
        &[
            "phone",
            "phonenumber",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "cellphone",
            "recipientphone",
            "휴대폰",
            "휴대폰번호",
            "휴대전화",
            "휴대전화번호",
            "핸드폰",
            "핸드폰번호",
            "전화번호",
            "연락처",
        ],
    ),
    (
        Column::TemplateId,
        &[
            "templateid",
            "template",
            "badgetemplate",
            "badgetemplateid",
            "badge",
            "badgeid",
            "템플릿",
            "템플릿id",
            "배지",
            "배지id",
            "배지템플릿",
        ],
    ),
    (
        Column::IssuedOn,
        &[
            "issuedon",
            "issuedate",
            "issued",
            "issuedat",
            "dateissued",
            "completiondate",
            "발급일",
            "발급일자",
            "발급날짜",
            "발행일",
            "발행일자",
            "수료일",
            "수료일자",
            "수료날짜",
            "이수일",
            "이수일자",
            "수여일",
            "수여일자",
            "취득일",
            "취득일자",
        ],
    ),
    (
        Column::ExpiresOn,
        &[
            "expireson",
            "expirydate",
            "expires",
            "expiration",
            "expirationdate",
            "validuntil",
            "만료일",
            "만료일자",
            "만료날짜",
            "유효기간",
        ],
    ),
    (
        Column::Narrative,
        &[
            "narrative",
            "badgenarrative",
            "awardnarrative",
            "achievement",
            "성취내용",
            "수여사유",
        ],
    ),
    (
        Column::EvidenceUrl,
        &[
            "evidenceurl",
            "evidencelink",
            "evidence",
            "portfolio",
            "portfoliourl",
            "증빙",
            "증빙url",
            "증빙링크",
            "포트폴리오",
        ],
    ),
    (
        Column::EvidenceNarrative,
        &[
            "evidencenarrative",
            "evidencedescription",
            "evidencenote",
            "증빙설명",
        ],
    ),
    (Column::ExternalId, &["externalid", "awardid", "외부id"]),
    (
        Column::Cohort,
        &[
            "cohort", "class", "group", "term", "session", "기수", "차수", "반", "학기",
        ],
    ),
    (Column::Locale, &["locale", "language", "lang", "언어"]),
];

/// A header as a warning quotes it: at most [`SHOWN_CHARS`] characters, so the warnings a batch
/// keeps stay small whatever the header row holds (up to 100 cells of 10,000 characters).
fn shown(h: &str) -> String {
    match h.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &h[..end]),
        None => h.to_owned(),
    }
}

const SHOWN_CHARS: usize = 60;

/// Headers a roster often has that must not be read as a column of the badge: a person's id is
/// not an id of one award (`external_id` makes a second award with the same id a duplicate, so a
/// student could get one badge), and remarks are internal (a narrative is published on the badge
/// page and in its Open Badges JSON). Each is left out with a warning saying why.
const NOT_READ: &[(&[&str], &str, &str)] = &[
    (
        &[
            "studentid",
            "studentnumber",
            "employeeid",
            "memberid",
            "learnerid",
            "학번",
            "사번",
            "회원번호",
            "수험번호",
        ],
        "a person's id, not one badge's: not used (name a column `external_id` for your own id of each badge)",
        "배지 하나가 아니라 사람의 ID라 쓰지 않습니다 (배지마다의 ID는 `external_id` 열에 적으세요).",
    ),
    (
        &["note", "notes", "comment", "comments", "remarks", "description", "비고", "설명", "메모"],
        "remarks are not published: not used (name a column `narrative` for the text the badge page shows)",
        "비고는 공개하지 않아 쓰지 않습니다 (배지 페이지에 보일 글은 `narrative` 열에 적으세요).",
    ),
];

/// Why a header that is no column is left out, when it is one [`NOT_READ`] names: in English
/// and Korean.
fn not_read(header: &str) -> Option<(&'static str, &'static str)> {
    let n = normalize(header);
    NOT_READ
        .iter()
        .find(|(names, ..)| names.contains(&n.as_str()))
        .map(|(_, en, ko)| (*en, *ko))
}

pub fn lookup(header: &str) -> Option<Column> {
    let n = normalize(header);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&n.as_str()))
        .map(|(c, _)| *c)
}

/// Which column each cell position holds.
#[derive(Debug, Clone)]
pub struct Columns {
    positions: Vec<Option<Column>>,
    pub warnings: Vec<Warning>,
}

impl Columns {
    pub fn map(headers: &[String]) -> Result<Self, FileError> {
        let mut positions = Vec::with_capacity(headers.len());
        let mut seen: Vec<(Column, String)> = Vec::new();
        let mut warnings = Vec::new();
        for h in headers {
            let col = lookup(h);
            match col {
                Some(c) => {
                    if let Some((_, first)) = seen.iter().find(|(s, _)| *s == c) {
                        return Err(FileError::DuplicateColumn(
                            first.clone(),
                            h.trim().to_owned(),
                            c.header(),
                        ));
                    }
                    seen.push((c, h.trim().to_owned()));
                }
                None if h.trim().is_empty() => {}
                None => {
                    let quoted = shown(h.trim());
                    warnings.push(match not_read(h) {
                        Some((en, ko)) => Warning::new(
                            format!("column `{quoted}`: {en}"),
                            format!("`{quoted}` 열: {ko}"),
                        ),
                        None => Warning::new(
                            format!("column `{quoted}` is not used (unknown header)"),
                            format!("`{quoted}` 열은 알 수 없는 머리글이라 쓰지 않습니다."),
                        ),
                    });
                }
            }
            positions.push(col);
        }
        for (req, hint) in [
            (Column::Email, "email, E-mail, Email Address, 이메일"),
            (Column::Name, "name, Full name, 이름, 성명"),
        ] {
            if !positions.contains(&Some(req)) {
                return Err(FileError::MissingColumn(req.header(), hint));
            }
        }
        Ok(Self {
            positions,
            warnings,
        })
    }

    pub fn has(&self, c: Column) -> bool {
        self.positions.contains(&Some(c))
    }

    /// Where column `c` is in a row, if the header has it.
    pub fn position(&self, c: Column) -> Option<usize> {
        self.positions.iter().position(|p| *p == Some(c))
    }

    /// The column at `i`, if the header named one there.
    pub fn at(&self, i: usize) -> Option<Column> {
        self.positions.get(i).copied().flatten()
    }

    /// The cell of column `c` in this record (empty when the row is short).
    pub fn get<'r>(&self, record: &'r csv::StringRecord, c: Column) -> &'r str {
        self.positions
            .iter()
            .position(|p| *p == Some(c))
            .and_then(|i| record.get(i))
            .unwrap_or("")
    }

    /// Whether `record` names nobody: every cell of the columns about one person (address,
    /// name, phone, the badge's text and evidence, its external id) is empty. A row a template
    /// pre-numbered (`연번`), a checkbox column dragged down (`FALSE`), or a date, template or
    /// cohort filled down past the last learner holds no badge.
    pub fn nothing_read(&self, record: &csv::StringRecord) -> bool {
        self.positions
            .iter()
            .zip(record.iter())
            .all(|(p, c)| !p.is_some_and(Column::is_personal) || c.trim().is_empty())
    }

    pub fn width(&self) -> usize {
        self.positions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn aliases_case_and_space_insensitive() {
        assert_eq!(lookup("E-mail"), Some(Column::Email));
        assert_eq!(lookup(" Email Address "), Some(Column::Email));
        assert_eq!(lookup("\u{feff}이메일"), Some(Column::Email));
        assert_eq!(lookup("성명"), Some(Column::Name));
        assert_eq!(lookup("Full name"), Some(Column::Name));
        assert_eq!(lookup("ISSUED_ON"), Some(Column::IssuedOn));
        assert_eq!(lookup("Evidence URL"), Some(Column::EvidenceUrl));
        assert_eq!(lookup("External ID"), Some(Column::ExternalId));
        assert_eq!(lookup("수여사유"), Some(Column::Narrative));
        for h in [
            "phone",
            "Phone number",
            "Mobile",
            "휴대폰",
            "휴대전화",
            "전화번호",
            "연락처",
        ] {
            assert_eq!(lookup(h), Some(Column::Phone), "{h}");
        }
        assert_eq!(lookup("shoe size"), None);
    }

    /// What Korean sheets put in their headers: a hint in brackets (full-width too), a line
    /// break typed in the cell, decomposed Hangul from a Mac, and the many words for the date.
    #[test]
    fn headers_with_hints_line_breaks_and_full_width_brackets_are_read() {
        for (h, c) in [
            ("발급일(YYYY-MM-DD)", Column::IssuedOn),
            ("수료일 (YYYY.MM.DD)", Column::IssuedOn),
            ("만료일(yyyy-mm-dd)", Column::ExpiresOn),
            ("휴대폰 번호(선택)", Column::Phone),
            ("휴대폰 번호 [선택]", Column::Phone),
            ("이메일\n(필수)", Column::Email),
            ("이메일（필수）", Column::Email),
            ("(이메일)", Column::Email),
            ("Ｅｍａｉｌ", Column::Email),
            (
                "\u{110b}\u{1175}\u{1106}\u{1166}\u{110b}\u{1175}\u{11af}",
                Column::Email,
            ),
            ("이수일", Column::IssuedOn),
            ("수여일자", Column::IssuedOn),
            ("취득일자", Column::IssuedOn),
            ("발급날짜", Column::IssuedOn),
            ("Template (ID)", Column::TemplateId),
        ] {
            assert_eq!(lookup(h), Some(c), "{h:?}");
        }
        assert_eq!(lookup("(선택)"), None);
        // A bracket that is no hint makes another column: a bilingual roster's `성명(영문)`
        // beside `성명`, a contact's `이메일(담당자)`.
        assert_eq!(lookup("성명(영문)"), None);
        assert_eq!(lookup("이메일(담당자)"), None);
        assert_eq!(lookup("연락처(보호자)"), None);
    }

    /// A roster's student number and remarks are not read as the badge's external id and
    /// narrative (one badge per student; remarks published): left out, each saying why.
    #[test]
    fn a_persons_id_and_remarks_are_left_out_saying_why() {
        let c = Columns::map(&h(&[
            "이메일",
            "이름",
            "학번",
            "Student ID",
            "비고",
            "Notes",
        ]))
        .unwrap();
        assert_eq!(
            c.positions,
            [
                Some(Column::Email),
                Some(Column::Name),
                None,
                None,
                None,
                None
            ]
        );
        assert_eq!(c.warnings.len(), 4);
        assert!(
            c.warnings[0].en.starts_with("column `학번`: a person's id"),
            "{:?}",
            c.warnings
        );
        assert!(c.warnings[0]
            .ko
            .starts_with("`학번` 열: 배지 하나가 아니라 사람의 ID"));
        assert!(c.warnings[2]
            .en
            .starts_with("column `비고`: remarks are not published"));
    }

    #[test]
    fn missing_duplicate_and_unknown_columns() {
        let c = Columns::map(&h(&["이름", "이메일", "shoe size"])).unwrap();
        assert_eq!(
            c.warnings,
            vec![Warning::new(
                "column `shoe size` is not used (unknown header)",
                "`shoe size` 열은 알 수 없는 머리글이라 쓰지 않습니다."
            )]
        );
        assert_eq!(
            Columns::map(&h(&["name", "shoe size"])).unwrap_err(),
            FileError::MissingColumn("email", "email, E-mail, Email Address, 이메일")
        );
        assert!(matches!(
            Columns::map(&h(&["email", "E-mail", "name"])),
            Err(FileError::DuplicateColumn(..))
        ));
    }
}
