// Token expiry as a short, live, relative phrase ("expires in 42 min").

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "42 s", "42 min", "3 h", "1 h 20 min", "5 days". */
export function formatSpan(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < MINUTE) return `${s} s`;
  if (s < HOUR) return `${Math.floor(s / MINUTE)} min`;
  if (s < 10 * HOUR) {
    const h = Math.floor(s / HOUR);
    const m = Math.floor((s % HOUR) / MINUTE);
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  if (s < 2 * DAY) return `${Math.floor(s / HOUR)} h`;
  const d = Math.floor(s / DAY);
  return `${d} days`;
}

/** The expiry phrase shown in an account row. `expiresAt` null: the token never expires. */
export function expiryText(expiresAt: string | null, now: Date): string {
  if (expiresAt === null) return 'does not expire';
  const seconds = (Date.parse(expiresAt) - now.getTime()) / 1000;
  if (Number.isNaN(seconds)) return 'expiry unknown';
  if (seconds > 0) return seconds < 1 ? 'expires now' : `expires in ${formatSpan(seconds)}`;
  if (seconds > -10) return 'expired just now';
  return `expired ${formatSpan(-seconds)} ago`;
}

export type Freshness = 'fresh' | 'expiring' | 'expired' | 'forever';

/** How urgent the expiry looks: colours the phrase. */
export function freshness(expiresAt: string | null, now: Date): Freshness {
  if (expiresAt === null) return 'forever';
  const seconds = (Date.parse(expiresAt) - now.getTime()) / 1000;
  if (seconds <= 0) return 'expired';
  if (seconds < 5 * MINUTE) return 'expiring';
  return 'fresh';
}

/** A countdown as a clock: "14:05", "0:09"; "1:02:03" past an hour; never below "0:00". */
export function countdown(expiresAt: string, now: Date): string {
  const left = Math.max(0, Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000));
  if (Number.isNaN(left)) return '–:––';
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(left / HOUR);
  const m = Math.floor((left % HOUR) / MINUTE);
  const s = left % MINUTE;
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}
