import { describe, expect, it } from 'vitest';
import { callbackUrls, configuredPreset, emptyFields, presetProviderId, setupProblem, unconfiguredPresets } from './presets';
import type { ProviderView } from './types';

const provider = (id: string, flavor: 'standard' | 'github' | 'google') => ({ id, flavor }) as unknown as ProviderView;

describe('presets', () => {
  it('offers the presets that are not configured yet', () => {
    expect(unconfiguredPresets([]).map((p) => p.id)).toEqual(['github', 'google']);
    const providers = [provider('local', 'standard'), provider('github-enterprise', 'github')];
    expect(unconfiguredPresets(providers).map((p) => p.id)).toEqual(['google']);
    expect(configuredPreset(providers, 'github')?.id).toBe('github-enterprise');
    expect(configuredPreset(providers, 'google')).toBeNull();
  });

  it('shows one any-port loopback callback for a GitHub OAuth App', () => {
    expect(callbackUrls('github', emptyFields).map((c) => c.url)).toEqual(['http://127.0.0.1/oauth/github']);
  });

  it('shows the scheme and the fixed-port loopback callbacks for a GitHub App', () => {
    expect(callbackUrls('github', { ...emptyFields, githubApp: true }).map((c) => c.url)).toEqual([
      'dev.keyfob.app:/oauth/github',
      'http://127.0.0.1:47213/oauth/github',
    ]);
  });

  it('names the callback path after the Enterprise provider id', () => {
    const fields = { ...emptyFields, enterpriseUrl: ' https://ghe.example.com ' };
    expect(presetProviderId('github', fields)).toBe('github-enterprise');
    expect(callbackUrls('github', fields).map((c) => c.url)).toEqual(['http://127.0.0.1/oauth/github-enterprise']);
  });

  it('shows no callback for Google desktop clients', () => {
    expect(callbackUrls('google', emptyFields)).toEqual([]);
    expect(presetProviderId('google', { ...emptyFields, enterpriseUrl: 'x' })).toBe('google');
  });

  it('asks for the secret with a client id, and for a full Enterprise URL', () => {
    expect(setupProblem('github', emptyFields)).toBeNull();
    expect(setupProblem('github', { ...emptyFields, clientId: 'id' })).toMatch(/requires the client secret/);
    expect(setupProblem('google', { ...emptyFields, clientId: 'id', clientSecret: 's' })).toBeNull();
    expect(setupProblem('github', { ...emptyFields, enterpriseUrl: 'ghe.example.com' })).toMatch(/full address/);
    expect(setupProblem('github', { ...emptyFields, enterpriseUrl: 'ftp://ghe.example.com' })).toMatch(/https/);
  });
});
