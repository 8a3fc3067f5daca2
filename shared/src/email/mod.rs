//! Emails: our own templates (moto and many regions have no SES templates to rely on), rendered
//! to a raw MIME message with an HTML and a plain-text part.

pub mod day1;
pub mod followup;
pub mod mime;
pub mod webhook_disabled;

#[cfg(test)]
pub(crate) mod snapshot_tests;
