//! Keyfob's engine: link OAuth 2 / OpenID Connect accounts through the system browser, keep
//! their tokens in the OS keyring, and hand out fresh access tokens.
//!
//! [`Keyfob`] is the facade the desktop app and the CLI call; everything else is its parts,
//! private behind the short list of re-exports below.

mod account_binding;
mod at_hash;
mod authorize;
mod callback;
mod error;
mod exchange;
mod http;
mod identity;
mod keeper;
mod loopback;
mod paths;
mod provider;
mod revocation;
mod secret;
mod store;

mod bare_issuer;
mod callback_error;
mod check;
mod device;
mod facade;
mod id_token_alg;
mod id_token_party;
mod id_token_refusal;
mod link;
mod provider_setup;
mod purge;
mod refused;
mod secret_places;
mod settings;
mod start;
mod text;
mod token;
mod unlink;

#[cfg(test)]
mod testing;

pub use crate::authorize::pending::{PendingLink, PendingStatus, LINK_LIFETIME};
pub use crate::authorize::pkce::fingerprint;
pub use crate::callback::CallbackError;
pub use crate::device::DevicePrompt;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::facade::Keyfob;
pub use crate::keeper::backoff::Backoff;
pub use crate::keeper::clock::{Clock, SystemClock};
pub use crate::keeper::event::KeeperEvent;
pub use crate::keeper::refresh_ahead::RefreshAhead;
pub use crate::keeper::{Keeper, KeeperControl, MAX_SLEEP};
pub use crate::link::{LinkOptions, LinkStart};
pub use crate::loopback::LoopbackListener;
pub use crate::paths::{Paths, APP_ID};
pub use crate::provider::discovery::OpenidProviderDraft;
pub use crate::provider::presets::{
    GithubOptions, GoogleDeviceClient, GoogleOptions, Preset, PresetClient,
    GITHUB_APP_LOOPBACK_PORT,
};
pub use crate::provider::registration::{
    redirect_registrations, RedirectRegistration, RedirectSetup,
};
pub use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};
pub use crate::provider_setup::SecretUpdate;
pub use crate::purge::PurgeReport;
pub use crate::revocation::Revocation;
pub use crate::secret::Secret;
pub use crate::secret_places::{SecretPlace, KEYRING_NAME};
pub use crate::settings::Settings;
pub use crate::start::{LinkRedirect, LoopbackLink, StartedLink};
pub use crate::store::accounts::{Account, AccountStatus};
pub use crate::store::attention::Attention;
pub use crate::store::binding::Binding;
pub use crate::text::{printable, token_is_plain};
pub use crate::token::FreshToken;
pub use crate::unlink::UnlinkReport;

/// Not API: what Keyfob's own integration tests reach below the facade (the keyring items
/// by name, the HTTP client, single protocol steps). Built only with the `internals` feature,
/// which only test builds (and the fuzz targets in `fuzz/`) enable.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::callback::ParsedCallback;
    pub use crate::exchange::exchange_code;
    pub use crate::http::Http;
    pub use crate::identity::verify_refreshed_id_token;
    pub use crate::loopback::read_request as read_loopback_request;
    pub use crate::provider::presets::github;
    pub use crate::store::providers::ProviderStore;
    pub use crate::store::secrets::{SecretKey, SecretStore};
}
