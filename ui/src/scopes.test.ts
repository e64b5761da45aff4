import { describe, expect, it } from 'vitest';
import { formatParams, mergeScopes, parseParams, parseScopes, slugify } from './scopes';

describe('parseScopes', () => {
  it('splits on spaces, commas and lines and drops duplicates', () => {
    expect(parseScopes(' openid, email\nprofile  email ')).toEqual(['openid', 'email', 'profile']);
    expect(parseScopes('')).toEqual([]);
  });
});

describe('mergeScopes', () => {
  it('keeps granted scopes first', () => {
    expect(mergeScopes(['openid', 'email'], ['repo', 'email'])).toEqual(['openid', 'email', 'repo']);
  });
});

describe('parseParams', () => {
  it('reads key=value lines and reports the rest', () => {
    expect(parseParams('prompt=consent\n\naccess_type = offline\nnonsense')).toEqual({
      params: { prompt: 'consent', access_type: 'offline' },
      bad: ['nonsense'],
    });
    expect(formatParams({ prompt: 'consent' })).toBe('prompt=consent');
  });
});

describe('slugify', () => {
  it('makes a valid provider id', () => {
    expect(slugify('My Company SSO!')).toBe('my-company-sso');
    expect(slugify('  Ünïcode  ')).toBe('unicode');
  });
});
