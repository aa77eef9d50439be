//! m365-admin's capability policy: what a plugin may ask the host for, and
//! the answer to each request. Pure: no wasmtime, no async runtime, no WASI,
//! no I/O, so the host and the fuzzers judge with the same code.
//!
//! Two stages, as a manifest is read: `GrantsSection` is the `[grants]`
//! section as the file says it; `GrantsSection::resolve` gives the `Policy`
//! the host enforces. A `Policy` answers every check with `Ok` or a
//! `Denial`, which carries what was refused and decides its own error code.
//!
//! | module | owns |
//! | --- | --- |
//! | `grant` | `Grant`, one grant of any kind in its canonical, approved form |
//! | `graph` | Graph grants (`GET /users/*`), the path normaliser and matcher |
//! | `exchange` | cmdlet grants, the one Exchange endpoint, `InvokeCommand` bodies |
//! | `batch` | `$batch` bodies |
//! | `headers` | the headers a plugin may not set |
//! | `section`, `policy` | the two stages |
//! | `denial` | `Denial` and its `DenialKind` |
//! | `entra` | the Entra ID permissions each grant needs |
//! | `arguments` | a tool's arguments against its input schema |
//! | `codes` | the documented error codes |

pub mod arguments;
pub mod batch;
pub mod codes;
pub mod denial;
pub mod entra;
pub mod exchange;
pub mod grant;
pub mod graph;
pub mod headers;
pub mod policy;
pub mod section;

pub use codes::ErrorCode;
pub use denial::{Denial, DenialKind};
pub use grant::{Grant, GrantError};
pub use policy::{Mode, Policy, Route};
pub use section::GrantsSection;
