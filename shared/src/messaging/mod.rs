//! KakaoTalk and SMS through a Korean Biz Message provider, pure: the messages ([`text`]), and
//! each provider as the HTTP requests it documents and the answers it gives ([`Provider`]; NAVER
//! Cloud SENS in [`sens`]). Another provider (Solapi, NHN Cloud, Aligo) is one more file here;
//! the sending itself (claims, HTTP, counting) is `crate::kakao`.

pub mod sens;
pub mod text;

use crate::domain::{
    kakao::{Credentials, KakaoSettings},
    phone::Phone,
};

/// Recipients per request: SENS and its peers take at most 100.
pub const MAX_PER_REQUEST: usize = 100;

/// A day-1 AlimTalk, with the SMS/LMS the provider sends instead when KakaoTalk cannot deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlimTalk {
    pub to: Phone,
    pub content: String,
    /// The web-link button: its name and URL.
    pub button: (String, String),
    pub fallback_subject: String,
    pub fallback: String,
}

/// A promotional SMS/LMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: Phone,
    pub subject: String,
    pub content: String,
}

/// An HTTP request to make, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What the provider took: its request id, and for each message (in the order sent) its id where
/// it gives one, or why it refused that message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub request_id: String,
    pub messages: Vec<Result<Option<String>, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Refused for good (bad credentials, a template that does not match, a bad number): sending
    /// again changes nothing.
    #[error("refused by the provider: {0}")]
    Refused(String),
    /// The request refused as a whole for what it holds (HTTP 400): one message the provider will
    /// not take, or all of them. Nothing was taken; sent apart, the others may go.
    #[error("refused by the provider: {0}")]
    Invalid(String),
    /// Throttled or unavailable before taking anything (429, 503): worth another try later.
    #[error("provider unavailable: {0}")]
    Retry(String),
    /// No clear answer (a timeout, a 500 or 504): the provider may have taken the messages, so
    /// they are never sent again.
    #[error("no clear answer from the provider: {0}")]
    Unknown(String),
}

/// The two kinds of request a provider gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    AlimTalk,
    Sms,
}

/// What became of one message, as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Pending,
    Delivered,
    /// KakaoTalk could not deliver it; the provider sent the SMS/LMS fallback.
    FellBack,
    Failed(String),
}

impl Delivery {
    /// The counter word: `delivered`, `fallback_sms`, `failed` (none while pending).
    pub fn word(&self) -> Option<&'static str> {
        match self {
            Delivery::Pending => None,
            Delivery::Delivered => Some("delivered"),
            Delivery::FellBack => Some("fallback_sms"),
            Delivery::Failed(_) => Some("failed"),
        }
    }
}

/// The account a request is made for.
pub struct Account<'a> {
    pub settings: &'a KakaoSettings,
    pub credentials: &'a Credentials,
    /// The API's base URL (`https://sens.apigw.ntruss.com`; the stand-in on the local stack).
    pub base_url: &'a str,
}

/// One provider's API: requests built and answers read, no I/O.
pub trait Provider: Send + Sync {
    /// Day-1 AlimTalks (at most [`MAX_PER_REQUEST`]) with SMS fallback, signed at `now_ms`.
    fn alimtalk(&self, a: &Account<'_>, messages: &[AlimTalk], now_ms: i64) -> Request;
    /// Promotional SMS/LMS (at most [`MAX_PER_REQUEST`]), signed at `now_ms`.
    fn promotions(&self, a: &Account<'_>, messages: &[Sms], now_ms: i64) -> Request;
    /// Reads the answer to a send of messages to `sent` (their numbers as
    /// [`crate::domain::phone::Phone::national`], in the order sent; one message a number):
    /// [`Accepted::messages`] in that order.
    fn accepted(
        &self,
        status: u16,
        body: &[u8],
        sent: &[String],
    ) -> Result<Accepted, ProviderError>;
    /// The request for what became of the messages of one send (`request_id`).
    fn results(&self, a: &Account<'_>, channel: Channel, request_id: &str, now_ms: i64) -> Request;
    /// Reads its answer.
    fn deliveries(
        &self,
        channel: Channel,
        status: u16,
        body: &[u8],
    ) -> Result<Listed, ProviderError>;
    /// The request for what became of one message the list named without saying
    /// ([`Listed::ask`]).
    fn result(&self, a: &Account<'_>, channel: Channel, message_id: &str, now_ms: i64) -> Request;
    /// Reads its answer: what became of the message (pending when the answer says nothing).
    fn delivery(
        &self,
        channel: Channel,
        status: u16,
        body: &[u8],
    ) -> Result<Delivery, ProviderError>;
}

/// A request's messages as the provider lists them, by number (as
/// [`crate::domain::phone::Phone::national`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    /// What became of each message the list says it of.
    pub known: Vec<(String, Delivery)>,
    /// The messages it names without saying (SENS lists an SMS request's message ids only):
    /// number and message id, each asked for with [`Provider::result`].
    pub ask: Vec<(String, String)>,
}

/// The provider an issuer's settings name.
pub fn provider(name: &str) -> Option<&'static dyn Provider> {
    match name {
        "sens" => Some(&sens::Sens),
        _ => None,
    }
}
