//! One integration-test binary: the real routers and AWS SDK against the moto emulator.

mod bulk;
mod foundation;
mod issuing;
mod recommendations;
mod standards;
mod verification;
