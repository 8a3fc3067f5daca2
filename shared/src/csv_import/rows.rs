//! Checking one data row. Every problem in a row is reported (not just the first), each naming
//! its column.

use super::{columns::Column, Columns, FileError, MAX_COLUMNS, MAX_FIELD_CHARS};
use crate::domain::{
    award::{check_dates, Evidence, IssueRuleError},
    email::Email,
    ids::TemplateId,
    locale::Locale,
    phone::Phone,
    text,
    time::{identity_text, parse_instant_in, DateOrder, Zone},
    url::WebUrl,
    Invalid,
};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The spreadsheet's row number (the header's row is 1 in a file without a title).
    pub row: u64,
    pub column: String,
    pub value: String,
    pub message: String,
    /// The message in Korean, for the report's `message_ko` column.
    pub message_ko: Option<String>,
}

impl RowError {
    /// Row `row`'s cell in `column`, holding `value`, refused for `why` (in English and, where
    /// it has one, Korean).
    pub fn new(
        row: u64,
        column: impl Into<String>,
        value: impl Into<String>,
        why: Invalid,
    ) -> Self {
        Self {
            row,
            column: column.into(),
            value: value.into(),
            message_ko: why.korean().map(str::to_owned),
            message: why.0,
        }
    }
}

impl From<crate::domain::batch::RejectedRow> for RowError {
    fn from(r: crate::domain::batch::RejectedRow) -> Self {
        Self {
            row: r.row,
            column: r.column,
            value: r.value,
            message: r.message,
            message_ko: r.message_ko,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidRow {
    pub row: u64,
    pub template_id: Option<TemplateId>,
    pub email: Email,
    pub name: String,
    pub phone: Option<Phone>,
    pub issued_on: Option<DateTime<Utc>>,
    /// As the row's identity holds it (`time::identity_text`: one date written two ways is one
    /// award, so re-uploading the file, even re-saved with its dates rewritten, issues nothing
    /// new; in no time zone, so every pass reads the same); empty when the row has no issue
    /// date.
    pub issued_key: String,
    /// As written: the identity releases before 2026-12-07 gave the row, still looked up.
    pub issued_raw: String,
    pub expires_on: Option<DateTime<Utc>>,
    pub narrative: Option<String>,
    pub evidence: Vec<Evidence>,
    pub external_id: Option<String>,
    pub cohort: Option<String>,
    pub locale: Option<Locale>,
}

/// A row whose cells are all empty (spreadsheets export these at the end).
pub fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|c| c.trim().is_empty())
}

/// Whether a cell of `record` runs over lines and a later one holds an `@`: rows of the file
/// may have been read into it by a stray quote. Such a record is checked (and refused by
/// [`RowCheck::no_swallowed_rows`] if it did) even when it names nobody, never skipped.
pub fn may_hold_swallowed_rows(record: &csv::StringRecord) -> bool {
    record.iter().any(|cell| {
        let mut lines = cell.split(['\n', '\r']).filter(|l| !l.trim().is_empty());
        lines.next().is_some() && lines.any(|l| l.contains('@'))
    })
}

/// Cells of `record` up to its last non-empty one: Excel writes every row as wide as the
/// sheet's used range, which a cell once typed far to the right widens with empty cells.
pub fn width_used<'r>(record: impl IntoIterator<Item = &'r str>) -> usize {
    record
        .into_iter()
        .enumerate()
        .filter(|(_, c)| !c.trim().is_empty())
        .last()
        .map_or(0, |(i, _)| i + 1)
}

/// The most cells a row may have at all, empty ones included: Excel's widest sheet.
pub const MAX_CELLS: usize = 16_384;

/// Structural limits that fail the whole file.
pub fn check_shape(record: &csv::StringRecord, cols: &Columns, row: u64) -> Result<(), FileError> {
    let cells = if record.len() > MAX_CELLS {
        record.len()
    } else {
        width_used(record)
    };
    if cells > MAX_COLUMNS {
        return Err(FileError::TooManyColumns { row, cells });
    }
    for (i, cell) in record.iter().enumerate() {
        if cell.len() > MAX_FIELD_CHARS {
            let chars = cell.chars().count();
            if chars > MAX_FIELD_CHARS {
                let column = Column::ALL
                    .iter()
                    .find(|c| std::ptr::eq(cols.get(record, **c), cell))
                    .map(|c| c.header().to_owned())
                    .unwrap_or_else(|| format!("#{}", i + 1));
                return Err(FileError::FieldTooLong { row, column, chars });
            }
        }
    }
    Ok(())
}

