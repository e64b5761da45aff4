// The provider form's "Refresh ahead" choice: the per-provider keeper setting of
// providers.toml (`refresh_ahead = "off"` or a lead such as "5m"; absent: the default rule).
// The words about the default rule describe crates/keyfob-core/src/keeper/schedule.rs: keep
// them in step with it.

/** The choice that leaves the setting out of providers.toml. */
export const DEFAULT_CHOICE = 'default';

const STANDARD: [string, string][] = [
  [DEFAULT_CHOICE, 'Default (1–10 min before)'],
  ['off', 'Off: refresh only when a token is asked for'],
  ['1m', '1 min before expiry'],
  ['5m', '5 min before expiry'],
  ['10m', '10 min before expiry'],
  ['30m', '30 min before expiry'],
];

/** What the form explains under the choice. */
export const REFRESH_AHEAD_HINT =
  'When Keyfob refreshes this provider’s tokens in the background, so a copy never waits. The default: when a tenth of a token’s life is left. Never before half its life. Settings can turn it off for every provider.';

/** The options for a provider whose setting is `current`; a lead set from the command line
 * that is not among the standard ones (say "90s") is offered too, so saving keeps it. */
export function refreshAheadChoices(current: string | undefined): [string, string][] {
  const value = current ?? DEFAULT_CHOICE;
  if (STANDARD.some(([v]) => v === value)) return STANDARD;
  return [...STANDARD, [value, `${value} before expiry`]];
}

/** The provider's setting for the option chosen: `undefined` for the default. */
export function refreshAheadValue(choice: string): string | undefined {
  return choice === DEFAULT_CHOICE ? undefined : choice;
}
