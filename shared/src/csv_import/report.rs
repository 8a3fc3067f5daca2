//! The row-by-row error report: `row,column,value,message`, UTF-8 with a BOM (so Excel shows
//! Korean correctly), every cell neutralised against spreadsheet formula injection.

use super::rows::RowError;

/// Cells starting with `=`, `+`, `-`, `@`, tab or CR are prefixed with `'`, so a spreadsheet shows
/// them as text instead of running them as a formula.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

pub fn write(errors: &[RowError]) -> Vec<u8> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let _ = w.write_record(["row", "column", "value", "message"]);
        for e in errors {
            let value: String = e.value.chars().take(200).collect();
            let _ = w.write_record([
                e.row.to_string(),
                neutralize(&e.column),
                neutralize(&value),
                neutralize(&e.message),
            ]);
        }
        let _ = w.flush();
    }
    out
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
        let report = write(&[RowError {
            row: 3,
            column: "email".into(),
            value: "=cmd|' /C calc'!A0".into(),
            message: "not an email".into(),
        }]);
        let text = String::from_utf8(report[3..].to_vec()).unwrap();
        assert!(
            text.starts_with("row,column,value,message\r\n3,email,'=cmd"),
            "{text}"
        );
    }
}
