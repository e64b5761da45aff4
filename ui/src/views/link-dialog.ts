// The "Link account" dialog: renders the link state machine (see ../link-flow.ts).

import { DEVICE_FLOW_WARNING } from '../device-flow';
import { clear, h, uid } from '../dom';
import { icon, providerIcon } from '../icons';
import { adviceFor, offersCode, type LinkState, type ShownCode } from '../link-flow';
import { PRESETS, emptyFields, registrationQuery, unconfiguredPresets, type PresetFields, type PresetId } from '../presets';
import { countdown, expiryText } from '../time';
import type { ProviderView, UiError } from '../types';
import { registrationList } from './registrations';

export interface LinkDialogActions {
  pick(provider: ProviderView): void;
  editScopes(scopes: string): void;
  start(): void;
  /** "Use a code instead": link with a code (the device flow). */
  startWithCode(): void;
  /** Opens the waiting code link's verification address in the system browser. */
  openCodePage(): void;
  /** Copies the waiting code link's user code. */
  copyCode(): void;
  cancel(): void;
  retry(): void;
  addProvider(): void;
  /** Opens the setup form of an unconfigured preset. */
  setup(preset: PresetId): void;
  /** The setup form changed (no re-render while typing). */
  editSetup(fields: PresetFields): void;
  saveSetup(): void;
  back(): void;
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
    // The setup form puts its help next to the fields.
    this.el.classList.toggle('dialog-wide', state.step === 'setup');
    const provider = providers.find((p) => 'providerId' in state && p.id === state.providerId) ?? null;
    switch (state.step) {
      case 'choose':
        this.body.append(...this.choose(state.providerId, state.scopes, state.relinkOf !== null, providers));
        break;
      case 'setup':
        this.body.append(...this.setup(state.preset, state.fields, state.saving, state.error?.message ?? null));
        break;
      case 'starting':
        this.body.append(...(state.withCode ? this.code(provider, null, null) : this.waiting(provider, null)));
        break;
      case 'waiting':
        this.body.append(
          ...(state.code ? this.code(provider, state.code, state.expiresAt) : this.waiting(provider, state.expiresAt)),
        );
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
    const left = this.body.querySelector<HTMLElement>('[data-code-expires]');
    if (left) left.textContent = countdown(left.dataset.codeExpires ?? '', now);
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
          providerIcon(p.name, p.issuer, p.id, p.flavor),
          h('span', { class: 'option-text' }, h('strong', {}, p.name), h('small', {}, hostOf(p.issuer))),
        ),
      );
    }
    if (!relink) {
      for (const preset of unconfiguredPresets(providers)) {
        group.appendChild(
          h(
            'button',
            {
              class: 'provider-option preset',
              type: 'button',
              'data-preset': preset.id,
              'data-key': `preset-${preset.id}`,
              'aria-haspopup': 'dialog',
              onclick: () => this.actions.setup(preset.id),
            },
            providerIcon(preset.name, preset.issuer, preset.id, preset.id),
            h('span', { class: 'option-text' }, h('strong', {}, preset.name), h('small', {}, 'Not set up yet')),
          ),
        );
      }
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
    // Only where the user turned linking with a code on for this provider.
    const withCode = offersCode(providers.find((p) => p.id === selected) ?? null)
      ? h(
          'button',
          { class: 'btn', type: 'button', id: 'link-code', 'data-key': 'link-code', onclick: () => this.actions.startWithCode() },
          icon('key'),
          h('span', {}, 'Use a code instead'),
        )
      : null;
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
        withCode,
        start,
      ),
    );
    const title = relink ? 'Add scopes' : 'Link an account';
    const intro = relink
      ? 'Keyfob asks the provider again with the scopes below.'
      : 'Choose where the account lives. You sign in on the provider’s own page in your browser.';
    const nodes: Node[] = [h('h2', { class: 'dialog-title', id: this.titleId }, title), h('p', { class: 'dialog-text' }, intro), group, form];
    if (selected === null) queueMicrotask(() => group.querySelector<HTMLElement>('button')?.focus());
    else scopesInput.setAttribute('autofocus', '');
    return nodes;
  }

  private setup(preset: PresetId, fields: PresetFields, saving: boolean, error: string | null): Node[] {
    const info = PRESETS.find((p) => p.id === preset) ?? PRESETS[0];
    const github = preset === 'github';
    const current: PresetFields = { ...emptyFields, ...fields };
    const field = (label: string, input: HTMLInputElement, hint?: string) =>
      h(
        'div',
        { class: 'field' },
        h('label', { class: 'field-label', for: input.id }, label),
        input,
        hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null,
      );
    const text = (id: string, value: string, attrs: Record<string, string | boolean> = {}) =>
      h('input', { id, class: 'input', type: 'text', value, spellcheck: 'false', autocomplete: 'off', 'data-key': id, disabled: saving, ...attrs });
    const clientId = text('preset-client-id', current.clientId, {
      placeholder: github ? 'Iv1.0123456789abcdef' : '0123-abc.apps.googleusercontent.com',
    });
    const clientSecret = text('preset-client-secret', current.clientSecret, {
      type: 'password',
      'aria-describedby': 'preset-client-secret-hint',
    });
    const githubApp = h('input', {
      id: 'preset-github-app',
      type: 'checkbox',
      'data-key': 'preset-github-app',
      checked: current.githubApp,
      disabled: saving,
      'aria-describedby': 'preset-github-app-hint',
    });
    const deviceFlow = h('input', {
      id: 'preset-device-flow',
      type: 'checkbox',
      'data-key': 'preset-device-flow',
      checked: current.deviceFlow,
      disabled: saving,
      'aria-describedby': 'preset-device-flow-hint preset-device-flow-warning',
    });
    const enterprise = text('preset-enterprise-url', current.enterpriseUrl, {
      type: 'url',
      placeholder: 'https://github.example.com',
      'aria-describedby': 'preset-enterprise-url-hint',
    });

    const { el: callbacks, show } = registrationList('preset-callbacks');
    // Only the fields that decide the callbacks ask again (not every key of the secret).
    let asked = '';
    const showCallbacks = (f: PresetFields) => {
      const query = registrationQuery(preset, f);
      if (JSON.stringify(query) === asked) return;
      asked = JSON.stringify(query);
      show(query);
    };
    showCallbacks(current);
    const read = (): PresetFields => ({
      clientId: clientId.value,
      clientSecret: clientSecret.value,
      githubApp: github && githubApp.checked,
      enterpriseUrl: github ? enterprise.value : '',
      deviceFlow: github && deviceFlow.checked,
    });
    const changed = () => {
      const f = read();
      showCallbacks(f);
      this.actions.editSetup(f);
    };
    for (const el of [clientId, clientSecret, enterprise]) el.addEventListener('input', changed);
    githubApp.addEventListener('change', changed);
    deviceFlow.addEventListener('change', changed);

    const steps = github
      ? [
          h('li', {}, 'On GitHub, open Settings → Developer settings and register a new OAuth App (or a GitHub App).'),
          h('li', {}, current.githubApp ? 'Enter both callback URLs exactly:' : 'Enter this callback URL:', callbacks),
          h('li', {}, 'Generate a client secret (GitHub requires one) and copy it and the client ID here.'),
        ]
      : [
          h('li', {}, 'In Google Cloud console, open APIs & Services → Credentials → Create credentials → OAuth client ID.'),
          h('li', {}, 'Choose the application type “Desktop app”. It needs no redirect URI: Keyfob listens on 127.0.0.1 with a free port.'),
          h('li', {}, 'Copy the client ID and the client secret here.'),
        ];
    const help = h(
      'aside',
      { class: 'help setup-help', 'aria-label': `How to register Keyfob with ${info.name}` },
      h('h3', {}, `Register Keyfob with ${info.name}`),
      h('ol', {}, ...steps),
    );

    const errorBox = h('p', { class: 'form-error', role: 'alert', id: 'preset-error' }, error ?? '');
    errorBox.hidden = error === null;
    const save = h(
      'button',
      { class: 'btn btn-primary', type: 'submit', id: 'preset-save', disabled: saving, 'data-key': 'preset-save' },
      saving ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : icon('browser'),
      h('span', {}, saving ? 'Saving…' : 'Save and continue in browser'),
    );
    const form = h(
      'form',
      {
        class: 'form setup-form',
        'aria-busy': saving ? 'true' : 'false',
        onsubmit: (e: Event) => {
          e.preventDefault();
          this.actions.editSetup(read());
          this.actions.saveSetup();
        },
      },
      h(
        'div',
        { class: 'setup-columns' },
        h(
          'div',
          { class: 'setup-fields' },
          field('Client ID', clientId),
      field('Client secret', clientSecret, 'Kept in your system keyring, never in a file.'),
      github
        ? h(
            'div',
            { class: 'field check-field' },
            h('label', { class: 'check-label', for: 'preset-github-app' }, githubApp, h('span', {}, 'GitHub App')),
            h(
              'p',
              { class: 'hint', id: 'preset-github-app-hint' },
              'Tick this if you registered a GitHub App rather than an OAuth App. Its tokens expire and are refreshed for you.',
            ),
          )
        : null,
      github
        ? field(
            'GitHub Enterprise URL (optional)',
            enterprise,
            'Leave empty for github.com. For GHE.com enter https://NAME.ghe.com (its API is https://api.NAME.ghe.com); for a GitHub Enterprise Server, its address (its API is that address + /api/v3).',
          )
        : null,
      github
        ? h(
            'div',
            { class: 'field check-field' },
            h('label', { class: 'check-label', for: 'preset-device-flow' }, deviceFlow, h('span', {}, 'Allow linking with a code (device flow)')),
            h(
              'p',
              { class: 'hint', id: 'preset-device-flow-hint' },
              'Offers “Use a code instead” when linking. Tick “Enable Device Flow” in the app’s settings on GitHub too.',
            ),
            h('p', { class: 'hint warning-hint', id: 'preset-device-flow-warning' }, icon('alert'), h('span', {}, DEVICE_FLOW_WARNING)),
          )
        : null,
        ),
        help,
      ),
      errorBox,
      h(
        'div',
        { class: 'dialog-buttons' },
        h('button', { class: 'btn', type: 'button', id: 'preset-back', disabled: saving, onclick: () => this.actions.back() }, icon('back'), h('span', {}, 'Back')),
        h('span', { class: 'spacer' }),
        h('button', { class: 'btn', type: 'button', disabled: saving, onclick: () => this.actions.cancel() }, 'Cancel'),
        save,
      ),
    );
    if (!saving && error === null && current.clientId === '') clientId.setAttribute('autofocus', '');
    else if (error !== null) clientId.setAttribute('autofocus', '');
    return [
      h(
        'div',
        { class: 'setup-head' },
        providerIcon(info.name, info.issuer, info.id, info.id),
        h('h2', { class: 'dialog-title', id: this.titleId }, `Set up ${info.name}`),
      ),
      h('p', { class: 'dialog-text' }, `Keyfob signs in to ${info.name} as an app that you register once; then you sign in in your browser.`),
      form,
    ];
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

  /** A link with a code: the code (null while Keyfob asks for one), where to enter it, and
   * the time left. */
  private code(provider: ProviderView | null, code: ShownCode | null, expiresAt: string | null): Node[] {
    const name = provider?.name ?? 'the provider';
    const cancel = h(
      'button',
      { class: 'btn', type: 'button', id: 'link-cancel', autofocus: code === null, onclick: () => this.actions.cancel() },
      'Cancel',
    );
    if (code === null || expiresAt === null) {
      return [
        h(
          'div',
          { class: 'waiting', 'aria-busy': 'true' },
          h('div', { class: 'waiting-icon' }, icon('key'), h('span', { class: 'pulse' })),
          h('h2', { class: 'dialog-title', id: this.titleId }, `Asking ${name} for a code…`),
        ),
        h('div', { class: 'dialog-buttons center' }, cancel),
      ];
    }
    const codeId = uid('user-code');
    return [
      h(
        'div',
        { class: 'waiting code-link' },
        h('h2', { class: 'dialog-title', id: this.titleId }, `Link with a code at ${name}`),
        h(
          'p',
          { class: 'dialog-text' },
          'On this or any other device, open the address below, sign in and enter the code. This window updates by itself once you approve.',
        ),
        h('p', { class: 'code-label', id: `${codeId}-label` }, 'Your code'),
        h(
          'div',
          { class: 'user-code-row' },
          h('output', { class: 'user-code', id: 'code-user-code', 'aria-labelledby': `${codeId}-label` }, code.userCode),
          h(
            'button',
            { class: 'btn', type: 'button', id: 'code-copy', 'data-key': 'code-copy', autofocus: true, onclick: () => this.actions.copyCode() },
            icon('copy'),
            h('span', {}, 'Copy'),
          ),
        ),
        h(
          'button',
          {
            class: 'link-button',
            type: 'button',
            id: 'code-page',
            'data-key': 'code-page',
            title: 'Open in your browser',
            onclick: () => this.actions.openCodePage(),
          },
          icon('browser'),
          h('span', {}, code.verificationUri),
        ),
        h(
          'p',
          { class: 'hint' },
          'The code expires in ',
          h('span', { class: 'countdown', 'data-code-expires': expiresAt, role: 'timer' }, countdown(expiresAt, new Date())),
          '. Enter it only on the page of the provider you chose here: someone who asks you to enter a code elsewhere wants your account.',
        ),
      ),
      h('div', { class: 'dialog-buttons center' }, cancel),
    ];
  }

  private failed(provider: ProviderView | null, error: UiError): Node[] {
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
