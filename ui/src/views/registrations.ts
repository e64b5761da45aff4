// The redirect URIs a setup form tells the user to register. The list comes from the core
// (`redirect_registrations`), so the window, the CLI and the stored provider agree; this
// module only asks for it and shows it.

import { api, toUiError } from '../api';
import { clear, h } from '../dom';
import { registrationNote } from '../presets';
import type { RegistrationQuery } from '../types';

/** A list that shows the core's answer for the form's latest choices. */
export function registrationList(id: string): { el: HTMLElement; show: (query: RegistrationQuery) => void } {
  const el = h('div', { class: 'callback-list', id, 'aria-live': 'polite' });
  // Answers may come back out of order while the user types: only the latest question's
  // answer is shown.
  let asked = 0;
  const show = (query: RegistrationQuery) => {
    const mine = ++asked;
    el.setAttribute('aria-busy', 'true');
    api.redirectRegistrations(query).then(
      (registrations) => {
        if (mine !== asked) return;
        clear(el);
        for (const r of registrations) {
          el.append(h('code', { class: 'redirect-uri' }, r.uri), h('span', { class: 'port-note' }, registrationNote(r)));
        }
        el.removeAttribute('aria-busy');
      },
      (e) => {
        if (mine !== asked) return;
        clear(el);
        el.append(h('span', { class: 'port-note' }, toUiError(e).message));
        el.removeAttribute('aria-busy');
      },
    );
  };
  return { el, show };
}
