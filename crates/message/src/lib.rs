//! Borrowed view of an email message (work in progress).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
