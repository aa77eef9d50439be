//! Capabilities the host grants plugins: the gated network (the gate, which
//! judges by the policy crate's `Policy`; upstream sending; rate limit),
//! add-in manifests fetched and checked, and the per-call record of what
//! happened.

pub mod addin_manifest;
pub mod call;
pub mod gate;
pub mod ratelimit;
pub mod upstream;
