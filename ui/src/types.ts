// Generated from the Rust types that cross IPC (src-tauri/src/contract.rs); do not edit.
// Regenerate with `KEYFOB_WRITE_TYPES=1 cargo test -p keyfob-app contract`.
// Metadata only: no token, code, state or callback URL ever crosses into the webview.

export type AccountStatus = { "state": "ok" } | { "state": "needs_relink", 
/**
 * Why, in words a user understands.
 */
reason: string, };

export type Attention = { "kind": "refresh_token_not_stored", 
/**
 * The keyring's error, in words a user understands.
 */
reason: string, } | { "kind": "revocation_pending", 
/**
 * Why the revocation failed.
 */
reason: string, } | { "kind": "refresh_failing", 
/**
 * Since when refreshing fails.
 */
since: string, 
/**
 * The last failure.
 */
reason: string, };

export type Account = { 
/**
 * Stable id derived from (provider, issuer, subject).
 */
id: string, 
/**
 * The provider id it was linked through.
 */
provider: string, 
/**
 * The issuer that vouches for `subject`.
 */
issuer: string, 
/**
 * The provider settings it was linked with: its tokens go nowhere else. `None` only for
 * an account linked before they were recorded whose provider was missing when the file
 * was upgraded; such an account can only be unlinked or linked again.
 */
linked_with: Binding | null, 
/**
 * The provider's stable user id (`sub`, or GitHub's numeric id).
 */
subject: string, 
/**
 * What to show: email or login.
 */
display_name: string, 
/**
 * The email address, when the provider gave one.
 */
email: string | null, 
/**
 * The login / preferred username, when the provider gave one.
 */
login: string | null, 
/**
 * Scopes the provider granted.
 */
scopes: Array<string>, 
/**
 * When the access token expires; `None` means it does not expire.
 */
access_expires_at: string | null, 
/**
 * Whether a refresh token is stored.
 */
has_refresh_token: boolean, 
/**
 * When the refresh token expires, where the provider says so.
 */
refresh_expires_at: string | null, 
/**
 * When the account was first linked.
 */
linked_at: string, 
/**
 * When its tokens were last refreshed.
 */
refreshed_at: string | null, 
/**
 * When the current access token was asked for (link or refresh): with
 * `access_expires_at`, its lifetime, kept when a refresh answer names none. Absent in
 * files written before it was recorded.
 */
access_issued_at: string | null, 
/**
 * Whether it still works.
 */
status: AccountStatus, 
/**
 * What an operation could only half do, for the user to act on; absent when nothing.
 */
attention?: Attention, };

export type Binding = { 
/**
 * Where its refresh token is spent.
 */
token_endpoint: string, 
/**
 * Where its grant is revoked.
 */
revocation_endpoint: string | null, 
/**
 * Where its access token is shown to read or check the identity.
 */
userinfo_endpoint: string | null, 
/**
 * The client its grant was issued to.
 */
client_id: string, 
/**
 * OpenID Connect (its refreshed ID tokens are checked) or plain OAuth 2.
 */
kind: ProviderKind, 
/**
 * Whether its provider's authorization responses had to carry `iss` (RFC 9207).
 */
iss_required: boolean, };

export type ProviderKind = "openid" | "oauth2";

export type ClientAuth = "basic" | "post" | "none";

export type RedirectMode = "scheme" | "loopback";

export type Flavor = "standard" | "github" | "google";

