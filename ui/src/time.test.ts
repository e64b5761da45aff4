import { describe, expect, it } from 'vitest';
import { countdown, expiryText, formatSpan, freshness } from './time';

const now = new Date('2026-01-01T12:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();

describe('expiryText', () => {
  it('says when a token expires', () => {
    expect(expiryText(at(42 * 60 + 10), now)).toBe('expires in 42 min');
    expect(expiryText(at(30), now)).toBe('expires in 30 s');
    expect(expiryText(at(3600 + 20 * 60), now)).toBe('expires in 1 h 20 min');
    expect(expiryText(at(3600), now)).toBe('expires in 1 h');
    expect(expiryText(at(20 * 3600), now)).toBe('expires in 20 h');
    expect(expiryText(at(5 * 86400 + 5), now)).toBe('expires in 5 days');
  });

  it('says how long ago a token expired', () => {
    expect(expiryText(at(-3 * 60), now)).toBe('expired 3 min ago');
    expect(expiryText(at(-5), now)).toBe('expired just now');
    expect(expiryText(at(-2 * 86400), now)).toBe('expired 2 days ago');
  });

  it('handles tokens without expiry and bad input', () => {
    expect(expiryText(null, now)).toBe('does not expire');
    expect(expiryText('not a date', now)).toBe('expiry unknown');
  });
});

describe('formatSpan', () => {
  it('never goes negative', () => {
    expect(formatSpan(-5)).toBe('0 s');
  });
});

describe('freshness', () => {
  it('grades the expiry', () => {
    expect(freshness(null, now)).toBe('forever');
    expect(freshness(at(3600), now)).toBe('fresh');
    expect(freshness(at(120), now)).toBe('expiring');
    expect(freshness(at(-1), now)).toBe('expired');
  });
});

describe('countdown', () => {
  it('counts down as a clock and stops at zero', () => {
    expect(countdown(at(14 * 60 + 5), now)).toBe('14:05');
    expect(countdown(at(9.7), now)).toBe('0:09');
    expect(countdown(at(3600 + 62), now)).toBe('1:01:02');
    expect(countdown(at(0), now)).toBe('0:00');
    expect(countdown(at(-30), now)).toBe('0:00');
    expect(countdown('not a date', now)).toBe('–:––');
  });
});
