// Scopes as the user types them: separated by spaces, commas or new lines.

/** Splits, trims and de-duplicates, keeping the user's order. */
export function parseScopes(text: string): string[] {
  const seen = new Set<string>();
  for (const s of text.split(/[\s,]+/)) {
    if (s !== '') seen.add(s);
  }
  return [...seen];
}

/** The scopes a re-link asks for: what the account has plus what the user adds. */
export function mergeScopes(current: string[], added: string[]): string[] {
  return [...new Set([...current, ...added])];
}

/** `key=value` lines (extra authorization parameters) into an object; reports bad lines. */
export function parseParams(text: string): { params: Record<string, string>; bad: string[] } {
  const params: Record<string, string> = {};
  const bad: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      bad.push(line);
      continue;
    }
    params[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return { params, bad };
}

export function formatParams(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/** A provider id derived from its name: what the redirect path and keyring use. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents split off by NFKD
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}
