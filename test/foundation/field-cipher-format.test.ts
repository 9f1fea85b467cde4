import { describe, expect, it } from 'vitest';
import { createFieldCipher } from '../../src/shared/crypto.js';

describe('field cipher format', () => {
  const cipher = createFieldCipher(Buffer.alloc(32, 1));

  it('decrypts values sealed by the earlier encrypt', () => {
    // Sealed with this key by the version that copied each IV and concatenated final().
    expect(cipher.decrypt('v1:ke-8waIE73yCdKDW:H3X7GWfgUeP02EjOx2E5P_M5:gClA_yJ77jH1VGYtC1zPNA')).toBe('110101199003078670');
    expect(cipher.decrypt('v1:hFqz2CrKLrs0vAi7:VY2-r1fdt7LuqdKf-5PZQMGu:YL2D9UVS6gc9caR0c31fFA')).toBe('手机 13800000000');
  });

  it('keeps the keyed hash stable', () => {
    expect(cipher.hash('110101199003078670')).toBe('b6a4c032ddafa8ee5a04de373c4c7bbfa0f4b40f87bfeacadd4d6aff5dac0c33');
  });

  it('uses a new IV for every value across pool refills', () => {
    const values = Array.from({ length: 1000 }, (_, i) => `value ${i}`);
    const sealed = values.map((value) => cipher.encrypt(value));

    const ivs = new Set(sealed.map((text) => text.split(':')[1]));
    expect(ivs.size).toBe(values.length);
    expect(sealed.map((text) => cipher.decrypt(text))).toEqual(values);
  });

  it('writes version, IV, body and tag', () => {
    const [version, iv, body, tag] = cipher.encrypt('').split(':');
    expect(version).toBe('v1');
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(body).toBe('');
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
  });
});
