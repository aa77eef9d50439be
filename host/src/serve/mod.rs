//! The MCP face of the host: the rmcp server (`mcp.rs`), what a client is
//! shown of a result (`results.rs`, `envelope.rs`), the resources it can
//! list and read (`resources.rs`), and one session over stdio from start to
//! stop (`session.rs`). Tool calls themselves run in `pipeline/`.

pub mod envelope;
pub mod mcp;
pub mod resources;
pub mod results;
pub mod session;

pub use envelope::ENVELOPE_KEY;
pub use mcp::Server;
