// The settings panel: refresh ahead, close to tray, start at login and the clipboard delay.
// A modal dialog, keyboard operable (Tab between the fields, Space toggles, Esc cancels).

import { api, toUiError } from '../api';
import { h } from '../dom';
import { clipboardChoices } from '../settings';
import type { SettingsForm } from '../types';
import { toast } from './toast';

/** Opens the panel with the saved settings; resolves when it closes. */
export async function openSettings(): Promise<void> {
  let saved: SettingsForm;
  try {
    saved = await api.getSettings();
  } catch (e) {
    toast(`Cannot read the settings: ${toUiError(e).message}`, 'error', 8000);
    return;
  }
  const titleId = 'settings-title';
  const check = (id: string, label: string, hint: string, checked: boolean) => {
    const input = h('input', { id, type: 'checkbox', checked, 'aria-describedby': `${id}-hint` });
    const field = h(
      'div',
      { class: 'check-field' },
      h('label', { class: 'check-label', for: id }, input, h('span', {}, label)),
      h('p', { class: 'hint', id: `${id}-hint` }, hint),
    );
    return { input, field };
  };
  const refresh = check(
    'setting-refresh-ahead',
    'Refresh tokens ahead of expiry',
    'Keyfob renews access tokens in the background before they expire, so a copy never waits.',
    saved.refresh_ahead,
  );
  const tray = check(
    'setting-close-to-tray',
    'Keep running in the tray when the window is closed',
    'The tray menu copies tokens and shows which accounts need you. Quit from the tray menu.',
    saved.close_to_tray,
  );
  const login = check(
    'setting-start-at-login',
    'Start Keyfob when you log in',
    'It starts in the tray, without opening this window.',
    saved.start_at_login,
  );
  const delay = h(
    'select',
    { id: 'setting-clipboard', class: 'input', 'aria-describedby': 'setting-clipboard-hint' },
    ...clipboardChoices(saved.clipboard_clear_seconds).map(({ seconds, label }) =>
      h('option', { value: seconds, selected: seconds === saved.clipboard_clear_seconds }, label),
    ),
  );
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const cancel = h('button', { class: 'btn', type: 'button', id: 'settings-cancel' }, 'Cancel');
  const save = h('button', { class: 'btn btn-primary', type: 'submit', id: 'settings-save' }, 'Save');
  const form = h(
    'form',
    { class: 'form settings-form', method: 'dialog' },
    refresh.field,
    tray.field,
    login.field,
    h(
      'div',
      { class: 'field' },
      h('label', { class: 'field-label', for: 'setting-clipboard' }, 'Clear copied tokens from the clipboard after'),
      delay,
      h('p', { class: 'hint', id: 'setting-clipboard-hint' }, 'Only if the clipboard still holds the token: what you copied since is left alone.'),
    ),
    error,
    h('div', { class: 'dialog-buttons' }, cancel, save),
  );
  const dialog = h(
    'dialog',
    { class: 'dialog', id: 'settings-dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId, class: 'dialog-title' }, 'Settings'),
    form,
  );
  const done = new Promise<void>((resolve) => dialog.addEventListener('close', () => {
    dialog.remove();
    resolve();
  }));
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save.disabled = true;
    const wanted: SettingsForm = {
      refresh_ahead: refresh.input.checked,
      close_to_tray: tray.input.checked,
      start_at_login: login.input.checked,
      clipboard_clear_seconds: Number(delay.value),
    };
    api.saveSettings(wanted).then(
      () => {
        toast('Saved the settings.', 'success');
        dialog.close();
      },
      (e) => {
        error.textContent = toUiError(e).message;
        error.hidden = false;
        save.disabled = false;
      },
    );
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  refresh.input.focus();
  return done;
}
