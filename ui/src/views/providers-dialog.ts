// The "Providers" dialog: the configured providers, and a form to add a custom OpenID provider
// (discovery from its issuer URL) or edit one (client id, secret, scopes, redirect mode,
// endpoints), with help on registering Keyfob at the provider.

import { api, toUiError } from '../api';
import { clear, h } from '../dom';
import { icon, providerIcon } from '../icons';
import { formatParams, parseParams, parseScopes, slugify } from '../scopes';
import type { ClientAuth, Provider, ProviderView, RedirectMode, SecretInput } from '../types';
import { DEVICE_FLOW_HINT, DEVICE_FLOW_WARNING } from '../device-flow';
import { DEFAULT_CHOICE, REFRESH_AHEAD_HINT, refreshAheadChoices, refreshAheadValue } from '../refresh-ahead';
import { confirmDialog } from './confirm';
import { registrationList } from './registrations';
import { toast } from './toast';

type Mode = { view: 'list' } | { view: 'add' } | { view: 'edit'; provider: ProviderView };

export class ProvidersDialog {
  readonly el: HTMLDialogElement;
  private readonly body: HTMLElement;
  private mode: Mode = { view: 'list' };
  private providers: ProviderView[] = [];
  private error: string | null = null;
  private saving = false;
  /** Called after any change so the window reloads providers. */
  constructor(private readonly changed: () => Promise<void>) {
    this.body = h('div', { class: 'dialog-body' });
    this.el = h('dialog', { class: 'dialog dialog-wide', id: 'providers-dialog', 'aria-labelledby': 'providers-title' }, this.body);
    document.body.appendChild(this.el);
  }

  open(providers: ProviderView[], mode: Mode = { view: 'list' }): void {
    this.providers = providers;
    this.mode = mode;
    this.error = null;
    this.render();
    if (!this.el.open) this.el.showModal();
  }

  update(providers: ProviderView[]): void {
    this.providers = providers;
    if (this.el.open && this.mode.view === 'list') this.render();
  }

  private render(): void {
    clear(this.body);
    if (this.mode.view === 'list') this.body.append(...this.list());
    else this.body.append(...this.form(this.mode.view === 'edit' ? this.mode.provider : null));
    this.body.querySelector<HTMLElement>('[autofocus]')?.focus();
  }

  private list(): Node[] {
    const rows = h('ul', { class: 'provider-list', 'aria-label': 'Configured providers' });
    for (const p of this.providers) {
      rows.appendChild(
        h(
          'li',
          { class: 'provider-row', 'data-provider-id': p.id },
          providerIcon(p.name, p.issuer, p.id, p.flavor),
          h(
            'div',
            { class: 'provider-row-text' },
            h('strong', {}, p.name),
            h('small', {}, `${p.issuer} · client ${p.client_id}`),
          ),
          h(
            'button',
            { class: 'btn', type: 'button', 'aria-label': `Edit ${p.name}`, onclick: () => this.go({ view: 'edit', provider: p }) },
            'Edit',
          ),
        ),
      );
    }
    return [
      h('div', { class: 'dialog-head' }, h('h2', { class: 'dialog-title', id: 'providers-title' }, 'Providers'), this.closeButton()),
      h(
        'p',
        { class: 'dialog-text' },
        'A provider is where accounts live (GitHub, Google, your company’s sign-in). Keyfob needs the client ID of an app you register there.',
      ),
      this.providers.length > 0 ? rows : h('p', { class: 'hint empty-list' }, 'No provider is set up yet.'),
      h(
        'div',
        { class: 'dialog-buttons' },
        h(
          'button',
          { class: 'btn', type: 'button', id: 'add-provider', onclick: () => this.go({ view: 'add' }) },
          icon('plus'),
          h('span', {}, 'Add custom OpenID provider'),
        ),
        h('button', { class: 'btn btn-primary', type: 'button', autofocus: true, onclick: () => this.el.close() }, 'Done'),
      ),
    ];
  }

  private closeButton(): HTMLElement {
    return h('button', { class: 'btn btn-icon', type: 'button', 'aria-label': 'Close', onclick: () => this.el.close() }, icon('close'));
  }

  private go(mode: Mode): void {
    this.mode = mode;
    this.error = null;
    this.render();
  }

