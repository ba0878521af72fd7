import { isSameSite, isSchemeUpgrade, normalizeUrl, siteKey } from '../../../activities/web/bounded-fetch';

/** Pure URL rules of the bounded fetcher (what "the same site" means for redirects and crawls). */
describe('bounded fetch URL rules', () => {
  it('treats www and bare hosts as one site, but not other ports or schemes', () => {
    expect(isSameSite('https://www.example.com/a', 'https://example.com/b')).toBe(true);
    expect(isSameSite('https://example.com/', 'https://example.com:8443/')).toBe(false);
    expect(isSameSite('http://example.com/', 'https://example.com/')).toBe(false);
    expect(siteKey('https://WWW.Example.com/x')).toBe('https://example.com:');
  });

  it('accepts an http → https upgrade of the same host on default ports only', () => {
    expect(isSchemeUpgrade('http://example.com/', 'https://www.example.com/home')).toBe(true);
    expect(isSchemeUpgrade('https://example.com/', 'http://example.com/')).toBe(false);
    expect(isSchemeUpgrade('http://example.com/', 'https://evil.example.net/')).toBe(false);
    expect(isSchemeUpgrade('http://example.com:8080/', 'https://example.com/')).toBe(false);
  });

  it('normalises links: absolute, without fragment, http(s) only', () => {
    expect(normalizeUrl('/a/b#top', 'https://example.com/x/')).toBe('https://example.com/a/b');
    expect(normalizeUrl('mailto:a@b.c', 'https://example.com/')).toBeNull();
    expect(normalizeUrl('javascript:alert(1)', 'https://example.com/')).toBeNull();
  });
});