export type Provider = { 
/**
 * Short id used in commands and in the redirect path: `[a-z0-9-]`.
 */
id: string, 
/**
 * Name shown to users.
 */
name: string, 
/**
 * OpenID Connect or plain OAuth 2.
 */
kind: ProviderKind, 
/**
 * The issuer identifier (for OAuth 2 providers, their base URL).
 */
issuer: string, 
/**
 * Where the browser is sent to sign in.
 */
authorization_endpoint: string, 
/**
 * Where codes and refresh tokens are exchanged.
 */
token_endpoint: string, 
/**
 * Where the identity is read.
 */
userinfo_endpoint: string | null, 
/**
 * RFC 7009 revocation endpoint.
 */
revocation_endpoint: string | null, 
/**
 * The provider's signing keys (OpenID).
 */
jwks_uri: string | null, 
/**
 * Scopes asked for when the user names none.
 */
scopes: Array<string>, 
/**
 * The registered client id.
 */
client_id: string, 
/**
 * How the client authenticates at the token endpoint.
 */
client_auth: ClientAuth, 
/**
 * Extra authorization request parameters (`prompt`, `access_type`, ...).
 */
extra_params: { [key in string]: string }, 
/**
 * Custom scheme or loopback redirect.
 */
redirect: RedirectMode, 
/**
 * Whether every authorization response carries `iss` (RFC 9207), so one without it is
 * refused; a present `iss` is checked either way.
 */
iss_parameter_supported: boolean, 
/**
 * Discovery's `id_token_signing_alg_values_supported`; empty: any algorithm Keyfob accepts.
 */
id_token_signing_alg_values_supported: Array<string>, 
/**
 * Provider-specific behaviour.
 */
flavor: Flavor, 
/**
 * A fixed loopback port, for providers that match loopback redirects exactly (GitHub
 * Apps); `None` takes an ephemeral port, as RFC 8252 section 7.3 intends.
 */
loopback_port: number | null, 
/**
 * RFC 8628 device authorization endpoint, set only when the user opted in to linking
 * with a code (the device flow invites phishing: a code can be relayed to a victim).
 */
device_authorization_endpoint: string | null, 
/**
 * A second client that links with a code, when the provider allows that only to another
 * client type (Google's "TVs and Limited Input devices"); its secret is in the keyring
 * too. `None`: the client above links with a code as well.
 */
device_client_id: string | null, 
/**
 * How long before expiry the keeper refreshes this provider's accounts
 * (`refresh_ahead = "off"` or `"5m"`; absent: the default rule).
 */
refresh_ahead?: string, };

export type RedirectRegistration = { 
/**
 * The URI exactly as it must be registered.
 */
uri: string, 
/**
 * The URI has no port because the provider must accept any loopback port (RFC 8252
 * section 7.3); Keyfob picks a free one each time.
 */
any_port: boolean, 
/**
 * The desktop app sends it (the provider's redirect mode).
 */
app: boolean, 
/**
 * The `keyfob` command sends it (always the loopback redirect: a terminal has no
 * registered URL scheme handler to come back to).
 */
cli: boolean, };

export type ProviderView = { 
/**
 * The redirect URIs to enter in the provider's app registration (the core's answer).
 */
redirect_uris: Array<RedirectRegistration>, 
/**
 * Whether a client secret is stored in the keyring (the secret itself is never read).
 */
has_client_secret: boolean, 
/**
 * Short id used in commands and in the redirect path: `[a-z0-9-]`.
 */
id: string, 
/**
 * Name shown to users.
 */
name: string, 
/**
 * OpenID Connect or plain OAuth 2.
 */
kind: ProviderKind, 
/**
 * The issuer identifier (for OAuth 2 providers, their base URL).
 */
issuer: string, 
/**
 * Where the browser is sent to sign in.
 */
authorization_endpoint: string, 
/**
 * Where codes and refresh tokens are exchanged.
 */
token_endpoint: string, 
/**
 * Where the identity is read.
 */
userinfo_endpoint: string | null, 
/**
 * RFC 7009 revocation endpoint.
 */
revocation_endpoint: string | null, 
/**
 * The provider's signing keys (OpenID).
 */
jwks_uri: string | null, 
/**
 * Scopes asked for when the user names none.
 */
scopes: Array<string>, 
/**
 * The registered client id.
 */
client_id: string, 
/**
 * How the client authenticates at the token endpoint.
 */
client_auth: ClientAuth, 
/**
 * Extra authorization request parameters (`prompt`, `access_type`, ...).
 */
extra_params: { [key in string]: string }, 
/**
 * Custom scheme or loopback redirect.
 */
redirect: RedirectMode, 
/**
 * Whether every authorization response carries `iss` (RFC 9207), so one without it is
 * refused; a present `iss` is checked either way.
 */
iss_parameter_supported: boolean, 
/**
 * Discovery's `id_token_signing_alg_values_supported`; empty: any algorithm Keyfob accepts.
 */
id_token_signing_alg_values_supported: Array<string>, 
/**
 * Provider-specific behaviour.
 */
flavor: Flavor, 
/**
 * A fixed loopback port, for providers that match loopback redirects exactly (GitHub
 * Apps); `None` takes an ephemeral port, as RFC 8252 section 7.3 intends.
 */
loopback_port: number | null, 
/**
 * RFC 8628 device authorization endpoint, set only when the user opted in to linking
 * with a code (the device flow invites phishing: a code can be relayed to a victim).
 */
device_authorization_endpoint: string | null, 
/**
 * A second client that links with a code, when the provider allows that only to another
 * client type (Google's "TVs and Limited Input devices"); its secret is in the keyring
 * too. `None`: the client above links with a code as well.
 */
device_client_id: string | null, 
/**
 * How long before expiry the keeper refreshes this provider's accounts
 * (`refresh_ahead = "off"` or `"5m"`; absent: the default rule).
 */
refresh_ahead?: string, };

