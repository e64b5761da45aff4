// The window's state outside dialogs, and what account rows show for it (pure, tested).

import type { Account, AppStatus, ProviderView, UiError } from './types';

export type Busy = 'copying' | 'refreshing' | 'unlinking';

export interface Model {
  loaded: boolean;
  loadError: UiError | null;
  accounts: Account[];
  providers: ProviderView[];
  status: AppStatus | null;
  /** What each account is doing right now. */
  busy: Map<string, Busy>;
  /** Accounts whose Copy button shows its confirmation. */
  copied: Set<string>;
  /** The account just linked, highlighted once. */
  highlight: string | null;
}

export function emptyModel(): Model {
  return {
    loaded: false,
    loadError: null,
    accounts: [],
    providers: [],
    status: null,
    busy: new Map(),
    copied: new Set(),
    highlight: null,
  };
}

export type BadgeTone = 'ok' | 'busy' | 'danger';

export interface Badge {
  tone: BadgeTone;
  text: string;
}

/** The status badge of an account row. */
export function statusBadge(account: Account, busy: Busy | undefined): Badge {
  if (busy === 'refreshing') return { tone: 'busy', text: 'Refreshing…' };
  if (busy === 'unlinking') return { tone: 'busy', text: 'Unlinking…' };
  if (account.status.state === 'needs_relink') return { tone: 'danger', text: 'Needs re-link' };
  if (account.attention?.kind === 'refresh_token_not_stored') return { tone: 'danger', text: 'Needs re-link' };
  if (account.attention?.kind === 'revocation_pending') return { tone: 'danger', text: 'Unlink pending' };
  if (account.attention?.kind === 'refresh_failing') return { tone: 'danger', text: 'Refresh failing' };
  return { tone: 'ok', text: 'Active' };
}

/** What a row offers to settle an account's trouble. */
export type Remedy = 'relink' | 'retry_unlink' | 'forget';

/** An account's trouble, in a sentence, and what the row offers to settle it. */
export interface Trouble {
  text: string;
  remedies: Remedy[];
}

/** The trouble a row shows, if any: a grant that is gone, or a mark left by a half-done
 * operation (a refresh token the keyring could not store, an unlink the provider did not
 * confirm). */
export function trouble(account: Account): Trouble | null {
  if (account.status.state === 'needs_relink') return { text: sentence(account.status.reason), remedies: ['relink'] };
  switch (account.attention?.kind) {
    case 'refresh_token_not_stored':
      return {
        text: sentence(
          `the keyring could not store the refresh token the provider sent last (${account.attention.reason}), so Keyfob will not refresh this account; link it again`,
        ),
        remedies: ['relink'],
      };
    case 'revocation_pending':
      return {
        text: sentence(
          `unlinking could not revoke its access at the provider: ${account.attention.reason}. Retry, or forget it here without revoking`,
        ),
        remedies: ['retry_unlink', 'forget'],
      };
    case 'refresh_failing':
      // The keeper retries by itself with backoff and the stored tokens are untouched, so
      // the row only says so; Refresh on the row is there to try now.
      return {
        text: sentence(
          `refreshing has failed since ${new Date(account.attention.since).toLocaleString()}: ${account.attention.reason}. Keyfob keeps trying; the stored tokens are kept`,
        ),
        remedies: [],
      };
    default:
      return null;
  }
}

/** The secondary identity line: provider name, plus the login when the title is the email. */
export function identityLine(account: Account, providerName: string): string {
  const parts = [providerName];
  if (account.login && account.login !== account.display_name) parts.push(account.login);
  else if (account.email && account.email !== account.display_name) parts.push(account.email);
  return parts.join(' · ');
}

/** A provider's display name, falling back to its id when it was removed. */
export function providerName(providers: ProviderView[], id: string): string {
  return providers.find((p) => p.id === id)?.name ?? id;
}

/** Accounts sorted for display: by provider name, then identity. */
export function sortedAccounts(accounts: Account[], providers: ProviderView[]): Account[] {
  return [...accounts].sort(
    (a, b) =>
      providerName(providers, a.provider).localeCompare(providerName(providers, b.provider)) ||
      a.display_name.localeCompare(b.display_name),
  );
}

/** Core reasons are clauses ("the provider no longer accepts ..."); rows show sentences. */
export function sentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