  private form(existing: ProviderView | null): Node[] {
    const f = new Fields();
    const name = f.text('Name', existing?.name ?? '', { id: 'provider-name', autofocus: true, placeholder: 'My company' });
    const id = f.text('ID', existing?.id ?? '', {
      id: 'provider-id',
      disabled: existing !== null,
      hint: 'a-z, 0-9 and dashes',
    });
    const issuer = f.text('Issuer URL', existing?.issuer ?? '', {
      id: 'provider-issuer',
      disabled: existing !== null,
      wide: true,
      placeholder: 'https://login.example.com',
      hint: existing ? undefined : 'Keyfob reads the endpoints from the issuer’s discovery document.',
    });
    const clientId = f.text('Client ID', existing?.client_id ?? '', { id: 'provider-client-id' });
    const auth = f.select<ClientAuth>('Client authentication', existing?.client_auth ?? 'none', [
      ['none', 'None (public client, PKCE)'],
      ['basic', 'Secret, HTTP Basic'],
      ['post', 'Secret, in the body'],
    ], 'provider-client-auth');
    const secret = f.text('Client secret', '', {
      id: 'provider-client-secret',
      type: 'password',
      wide: true,
      placeholder: existing?.has_client_secret ? 'A client secret is stored; leave empty to keep it' : '',
      hint: existing?.has_client_secret
        ? 'A client secret is stored in your system keyring. Type a new one to replace it.'
        : 'Kept in your system keyring, never in a file. Only needed if the provider requires one.',
    });
    const scopes = f.text('Default scopes', (existing?.scopes ?? ['openid', 'email', 'profile']).join(' '), {
      id: 'provider-scopes',
      wide: true,
      hint: 'Space-separated. Some providers need offline_access for refresh tokens.',
    });
    const redirect = f.select<RedirectMode>('Redirect', existing?.redirect ?? 'scheme', [
      ['scheme', 'App link (dev.keyfob.app:)'],
      ['loopback', 'Loopback (http://127.0.0.1)'],
    ], 'provider-redirect');
    const params = f.area('Extra parameters', formatParams(existing?.extra_params ?? {}), {
      id: 'provider-params',
      placeholder: 'prompt=consent',
      hint: 'key=value per line, e.g. access_type=offline',
    });
    const deviceFlow = f.check('Allow linking with a code (device flow)', existing?.device_authorization_endpoint != null, {
      id: 'provider-device-flow',
      hint: DEVICE_FLOW_HINT,
      warning: DEVICE_FLOW_WARNING,
    });
    const refreshAhead = f.select(
      'Refresh ahead',
      existing?.refresh_ahead ?? DEFAULT_CHOICE,
      refreshAheadChoices(existing?.refresh_ahead),
      'provider-refresh-ahead',
      REFRESH_AHEAD_HINT,
    );
    const { el: redirectUris, show } = registrationList('provider-redirect-uris');
    const showRedirect = () => {
      const providerId = existing?.id ?? (id.input.value || slugify(name.input.value) || '<id>');
      show({ form: 'provider', provider_id: providerId, redirect: redirect.input.value as RedirectMode });
    };
    const syncSecret = () => {
      const needs = auth.input.value !== 'none';
      secret.row.hidden = !needs;
    };
    name.input.addEventListener('input', () => {
      if (!existing && !id.input.dataset.touched) id.input.value = slugify(name.input.value);
      showRedirect();
    });
    id.input.addEventListener('input', () => {
      id.input.dataset.touched = '1';
      showRedirect();
    });
    redirect.input.addEventListener('change', showRedirect);
    auth.input.addEventListener('change', syncSecret);
    showRedirect();
    syncSecret();

    const endpoints = existing ? this.endpointFields(existing) : null;

    const help = h(
      'aside',
      { class: 'help', 'aria-label': 'How to register Keyfob' },
      h('h3', {}, 'Registering Keyfob at the provider'),
      h(
        'ol',
        {},
        h('li', {}, 'In the provider’s developer console, create an OAuth client of type “Desktop app” or “Native”.'),
        h('li', {}, 'Enter each redirect URI below exactly, as it is written:', redirectUris),
        h('li', {}, 'Copy the client ID it shows into this form. A client secret is optional: Keyfob uses PKCE.'),
      ),
    );

    const errorBox = h('p', { class: 'form-error', role: 'alert', id: 'provider-error' }, this.error ?? '');
    errorBox.hidden = this.error === null;

    const submit = async (e: Event) => {
      e.preventDefault();
      if (this.saving) return;
      const parsedParams = parseParams(params.input.value);
      if (parsedParams.bad.length > 0) {
        this.showError(errorBox, `These lines are not key=value: ${parsedParams.bad.join(', ')}`);
        return;
      }
      const secretValue = secret.input.value;
      this.saving = true;
      submitButton.disabled = true;
      try {
        if (existing) {
          const provider: Provider = {
            ...stripView(existing),
            name: name.input.value.trim(),
            client_id: clientId.input.value.trim(),
            client_auth: auth.input.value as ClientAuth,
            scopes: parseScopes(scopes.input.value),
            extra_params: parsedParams.params,
            redirect: redirect.input.value as RedirectMode,
            refresh_ahead: refreshAheadValue(refreshAhead.input.value),
            ...endpoints?.read(),
          };
          const secretInput: SecretInput =
            provider.client_auth === 'none'
              ? { action: 'remove' }
              : secretValue !== ''
                ? { action: 'set', value: secretValue }
                : { action: 'keep' };
          await api.saveProvider(provider, secretInput, deviceFlow.input.checked);
          toast(`Saved ${provider.name}`, 'success');
        } else {
          const added = await api.addOpenidProvider({
            id: id.input.value.trim(),
            name: name.input.value.trim(),
            issuer: issuer.input.value.trim(),
            client_id: clientId.input.value.trim(),
            client_secret: auth.input.value === 'none' || secretValue === '' ? null : secretValue,
            client_auth: auth.input.value as ClientAuth,
            scopes: parseScopes(scopes.input.value),
            extra_params: parsedParams.params,
            redirect: redirect.input.value as RedirectMode,
            device_flow: deviceFlow.input.checked,
            refresh_ahead: refreshAheadValue(refreshAhead.input.value),
          });
          toast(`Added ${added.name}`, 'success');
        }
        await this.changed();
        this.go({ view: 'list' });
      } catch (err) {
        this.showError(errorBox, toUiError(err).message);
      } finally {
        this.saving = false;
        submitButton.disabled = false;
      }
    };

    const submitButton = h('button', { class: 'btn btn-primary', type: 'submit', id: 'provider-save' }, existing ? 'Save' : 'Add provider');
    const remove = existing
      ? h('button', { class: 'btn btn-danger-quiet', type: 'button', onclick: () => this.remove(existing, errorBox) }, 'Remove provider')
      : null;

    return [
      h(
        'div',
        { class: 'dialog-head' },
        h('button', { class: 'btn btn-icon', type: 'button', 'aria-label': 'Back to providers', onclick: () => this.go({ view: 'list' }) }, icon('back')),
        h('h2', { class: 'dialog-title', id: 'providers-title' }, existing ? `Edit ${existing.name}` : 'Add custom OpenID provider'),
        this.closeButton(),
      ),
      h(
        'form',
        { class: 'form provider-form', onsubmit: submit },
        h(
          'div',
          { class: 'form-columns' },
          h('div', { class: 'form-column' }, ...f.rows()),
          help,
        ),
        endpoints?.details ?? null,
        errorBox,
        h(
          'div',
          { class: 'dialog-buttons' },
          remove,
          h('span', { class: 'spacer' }),
          h('button', { class: 'btn', type: 'button', onclick: () => this.go({ view: 'list' }) }, 'Cancel'),
          submitButton,
        ),
      ),
    ];
  }

