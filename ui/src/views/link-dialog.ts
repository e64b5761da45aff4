// The "Link account" dialog: renders the link state machine (see ../link-flow.ts).

import { clear, h, uid } from '../dom';
import { icon, providerIcon } from '../icons';
import { adviceFor, type LinkState } from '../link-flow';
import { expiryText } from '../time';
import type { ProviderView } from '../types';

export interface LinkDialogActions {
  pick(provider: ProviderView): void;
  editScopes(scopes: string): void;
  start(): void;
  cancel(): void;
  retry(): void;
  addProvider(): void;
}

export class LinkDialog {
  readonly el: HTMLDialogElement;
  private readonly body: HTMLElement;
  private readonly titleId = uid('link-title');

  constructor(private readonly actions: LinkDialogActions) {
    this.body = h('div', { class: 'dialog-body' });
    this.el = h('dialog', { class: 'dialog', id: 'link-dialog', 'aria-labelledby': this.titleId }, this.body);
    // Esc: the same as Cancel (which also cancels a waiting link).
    this.el.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.actions.cancel();
    });
    document.body.appendChild(this.el);
  }

  render(state: LinkState, providers: ProviderView[]): void {
    if (state.step === 'closed' || state.step === 'linked') {
      if (this.el.open) this.el.close();
      return;
    }
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
    clear(this.body);
    const provider = providers.find((p) => p.id === state.providerId) ?? null;
    switch (state.step) {
      case 'choose':
        this.body.append(...this.choose(state.providerId, state.scopes, state.relinkOf !== null, providers));
        break;
      case 'starting':
      case 'waiting':
        this.body.append(...this.waiting(provider, state.step === 'waiting' ? state.expiresAt : null));
        break;
      case 'failed':
        this.body.append(...this.failed(provider, state.error));
        break;
    }
    if (!this.el.open) this.el.showModal();
    const again = focused ? this.body.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`) : null;
    (again ?? this.body.querySelector<HTMLElement>('[autofocus]'))?.focus();
  }

  /** Keeps the waiting step's countdown current. */
  tick(now = new Date()): void {
    const el = this.body.querySelector<HTMLElement>('[data-link-expires]');
    if (el) el.textContent = waitingNote(el.dataset.linkExpires ?? '', now);
  }

  private choose(selected: string | null, scopes: string, relink: boolean, providers: ProviderView[]): Node[] {
    const scopesId = uid('scopes');
    const group = h('div', { class: 'provider-options', role: 'radiogroup', 'aria-label': 'Provider' });
    for (const p of providers) {
      const checked = p.id === selected;
      group.appendChild(
        h(
          'button',
          {
            class: `provider-option${checked ? ' selected' : ''}`,
            type: 'button',
            role: 'radio',
            'aria-checked': checked ? 'true' : 'false',
            'data-provider-id': p.id,
            'data-key': `pick-${p.id}`,
            disabled: relink && !checked,
            onclick: () => this.actions.pick(p),
          },
          providerIcon(p.name, p.issuer, p.id),
          h('span', { class: 'option-text' }, h('strong', {}, p.name), h('small', {}, hostOf(p.issuer))),
        ),
      );
    }
    if (!relink) {
      group.appendChild(
        h(
          'button',
          { class: 'provider-option add', type: 'button', 'data-key': 'add-provider', onclick: () => this.actions.addProvider() },
          h('span', { class: 'monogram add' }, icon('plus')),
          h(
            'span',
            { class: 'option-text' },
            h('strong', {}, 'Other provider…'),
            h('small', {}, 'Any OpenID Connect issuer'),
          ),
        ),
      );
    }
    const scopesInput = h('input', {
      id: scopesId,
      class: 'input',
      type: 'text',
      value: scopes,
      spellcheck: 'false',
      autocomplete: 'off',
      'data-key': 'scopes',
      disabled: selected === null,
      'aria-describedby': `${scopesId}-hint`,
    });
    scopesInput.addEventListener('input', () => this.actions.editScopes(scopesInput.value));
    // Adding scopes: the caret goes after the granted ones.
    scopesInput.addEventListener('focus', () => scopesInput.setSelectionRange(scopes.length, scopes.length));
    const start = h(
      'button',
      {
        class: 'btn btn-primary',
        type: 'submit',
        id: 'link-start',
        disabled: selected === null,
      },
      icon('browser'),
      h('span', {}, 'Continue in browser'),
    );
    const form = h(
      'form',
      { class: 'form', onsubmit: (e: Event) => (e.preventDefault(), this.actions.start()) },
      h('label', { class: 'field-label', for: scopesId }, 'Scopes'),
      scopesInput,
      h(
        'p',
        { class: 'hint', id: `${scopesId}-hint` },
        relink
          ? 'Add the scopes you need; you sign in again and the account keeps its place.'
          : 'Separated by spaces. The provider may grant fewer than you ask for.',
      ),
      h(
        'div',
        { class: 'dialog-buttons' },
        h('button', { class: 'btn', type: 'button', onclick: () => this.actions.cancel() }, 'Cancel'),
        start,
      ),
    );
    const title = relink ? 'Add scopes' : 'Link an account';
    const intro = relink
      ? 'Keyfob asks the provider again with the scopes below.'
      : providers.length === 0
        ? 'No provider is set up yet. Add one to sign in with it.'
        : 'Choose where the account lives. You sign in on the provider’s own page in your browser.';
    const nodes: Node[] = [h('h2', { class: 'dialog-title', id: this.titleId }, title), h('p', { class: 'dialog-text' }, intro), group, form];
    if (selected === null) queueMicrotask(() => group.querySelector<HTMLElement>('button')?.focus());
    else scopesInput.setAttribute('autofocus', '');
    return nodes;
  }

  private waiting(provider: ProviderView | null, expiresAt: string | null): Node[] {
    const name = provider?.name ?? 'the provider';
    return [
      h(
        'div',
        { class: 'waiting', 'aria-busy': 'true' },
        h('div', { class: 'waiting-icon' }, icon('browser'), h('span', { class: 'pulse' })),
        h('h2', { class: 'dialog-title', id: this.titleId }, expiresAt ? 'Finish signing in in your browser' : 'Opening your browser…'),
        h(
          'p',
          { class: 'dialog-text' },
          `Keyfob opened ${name} in your default browser. Sign in there and allow access; this window updates by itself.`,
        ),
        expiresAt
          ? h('p', { class: 'hint', 'data-link-expires': expiresAt }, waitingNote(expiresAt, new Date()))
          : null,
      ),
      h(
        'div',
        { class: 'dialog-buttons center' },
        h('button', { class: 'btn', type: 'button', id: 'link-cancel', autofocus: true, onclick: () => this.actions.cancel() }, 'Cancel'),
      ),
    ];
  }

  private failed(provider: ProviderView | null, error: { kind: string; message: string }): Node[] {
    return [
      h(
        'div',
        { class: 'failed', role: 'alert' },
        h('div', { class: 'empty-icon danger' }, icon('alert')),
        h('h2', { class: 'dialog-title', id: this.titleId }, provider ? `${provider.name} account not linked` : 'Account not linked'),
        h('p', { class: 'dialog-text error-text', id: 'link-error' }, error.message),
        h('p', { class: 'hint' }, adviceFor(error)),
      ),
      h(
        'div',
        { class: 'dialog-buttons center' },
        h('button', { class: 'btn', type: 'button', onclick: () => this.actions.cancel() }, 'Close'),
        h('button', { class: 'btn btn-primary', type: 'button', autofocus: true, id: 'link-retry', onclick: () => this.actions.retry() }, 'Try again'),
      ),
    ];
  }
}

function waitingNote(expiresAt: string, now: Date): string {
  const text = expiryText(expiresAt, now);
  return text.startsWith('expires in') ? `This sign-in link ${text}.` : 'This sign-in link has expired.';
}

function hostOf(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}
