// The main view: the header bar and the account list (or the empty state).

import appIcon from '../../../icons/128x128.png';
import { h } from '../dom';
import { icon, providerIcon } from '../icons';
import { identityLine, providerName, sortedAccounts, statusBadge, trouble, type Model, type Remedy } from '../model';
import { expiryText, freshness } from '../time';
import type { Account } from '../types';

export interface AccountActions {
  openLink(): void;
  openProviders(): void;
  openSettings(): void;
  copy(account: Account): void;
  refresh(account: Account): void;
  addScopes(account: Account): void;
  relink(account: Account): void;
  unlink(account: Account): void;
  /** Unlinks again, without asking: the user asked before, and the provider did not answer. */
  retryUnlink(account: Account): void;
  /** Forgets the account here without revoking. */
  forget(account: Account): void;
}

export function mainView(model: Model, actions: AccountActions): Node[] {
  return [
    header(model, actions),
    h('main', { class: 'content', id: 'content' }, keyringBanner(model), body(model, actions)),
  ];
}

/** Nothing can be linked or copied without the keyring: say so before the user tries. */
function keyringBanner(model: Model): Node | null {
  const problem = model.status?.keyring_problem;
  if (!problem) return null;
  return h(
    'div',
    { class: 'banner', role: 'alert', id: 'keyring-banner' },
    icon('alert'),
    h('div', {}, h('strong', {}, 'The system keyring is not available'), h('p', {}, problem.message)),
  );
}

function header(model: Model, actions: AccountActions): HTMLElement {
  const count = model.accounts.length;
  const subtitle = !model.loaded ? 'Loading…' : count === 1 ? '1 linked account' : `${count} linked accounts`;
  return h(
    'header',
    { class: 'headerbar' },
    h(
      'div',
      { class: 'headerbar-title' },
      h('img', { class: 'app-icon', src: appIcon, alt: '', width: 32, height: 32 }),
      h('div', {}, h('h1', {}, 'Keyfob'), h('p', { class: 'subtitle' }, subtitle)),
    ),
    h(
      'div',
      { class: 'headerbar-actions' },
      h(
        'button',
        { class: 'btn', type: 'button', id: 'open-settings', onclick: () => actions.openSettings() },
        icon('sliders'),
        h('span', {}, 'Settings'),
      ),
      h(
        'button',
        { class: 'btn', type: 'button', id: 'open-providers', onclick: () => actions.openProviders() },
        icon('gear'),
        h('span', {}, 'Providers'),
      ),
      h(
        'button',
        { class: 'btn btn-primary', type: 'button', id: 'link-account', onclick: () => actions.openLink() },
        icon('plus'),
        h('span', {}, 'Link account'),
      ),
    ),
  );
}

function body(model: Model, actions: AccountActions): Node {
  if (model.loadError) {
    return h(
      'section',
      { class: 'empty', role: 'alert' },
      h('div', { class: 'empty-icon danger' }, icon('alert')),
      h('h2', {}, 'Keyfob cannot read your accounts'),
      h('p', {}, model.loadError.message),
    );
  }
  if (!model.loaded) return h('div', { class: 'loading', 'aria-busy': 'true' });
  if (model.accounts.length === 0) return emptyState(model, actions);
  const list = h('ul', { class: 'account-list', id: 'account-list', 'aria-label': 'Linked accounts' });
  for (const account of sortedAccounts(model.accounts, model.providers)) {
    list.appendChild(accountRow(account, model, actions));
  }
  const clears = model.status?.clipboard_clear_seconds;
  const kept = 'Tokens stay in your system keyring. A copied token is refreshed when it has less than a minute left';
  const note = clears
    ? `${kept}, and cleared from the clipboard after ${clears} s.`
    : model.status && clears === null
      ? `${kept}, and stays on the clipboard until you copy something else.`
      : `${kept}.`;
  const wrap = document.createDocumentFragment();
  wrap.append(list, h('p', { class: 'list-note' }, note));
  return wrap;
}

function emptyState(model: Model, actions: AccountActions): Node {
  const hasProviders = model.providers.length > 0;
  return h(
    'section',
    { class: 'empty', id: 'empty-state' },
    h('div', { class: 'empty-icon' }, icon('key')),
    h('h2', {}, 'No accounts linked yet'),
    h(
      'p',
      {},
      'Link a GitHub, Google or any OpenID Connect account: you sign in on the provider’s own page in your browser, ' +
        'and Keyfob keeps the tokens in your system keyring. Then copy a fresh access token for curl, scripts or HTTP clients.',
    ),
    hasProviders
      ? h(
          'button',
          { class: 'btn btn-primary btn-large', type: 'button', onclick: () => actions.openLink() },
          icon('plus'),
          h('span', {}, 'Link your first account'),
        )
      : h(
          'div',
          { class: 'empty-steps' },
          h('p', { class: 'hint' }, 'First, tell Keyfob about a provider: register Keyfob as an app there and enter its client ID.'),
          h(
            'button',
            { class: 'btn btn-primary btn-large', type: 'button', onclick: () => actions.openProviders() },
            icon('gear'),
            h('span', {}, 'Set up a provider'),
          ),
        ),
  );
}

