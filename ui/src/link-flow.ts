// The "Link account" dialog as a state machine: pure, so every transition is unit-tested,
// and the view only renders the current state.

import type { PresetFields, PresetId } from './presets';
import type { Account, LinkOutcome, ProviderView, UiError } from './types';

/** What a link with a code shows: the code and where to enter it (neither is a secret). */
export interface ShownCode {
  userCode: string;
  verificationUri: string;
}

export type LinkState =
  | { step: 'closed' }
  /** Picking a provider and scopes. `relinkOf`: adding scopes to an existing account. */
  | { step: 'choose'; providerId: string | null; scopes: string; relinkOf: string | null }
  /** Setting up GitHub or Google before linking; `saving` while the provider is added. */
  | { step: 'setup'; preset: PresetId; fields: PresetFields; saving: boolean; error: UiError | null }
  /**
   * Rust is opening the browser, or asking for a code (`withCode`). `early`: outcomes that
   * arrived before the link's id did (an already-authorized app can redirect back before
   * `start_link` returns).
   */
  | { step: 'starting'; providerId: string; scopes: string; relinkOf: string | null; withCode: boolean; early: LinkOutcome[] }
  /** `code`: a link with a code, waiting for the user to enter it; null for a browser link. */
  | { step: 'waiting'; providerId: string; scopes: string; linkId: string; expiresAt: string; relinkOf: string | null; code: ShownCode | null }
  | { step: 'failed'; providerId: string; scopes: string; error: UiError; relinkOf: string | null }
  | { step: 'linked'; account: Account };

export type LinkEvent =
  | { type: 'open'; providerId: string | null; scopes: string; relinkOf?: string | null }
  | { type: 'pick'; providerId: string; scopes: string }
  | { type: 'edit-scopes'; scopes: string }
  /** `withCode`: "Use a code instead" (only offered where the provider allows it). */
  | { type: 'start'; withCode?: boolean }
  | { type: 'setup'; preset: PresetId; fields: PresetFields }
  | { type: 'edit-setup'; fields: PresetFields }
  | { type: 'setup-save' }
  | { type: 'setup-failed'; error: UiError }
  | { type: 'setup-done'; providerId: string; scopes: string }
  | { type: 'back' }
  | { type: 'started'; linkId: string; expiresAt: string; code?: ShownCode }
  | { type: 'start-failed'; error: UiError }
  | { type: 'finished'; linkId: string; account: Account | null; error: UiError | null }
  | { type: 'expired' }
  | { type: 'cancel' }
  | { type: 'retry' }
  | { type: 'close' };

export const closed: LinkState = { step: 'closed' };

