//! Keyfob's engine: link OAuth 2 / OpenID Connect accounts through the system browser, keep
//! their tokens in the OS keyring, and hand out fresh access tokens.
//!
//! [`Keyfob`] is the facade the desktop app and the CLI call; everything else is its parts.

pub mod authorize;
pub mod callback;
pub mod error;
pub mod exchange;
pub mod http;
pub mod identity;
pub mod loopback;
pub mod paths;
pub mod provider;
pub mod revocation;
pub mod secret;
pub mod store;

mod bare_issuer;
mod callback_error;
mod check;
mod facade;
mod id_token_alg;
mod link;
mod provider_setup;
mod purge;
mod start;
mod text;
mod token;
mod unlink;

#[cfg(test)]
mod testing;

pub use crate::authorize::pending::{PendingLink, LINK_LIFETIME};
pub use crate::callback::CallbackError;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::facade::Keyfob;
pub use crate::link::{LinkOptions, LinkStart};
pub use crate::loopback::LoopbackListener;
pub use crate::paths::Paths;
pub use crate::provider::discovery::OpenidProviderDraft;
pub use crate::provider::presets::{GithubOptions, GoogleOptions};
pub use crate::provider::registration::{
    redirect_registrations, RedirectRegistration, RedirectSetup,
};
pub use crate::provider::{ClientAuth, Flavor, Provider, ProviderKind, RedirectMode};
pub use crate::provider_setup::SecretUpdate;
pub use crate::purge::PurgeReport;
pub use crate::revocation::Revocation;
pub use crate::secret::Secret;
pub use crate::start::{LinkRedirect, LoopbackLink, StartedLink};
pub use crate::store::accounts::{Account, AccountStatus};
pub use crate::text::{printable, token_is_plain};
pub use crate::token::FreshToken;
pub use crate::unlink::UnlinkReport;
