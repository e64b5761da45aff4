//! Starting a link: PKCE, state, nonce, the authorization URL, and the pending link it leaves.

pub mod pending;
pub mod pkce;
pub mod request;
