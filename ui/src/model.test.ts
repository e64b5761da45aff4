import { describe, expect, it } from 'vitest';
import { identityLine, sentence, sortedAccounts, statusBadge, trouble } from './model';
import type { Account, ProviderView } from './types';

function account(over: Partial<Account>): Account {
  return {
    id: 'a',
    provider: 'local',
    issuer: 'http://127.0.0.1:1',
    linked_with: null,
    subject: 's',
    display_name: 'alice@example.com',
    email: 'alice@example.com',
    login: null,
    scopes: ['openid'],
    access_expires_at: null,
    has_refresh_token: true,
    refresh_expires_at: null,
    linked_at: '2026-01-01T00:00:00Z',
    refreshed_at: null,
    access_issued_at: null,
    status: { state: 'ok' },
    ...over,
  };
}

describe('statusBadge', () => {
  it('shows work in progress over the stored status', () => {
    expect(statusBadge(account({}), undefined)).toEqual({ tone: 'ok', text: 'Active' });
    expect(statusBadge(account({}), 'refreshing')).toEqual({ tone: 'busy', text: 'Refreshing…' });
    const broken = account({ status: { state: 'needs_relink', reason: 'revoked' } });
    expect(statusBadge(broken, undefined)).toEqual({ tone: 'danger', text: 'Needs re-link' });
    expect(statusBadge(broken, 'refreshing').tone).toBe('busy');
  });
});

describe('trouble', () => {
  it('shows a mark with the actions that settle it', () => {
    expect(trouble(account({}))).toBeNull();
    const pending = account({ attention: { kind: 'revocation_pending', reason: 'HTTP 503' } });
    expect(statusBadge(pending, undefined)).toEqual({ tone: 'danger', text: 'Unlink pending' });
    const shown = trouble(pending);
    expect(shown?.remedies).toEqual(['retry_unlink', 'forget']);
    expect(shown?.text).toContain('at the provider: HTTP 503. Retry');
    const lost = account({ attention: { kind: 'refresh_token_not_stored', reason: 'locked' } });
    expect(statusBadge(lost, undefined).text).toBe('Needs re-link');
    expect(trouble(lost)?.remedies).toEqual(['relink']);
    const failing = account({
      attention: { kind: 'refresh_failing', since: '2026-11-30T10:00:00Z', reason: 'HTTP 503' },
    });
    expect(statusBadge(failing, undefined)).toEqual({ tone: 'danger', text: 'Refresh failing' });
    expect(trouble(failing)?.remedies).toEqual([]);
    expect(trouble(failing)?.text).toContain(': HTTP 503. Keyfob keeps trying');
    const broken = account({ status: { state: 'needs_relink', reason: 'revoked' } });
    expect(trouble(broken)).toEqual({ text: 'Revoked.', remedies: ['relink'] });
  });
});

describe('identityLine', () => {
  it('adds the login when the title is the email', () => {
    expect(identityLine(account({ login: 'alice' }), 'GitHub')).toBe('GitHub · alice');
    expect(identityLine(account({}), 'Local')).toBe('Local');
    expect(identityLine(account({ display_name: 'alice', login: 'alice' }), 'GitHub')).toBe(
      'GitHub · alice@example.com',
    );
  });
});

describe('sortedAccounts', () => {
  it('groups by provider name then identity', () => {
    const providers = [
      { id: 'gh', name: 'GitHub' },
      { id: 'g', name: 'Google' },
    ] as ProviderView[];
    const list = [
      account({ id: '1', provider: 'g', display_name: 'b' }),
      account({ id: '2', provider: 'gh', display_name: 'z' }),
      account({ id: '3', provider: 'g', display_name: 'a' }),
    ];
    expect(sortedAccounts(list, providers).map((a) => a.id)).toEqual(['2', '3', '1']);
  });
});

describe('sentence', () => {
  it('capitalises and ends a clause', () => {
    expect(sentence('the grant was revoked')).toBe('The grant was revoked.');
    expect(sentence('Done!')).toBe('Done!');
    expect(sentence('  ')).toBe('');
  });
});
