import { describe, expect, it } from 'vitest';
import { adviceFor, claims, closed, linkTransition, offersCode, strays, type LinkState } from './link-flow';
import { emptyFields } from './presets';
import type { Account, ProviderView } from './types';

const account = { id: 'local-1', display_name: 'alice@example.com' } as Account;

function run(...events: Parameters<typeof linkTransition>[1][]): LinkState {
  return events.reduce(linkTransition, closed);
}

describe('link flow', () => {
  it('goes from choosing to waiting to linked', () => {
    const s = run(
      { type: 'open', providerId: null, scopes: '' },
      { type: 'pick', providerId: 'local', scopes: 'openid email' },
      { type: 'start' },
      { type: 'started', linkId: 'link-1', expiresAt: '2026-01-01T00:10:00Z' },
    );
    expect(s).toMatchObject({ step: 'waiting', linkId: 'link-1', providerId: 'local' });
    expect(linkTransition(s, { type: 'finished', linkId: 'link-1', account, error: null })).toEqual({
      step: 'linked',
      account,
    });
  });

  it('links whichever comes first: the outcome or the link id', () => {
    const starting = run({ type: 'open', providerId: 'local', scopes: 'openid' }, { type: 'start' });
    const finished = { type: 'finished', linkId: 'link-1', account, error: null } as const;
    const started = { type: 'started', linkId: 'link-1', expiresAt: '2026-01-01T00:10:00Z' } as const;
    // The usual order.
    expect(linkTransition(linkTransition(starting, started), finished)).toEqual({ step: 'linked', account });
    // An already-authorized app redirects back before start_link returns.
    expect(claims(starting, 'link-1')).toBe(true);
    const early = linkTransition(starting, finished);
    expect(early.step).toBe('starting');
    expect(linkTransition(early, started)).toEqual({ step: 'linked', account });
  });

  it('fails at once when a failure came before the link id', () => {
    const s = run(
      { type: 'open', providerId: 'local', scopes: 'openid' },
      { type: 'start' },
      { type: 'finished', linkId: 'link-1', account: null, error: { kind: 'denied', message: 'No.' } },
      { type: 'started', linkId: 'link-1', expiresAt: '2026-01-01T00:10:00Z' },
    );
    expect(s).toMatchObject({ step: 'failed', providerId: 'local', error: { kind: 'denied' } });
  });

  it("keeps another link's early outcome out of this one and hands it back", () => {
    const early = run(
      { type: 'open', providerId: 'local', scopes: 'openid' },
      { type: 'start' },
      { type: 'finished', linkId: 'link-0', account, error: null },
    );
    expect(strays(early, 'link-1')).toEqual([{ link_id: 'link-0', account, error: null }]);
    expect(strays(early, 'link-0')).toEqual([]);
    const s = linkTransition(early, { type: 'started', linkId: 'link-1', expiresAt: '2026-01-01T00:10:00Z' });
    expect(s).toMatchObject({ step: 'waiting', linkId: 'link-1' });
    expect(claims(s, 'link-0')).toBe(false);
    expect(claims(s, 'link-1')).toBe(true);
    expect(claims(closed, 'link-1')).toBe(false);
  });

  it('cannot start without a provider', () => {
    const s = run({ type: 'open', providerId: null, scopes: '' }, { type: 'start' });
    expect(s.step).toBe('choose');
  });

  it('ignores the outcome of another link', () => {
    const waiting = run(
      { type: 'open', providerId: 'local', scopes: 'openid' },
      { type: 'start' },
      { type: 'started', linkId: 'link-1', expiresAt: '2026-01-01T00:10:00Z' },
    );
    const other = linkTransition(waiting, {
      type: 'finished',
      linkId: 'link-0',
      account: null,
      error: { kind: 'callback', message: 'Refused.' },
    });
    expect(other).toBe(waiting);
  });

  it('fails with the error and offers a retry with the same choices', () => {
    const failed = run(
      { type: 'open', providerId: 'local', scopes: 'openid repo' },
      { type: 'start' },
      { type: 'started', linkId: 'link-1', expiresAt: '2026-01-01T00:10:00Z' },
      { type: 'finished', linkId: 'link-1', account: null, error: { kind: 'denied', message: 'No.' } },
    );
    expect(failed).toMatchObject({ step: 'failed', error: { kind: 'denied' } });
    expect(linkTransition(failed, { type: 'retry' })).toMatchObject({
      step: 'choose',
      providerId: 'local',
      scopes: 'openid repo',
    });
  });

  it('fails when the start fails or the link expires', () => {
    const starting = run({ type: 'open', providerId: 'local', scopes: '' }, { type: 'start' });
    expect(linkTransition(starting, { type: 'start-failed', error: { kind: 'browser', message: 'x' } }).step).toBe('failed');
    const waiting = linkTransition(starting, { type: 'started', linkId: 'l', expiresAt: 'x' });
    expect(linkTransition(waiting, { type: 'expired' })).toMatchObject({ step: 'failed', error: { kind: 'timeout' } });
  });

  it('cancels from any open step and remembers a re-link', () => {
    const s = run({ type: 'open', providerId: 'local', scopes: 'a', relinkOf: 'local-1' });
    expect(s).toMatchObject({ relinkOf: 'local-1' });
    expect(linkTransition(s, { type: 'cancel' })).toEqual(closed);
    expect(linkTransition(s, { type: 'close' })).toEqual(closed);
  });

  it('offers a code only where the provider allows it', () => {
    const provider = { id: 'local', device_authorization_endpoint: null } as ProviderView;
    expect(offersCode(null)).toBe(false);
    expect(offersCode(provider)).toBe(false);
    expect(offersCode({ ...provider, device_authorization_endpoint: 'https://example.com/device' })).toBe(true);
  });

  it('gives advice for each kind of failure', () => {
    expect(adviceFor({ kind: 'denied', message: '' })).toMatch(/Allow/);
    expect(adviceFor({ kind: 'storage', message: '' })).toMatch(/Try again/);
  });

  it('sets up a preset, then goes straight on to the browser', () => {
    const fields = { ...emptyFields, clientId: 'id', clientSecret: 'secret' };
    let s = run({ type: 'open', providerId: null, scopes: '' }, { type: 'setup', preset: 'github', fields: emptyFields });
    expect(s).toMatchObject({ step: 'setup', preset: 'github', saving: false, error: null });
    s = linkTransition(s, { type: 'edit-setup', fields });
    s = linkTransition(s, { type: 'setup-save' });
    expect(s).toMatchObject({ step: 'setup', saving: true, fields });
    expect(linkTransition(s, { type: 'back' })).toBe(s); // not while saving
    s = linkTransition(s, { type: 'setup-done', providerId: 'github', scopes: 'read:user' });
    expect(s).toEqual({ step: 'starting', providerId: 'github', scopes: 'read:user', relinkOf: null, withCode: false, early: [] });
  });

  it('keeps the setup form and shows why saving failed', () => {
    const failure = { kind: 'provider', message: 'Enter the client ID.' } as const;
    let s = run(
      { type: 'open', providerId: null, scopes: '' },
      { type: 'setup', preset: 'google', fields: emptyFields },
      { type: 'setup-save' },
      { type: 'setup-failed', error: failure },
    );
    expect(s).toMatchObject({ step: 'setup', preset: 'google', saving: false, error: failure });
    s = linkTransition(s, { type: 'back' });
    expect(s).toEqual({ step: 'choose', providerId: null, scopes: '', relinkOf: null });
  });

  it('offers no setup while adding scopes to an account', () => {
    const s = run(
      { type: 'open', providerId: 'local', scopes: 'openid', relinkOf: 'local-1' },
      { type: 'setup', preset: 'github', fields: emptyFields },
    );
    expect(s.step).toBe('choose');
  });

  it('links with a code: shows it while waiting, and ends like a browser link', () => {
    const code = { userCode: 'WDJB-MJHT', verificationUri: 'https://example.com/device' };
    const starting = run({ type: 'open', providerId: 'local', scopes: 'openid' }, { type: 'start', withCode: true });
    expect(starting).toMatchObject({ step: 'starting', withCode: true });
    expect(linkTransition(starting, { type: 'cancel' })).toEqual(closed);
    const waiting = linkTransition(starting, { type: 'started', linkId: 'code-1', expiresAt: 'x', code });
    expect(waiting).toMatchObject({ step: 'waiting', linkId: 'code-1', code });
    expect(claims(waiting, 'code-1')).toBe(true);
    expect(claims(waiting, 'link-1')).toBe(false);
    expect(linkTransition(waiting, { type: 'finished', linkId: 'code-1', account, error: null })).toEqual({ step: 'linked', account });
    const denied = { kind: 'denied', message: 'Access was denied.' } as const;
    expect(linkTransition(waiting, { type: 'finished', linkId: 'code-1', account: null, error: denied })).toMatchObject({
      step: 'failed',
      error: denied,
    });
    expect(linkTransition(waiting, { type: 'cancel' })).toEqual(closed);
    // Its own words when the code runs out in the window.
    expect(linkTransition(waiting, { type: 'expired' })).toMatchObject({
      step: 'failed',
      error: { kind: 'timeout', message: expect.stringMatching(/code expired/) },
    });
    // A browser link stays a browser link.
    const browser = linkTransition(run({ type: 'open', providerId: 'local', scopes: '' }, { type: 'start' }), {
      type: 'started',
      linkId: 'link-1',
      expiresAt: 'x',
    });
    expect(browser).toMatchObject({ step: 'waiting', code: null });
  });
});
