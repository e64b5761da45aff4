// Inline SVG icons, built as DOM nodes from static path data.

const NS = 'http://www.w3.org/2000/svg';

function svg(viewBox: string, paths: { d: string; fill?: string }[], cls = 'icon'): SVGSVGElement {
  const el = document.createElementNS(NS, 'svg');
  el.setAttribute('viewBox', viewBox);
  el.setAttribute('class', cls);
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('focusable', 'false');
  for (const p of paths) {
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', p.d);
    path.setAttribute('fill', p.fill ?? 'currentColor');
    el.appendChild(path);
  }
  return el;
}

// 20x20 line icons drawn as filled outlines so `currentColor` themes them.
const GLYPHS = {
  copy: 'M7 2h8a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-1v-1.6h1a.4.4 0 0 0 .4-.4V4a.4.4 0 0 0-.4-.4H7a.4.4 0 0 0-.4.4v1H5V4a2 2 0 0 1 2-2zM4 6h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2zm0 1.6a.4.4 0 0 0-.4.4v8c0 .2.2.4.4.4h8a.4.4 0 0 0 .4-.4V8a.4.4 0 0 0-.4-.4z',
  check: 'M16.7 5.3a1 1 0 0 1 0 1.4l-8 8a1 1 0 0 1-1.4 0l-4-4a1 1 0 1 1 1.4-1.4L8 12.6l7.3-7.3a1 1 0 0 1 1.4 0z',
  refresh: 'M10 3a7 7 0 0 1 6.3 4H14a.8.8 0 0 0 0 1.6h4a.8.8 0 0 0 .8-.8V3.8a.8.8 0 0 0-1.6 0v1.6A8.6 8.6 0 0 0 1.4 9.2a.8.8 0 0 0 1.6.2A7 7 0 0 1 10 3zm8 7.1a.8.8 0 0 0-.9.7 7 7 0 0 1-13.4 2.6H6a.8.8 0 0 0 0-1.6H2a.8.8 0 0 0-.8.8v4a.8.8 0 0 0 1.6 0v-1.6a8.6 8.6 0 0 0 15.9-4 .8.8 0 0 0-.7-.9z',
  plus: 'M10 3a.9.9 0 0 1 .9.9v5.2h5.2a.9.9 0 0 1 0 1.8h-5.2v5.2a.9.9 0 0 1-1.8 0v-5.2H3.9a.9.9 0 0 1 0-1.8h5.2V3.9A.9.9 0 0 1 10 3z',
  trash: 'M8 2h4a1.5 1.5 0 0 1 1.5 1.5V4H17a.8.8 0 0 1 0 1.6h-.8l-.8 10.6A2 2 0 0 1 13.4 18H6.6a2 2 0 0 1-2-1.8L3.8 5.6H3A.8.8 0 0 1 3 4h3.5v-.5A1.5 1.5 0 0 1 8 2zm-2.6 3.6.8 10.5c0 .2.2.3.4.3h6.8c.2 0 .4-.1.4-.3l.8-10.5zM8 7.5a.8.8 0 0 1 .8.8v5.4a.8.8 0 0 1-1.6 0V8.3A.8.8 0 0 1 8 7.5zm4 0a.8.8 0 0 1 .8.8v5.4a.8.8 0 0 1-1.6 0V8.3a.8.8 0 0 1 .8-.8z',
  gear: 'M8.6 1.5h2.8l.5 2.2 1.4.8 2.1-.7 1.4 2.4-1.6 1.5v1.6l1.6 1.5-1.4 2.4-2.1-.7-1.4.8-.5 2.2H8.6l-.5-2.2-1.4-.8-2.1.7-1.4-2.4 1.6-1.5V8.2L3.2 6.7l1.4-2.4 2.1.7 1.4-.8zM10 7a3 3 0 1 0 0 6 3 3 0 0 0 0-6zm0 1.6a1.4 1.4 0 1 1 0 2.8 1.4 1.4 0 0 1 0-2.8z',
  sliders: 'M3 5.2h7.2a2.4 2.4 0 0 1 4.6 0H17a.8.8 0 0 1 0 1.6h-2.2a2.4 2.4 0 0 1-4.6 0H3a.8.8 0 0 1 0-1.6zm9.5-.6a1.4 1.4 0 1 0 0 2.8 1.4 1.4 0 0 0 0-2.8zM3 13.2h2.2a2.4 2.4 0 0 1 4.6 0H17a.8.8 0 0 1 0 1.6H9.8a2.4 2.4 0 0 1-4.6 0H3a.8.8 0 0 1 0-1.6zm4.5-.6a1.4 1.4 0 1 0 0 2.8 1.4 1.4 0 0 0 0-2.8z',
  key: 'M13 2a5 5 0 1 1-1.7 9.7l-1.4 1.4H8.5v1.4H7.1v1.4H5.7L4.3 17.3H2v-2.3l6.3-6.3A5 5 0 0 1 13 2zm1 2.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z',
  alert: 'M10 2.2a1.6 1.6 0 0 1 1.4.8l6.6 11.6a1.6 1.6 0 0 1-1.4 2.4H3.4A1.6 1.6 0 0 1 2 14.6L8.6 3a1.6 1.6 0 0 1 1.4-.8zm0 4.3a.9.9 0 0 0-.9.9v3.8a.9.9 0 0 0 1.8 0V7.4a.9.9 0 0 0-.9-.9zm0 6.8a1 1 0 1 0 0 2 1 1 0 0 0 0-2z',
  browser: 'M3 3h14a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm-.4 4.6V15c0 .2.2.4.4.4h14c.2 0 .4-.2.4-.4V7.6zM4 4.6a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6zm2.4 0a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6z',
  back: 'M12.7 4.3a1 1 0 0 1 0 1.4L8.4 10l4.3 4.3a1 1 0 0 1-1.4 1.4l-5-5a1 1 0 0 1 0-1.4l5-5a1 1 0 0 1 1.4 0z',
  close: 'M5.3 5.3a1 1 0 0 1 1.4 0L10 8.6l3.3-3.3a1 1 0 1 1 1.4 1.4L11.4 10l3.3 3.3a1 1 0 0 1-1.4 1.4L10 11.4l-3.3 3.3a1 1 0 0 1-1.4-1.4L8.6 10 5.3 6.7a1 1 0 0 1 0-1.4z',
} as const;