function accountRow(account: Account, model: Model, actions: AccountActions): HTMLElement {
  const busy = model.busy.get(account.id);
  const badge = statusBadge(account, busy);
  const pName = providerName(model.providers, account.provider);
  const problem = trouble(account);
  const needsRelink = problem?.remedies.includes('relink') ?? false;
  const now = new Date();
  const name = account.display_name;

  const copied = model.copied.has(account.id);
  const copy = needsRelink
    ? h(
        'button',
        { class: 'btn btn-primary relink-button', type: 'button', onclick: () => actions.relink(account), 'aria-label': `Link ${name} again` },
        icon('refresh'),
        h('span', {}, 'Re-link'),
      )
    : h(
        'button',
        {
          class: `btn copy-button${copied ? ' copied' : ''}`,
          type: 'button',
          'data-key': `copy-${account.id}`,
          disabled: busy !== undefined,
          'aria-label': copied ? `Access token of ${name} copied` : `Copy access token of ${name}`,
          onclick: () => actions.copy(account),
        },
        copied ? icon('check') : icon('copy'),
        h('span', {}, copied ? 'Copied' : busy === 'copying' ? 'Copying…' : 'Copy token'),
      );

  const tool = (glyph: Parameters<typeof icon>[0], label: string, key: string, onclick: () => void, extra = '') =>
    h(
      'button',
      {
        class: `btn btn-icon ${extra}`,
        type: 'button',
        title: label,
        'aria-label': `${label}: ${name}`,
        'data-key': `${key}-${account.id}`,
        disabled: busy !== undefined,
        onclick,
      },
      icon(glyph),
    );

  const scopes = h('ul', { class: 'scopes', 'aria-label': 'Granted scopes' });
  for (const s of account.scopes) scopes.appendChild(h('li', { class: 'chip' }, s));

  const expiry = h(
    'span',
    {
      class: `expiry ${freshness(account.access_expires_at, now)}`,
      'data-expires': account.access_expires_at ?? '',
    },
    expiryText(account.access_expires_at, now),
  );

  return h(
    'li',
    {
      class: `account-row${model.highlight === account.id ? ' highlight' : ''}${needsRelink ? ' broken' : ''}`,
      'data-account-id': account.id,
      'aria-label': `${name}, ${pName}`,
    },
    h('div', { class: 'account-icon' }, providerIcon(pName, account.issuer, account.provider, model.providers.find((p) => p.id === account.provider)?.flavor)),
    h(
      'div',
      { class: 'account-main' },
      h(
        'div',
        { class: 'account-title' },
        h('span', { class: 'account-name' }, name),
        h('span', { class: `badge badge-${badge.tone}` }, badge.tone === 'busy' ? h('span', { class: 'spinner' }) : null, badge.text),
      ),
      h('div', { class: 'account-sub' }, identityLine(account, pName)),
      problem
        ? h(
            'div',
            { class: 'account-problem' },
            h('span', {}, problem.text),
            ...problem.remedies.filter((r) => r !== 'relink').map((r) => remedyButton(r, account, name, busy !== undefined, actions)),
          )
        : null,
      scopes,
    ),
    h(
      'div',
      { class: 'account-side' },
      h(
        'div',
        { class: 'account-expiry' },
        expiry,
        account.has_refresh_token ? null : h('span', { class: 'expiry-note' }, 'no refresh token'),
      ),
      h(
        'div',
        { class: 'account-actions' },
        copy,
        // A grant that needs a new link, or one without a refresh token, cannot be refreshed;
        // Re-link is the way out.
        needsRelink || !account.has_refresh_token
          ? null
          : tool('refresh', 'Refresh now', 'refresh', () => actions.refresh(account)),
        tool('plus', 'Add scopes', 'scopes', () => actions.addScopes(account)),
        tool('trash', 'Unlink', 'unlink', () => actions.unlink(account), 'btn-icon-danger'),
      ),
    ),
  );
}

/** A button in the problem line: Retry (the unlink) or Forget. Re-link has its own place. */
function remedyButton(remedy: Exclude<Remedy, 'relink'>, account: Account, name: string, disabled: boolean, actions: AccountActions): HTMLElement {
  const [label, describe, onclick] =
    remedy === 'retry_unlink'
      ? ['Retry', `Retry unlinking ${name}`, () => actions.retryUnlink(account)]
      : ['Forget', `Forget ${name} without revoking`, () => actions.forget(account)];
  return h(
    'button',
    { class: 'btn remedy-button', type: 'button', 'data-key': `${remedy}-${account.id}`, 'aria-label': describe, disabled, onclick },
    label,
  );
}

/** Updates every expiry phrase in place (no re-render, so focus and hover stay put). */
export function tickExpiries(root: ParentNode, now = new Date()): void {
  for (const el of root.querySelectorAll<HTMLElement>('.expiry[data-expires]')) {
    const at = el.dataset.expires || null;
    const text = expiryText(at, now);
    if (el.textContent !== text) el.textContent = text;
    el.className = `expiry ${freshness(at, now)}`;
  }
}
