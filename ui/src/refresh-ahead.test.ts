import { describe, expect, it } from 'vitest';
import { DEFAULT_CHOICE, refreshAheadChoices, refreshAheadValue } from './refresh-ahead';

describe('refresh ahead', () => {
  it('offers the standard leads, and keeps one set elsewhere', () => {
    const standard = refreshAheadChoices(undefined).map(([v]) => v);
    expect(standard).toEqual([DEFAULT_CHOICE, 'off', '1m', '5m', '10m', '30m']);
    expect(refreshAheadChoices('5m').map(([v]) => v)).toEqual(standard);
    const custom = refreshAheadChoices('90s');
    expect(custom.map(([v]) => v)).toEqual([...standard, '90s']);
    expect(custom[custom.length - 1][1]).toBe('90s before expiry');
  });

  it('leaves the default out of the provider', () => {
    expect(refreshAheadValue(DEFAULT_CHOICE)).toBeUndefined();
    expect(refreshAheadValue('off')).toBe('off');
    expect(refreshAheadValue('5m')).toBe('5m');
  });
});