/// A row's cells being checked, with every problem found so far (in column check order).
struct RowCheck<'a> {
    record: &'a csv::StringRecord,
    cols: &'a Columns,
    row: u64,
    errors: Vec<RowError>,
}

impl<'a> RowCheck<'a> {
    fn cell(&self, c: Column) -> &'a str {
        self.cols.get(self.record, c).trim()
    }

    fn fail(&mut self, c: Column, why: Invalid) {
        let e = RowError::new(self.row, c.header(), self.cell(c), why);
        self.errors.push(e);
    }

    /// A cell that must parse (empty included).
    fn required<T>(
        &mut self,
        c: Column,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        match parse(self.cell(c)) {
            Ok(v) => Some(v),
            Err(why) => {
                self.fail(c, why);
                None
            }
        }
    }

    /// An optional cell: empty is `None`, anything else must parse.
    fn optional<T>(
        &mut self,
        c: Column,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        if self.cell(c).is_empty() {
            return None;
        }
        self.required(c, parse)
    }

    /// `issued_on` and `expires_on` in the issuer's zone, year-last dates read in the file's
    /// `order`: expiry after issue, issue not a later day than `at`'s (the file's check).
    fn dates(
        &mut self,
        zone: Zone,
        order: DateOrder,
        at: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let issued_on = self.optional(Column::IssuedOn, |s| parse_instant_in(s, zone, order));
        let expires_on = self.optional(Column::ExpiresOn, |s| parse_instant_in(s, zone, order));
        if let Some(i) = issued_on {
            if let Err(e) = check_dates(i, expires_on) {
                self.fail(Column::ExpiresOn, e.invalid());
            }
            if crate::domain::time::issue_instant(i, at, zone).is_none() {
                let why = IssueRuleError::IssuedInFuture.invalid();
                let why = read_as_20yy(self.cell(Column::IssuedOn), i, zone, why);
                self.fail(Column::IssuedOn, why);
            }
        }
        (issued_on, expires_on)
    }

    /// One piece of evidence when the row has an evidence URL or narrative.
    fn evidence(&mut self) -> Vec<Evidence> {
        let url = self.optional(Column::EvidenceUrl, WebUrl::parse);
        let narrative = self.optional(Column::EvidenceNarrative, |s| {
            text::paragraph(s, text::NARRATIVE_MAX)
        });
        if url.is_some() || narrative.is_some() {
            vec![Evidence { url, narrative }]
        } else {
            vec![]
        }
    }

    /// A cell that spans lines, a later one of which reads as a row of this file (split at a
    /// delimiter, an address where the file has its `email` column): rows read into this cell
    /// because a quote (`"`) typed at its start closes only further down. Issued, those rows
    /// would be lost (counted nowhere) and, in a published column, their addresses shown in
    /// this badge's text; refused, the report names them. Any cell: a stray quote in a remarks
    /// column not read swallows rows all the same.
    fn no_swallowed_rows(&mut self) {
        let Some(at) = self.cols.position(Column::Email) else {
            return;
        };
        let looks_like_a_row = |line: &str| {
            line.split([',', ';', '\t', '|'])
                .nth(at)
                .is_some_and(|piece| Email::parse(piece.trim().trim_matches('"')).is_ok())
        };
        let record = self.record;
        let swallowed = record.iter().enumerate().find(|(_, cell)| {
            let mut lines = cell.split(['\n', '\r']).filter(|l| !l.trim().is_empty());
            lines.next().is_some() && lines.any(looks_like_a_row)
        });
        let Some((i, cell)) = swallowed else { return };
        let lines = cell
            .split(['\n', '\r'])
            .filter(|l| !l.trim().is_empty())
            .count();
        let column = self
            .cols
            .at(i)
            .map_or_else(|| format!("#{}", i + 1), |c| c.header().to_owned());
        let why = Invalid::new(format!(
            "this cell runs over {lines} lines and holds what look like rows of the file (an address where the file has its email column): a quote (\") at the start of the cell closes only {} line(s) further down, so the rows in between were read into it; remove the stray quote, or put the text in quotes that close in this row",
            lines - 1
        ))
        .ko(format!(
            "이 셀은 {lines}줄에 걸쳐 있고 파일의 행으로 보이는 줄(이메일 열 자리에 주소)을 담고 있습니다. 셀 앞의 따옴표(\")가 {}줄 아래에서야 닫혀 그 사이 행들이 이 셀로 읽혔습니다. 잘못 들어간 따옴표를 지우거나, 이 행 안에서 닫히는 따옴표로 텍스트를 감싸 주세요.",
            lines - 1
        ));
        self.errors.push(RowError::new(self.row, column, cell, why));
    }

    /// Non-empty cells past the header's columns.
    fn extra_cells(&mut self) {
        let width = self.cols.width();
        let extra = self
            .record
            .iter()
            .skip(width)
            .filter(|c| !c.trim().is_empty())
            .count();
        if extra > 0 {
            let cells = self.record.len();
            let why = Invalid::new(format!(
                "the row has {cells} cells but the header has {width}"
            ))
            .ko(format!(
                "이 행에는 셀이 {cells}개 있지만 머리글 행에는 {width}개뿐입니다."
            ));
            let extra = self.record.iter().skip(width).collect::<Vec<_>>().join(",");
            let column = format!("#{}", width + 1);
            self.errors
                .push(RowError::new(self.row, column, extra, why));
        }
    }
}

