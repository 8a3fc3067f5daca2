use std::fmt;

/// Why a single value was rejected: the English message (the API's), and for the messages admins
/// meet most the same in Korean ([`Invalid::ko`]), attached where the message is made; the console
/// shows it on Korean pages. The caller knows which field the value came from and turns it into a
/// [`FieldError`] with [`Invalid::at`].
#[derive(Debug, Clone)]
pub struct Invalid(pub String, Option<String>);

/// Korean for messages that several parsers give.
pub const KO_EMPTY: &str = "비어 있을 수 없습니다.";
pub const KO_REQUIRED: &str = "필수 항목입니다.";
pub const KO_CONTROL_CHARACTERS: &str = "제어 문자를 포함할 수 없습니다.";
pub const KO_NOT_A_NUMBER: &str = "숫자를 입력하세요.";
pub const KO_NOT_A_URL: &str = "올바른 웹 주소가 아닙니다 (https://로 시작하는 주소를 입력하세요).";

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into(), None)
    }

    /// The same message in Korean.
    pub fn ko(self, korean: impl Into<String>) -> Self {
        Self(self.0, Some(korean.into()))
    }

    pub fn korean(&self) -> Option<&str> {
        self.1.as_deref()
    }

    /// The message said of a named value: `name must not be empty`, `이름: 비어 있을 수 없습니다.`
    pub fn about(self, what: &str, korean: &str) -> Self {
        Self(
            format!("{what} {}", self.0),
            self.1.map(|k| format!("{korean}: {k}")),
        )
    }

    /// Attach the name of the field the value came from.
    pub fn at(self, field: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: self.0,
            ko: self.1,
        }
    }
}

/// Errors are equal when they say the same thing; the Korean is the same message, not part of
/// what the error is.
impl PartialEq for Invalid {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Invalid {}

impl std::error::Error for Invalid {}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rejected input value, naming the field (dotted path such as `recipient.email`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The message in Korean, for the console; the API answers in English only.
    pub ko: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            ko: None,
        }
    }

    /// The same message in Korean.
    pub fn ko(mut self, korean: impl Into<String>) -> Self {
        self.ko = Some(korean.into());
        self
    }
}

/// Equal when the field and the (English) message are: like [`Invalid`], the Korean is the same
/// message in another language.
impl PartialEq for FieldError {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.message == other.message
    }
}

impl Eq for FieldError {}
