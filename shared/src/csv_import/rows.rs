//! Checking one data row. Every problem in a row is reported (not just the first), each naming
//! its column.

use super::{columns::Column, Columns, FileError, MAX_COLUMNS, MAX_FIELD_CHARS};
use crate::domain::{
    award::Evidence,
    email::Email,
    ids::TemplateId,
    locale::Locale,
    text,
    time::{parse_instant, Zone},
    url::WebUrl,
};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based data row number (the header is row 0; row 1 is the first data row).
    pub row: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidRow {
    pub row: u64,
    pub template_id: Option<TemplateId>,
    pub email: Email,
    pub name: String,
    pub issued_on: Option<DateTime<Utc>>,
    /// As written, for the row's identity (re-uploading the same file issues nothing new).
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

/// Structural limits that fail the whole file.
pub fn check_shape(record: &csv::StringRecord, cols: &Columns, row: u64) -> Result<(), FileError> {
    if record.len() > MAX_COLUMNS {
        return Err(FileError::TooManyColumns {
            row,
            cells: record.len(),
        });
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

/// An optional cell: empty is `None`, anything else must parse.
fn opt<T>(
    v: &str,
    f: impl FnOnce(&str) -> Result<T, crate::domain::Invalid>,
) -> Result<Option<T>, String> {
    if v.is_empty() {
        Ok(None)
    } else {
        f(v).map(Some).map_err(|e| e.0)
    }
}

pub fn validate(
    record: &csv::StringRecord,
    cols: &Columns,
    row: u64,
    zone: Zone,
) -> Result<ValidRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut err = |c: Column, value: &str, message: String| {
        errors.push(RowError {
            row,
            column: c.header().to_owned(),
            value: value.to_owned(),
            message,
        });
    };
    let cell = |c: Column| cols.get(record, c).trim();
    let email = match Email::parse(cell(Column::Email)) {
        Ok(e) => Some(e),
        Err(e) => {
            err(Column::Email, cell(Column::Email), e.0);
            None
        }
    };
    let name = match text::line(cell(Column::Name), text::NAME_MAX) {
        Ok(n) => Some(n),
        Err(e) => {
            err(Column::Name, cell(Column::Name), format!("name {}", e.0));
            None
        }
    };
    let template_id = opt(cell(Column::TemplateId), TemplateId::parse).unwrap_or_else(|m| {
        err(Column::TemplateId, cell(Column::TemplateId), m);
        None
    });
    let issued_on = opt(cell(Column::IssuedOn), |s| parse_instant(s, zone)).unwrap_or_else(|m| {
        err(Column::IssuedOn, cell(Column::IssuedOn), m);
        None
    });
    let expires_on = opt(cell(Column::ExpiresOn), |s| parse_instant(s, zone)).unwrap_or_else(|m| {
        err(Column::ExpiresOn, cell(Column::ExpiresOn), m);
        None
    });
    if let (Some(i), Some(e)) = (issued_on, expires_on) {
        if e <= i {
            err(
                Column::ExpiresOn,
                cell(Column::ExpiresOn),
                "expires_on must be after issued_on".into(),
            );
        }
    }
    if let Some(i) = issued_on {
        if i > Utc::now() + chrono::Duration::days(1) {
            err(
                Column::IssuedOn,
                cell(Column::IssuedOn),
                "issued_on is in the future".into(),
            );
        }
    }
    let narrative = opt(cell(Column::Narrative), |s| {
        text::paragraph(s, text::NARRATIVE_MAX)
    })
    .unwrap_or_else(|m| {
        err(Column::Narrative, cell(Column::Narrative), m);
        None
    });
    let ev_url = opt(cell(Column::EvidenceUrl), WebUrl::parse).unwrap_or_else(|m| {
        err(Column::EvidenceUrl, cell(Column::EvidenceUrl), m);
        None
    });
    let ev_narr = opt(cell(Column::EvidenceNarrative), |s| {
        text::paragraph(s, text::NARRATIVE_MAX)
    })
    .unwrap_or_else(|m| {
        err(
            Column::EvidenceNarrative,
            cell(Column::EvidenceNarrative),
            m,
        );
        None
    });
    let external_id = opt(cell(Column::ExternalId), |s| text::line(s, 200)).unwrap_or_else(|m| {
        err(Column::ExternalId, cell(Column::ExternalId), m);
        None
    });
    let cohort = opt(cell(Column::Cohort), |s| text::line(s, 100)).unwrap_or_else(|m| {
        err(Column::Cohort, cell(Column::Cohort), m);
        None
    });
    let locale = opt(cell(Column::Locale), Locale::parse).unwrap_or_else(|m| {
        err(Column::Locale, cell(Column::Locale), m);
        None
    });
    let extra = record
        .iter()
        .skip(cols.width())
        .filter(|c| !c.trim().is_empty())
        .count();
    if extra > 0 {
        errors.push(RowError {
            row,
            column: format!("#{}", cols.width() + 1),
            value: record
                .iter()
                .skip(cols.width())
                .collect::<Vec<_>>()
                .join(","),
            message: format!(
                "the row has {} cells but the header has {}",
                record.len(),
                cols.width()
            ),
        });
    }
    match (email, name, errors.is_empty()) {
        (Some(email), Some(name), true) => Ok(ValidRow {
            row,
            template_id,
            email,
            name,
            issued_on,
            issued_raw: cell(Column::IssuedOn).to_owned(),
            expires_on,
            narrative,
            evidence: if ev_url.is_some() || ev_narr.is_some() {
                vec![Evidence {
                    url: ev_url,
                    narrative: ev_narr,
                }]
            } else {
                vec![]
            },
            external_id,
            cohort,
            locale,
        }),
        _ => Err(errors),
    }
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
            Zone::default(),
        )
        .unwrap();
        assert_eq!(r.email.as_str(), "Kim@example.com");
        assert_eq!(r.issued_raw, "2026. 3. 1.");
        assert_eq!(r.evidence.len(), 1);
        assert_eq!(r.cohort.as_deref(), Some("1기"));
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
            Zone::default(),
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
            Zone::default(),
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
