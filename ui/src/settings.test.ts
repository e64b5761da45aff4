import { describe, expect, it } from 'vitest';
import { clipboardChoices, delayLabel } from './settings';

describe('settings', () => {
  it('offers the usual delays, never last', () => {
    expect(clipboardChoices(30).map((c) => c.seconds)).toEqual([10, 30, 60, 120, 300, 0]);
  });

  it('keeps a saved delay that is not among them, in order', () => {
    expect(clipboardChoices(6).map((c) => c.seconds)).toEqual([6, 10, 30, 60, 120, 300, 0]);
    expect(clipboardChoices(900).map((c) => c.seconds)).toEqual([10, 30, 60, 120, 300, 900, 0]);
  });

  it('names delays in words', () => {
    expect(delayLabel(1)).toBe('1 second');
    expect(delayLabel(45)).toBe('45 seconds');
    expect(delayLabel(60)).toBe('1 minute');
    expect(delayLabel(300)).toBe('5 minutes');
    expect(delayLabel(0)).toMatch(/^Never/);
  });
});
