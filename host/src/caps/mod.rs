//! Capabilities the host grants plugins: the gated network (grants, gate,
//! upstream sending, rate limit) and the per-call record of what happened.

pub mod call;
pub mod gate;
pub mod grants;
pub mod ratelimit;
pub mod upstream;