  private endpointFields(p: ProviderView) {
    const f = new Fields();
    const authz = f.text('Authorization endpoint', p.authorization_endpoint, { id: 'ep-auth' });
    const token = f.text('Token endpoint', p.token_endpoint, { id: 'ep-token' });
    const userinfo = f.text('Userinfo endpoint', p.userinfo_endpoint ?? '', { id: 'ep-userinfo' });
    const revocation = f.text('Revocation endpoint', p.revocation_endpoint ?? '', { id: 'ep-revocation' });
    const jwks = f.text('JWKS URI', p.jwks_uri ?? '', { id: 'ep-jwks' });
    const details = h('details', { class: 'endpoints' }, h('summary', {}, 'Endpoints'), h('div', { class: 'form-grid' }, ...f.rows()));
    const orNull = (v: string) => (v.trim() === '' ? null : v.trim());
    return {
      details,
      read: () => ({
        authorization_endpoint: authz.input.value.trim(),
        token_endpoint: token.input.value.trim(),
        userinfo_endpoint: orNull(userinfo.input.value),
        revocation_endpoint: orNull(revocation.input.value),
        jwks_uri: orNull(jwks.input.value),
      }),
    };
  }

  private async remove(p: ProviderView, errorBox: HTMLElement): Promise<void> {
    const yes = await confirmDialog({
      title: `Remove ${p.name}?`,
      text: 'Keyfob forgets this provider and its client secret. Accounts linked through it must be unlinked first.',
      confirm: 'Remove',
      danger: true,
    });
    if (!yes) return;
    try {
      await api.removeProvider(p.id);
      toast(`Removed ${p.name}`, 'success');
      await this.changed();
      this.go({ view: 'list' });
    } catch (err) {
      this.showError(errorBox, toUiError(err).message);
    }
  }

