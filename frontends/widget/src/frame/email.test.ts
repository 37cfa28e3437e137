import { describe, expect, it } from 'vitest';
import { holdsCardNumber, looksLikeEmail } from './email';

describe('the optional email address', () => {
  it('accepts ordinary addresses', () => {
    for (const ok of ['ana@example.com', 'ana.lopez+chat@banco.es', 'a@b.co', 'ñandú@correo.es']) {
      expect(looksLikeEmail(ok), ok).toBe(true);
    }
  });

  it('refuses what is not one address', () => {
    for (const bad of ['', 'ana', 'ana@', '@example.com', 'ana@example', 'ana@example.', 'an a@example.com', 'ana@@example.com', 'ana@ex ample.com', '<ana@example.com>', 'ana@example.com, bob@example.com', 'a'.repeat(250) + '@example.com']) {
      expect(looksLikeEmail(bad), bad).toBe(false);
    }
  });

  it('spots a card number however it is written inside the field', () => {
    const card = '4111111111111111';
    const separators = ['', ' ', '-', '  ', ' - '];
    for (const sep of separators) {
      const written = card.match(/.{4}/g)!.join(sep);
      for (const shape of [written, `${written}@example.com`, `ana+${written}@example.com`, `ana@${written}.com`]) {
        expect(holdsCardNumber(shape), shape).toBe(true);
      }
    }
    // 13 to 19 digits are card-number lengths; shorter runs (a year, a phone extension) are not.
    expect(holdsCardNumber('ana1990@example.com')).toBe(false);
    expect(holdsCardNumber('ana123456789012@example.com')).toBe(false);
    expect(holdsCardNumber('ana1234567890123@example.com')).toBe(true);
  });
});
