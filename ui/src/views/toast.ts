// Short confirmations and notices at the bottom of the window, read out by screen readers.

import { h } from '../dom';
import { icon } from '../icons';

export type ToastTone = 'info' | 'success' | 'error';

export function toast(message: string, tone: ToastTone = 'info', ms = 4500): void {
  const host = document.getElementById('toasts');
  if (!host) return;
  const glyph = tone === 'success' ? icon('check') : tone === 'error' ? icon('alert') : icon('key');
  const el = h('div', { class: `toast toast-${tone}` }, glyph, h('span', {}, message));
  host.appendChild(el);
  window.setTimeout(() => {
    el.classList.add('leaving');
    window.setTimeout(() => el.remove(), 250);
  }, ms);
}