  private showError(box: HTMLElement, message: string): void {
    this.error = message;
    box.textContent = message;
    box.hidden = false;
  }
}

function stripView(v: ProviderView): Provider {
  const { redirect_uris: _ignored, has_client_secret: _secret, ...provider } = v;
  return provider;
}

/** Builds labelled form rows. */
class Fields {
  private readonly list: HTMLElement[] = [];

  rows(): HTMLElement[] {
    return this.list;
  }

  text(
    label: string,
    value: string,
    o: {
      id: string;
      type?: string;
      placeholder?: string;
      hint?: string;
      disabled?: boolean;
      autofocus?: boolean;
      wide?: boolean;
    },
  ) {
    const input = h('input', {
      class: 'input',
      id: o.id,
      type: o.type ?? 'text',
      value,
      placeholder: o.placeholder,
      disabled: o.disabled,
      autofocus: o.autofocus,
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': o.hint ? `${o.id}-hint` : undefined,
    });
    return this.row(label, input, o.id, o.hint, o.wide);
  }

  /** A checkbox with its explanation and, if given, a warning under it. */
  check(label: string, checked: boolean, o: { id: string; hint: string; warning?: string }) {
    const input = h('input', {
      id: o.id,
      type: 'checkbox',
      checked,
      'aria-describedby': o.warning ? `${o.id}-hint ${o.id}-warning` : `${o.id}-hint`,
    });
    const row = h(
      'div',
      { class: 'field wide check-field' },
      h('label', { class: 'check-label', for: o.id }, input, h('span', {}, label)),
      h('p', { class: 'hint', id: `${o.id}-hint` }, o.hint),
      o.warning ? h('p', { class: 'hint warning-hint', id: `${o.id}-warning` }, icon('alert'), h('span', {}, o.warning)) : null,
    );
    this.list.push(row);
    return { row, input };
  }

  area(label: string, value: string, o: { id: string; placeholder?: string; hint?: string }) {
    const input = h('textarea', {
      class: 'input',
      id: o.id,
      rows: 2,
      placeholder: o.placeholder,
      spellcheck: 'false',
      'aria-describedby': o.hint ? `${o.id}-hint` : undefined,
    });
    input.value = value;
    return this.row(label, input, o.id, o.hint);
  }

  select<T extends string>(label: string, value: T, options: [T, string][], id: string, hint?: string) {
    const input = h('select', { class: 'input', id, 'aria-describedby': hint ? `${id}-hint` : undefined });
    for (const [v, text] of options) input.appendChild(h('option', { value: v, selected: v === value }, text));
    return this.row(label, input, id, hint);
  }

  /** `wide`: spans both columns of the form grid. */
  private row<E extends HTMLElement>(label: string, input: E, id: string, hint?: string, wide = false) {
    const row = h(
      'div',
      { class: wide ? 'field wide' : 'field' },
      h('label', { class: 'field-label', for: id }, label),
      input,
      hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    );
    this.list.push(row);
    return { row, input };
  }
}

