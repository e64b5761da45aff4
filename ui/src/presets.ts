// GitHub and Google as ready-made providers: which ones still need setting up, and what the
// setup form tells the user to register at the provider. Pure, so it is unit-tested.

import type { ProviderView } from './types';

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
}

export const emptyFields: PresetFields = { clientId: '', clientSecret: '', githubApp: false, enterpriseUrl: '' };

/** The CLI's fixed loopback port for GitHub Apps (keyfob-core's GITHUB_APP_LOOPBACK_PORT). */
export const GITHUB_APP_LOOPBACK_PORT = 47213;

/** A configured provider made from the preset (by its flavor), if any. */
export function configuredPreset(providers: ProviderView[], preset: PresetId): ProviderView | null {
  return providers.find((p) => p.flavor === preset) ?? null;
}

/** The presets the picker offers to set up: those with no provider yet. */
export function unconfiguredPresets(providers: ProviderView[]): Preset[] {
  return PRESETS.filter((p) => configuredPreset(providers, p.id) === null);
}

/** The provider id the preset will get (keyfob-core's defaults); it names the callback path. */
export function presetProviderId(preset: PresetId, fields: PresetFields): string {
  if (preset === 'google') return 'google';
  return fields.enterpriseUrl.trim() !== '' ? 'github-enterprise' : 'github';
}

export interface CallbackUrl {
  url: string;
  /** Who uses it, shown next to it. */
  note: string;
}

/** Exactly which callback URLs to register at the provider for this choice. */
export function callbackUrls(preset: PresetId, fields: PresetFields): CallbackUrl[] {
  // Google "Desktop app" clients have no redirect URIs to register: any loopback port works.
  if (preset === 'google') return [];
  const path = `/oauth/${presetProviderId(preset, fields)}`;
  if (fields.githubApp) {
    // GitHub Apps match callback URLs exactly, port included.
    return [
      { url: `dev.keyfob.app:${path}`, note: 'for this desktop app' },
      { url: `http://127.0.0.1:${GITHUB_APP_LOOPBACK_PORT}${path}`, note: 'for the keyfob command' },
    ];
  }
  // OAuth Apps accept any port on a loopback callback.
  return [{ url: `http://127.0.0.1${path}`, note: 'any port works, for the app and the keyfob command' }];
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
