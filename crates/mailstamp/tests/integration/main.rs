//! The integration tests of the `mailstamp` crate: one binary, one module per area.

mod bulk;
mod live;
