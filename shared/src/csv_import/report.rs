//! The row-by-row error report: `row,column,value,message,message_ko` (the message in English
//! and, where it has one, Korean), UTF-8 with a BOM (so Excel shows Korean correctly), every cell
//! neutralised against spreadsheet formula injection.

use super::rows::RowError;

/// Cells starting with `=`, `+`, `-`, `@`, tab or CR are prefixed with `'`, so a spreadsheet shows
/// them as text instead of running them as a formula.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// The report's first bytes: a UTF-8 BOM and the header line.
pub fn header() -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend_from_slice(b"row,column,value,message,message_ko\r\n");
    out
}

/// How many characters of a message a report line keeps (a message may quote the whole cell,
/// up to 10,000 characters, in both languages).
const MESSAGE_CHARS: usize = 1_000;

/// Appends one error as a CSV line; the value's cell is cut to 200 characters, each message to
/// [`MESSAGE_CHARS`].
pub fn write_line(out: &mut Vec<u8>, e: &RowError) {
    let value: String = neutralize(&e.value).chars().take(200).collect();
    let cut = |m: &str| -> String { neutralize(m).chars().take(MESSAGE_CHARS).collect() };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .has_headers(false)
        .from_writer(out);
    // Writing to a Vec cannot fail.
    let _ = w.write_record([
        e.row.to_string(),
        neutralize(&e.column),
        value,
        cut(&e.message),
        cut(e.message_ko.as_deref().unwrap_or_default()),
    ]);
    let _ = w.flush();
}

/// A line of a report read back (to merge it with rows refused later); `None` for anything
/// that is not a line [`write_line`] wrote (a report written before `message_ko`, 2026-12-07,
/// has four cells). Writing it again gives the same line.
pub fn read_line(record: &csv::StringRecord) -> Option<RowError> {
    let (row, column, value, message, ko) = match record.iter().collect::<Vec<_>>()[..] {
        [row, column, value, message] => (row, column, value, message, ""),
        [row, column, value, message, ko] => (row, column, value, message, ko),
        _ => return None,
    };
    Some(RowError {
        row: row.parse().ok()?,
        column: column.to_owned(),
        value: value.to_owned(),
        message: message.to_owned(),
        message_ko: Some(ko.to_owned()).filter(|k| !k.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert!(neutralize(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralize("kim@example.com"), "kim@example.com");
        let mut report = header();
        write_line(
            &mut report,
            &RowError {
                row: 3,
                column: "email".into(),
                value: "=cmd|' /C calc'!A0".into(),
                message: "not an email".into(),
                message_ko: Some("-이메일 주소 형식이 아닙니다.".into()),
            },
        );
        let text = String::from_utf8(report[3..].to_vec()).unwrap();
        assert!(
            text.starts_with("row,column,value,message,message_ko\r\n3,email,'=cmd"),
            "{text}"
        );
        assert!(
            text.ends_with(",not an email,'-이메일 주소 형식이 아닙니다.\r\n"),
            "{text}"
        );
    }

    /// A message that quotes a 10,000-character cell (in two languages) stays a short line.
    #[test]
    fn long_messages_are_cut() {
        let cell = "가".repeat(10_000);
        let mut line = Vec::new();
        let e = RowError {
            row: 2,
            column: "issued_on".into(),
            value: cell.clone(),
            message: format!("`{cell}` is not a date"),
            message_ko: Some(format!("`{cell}`: 날짜 형식이 아닙니다.")),
        };
        write_line(&mut line, &e);
        assert!(String::from_utf8(line).unwrap().chars().count() < 2_300);
    }

    #[test]
    fn a_line_read_back_writes_the_same_line() {
        let e = RowError {
            row: 12,
            column: "name".into(),
            value: format!("=\"김, \"\r\n{}", "x".repeat(300)),
            message: "+ a message, with \"quotes\"".into(),
            message_ko: Some("따옴표(\")가 든 메시지".into()),
        };
        let mut first = Vec::new();
        write_line(&mut first, &e);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&first[..]);
        let record = reader.records().next().unwrap().unwrap();
        let back = read_line(&record).unwrap();
        assert_eq!(back.row, 12);
        assert_eq!(back.message_ko, e.message_ko);
        let mut second = Vec::new();
        write_line(&mut second, &back);
        assert_eq!(first, second);
    }
}
