//! Serialization helpers for the DNS vocabulary types, which carry no serde derives.

use mailstamp_dns::{FailureKind, Name};
use serde::Serializer;

pub(crate) fn name<S: Serializer>(n: &Name, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(n.as_str())
}

pub(crate) fn opt_name<S: Serializer>(n: &Option<Name>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.serialize_some(n.as_str()),
        None => s.serialize_none(),
    }
}

pub(crate) fn failure<S: Serializer>(k: &FailureKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}