/// Checks one row. `at`: the instant the batch's check began (`Batch::started_at`), which
/// every pass over the file judges "today" by — a row refused as a later day when the file was
/// checked stays refused when issuing runs after midnight.
pub fn validate(
    record: &csv::StringRecord,
    cols: &Columns,
    row: u64,
    (zone, at): (Zone, DateTime<Utc>),
    order: DateOrder,
) -> Result<ValidRow, Vec<RowError>> {
    let mut c = RowCheck {
        record,
        cols,
        row,
        errors: Vec::new(),
    };
    let email = c.required(Column::Email, Email::parse);
    let name = c.required(Column::Name, |s| {
        text::line(s, text::NAME_MAX).map_err(|e| e.about("name", "이름"))
    });
    let phone = c.optional(Column::Phone, Phone::parse);
    let template_id = c.optional(Column::TemplateId, TemplateId::parse);
    let (issued_on, expires_on) = c.dates(zone, order, at);
    let narrative = c.optional(Column::Narrative, |s| {
        text::paragraph(s, text::NARRATIVE_MAX)
    });
    let evidence = c.evidence();
    let external_id = c.optional(Column::ExternalId, |s| text::line(s, 200));
    let cohort = c.optional(Column::Cohort, |s| text::label(s, 100));
    let locale = c.optional(Column::Locale, Locale::parse);
    c.no_swallowed_rows();
    c.extra_cells();
    match (email, name, c.errors.is_empty()) {
        (Some(email), Some(name), true) => Ok(ValidRow {
            row,
            template_id,
            email,
            name,
            phone,
            issued_on,
            issued_key: identity_text(c.cell(Column::IssuedOn), order),
            issued_raw: c.cell(Column::IssuedOn).to_owned(),
            expires_on,
            narrative,
            evidence,
            external_id,
            cohort,
            locale,
        }),
        _ => Err(c.errors),
    }
}

