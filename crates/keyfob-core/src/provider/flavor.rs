//! Which provider's documented quirks apply.

use serde::{Deserialize, Serialize};

/// Which provider's documented quirks apply (see `presets`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// Plain RFC 6749 / OpenID Connect behaviour.
    #[default]
    Standard,
    /// GitHub and GitHub Enterprise Server: REST identity, comma-separated scopes, no RFC 7009.
    Github,
    /// Google: only where Google's pages are needed (revoking access by hand).
    Google,
}
