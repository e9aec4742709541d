// The shared outbound signature: the exact header format receivers check, and the checks a receiver makes.
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from '../src/signing.ts';

const BODY = '{"a":1}';
const T = 1_767_225_600;

describe('signatureHeader', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 as t=…,v1=… (the value openssl dgst -sha256 -hmac gives)', () => {
    expect(signatureHeader('shh', BODY, T)).toBe('t=1767225600,v1=9a754c9bab3a96f5271a68a71e0cdc3456a805470548cf7823866d64387db8b9');
  });

  it('uses whole seconds', () => {
    expect(signatureHeader('shh', BODY, T + 0.9)).toBe(signatureHeader('shh', BODY, T));
  });
});

describe('verifySignature', () => {
  const header = signatureHeader('shh', BODY, T);
  it('accepts its own signature within five minutes either way', () => {
    expect(verifySignature('shh', BODY, header, T + 300)).toBe(true);
    expect(verifySignature('shh', BODY, header, T - 300)).toBe(true);
  });

  it('refuses a replay older than five minutes, another body, another key, and a malformed or missing header', () => {
    expect(verifySignature('shh', BODY, header, T + 301)).toBe(false);
    expect(verifySignature('shh', '{"a":2}', header, T)).toBe(false);
    expect(verifySignature('other', BODY, header, T)).toBe(false);
    expect(verifySignature('shh', BODY, header.replace(/^t=\d+/, `t=${T + 60}`), T)).toBe(false);
    expect(verifySignature('shh', BODY, 'sha256=abc', T)).toBe(false);
    expect(verifySignature('shh', BODY, undefined, T)).toBe(false);
  });
});