export type Glyph = keyof typeof GLYPHS;

export function icon(name: Glyph): SVGSVGElement {
  return svg('0 0 20 20', [{ d: GLYPHS[name] }]);
}

const GITHUB =
  'M12 .5a12 12 0 0 0-3.8 23.4c.6.1.8-.3.8-.6v-2.1c-3.3.7-4-1.6-4-1.6-.6-1.4-1.4-1.8-1.4-1.8-1-.7.1-.7.1-.7 1.2.1 1.8 1.2 1.8 1.2 1 1.8 2.8 1.3 3.5 1 .1-.8.4-1.3.7-1.6-2.7-.3-5.5-1.3-5.5-6 0-1.2.5-2.3 1.2-3.1-.1-.4-.5-1.6.1-3.2 0 0 1-.3 3.3 1.2a11.5 11.5 0 0 1 6 0C17.3 4.6 18.3 5 18.3 5c.6 1.6.2 2.8.1 3.2.8.8 1.2 1.9 1.2 3.1 0 4.6-2.8 5.6-5.5 5.9.4.4.8 1.1.8 2.2v3.3c0 .3.2.7.8.6A12 12 0 0 0 12 .5z';
const GOOGLE = [
  { d: 'M23.5 12.3c0-.8-.1-1.6-.2-2.3H12v4.5h6.5a5.6 5.6 0 0 1-2.4 3.6v3h3.9c2.2-2.1 3.5-5.1 3.5-8.8z', fill: '#4285F4' },
  { d: 'M12 24c3.2 0 6-1.1 8-2.9l-3.9-3c-1.1.7-2.5 1.2-4.1 1.2-3.1 0-5.8-2.1-6.7-5H1.3v3.1A12 12 0 0 0 12 24z', fill: '#34A853' },
  { d: 'M5.3 14.3a7.2 7.2 0 0 1 0-4.6V6.6h-4a12 12 0 0 0 0 10.8z', fill: '#FBBC05' },
  { d: 'M12 4.8c1.8 0 3.3.6 4.6 1.8l3.4-3.4A12 12 0 0 0 1.3 6.6l4 3.1c.9-2.9 3.6-4.9 6.7-4.9z', fill: '#EA4335' },
];

/** Which well-known provider an issuer belongs to, for its logo. */
export function brandOf(issuer: string): 'github' | 'google' | null {
  let host: string;
  try {
    host = new URL(issuer).hostname;
  } catch {
    return null;
  }
  if (host === 'github.com' || host.endsWith('.github.com')) return 'github';
  if (host === 'accounts.google.com' || host.endsWith('.google.com')) return 'google';
  return null;
}

/** A provider's logo, or a monogram tile coloured from its id. */
export function providerIcon(name: string, issuer: string, id: string, flavor?: string): Element {
  const brand = flavor === 'github' || flavor === 'google' ? flavor : brandOf(issuer);
  if (brand === 'github') return wrap(svg('0 0 24 24', [{ d: GITHUB }], 'brand brand-github'));
  if (brand === 'google') return wrap(svg('0 0 24 24', GOOGLE, 'brand'));
  const tile = document.createElement('span');
  tile.className = `monogram hue-${hueIndex(id)}`;
  tile.textContent = (name.trim()[0] ?? '?').toUpperCase();
  tile.setAttribute('aria-hidden', 'true');
  return tile;
}

function wrap(el: SVGSVGElement): Element {
  const tile = document.createElement('span');
  tile.className = 'logo';
  tile.appendChild(el);
  return tile;
}

/** A stable colour slot (0-5) per provider id. */
export function hueIndex(id: string): number {
  let sum = 0;
  for (const c of id) sum = (sum * 31 + c.charCodeAt(0)) >>> 0;
  return sum % 6;
}
