import { describe, expect, it } from 'vitest';
import { configuredPreset, emptyFields, registrationNote, registrationQuery, setupProblem, unconfiguredPresets } from './presets';
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

  // Which URIs a choice needs is the core's answer (src-tauri commands/providers.rs tests it
  // for every form); the form only asks the right question and labels the answer.
  it('asks the core about the choices that decide the callbacks', () => {
    expect(registrationQuery('github', emptyFields)).toEqual({ form: 'github', github_app: false, enterprise_url: null });
    const fields = { ...emptyFields, githubApp: true, enterpriseUrl: ' https://ghe.example.com ', clientSecret: 's' };
    expect(registrationQuery('github', fields)).toEqual({ form: 'github', github_app: true, enterprise_url: 'https://ghe.example.com' });
    expect(registrationQuery('google', fields)).toEqual({ form: 'google' });
  });

  it('labels each callback with who sends it and whether any port works', () => {
    const r = (app: boolean, cli: boolean, any_port: boolean) => ({ uri: 'u', app, cli, any_port });
    expect(registrationNote(r(true, true, true))).toBe('any port works, for the app and the keyfob command');
    expect(registrationNote(r(true, false, false))).toBe('for this desktop app');
    expect(registrationNote(r(false, true, false))).toBe('for the keyfob command');
  });

  it('asks for the secret with a client id, and for a full Enterprise URL', () => {
    expect(setupProblem('github', emptyFields)).toBeNull();
    expect(setupProblem('github', { ...emptyFields, clientId: 'id' })).toMatch(/requires the client secret/);
    expect(setupProblem('google', { ...emptyFields, clientId: 'id', clientSecret: 's' })).toBeNull();
    expect(setupProblem('github', { ...emptyFields, enterpriseUrl: 'ghe.example.com' })).toMatch(/full address/);
    expect(setupProblem('github', { ...emptyFields, enterpriseUrl: 'ftp://ghe.example.com' })).toMatch(/https/);
  });
});