/// A later issue date written with a two-digit year says how it was read: a spreadsheet's
/// `12/31/99` is 2099-12-31 here, where the sheet meant 1999.
fn read_as_20yy(cell: &str, read: DateTime<Utc>, zone: Zone, why: Invalid) -> Invalid {
    if !crate::domain::time::two_digit_year(cell) {
        return why;
    }
    let day = read.with_timezone(&zone.0).format("%Y-%m-%d");
    let ko = why.korean().unwrap_or_default().to_owned();
    Invalid::new(format!(
        "`{cell}` was read as {day}: a two-digit year is read as 20YY, so write the year in full (e.g. 1999-12-31). {}",
        why.0
    ))
    .ko(format!(
        "`{cell}`은(는) {day}로 읽혔습니다. 두 자리 연도는 20YY로 읽으니 연도를 네 자리로 쓰세요 (예: 1999-12-31). {ko}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(h: &[&str]) -> Columns {
        Columns::map(&h.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn rec(v: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(v.to_vec())
    }

    /// Every refusal of a row's cells has its Korean, for the report's `message_ko`.
    #[test]
    fn every_row_error_is_in_korean_too() {
        let c = cols(&[
            "email",
            "name",
            "phone",
            "template_id",
            "issued_on",
            "expires_on",
            "evidence_url",
            "locale",
        ]);
        let bad = [
            "not-an-email",
            "",
            "02-123-4567",
            "nonsense",
            "26-03-02",
            "2020-01-01",
            "javascript:x",
            "fr",
            "extra",
        ];
        let e = validate(
            &rec(&bad),
            &c,
            2,
            (Zone::default(), Utc::now()),
            DateOrder::MonthFirst,
        )
        .unwrap_err();
        let columns: Vec<&str> = e.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(
            columns,
            [
                "email",
                "name",
                "phone",
                "template_id",
                "issued_on",
                "evidence_url",
                "locale",
                "#9"
            ]
        );
        for e in &e {
            assert!(
                e.message_ko.as_deref().is_some_and(|k| !k.is_empty()),
                "{e:?}"
            );
        }
        assert_eq!(e[1].message, "name must not be empty");
        assert_eq!(
            e[1].message_ko.as_deref(),
            Some("이름: 비어 있을 수 없습니다.")
        );
    }

    #[test]
    fn a_good_row() {
        let c = cols(&["이름", "E-mail", "발급일", "evidence_url", "cohort"]);
        let r = validate(
            &rec(&[
                "김민수",
                " Kim@Example.com ",
                "2026. 3. 1.",
                "https://x.kr/p",
                "1기",
            ]),
            &c,
            1,
            (Zone::default(), Utc::now()),
            DateOrder::MonthFirst,
        )
        .unwrap();
        assert_eq!(r.email.as_str(), "Kim@example.com");
        assert_eq!(r.issued_raw, "2026. 3. 1.");
        assert_eq!(r.issued_key, "2026-03-01");
        assert_eq!(r.evidence.len(), 1);
        assert_eq!(r.cohort.as_deref(), Some("1기"));
    }

    /// Verifiers refuse a badge before its issue date, so a row dated a later day is refused;
    /// today's date (local midnight) is not.
    #[test]
    fn an_issue_date_later_than_now_is_refused_and_today_is_not() {
        let c = cols(&["email", "name", "issued_on"]);
        let zone = Zone::default();
        let at = |t: DateTime<Utc>| {
            let local = t
                .with_timezone(&zone.0)
                .format("%Y-%m-%d %H:%M")
                .to_string();
            validate(
                &rec(&["a@b.co", "A", &local]),
                &c,
                2,
                (zone, Utc::now()),
                DateOrder::MonthFirst,
            )
        };
        let today = Utc::now()
            .with_timezone(&zone.0)
            .format("%Y-%m-%d")
            .to_string();
        assert!(validate(
            &rec(&["a@b.co", "A", &today]),
            &c,
            2,
            (zone, Utc::now()),
            DateOrder::MonthFirst
        )
        .is_ok());
        let e = at(Utc::now() + chrono::Duration::days(2)).unwrap_err();
        assert!(e[0].message.contains("later day"), "{e:?}");
        assert!(at(Utc::now() - chrono::Duration::hours(2)).is_ok());
        // "Today" is the day of `at` (the batch's check), not of the clock: every pass over the
        // file (`ingest::scan`) gives the same `at`, so a row refused when the file was checked
        // is refused by an issuing pass after midnight too.
        let tomorrow = (Utc::now() + chrono::Duration::days(1))
            .with_timezone(&zone.0)
            .format("%Y-%m-%d")
            .to_string();
        let judged = |at| {
            let r = rec(&["a@b.co", "A", &tomorrow]);
            validate(&r, &c, 2, (zone, at), DateOrder::MonthFirst).is_ok()
        };
        assert!(!judged(Utc::now()));
        assert!(judged(Utc::now() + chrono::Duration::days(2)));
    }

    /// A spreadsheet's `12/31/99` meant 1999; read as 2099 it is refused, and the refusal says
    /// how it was read and to write the year in full. A later date with its year in full does
    /// not get that hint.
    #[test]
    fn a_later_issue_date_with_a_two_digit_year_says_how_it_was_read() {
        let c = cols(&["email", "name", "issued_on"]);
        let check = |date: &str| {
            let r = rec(&["a@b.co", "A", date]);
            let zone = Zone::default();
            validate(&r, &c, 2, (zone, Utc::now()), DateOrder::MonthFirst).unwrap_err()
        };
        for date in ["12/31/99", "99. 12. 31.", "31-Dec-99"] {
            let e = &check(date)[0];
            assert!(e.message.contains("was read as 2099-12-31"), "{e:?}");
            assert!(e.message.contains("later day"), "{e:?}");
            assert!(
                e.message_ko.as_deref().unwrap().contains("네 자리"),
                "{e:?}"
            );
        }
        let e = &check("2099-12-31")[0];
        assert!(!e.message.contains("two-digit"), "{e:?}");
    }

    /// A stray quote typed at the start of a cell, closed by a quote further down: the rows in
    /// between are read into the cell. The row is refused, naming it, instead of issued with
    /// the other rows' addresses in its text (and those rows lost).
    #[test]
    fn rows_read_into_a_cell_by_a_stray_quote_are_refused_not_published() {
        let c = cols(&["email", "name", "narrative"]);
        let check = |narrative: &str| {
            let r = rec(&["a@x.kr", "Kim", narrative]);
            validate(
                &r,
                &c,
                2,
                (Zone::default(), Utc::now()),
                DateOrder::MonthFirst,
            )
        };
        let e = check("Top of class\nc@x.kr,Lee,Done\ne@f.co,Park,Great work").unwrap_err();
        assert_eq!(e[0].column, "narrative");
        assert!(e[0].message.contains("stray quote"), "{e:?}");
        assert!(e[0].message.contains("3 lines"), "{e:?}");
        // CR-only line ends (old Mac exports) and `|` files too.
        assert!(check("Top\rc@x.kr|Lee|Done").is_err());
        // Text that merely runs over lines is text: commas, and addresses not where the file
        // has its email column.
        assert!(check("1등 수료\n최종 프로젝트, 데이터 분석\n문의: help@x.kr").is_ok());
        assert!(check("팀 프로젝트\n팀원: a@x.kr, b@y.kr\n문의: 교육팀, edu@x.kr").is_ok());
        // A remarks column the file does not read swallows rows all the same.
        let c = cols(&["email", "name", "비고"]);
        let r = rec(&["a@x.kr", "Kim", "우수\nc@x.kr,Lee,"]);
        let e = validate(
            &r,
            &c,
            2,
            (Zone::default(), Utc::now()),
            DateOrder::MonthFirst,
        );
        assert_eq!(e.unwrap_err()[0].column, "#3");
    }

    #[test]
    fn every_problem_is_reported_with_its_column() {
        let c = cols(&[
            "email",
            "name",
            "issued_on",
            "expires_on",
            "evidence_url",
            "locale",
        ]);
        let errs = validate(
            &rec(&[
                "nope",
                "",
                "2026-13-01",
                "2020-01-01",
                "javascript:x",
                "fr",
                "extra",
            ]),
            &c,
            7,
            (Zone::default(), Utc::now()),
            DateOrder::MonthFirst,
        )
        .unwrap_err();
        let columns: Vec<&str> = errs.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(
            columns,
            vec!["email", "name", "issued_on", "evidence_url", "locale", "#7"]
        );
        assert!(errs.iter().all(|e| e.row == 7));
        let e = validate(
            &rec(&["a@b.co", "A", "2026-01-02", "2026-01-01", "", ""]),
            &c,
            1,
            (Zone::default(), Utc::now()),
            DateOrder::MonthFirst,
        )
        .unwrap_err();
        assert_eq!(e[0].column, "expires_on");
    }

    #[test]
    fn shape_limits() {
        let c = cols(&["email", "name", "narrative"]);
        let wide = csv::StringRecord::from(vec!["x"; 10_000]);
        assert!(matches!(
            check_shape(&wide, &c, 2),
            Err(FileError::TooManyColumns {
                row: 2,
                cells: 10_000
            })
        ));
        let big = "가".repeat(MAX_FIELD_CHARS + 1);
        let long = rec(&["a@b.co", "A", &big]);
        match check_shape(&long, &c, 3) {
            Err(FileError::FieldTooLong { row: 3, column, .. }) => assert_eq!(column, "narrative"),
            other => panic!("{other:?}"),
        }
        assert!(is_blank(&rec(&["", " ", ""])));
    }
}
