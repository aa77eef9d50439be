//! The HTTP plumbing every face shares, below the tenant model: responses and Microsoft's error
//! bodies, dates, request paths, OData query options, paging, and the route tables.

pub(crate) mod paging;
pub(crate) mod path;
pub(crate) mod query;
pub(crate) mod reply;
pub(crate) mod router;
pub(crate) mod time;

pub(crate) use query::Query;
pub(crate) use reply::{Ctx, GraphError, GraphResult, Reply, ReplyBody};
