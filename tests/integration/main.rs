//! One integration-test binary: the real routers and AWS SDK against the moto emulator.

// Test helpers may unwrap: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod analytics;
mod aws_faithful;
mod bulk;
mod console;
mod credentials;
mod emails;
mod events;
mod faults;
mod foundation;
mod hardening;
mod issuing;
mod kakao;
mod recommendations;
mod replay;
mod retries;
mod rollup;
mod share_cards;
mod smoke;
mod standards;
mod tenancy;
mod verification;
mod webhooks;
