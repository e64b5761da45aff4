// The settings panel's choices, decided without the DOM.

/** The clipboard delays offered, in seconds (0: until replaced), with the saved one among them. */
export function clipboardChoices(saved: number): { seconds: number; label: string }[] {
  const offered = [10, 30, 60, 120, 300, 0];
  const all = offered.includes(saved) ? offered : [...offered.slice(0, -1), saved, 0].sort(byDelay);
  return all.map((seconds) => ({ seconds, label: delayLabel(seconds) }));
}

/** "30 seconds", "2 minutes", "Never (until replaced)". */
export function delayLabel(seconds: number): string {
  if (seconds === 0) return 'Never (until something else is copied)';
  if (seconds % 60 === 0) return seconds === 60 ? '1 minute' : `${seconds / 60} minutes`;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/** Never clearing comes last; the rest by length. */
function byDelay(a: number, b: number): number {
  return (a === 0 ? Infinity : a) - (b === 0 ? Infinity : b);
}