export type UiErrorKind = "keyring" | "needs_relink" | "cannot_refresh" | "provider" | "callback" | "denied" | "timeout" | "link_not_found" | "network" | "provider_response" | "account_not_found" | "storage" | "clipboard" | "browser" | "invalid_setting" | "autostart" | "other";

export type UiError = { 
/**
 * A stable machine-readable category (see [`kind_of`]).
 */
kind: UiErrorKind, 
/**
 * A sentence for the user. Never contains a token, code, state or callback URL.
 */
message: string, };

export type LinkStarted = { link_id: string, provider: string, expires_at: string, };

export type CodeLinkStarted = { link_id: string, provider: string, 
/**
 * The code to enter at `verification_uri`.
 */
user_code: string, 
/**
 * Where to enter it (opened in the system browser by `open_code_page`).
 */
verification_uri: string, expires_at: string, };

export type LinkOutcome = { link_id: string, 
/**
 * The linked account, on success.
 */
account: Account | null, 
/**
 * What went wrong, on failure.
 */
error: UiError | null, };

export type Notice = { message: string, };

export type ClipboardExpired = { 
/**
 * True when the clipboard still held the token and was cleared; false when the user had
 * copied something else since, which Keyfob leaves alone.
 */
cleared: boolean, };

export type Copied = { expires_at: string | null, refreshed: boolean, 
/**
 * Seconds until the clipboard is cleared, if it will be.
 */
clears_in: number | null, };

export type RevocationOutcome = "revoked" | "not_supported" | "failed";

export type Unlinked = { account_id: string, display_name: string, revocation: RevocationOutcome, 
/**
 * Why revocation failed, when it did (local data is deleted anyway).
 */
revocation_error: string | null, };

export type AppStatus = { 
/**
 * Seconds a copied token stays on the clipboard; `None`: until replaced.
 */
clipboard_clear_seconds: number | null, version: string, 
/**
 * Why the keyring cannot be used, if it cannot.
 */
keyring_problem: UiError | null, };

export type SettingsForm = { 
/**
 * Refresh access tokens before they expire (read by the background keeper).
 */
refresh_ahead: boolean, 
/**
 * Closing the window keeps Keyfob running in the tray.
 */
close_to_tray: boolean, 
/**
 * Start Keyfob (in the tray) when the user logs in.
 */
start_at_login: boolean, 
/**
 * Seconds a copied token stays on the clipboard; 0 keeps it until replaced.
 */
clipboard_clear_seconds: number, };

export type SecretInput = { "action": "keep" } | { "action": "set", "value": string } | { "action": "remove" };

export type OpenidProviderInput = { id: string, name: string, issuer: string, client_id: string, client_secret: string | null, client_auth: ClientAuth, scopes: Array<string> | null, extra_params: { [key in string]: string }, redirect: RedirectMode, 
/**
 * Allow linking with a code (RFC 8628); discovery must name a device endpoint.
 */
device_flow: boolean, 
/**
 * The keeper's lead for this provider; absent: the default rule.
 */
refresh_ahead?: string, };

export type GithubProviderInput = { client_id: string | null, client_secret: string | null, 
/**
 * A GitHub App (exact callback URLs: the custom scheme) rather than an OAuth App.
 */
github_app: boolean, 
/**
 * A GitHub Enterprise Server or GHE.com base URL; github.com when absent.
 */
enterprise_url: string | null, 
/**
 * Allow linking with a code ("Enable Device Flow" must be ticked in the app's settings).
 */
device_flow: boolean, };

export type GoogleProviderInput = { client_id: string | null, client_secret: string | null, };

export type RegistrationQuery = { "form": "provider", provider_id: string, redirect: RedirectMode, } | { "form": "github", github_app: boolean, enterprise_url: string | null, } | { "form": "google" };
