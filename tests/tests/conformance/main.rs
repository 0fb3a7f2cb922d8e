//! Conformance runs over the shared corpora (`../shared/conformance`, see PROVENANCE.md).

mod dkim;
mod dmarc;
mod fixtures;
mod pipeline;
mod received_spf;
mod reports;
mod spf;
