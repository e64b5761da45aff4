import { describe, expect, it } from 'vitest';
import { ignoredNotice } from './notices';

describe('ignored callbacks', () => {
  it('says one response plainly and counts the rest', () => {
    expect(ignoredNotice(1, 'Refused a callback.')).toBe('Ignored a sign-in response: Refused a callback.');
    expect(ignoredNotice(7, 'Refused a callback.')).toBe('Ignored 7 sign-in responses. The latest: Refused a callback.');
  });
});
