//! A loaded configuration: the file, its signing table and the authenticator, swapped as one
//! on reload.

use crate::config::{Config, ConfigError};
use crate::signing::{ArcSealKey, SealKeyProblem, SigningTable, load_sealer};
use mailstamp::pipeline::{Authenticator, CheckOptions};
use mailstamp::{DnsSource, LiveConfig, Resolver};
use std::path::Path;
use std::time::Duration;

/// What a test (or an embedding program) puts in place of the file's choices.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Answer DNS from this resolver instead of `[dns]` (an offline zone in tests).
    pub resolver: Option<Resolver>,
    /// Evaluate and sign as if the time were this (Unix seconds).
    pub now: Option<u64>,
}

/// A configuration in force.
#[derive(Debug)]
pub struct Loaded {
    /// The file's settings.
    pub config: Config,
    /// The keys.
    pub signing: SigningTable,
    /// The `[arc_seal]` sealer: `None` without the section, `Err` when its key is unusable
    /// (sealing is then off; logged at load and by `--check-config`).
    pub arc_seal: Option<Result<ArcSealKey, SealKeyProblem>>,
    /// The verifier (its resolver's cache is kept across reloads when `[dns]` is unchanged).
    pub authenticator: Authenticator,
}

impl Loaded {
    /// Reads `path`, loads the keys and sets up DNS. `previous` lends its resolver when `[dns]`
    /// did not change. Must run inside a tokio runtime (the live resolver attaches to it).
    pub fn load(
        path: &Path,
        previous: Option<&Loaded>,
        overrides: &Overrides,
    ) -> Result<Loaded, ConfigError> {
        let config = Config::load(path)?;
        Loaded::from_config(config, previous, overrides)
    }

    /// [`Loaded::load`] from an already parsed configuration.
    pub fn from_config(
        config: Config,
        previous: Option<&Loaded>,
        overrides: &Overrides,
    ) -> Result<Loaded, ConfigError> {
        let resolver = match (&overrides.resolver, previous) {
            (Some(r), _) => r.clone(),
            (None, Some(p)) if p.config.dns == config.dns => p.authenticator.resolver().clone(),
            (None, _) => Resolver::builder(DnsSource::Live(LiveConfig {
                nameservers: config.nameservers(),
                timeout: Duration::from_millis(config.dns.timeout_ms),
                attempts: usize::from(config.dns.attempts),
            }))
            .build()
            .map_err(|e| ConfigError {
                path: config.path.clone(),
                line: None,
                column: None,
                message: format!("[dns]: {e}"),
            })?,
        };
        let mut options = CheckOptions::new(config.authserv_id.clone())
            .with_max_signatures(config.limits.max_signatures)
            .with_time_limit(Duration::from_millis(config.limits.wall_time_ms))
            .with_arc_trusted_sealers(config.arc_trusted_sealers());
        if let Some(now) = overrides.now {
            options = options.with_now(now);
        }
        let signing = SigningTable::load(&config);
        let arc_seal = load_sealer(&config);
        Ok(Loaded {
            authenticator: Authenticator::new(resolver, options),
            signing,
            arc_seal,
            config,
        })
    }
}
