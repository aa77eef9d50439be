//! End-to-end tests of `m365-harness`: the real binary, driving the real
//! `m365-admin` that cargo built beside it, against the sandbox tenant.

mod harness;

mod bench;
mod soak;
