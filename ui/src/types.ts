// Shapes of what the Rust commands and events send. Metadata only: no token, code, state or
// callback URL ever crosses into the webview.

export type AccountStatus = { state: 'ok' } | { state: 'needs_relink'; reason: string };

export interface Account {
  id: string;
  provider: string;
  issuer: string;
  subject: string;
  display_name: string;
  email: string | null;
  login: string | null;
  scopes: string[];
  /** RFC 3339; null: the token does not expire. */
  access_expires_at: string | null;
  has_refresh_token: boolean;
  refresh_expires_at: string | null;
  linked_at: string;
  refreshed_at: string | null;
  /** RFC 3339: when the current access token was asked for; null in older files. */
  access_issued_at: string | null;
  status: AccountStatus;
}

export type ProviderKind = 'openid' | 'oauth2';
export type ClientAuth = 'none' | 'basic' | 'post';
export type RedirectMode = 'scheme' | 'loopback';

export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string | null;
  revocation_endpoint: string | null;
  jwks_uri: string | null;
  scopes: string[];
  client_id: string;
  client_auth: ClientAuth;
  extra_params: Record<string, string>;
  redirect: RedirectMode;
  iss_parameter_supported: boolean;
  /** Which provider's quirks apply; GitHub and Google come from presets. */
  flavor?: Flavor;
  loopback_port?: number | null;
}

export type Flavor = 'standard' | 'github' | 'google';

/** One redirect URI to register at the provider, and who sends it (keyfob-core's RedirectRegistration). */
export interface RedirectRegistration {
  uri: string;
  /** No port in the URI: the provider must accept any loopback port. */
  any_port: boolean;
  /** The desktop app sends it. */
  app: boolean;
  /** The keyfob command sends it. */
  cli: boolean;
}

/** What a setup form asks the shell about redirect URIs before anything is saved. */
export type RegistrationQuery =
  | { form: 'provider'; providerId: string; redirect: RedirectMode }
  | { form: 'github'; githubApp: boolean; enterpriseUrl: string | null }
  | { form: 'google' };

/** A provider plus the redirect URIs to register at it. */
export interface ProviderView extends Provider {
  redirect_uris: RedirectRegistration[];
  /** Whether a client secret is stored in the keyring (the secret itself never comes here). */
  has_client_secret: boolean;
}

export interface UiError {
  kind: string;
  message: string;
}

export interface LinkStarted {
  linkId: string;
  provider: string;
  expiresAt: string;
}

export interface LinkOutcome {
  linkId: string;
  account: Account | null;
  error: UiError | null;
}

/** The latest copy's clear delay ran out; `cleared` is false when the user had copied something else. */
export interface ClipboardExpired {
  cleared: boolean;
}

export interface Copied {
  expiresAt: string | null;
  refreshed: boolean;
  clearsIn: number | null;
}

export interface Unlinked {
  accountId: string;
  displayName: string;
  revocation: 'revoked' | 'not_supported' | 'failed';
  revocationError: string | null;
}

export interface AppStatus {
  clipboardClearSeconds: number | null;
  version: string;
  /** Why the keyring cannot be used; null when it works. */
  keyringProblem: UiError | null;
}

export type SecretInput =
  | { action: 'keep' }
  | { action: 'set'; value: string }
  | { action: 'remove' };

export interface OpenidProviderInput {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  clientAuth: ClientAuth;
  scopes: string[] | null;
  extraParams: Record<string, string>;
  redirect: RedirectMode;
}

/** The GitHub preset form; empty fields fall back to client ids built into Keyfob. */
export interface GithubProviderInput {
  clientId: string | null;
  clientSecret: string | null;
  githubApp: boolean;
  enterpriseUrl: string | null;
}

export interface GoogleProviderInput {
  clientId: string | null;
  clientSecret: string | null;
}
