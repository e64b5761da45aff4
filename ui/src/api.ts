// The typed client of Keyfob's Rust commands and events: the only module that talks to Tauri.
// Tokens never come back from these calls; `copyToken` puts the token on the clipboard in Rust.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  Account,
  AppStatus,
  ClipboardExpired,
  CodeLinkStarted,
  Copied,
  GithubProviderInput,
  GoogleProviderInput,
  LinkOutcome,
  LinkStarted,
  Notice,
  OpenidProviderInput,
  Provider,
  ProviderView,
  RedirectRegistration,
  RegistrationQuery,
  SecretInput,
  SettingsForm,
  UiError,
  Unlinked,
} from './types';

export const api = {
  listAccounts: () => invoke<Account[]>('list_accounts'),
  copyToken: (accountId: string) => invoke<Copied>('copy_token', { accountId }),
  refreshAccount: (accountId: string) => invoke<Account>('refresh_account', { accountId }),
  unlinkAccount: (accountId: string) => invoke<Unlinked>('unlink_account', { accountId }),
  forgetAccount: (accountId: string) => invoke<void>('forget_account', { accountId }),
  listProviders: () => invoke<ProviderView[]>('list_providers'),
  saveProvider: (provider: Provider, secret: SecretInput, deviceFlow: boolean) =>
    invoke<ProviderView>('save_provider', { provider, secret, deviceFlow }),
  addOpenidProvider: (input: OpenidProviderInput) => invoke<ProviderView>('add_openid_provider', { input }),
  addGithubProvider: (input: GithubProviderInput) => invoke<ProviderView>('add_github_provider', { input }),
  addGoogleProvider: (input: GoogleProviderInput) => invoke<ProviderView>('add_google_provider', { input }),
  removeProvider: (providerId: string) => invoke<void>('remove_provider', { providerId }),
  redirectRegistrations: (query: RegistrationQuery) =>
    invoke<RedirectRegistration[]>('redirect_registrations', { query }),
  startLink: (providerId: string, scopes: string[] | null) => invoke<LinkStarted>('start_link', { providerId, scopes }),
  cancelLink: (linkId: string) => invoke<void>('cancel_link', { linkId }),
  startCodeLink: (providerId: string, scopes: string[] | null) =>
    invoke<CodeLinkStarted>('start_code_link', { providerId, scopes }),
  openCodePage: (linkId: string) => invoke<void>('open_code_page', { linkId }),
  copyCode: (linkId: string) => invoke<void>('copy_code', { linkId }),
  appStatus: () => invoke<AppStatus>('app_status'),
  getSettings: () => invoke<SettingsForm>('get_settings'),
  saveSettings: (form: SettingsForm) => invoke<SettingsForm>('save_settings', { form }),
  takeRelinkRequest: () => invoke<string | null>('take_relink_request'),
};

export const events = {
  accountsChanged: (f: () => void): Promise<UnlistenFn> => listen('accounts-changed', () => f()),
  linkFinished: (f: (o: LinkOutcome) => void): Promise<UnlistenFn> =>
    listen<LinkOutcome>('link-finished', (e) => f(e.payload)),
  callbackRefused: (f: (message: string) => void): Promise<UnlistenFn> =>
    listen<Notice>('callback-refused', (e) => f(e.payload.message)),
  relinkRequested: (f: () => void): Promise<UnlistenFn> => listen('relink-requested', () => f()),
  clipboardExpired: (f: (e: ClipboardExpired) => void): Promise<UnlistenFn> =>
    listen<ClipboardExpired>('clipboard-expired', (e) => f(e.payload)),
};

/** Commands reject with a `UiError`; anything else (a bug, IPC failure) is wrapped. */
export function toUiError(e: unknown): UiError {
  if (typeof e === 'object' && e !== null && 'kind' in e && 'message' in e) {
    return e as UiError;
  }
  return { kind: 'other', message: String(e) };
}
