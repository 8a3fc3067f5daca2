//! The pure domain: values parsed at the edge, rules with no I/O.
//!
//! Nothing in here talks to AWS, reads the clock implicitly or can fail on I/O. Every newtype has a
//! `parse` constructor, so the rest of the code cannot hold an invalid value.

pub mod api_key;
pub mod award;
pub mod batch;
pub mod color;
pub mod credential;
pub mod email;
pub mod engagement;
pub mod error;
pub mod followup;
pub mod ids;
pub mod issue_request;
pub mod issuer;
pub mod issuer_profile;
pub mod json;
pub mod kakao;
pub mod locale;
pub mod mask;
pub mod metrics;
pub mod phone;
pub mod rollup;
pub mod tally;
pub mod template;
pub mod template_spec;
pub mod text;
pub mod time;
pub mod url;
pub mod visitor;
pub mod webhook;

pub use error::{FieldError, Invalid};
