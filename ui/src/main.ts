// Keyfob's window: wires the model, the views and the Rust commands/events together.

import './style.css';
import { api, events, toUiError } from './api';
import { clear } from './dom';
import { claims, closed, linkTransition, strays, type LinkEvent, type LinkState } from './link-flow';
import { emptyModel, type Busy } from './model';
import { ignoredNotice } from './notices';
import { emptyFields, setupProblem } from './presets';
import { parseScopes } from './scopes';
import type { Account, LinkOutcome, ProviderView } from './types';
import { mainView, tickExpiries } from './views/accounts';
import { confirmDialog } from './views/confirm';
import { LinkDialog } from './views/link-dialog';
import { ProvidersDialog } from './views/providers-dialog';
import { openSettings } from './views/settings-dialog';
import { toast } from './views/toast';

const COPIED_CONFIRMATION_MS = 2000;
const HIGHLIGHT_MS = 4000;

const model = emptyModel();
let link: LinkState = closed;
const app = document.getElementById('app') as HTMLElement;

/** A button that is disabled while its action runs cannot hold the focus: it gets it back. */
let pendingFocus: string | null = null;

function render(): void {
  // Re-rendering replaces the buttons: put focus back on the equivalent one.
  const focusKey = (document.activeElement as HTMLElement | null)?.dataset?.key ?? pendingFocus;
  clear(app);
  app.append(...mainView(model, actions));
  if (!focusKey) return;
  const target = app.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`);
  target?.focus();
  pendingFocus = target?.matches(':disabled') ? focusKey : null;
}

async function reload(): Promise<void> {
  const providersBefore = JSON.stringify(model.providers);
  try {
    const [accounts, providers] = await Promise.all([api.listAccounts(), api.listProviders()]);
    model.accounts = accounts;
    model.providers = providers;
    model.loadError = null;
  } catch (e) {
    model.loadError = toUiError(e);
  }
  model.loaded = true;
  render();
  // Reloads also come from other processes (the CLI refreshing a token): leave a form the
  // user may be typing in alone unless what it offers changed.
  if (JSON.stringify(model.providers) !== providersBefore) {
    providersDialog.update(model.providers);
    linkDialog.render(link, model.providers);
  }
}

function setBusy(id: string, busy: Busy | null): void {
  if (busy) model.busy.set(id, busy);
  else model.busy.delete(id);
  render();
}

function dispatch(event: LinkEvent): void {
  link = linkTransition(link, event);
  if (link.step === 'linked') {
    const account = link.account;
    link = closed;
    model.highlight = account.id;
    toast(`Linked ${account.display_name}`, 'success');
    window.setTimeout(() => {
      if (model.highlight === account.id) {
        model.highlight = null;
        render();
      }
    }, HIGHLIGHT_MS);
    void reload().then(() =>
      app.querySelector(`[data-account-id="${CSS.escape(account.id)}"]`)?.scrollIntoView({ block: 'nearest' }),
    );
  }
  linkDialog.render(link, model.providers);
}

async function startLink(): Promise<void> {
  dispatch({ type: 'start' });
  await beginLink();
}

/** "Use a code instead": Rust asks the provider for a code and polls; the window shows it. */
async function startCodeLink(): Promise<void> {
  dispatch({ type: 'start', withCode: true });
  if (link.step !== 'starting') return;
  const scopes = parseScopes(link.scopes);
  try {
    const started = await api.startCodeLink(link.providerId, scopes.length > 0 ? scopes : null);
    if (link.step !== 'starting') {
      // Cancelled while Keyfob asked for the code: end the link it started.
      await api.cancelLink(started.link_id).catch(() => undefined);
      return;
    }
    for (const o of strays(link, started.link_id)) reportOtherLink(o);
    dispatch({
      type: 'started',
      linkId: started.link_id,
      expiresAt: started.expires_at,
      code: { userCode: started.user_code, verificationUri: started.verification_uri },
    });
  } catch (e) {
    if (link.step === 'starting') dispatch({ type: 'start-failed', error: toUiError(e) });
  }
}

/** Runs `call` with the waiting code link's id; a failure is told in a notice. */
async function withCodeLink(call: (linkId: string) => Promise<void>, done?: string): Promise<void> {
  if (link.step !== 'waiting' || link.code === null) return;
  try {
    await call(link.linkId);
    if (done) toast(done, 'success');
  } catch (e) {
    toast(toUiError(e).message, 'error', 8000);
  }
}

/** Asks Rust to open the browser for the link in the 'starting' state. */
async function beginLink(): Promise<void> {
  if (link.step !== 'starting') return;
  const scopes = parseScopes(link.scopes);
  try {
    const started = await api.startLink(link.providerId, scopes.length > 0 ? scopes : null);
    for (const o of strays(link, started.link_id)) reportOtherLink(o);
    dispatch({ type: 'started', linkId: started.link_id, expiresAt: started.expires_at });
  } catch (e) {
    dispatch({ type: 'start-failed', error: toUiError(e) });
  }
}

/** Adds GitHub or Google from the setup form, then goes on to the link. */
async function saveSetup(): Promise<void> {
  if (link.step !== 'setup' || link.saving) return;
  const { preset, fields } = link;
  const problem = setupProblem(preset, fields);
  if (problem) {
    dispatch({ type: 'setup-save' });
    dispatch({ type: 'setup-failed', error: { kind: 'provider', message: problem } });
    return;
  }
  dispatch({ type: 'setup-save' });
  const optional = (text: string) => (text.trim() === '' ? null : text.trim());
  try {
    const added =
      preset === 'github'
        ? await api.addGithubProvider({
            client_id: optional(fields.clientId),
            client_secret: fields.clientSecret === '' ? null : fields.clientSecret,
            github_app: fields.githubApp,
            enterprise_url: optional(fields.enterpriseUrl),
            device_flow: fields.deviceFlow,
          })
        : await api.addGoogleProvider({
            client_id: optional(fields.clientId),
            client_secret: fields.clientSecret === '' ? null : fields.clientSecret,
          });
    model.providers = [...model.providers.filter((p) => p.id !== added.id), added];
    toast(`Added ${added.name}`, 'success');
    render();
    providersDialog.update(model.providers);
    dispatch({ type: 'setup-done', providerId: added.id, scopes: added.scopes.join(' ') });
    await beginLink();
  } catch (e) {
    dispatch({ type: 'setup-failed', error: toUiError(e) });
  }
}

async function cancelLink(): Promise<void> {
  if (link.step === 'waiting') {
    const linkId = link.linkId;
    // Best effort: the link may have just finished or expired.
    await api.cancelLink(linkId).catch(() => undefined);
  }
  dispatch({ type: 'cancel' });
}

function openLinkFor(provider: ProviderView | null, scopes?: string[], relinkOf: string | null = null): void {
  dispatch({
    type: 'open',
    providerId: provider?.id ?? null,
    scopes: (scopes ?? provider?.scopes ?? []).join(' '),
    relinkOf,
  });
}

const linkDialog = new LinkDialog({
  pick: (p) => dispatch({ type: 'pick', providerId: p.id, scopes: p.scopes.join(' ') }),
  editScopes: (scopes) => {
    link = linkTransition(link, { type: 'edit-scopes', scopes }); // no re-render while typing
  },
  start: () => void startLink(),
  startWithCode: () => void startCodeLink(),
  openCodePage: () => void withCodeLink(api.openCodePage),
  copyCode: () => void withCodeLink(api.copyCode, 'Copied the code.'),
  cancel: () => void cancelLink(),
  retry: () => dispatch({ type: 'retry' }),
  setup: (preset) => dispatch({ type: 'setup', preset, fields: emptyFields }),
  editSetup: (fields) => {
    link = linkTransition(link, { type: 'edit-setup', fields }); // no re-render while typing
  },
  saveSetup: () => void saveSetup(),
  back: () => dispatch({ type: 'back' }),
  addProvider: () => {
    dispatch({ type: 'cancel' });
    providersDialog.open(model.providers, { view: 'add' });
  },
});

const providersDialog = new ProvidersDialog(reload);

const actions = {
  openLink: () => openLinkFor(model.providers.length === 1 ? model.providers[0] : null),
  openProviders: () => providersDialog.open(model.providers),
  openSettings: () => void openSettings().then(async () => {
    model.status = await api.appStatus().catch(() => model.status);
    render();
  }),
  async copy(account: Account) {
    setBusy(account.id, 'copying');
    try {
      const copied = await api.copyToken(account.id);
      model.copied.add(account.id);
      const clears = copied.clears_in ? ` The clipboard is cleared in ${copied.clears_in} s.` : '';
      toast(`${copied.refreshed ? 'Refreshed and copied' : 'Copied'} the access token of ${account.display_name}.${clears}`, 'success');
      window.setTimeout(() => {
        model.copied.delete(account.id);
        render();
      }, COPIED_CONFIRMATION_MS);
    } catch (e) {
      toast(toUiError(e).message, 'error', 8000);
    } finally {
      setBusy(account.id, null);
    }
  },
  async refresh(account: Account) {
    setBusy(account.id, 'refreshing');
    try {
      await api.refreshAccount(account.id);
      toast(`Refreshed ${account.display_name}`, 'success');
    } catch (e) {
      toast(toUiError(e).message, 'error', 8000);
    } finally {
      model.busy.delete(account.id);
      await reload();
    }
  },
  addScopes(account: Account) {
    const provider = model.providers.find((p) => p.id === account.provider) ?? null;
    if (!provider) {
      toast(`The provider ${account.provider} is no longer configured.`, 'error');
      return;
    }
    openLinkFor(provider, [...account.scopes, ''], account.id);
  },
  relink(account: Account) {
    const provider = model.providers.find((p) => p.id === account.provider) ?? null;
    if (!provider) {
      toast(`The provider ${account.provider} is no longer configured.`, 'error');
      return;
    }
    openLinkFor(provider, account.scopes, account.id);
  },
  async unlink(account: Account) {
    const yes = await confirmDialog({
      title: `Unlink ${account.display_name}?`,
      text: 'Keyfob revokes this account’s tokens at the provider and deletes them from your keyring. You can link it again later.',
      confirm: 'Unlink',
      danger: true,
    });
    if (yes) await unlinkNow(account);
  },
  async retryUnlink(account: Account) {
    await unlinkNow(account);
  },
  async forget(account: Account) {
    const yes = await confirmDialog({
      title: `Forget ${account.display_name} without revoking?`,
      text: 'Keyfob deletes this account’s tokens from your keyring without asking the provider to revoke them: they stay valid there until they expire or you revoke Keyfob’s access in the provider’s settings.',
      confirm: 'Forget',
      danger: true,
    });
    if (!yes) return;
    setBusy(account.id, 'unlinking');
    try {
      await api.forgetAccount(account.id);
      toast(`Forgot ${account.display_name}; revoke Keyfob’s access in the provider’s settings to end it there.`, 'info', 8000);
    } catch (e) {
      toast(toUiError(e).message, 'error', 8000);
    } finally {
      model.busy.delete(account.id);
      await reload();
    }
  },
};

/** Unlinks and says what the provider did; a failure that may pass leaves the account
 * marked, and the reloaded row offers Retry and Forget. */
async function unlinkNow(account: Account): Promise<void> {
  setBusy(account.id, 'unlinking');
  try {
    const report = await api.unlinkAccount(account.id);
    if (report.revocation === 'failed') {
      toast(`Unlinked ${report.display_name}, but the provider did not confirm the revocation: ${report.revocation_error}`, 'error', 9000);
    } else if (report.revocation === 'not_supported') {
      toast(`Unlinked ${report.display_name}. The provider cannot revoke tokens; revoke access in its settings if needed.`, 'info', 8000);
    } else {
      toast(`Unlinked ${report.display_name}`, 'success');
    }
  } catch (e) {
    toast(toUiError(e).message, 'error', 8000);
  } finally {
    model.busy.delete(account.id);
    await reload();
  }
}

/** The outcome of a link the dialog does not wait for (closed, timed out, or forged). */
function reportOtherLink(o: LinkOutcome): void {
  if (o.account) {
    // It still went through.
    toast(`Linked ${o.account.display_name}`, 'success');
  } else if (o.error) {
    toast(`Ignored a sign-in response: ${o.error.message}`, 'error', 8000);
  }
}

function tick(): void {
  const now = new Date();
  tickExpiries(app, now);
  linkDialog.tick(now);
  if (link.step === 'waiting' && Date.parse(link.expiresAt) <= now.getTime()) {
    const linkId = link.linkId;
    void api.cancelLink(linkId).catch(() => undefined);
    dispatch({ type: 'expired' });
  }
}

/** Opens the re-link the shell asks for (a clicked notification or tray entry), if any. */
async function openRequestedRelink(): Promise<void> {
  const accountId = await api.takeRelinkRequest().catch(() => null);
  if (!accountId) return;
  await reload();
  const account = model.accounts.find((a) => a.id === accountId);
  if (account) actions.relink(account);
}

/** Refused callbacks counted in the notice showing now. */
let ignoredCallbacks = 0;

async function boot(): Promise<void> {
  render();
  await Promise.all([
    events.accountsChanged(() => void reload()),
    events.relinkRequested(() => void openRequestedRelink()),
    events.linkFinished((o) => {
      // Every outcome goes through the dialog's state machine: one that arrives before
      // start_link has returned is kept until the link's id is known.
      const claimed = claims(link, o.link_id);
      dispatch({ type: 'finished', linkId: o.link_id, account: o.account, error: o.error });
      if (!claimed) reportOtherLink(o);
    }),
    events.callbackRefused((message) => {
      // One notice however many arrive; the count starts again once it has gone.
      ignoredCallbacks += 1;
      toast(ignoredNotice(ignoredCallbacks, message), 'error', 8000, 'callback-refused', () => (ignoredCallbacks = 0));
    }),
    // Whatever the user copied since is theirs: the shell left it, and so says nothing.
    events.clipboardExpired(({ cleared }) => cleared && toast('Cleared the copied token from the clipboard.', 'info')),
  ]);
  model.status = await api.appStatus().catch(() => null);
  await reload();
  await openRequestedRelink();
  window.setInterval(tick, 1000);
  // The shell reports other processes' changes (the `keyfob` CLI) within two seconds; on
  // focus the window catches up at once.
  window.addEventListener('focus', () => void reload());
}

void boot();
