// GitHub and Google as ready-made providers: which ones still need setting up, and what the
// setup form tells the user to register at the provider. Pure, so it is unit-tested.

import type { ProviderView, RedirectRegistration, RegistrationQuery } from './types';

export type PresetId = 'github' | 'google';

export interface Preset {
  id: PresetId;
  name: string;
  /** For the logo and the picker's second line. */
  issuer: string;
}

export const PRESETS: readonly Preset[] = [
  { id: 'github', name: 'GitHub', issuer: 'https://github.com' },
  { id: 'google', name: 'Google', issuer: 'https://accounts.google.com' },
];

/** What the setup form holds. */
export interface PresetFields {
  clientId: string;
  clientSecret: string;
  /** GitHub only: a GitHub App rather than an OAuth App. */
  githubApp: boolean;
  /** GitHub only: a GitHub Enterprise Server or GHE.com base URL; empty for github.com. */
  enterpriseUrl: string;
  /** GitHub only: allow linking with a code (the app's "Enable Device Flow"). */
  deviceFlow: boolean;
}

export const emptyFields: PresetFields = { clientId: '', clientSecret: '', githubApp: false, enterpriseUrl: '', deviceFlow: false };

/** A configured provider made from the preset (by its flavor), if any. */
export function configuredPreset(providers: ProviderView[], preset: PresetId): ProviderView | null {
  return providers.find((p) => p.flavor === preset) ?? null;
}

/** The presets the picker offers to set up: those with no provider yet. */
export function unconfiguredPresets(providers: ProviderView[]): Preset[] {
  return PRESETS.filter((p) => configuredPreset(providers, p.id) === null);
}

/** What the setup form asks the core about the redirect URIs to register. */
export function registrationQuery(preset: PresetId, fields: PresetFields): RegistrationQuery {
  if (preset === 'google') return { form: 'google' };
  const enterpriseUrl = fields.enterpriseUrl.trim();
  return { form: 'github', github_app: fields.githubApp, enterprise_url: enterpriseUrl === '' ? null : enterpriseUrl };
}

/** The line under a redirect URI: whether any port works, and who sends it. */
export function registrationNote(r: RedirectRegistration): string {
  const who = r.app && r.cli ? 'the app and the keyfob command' : r.app ? 'this desktop app' : 'the keyfob command';
  return `${r.any_port ? 'any port works, ' : ''}for ${who}`;
}

/** A problem to fix before saving, or null. Empty client ids fall back to built-in ones. */
export function setupProblem(preset: PresetId, fields: PresetFields): string | null {
  const name = preset === 'github' ? 'GitHub' : 'Google';
  if (fields.clientId.trim() !== '' && fields.clientSecret === '') {
    return `${name} requires the client secret too. Generate one where you registered the app.`;
  }
  const base = fields.enterpriseUrl.trim();
  if (preset === 'github' && base !== '') {
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      return 'The GitHub Enterprise URL must be a full address, like https://github.example.com or https://NAME.ghe.com.';
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return 'The GitHub Enterprise URL must start with https://.';
    }
  }
  return null;
}
