// Short confirmations and notices at the bottom of the window, read out by screen readers.

import { h } from '../dom';
import { icon } from '../icons';

export type ToastTone = 'info' | 'success' | 'error';

/** Notices shown under a key: a new one with the same key replaces the text of the one showing. */
const keyed = new Map<string, { text: HTMLElement; timer: number; gone?: () => void }>();

/**
 * Shows `message` for `ms`. With a `key`, a notice with that key already showing is updated
 * in place and shown for `ms` again, so a flood of the same notice is one element; `gone` runs
 * when it finally leaves.
 */
export function toast(message: string, tone: ToastTone = 'info', ms = 4500, key?: string, gone?: () => void): void {
  const host = document.getElementById('toasts');
  if (!host) return;
  const live = key ? keyed.get(key) : undefined;
  if (live) {
    live.text.textContent = message;
    live.gone = gone;
    window.clearTimeout(live.timer);
    live.timer = leaveLater(live.text.parentElement as HTMLElement, ms, key);
    return;
  }
  const glyph = tone === 'success' ? icon('check') : tone === 'error' ? icon('alert') : icon('key');
  const text = h('span', {}, message);
  const el = h('div', { class: `toast toast-${tone}` }, glyph, text);
  host.appendChild(el);
  const timer = leaveLater(el, ms, key);
  if (key) keyed.set(key, { text, timer, gone });
}

function leaveLater(el: HTMLElement, ms: number, key?: string): number {
  return window.setTimeout(() => {
    const entry = key ? keyed.get(key) : undefined;
    if (key) keyed.delete(key);
    el.classList.add('leaving');
    window.setTimeout(() => el.remove(), 250);
    entry?.gone?.();
  }, ms);
}