export function linkTransition(state: LinkState, event: LinkEvent): LinkState {
  switch (event.type) {
    case 'open':
      return { step: 'choose', providerId: event.providerId, scopes: event.scopes, relinkOf: event.relinkOf ?? null };
    case 'close':
      // A waiting link must be cancelled first (the view does that), so closing is 'cancel'.
      return closed;
  }
  switch (state.step) {
    case 'choose':
      if (event.type === 'pick') return { ...state, providerId: event.providerId, scopes: event.scopes };
      if (event.type === 'edit-scopes') return { ...state, scopes: event.scopes };
      if (event.type === 'start' && state.providerId !== null) {
        return {
          step: 'starting',
          providerId: state.providerId,
          scopes: state.scopes,
          relinkOf: state.relinkOf,
          withCode: event.withCode ?? false,
          early: [],
        };
      }
      if (event.type === 'setup' && state.relinkOf === null) {
        return { step: 'setup', preset: event.preset, fields: event.fields, saving: false, error: null };
      }
      if (event.type === 'cancel') return closed;
      return state;
    case 'setup':
      if (event.type === 'edit-setup') return { ...state, fields: event.fields };
      if (event.type === 'setup-save' && !state.saving) return { ...state, saving: true, error: null };
      if (event.type === 'setup-failed' && state.saving) return { ...state, saving: false, error: event.error };
      // The provider exists now: go straight on to the browser, as "Continue in browser" does.
      if (event.type === 'setup-done' && state.saving) {
        return { step: 'starting', providerId: event.providerId, scopes: event.scopes, relinkOf: null, withCode: false, early: [] };
      }
      if (event.type === 'back' && !state.saving) return { step: 'choose', providerId: null, scopes: '', relinkOf: null };
      if (event.type === 'cancel') return closed;
      return state;
    case 'starting': {
      const { providerId, scopes, relinkOf } = state;
      // The id is not known yet: keep every outcome until it is.
      if (event.type === 'finished') return { ...state, early: [...state.early, outcomeOf(event)] };
      if (event.type === 'started') {
        const known = state.early.find((o) => o.link_id === event.linkId);
        if (known) return ended({ providerId, scopes, relinkOf }, known);
        return {
          step: 'waiting',
          providerId,
          scopes,
          relinkOf,
          linkId: event.linkId,
          expiresAt: event.expiresAt,
          code: event.code ?? null,
        };
      }
      if (event.type === 'start-failed') return { step: 'failed', providerId, scopes, relinkOf, error: event.error };
      // Asking for a code can be cancelled at once (the view cancels the link it returns).
      if (event.type === 'cancel' && state.withCode) return closed;
      return state;
    }
    case 'waiting':
      // Outcomes of other links (an old tab, a forged callback) do not concern this one.
      if (event.type === 'finished' && event.linkId === state.linkId) {
        return ended(state, outcomeOf(event));
      }
      if (event.type === 'expired') {
        return {
          step: 'failed',
          providerId: state.providerId,
          scopes: state.scopes,
          relinkOf: state.relinkOf,
          error: {
            kind: 'timeout',
            message:
              state.code === null
                ? 'The sign-in took too long and was stopped.'
                : 'The code expired before it was entered and approved; nothing was linked.',
          },
        };
      }
      if (event.type === 'cancel') return closed;
      return state;
    case 'failed':
      if (event.type === 'retry') {
        return { step: 'choose', providerId: state.providerId, scopes: state.scopes, relinkOf: state.relinkOf };
      }
      if (event.type === 'cancel') return closed;
      return state;
    case 'linked':
    case 'closed':
      return state;
  }
}

function outcomeOf(event: { linkId: string; account: Account | null; error: UiError | null }): LinkOutcome {
  return { link_id: event.linkId, account: event.account, error: event.error };
}

/** Where this dialog's link ended up. */
function ended(
  link: { providerId: string; scopes: string; relinkOf: string | null },
  outcome: LinkOutcome,
): LinkState {
  if (outcome.account) return { step: 'linked', account: outcome.account };
  return {
    step: 'failed',
    providerId: link.providerId,
    scopes: link.scopes,
    relinkOf: link.relinkOf,
    error: outcome.error ?? { kind: 'other', message: 'The link failed.' },
  };
}

/**
 * Whether the dialog in `state` takes this outcome; the window reports the others itself
 * (a link it no longer waits for, a forged callback). While starting it takes them all.
 */
export function claims(state: LinkState, linkId: string): boolean {
  return state.step === 'starting' || (state.step === 'waiting' && state.linkId === linkId);
}

/** Outcomes kept while starting that turned out to belong to other links. */
export function strays(state: LinkState, startedId: string): LinkOutcome[] {
  return state.step === 'starting' ? state.early.filter((o) => o.link_id !== startedId) : [];
}

/** Whether "Use a code instead" is offered: only where the user turned it on for the provider. */
export function offersCode(provider: ProviderView | null): boolean {
  return provider !== null && provider.device_authorization_endpoint !== null;
}

/** What the user can do about a failed link, by error kind. */
export function adviceFor(error: UiError): string {
  switch (error.kind) {
    case 'denied':
      return 'Access was not granted at the provider. Try again and choose "Allow" when asked.';
    case 'timeout':
      return 'Start again and finish signing in within the time shown.';
    case 'callback':
      return 'Start the link again from Keyfob and finish it in the browser tab it opens.';
    case 'network':
      return 'Check your network connection, then try again.';
    case 'keyring':
      return 'Unlock or start your system keyring (for example by logging in to your desktop), then try again.';
    case 'browser':
      return 'Set a default web browser in your system settings, then try again.';
    case 'provider':
    case 'provider_response':
      return 'Check the provider settings (client ID, redirect URI registered at the provider), then try again.';
    default:
      return 'Try again. If it keeps failing, check the provider settings.';
  }
}
