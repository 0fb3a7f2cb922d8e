//! Conformance runs over the shared corpora (`../shared/conformance`, see PROVENANCE.md).

mod fixtures;
mod received_spf;
mod spf;
mod dmarc;
