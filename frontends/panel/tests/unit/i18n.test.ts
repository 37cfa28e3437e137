import { describe, expect, it } from 'vitest';
import { CATALOGUES, LANGUAGES, translate } from '../../src/i18n';
import { en } from '../../src/i18n/en';
import { es } from '../../src/i18n/es';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the panel catalogues', () => {
  it('have exactly the same keys in English and Spanish', () => {
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
  });

  it('have a non-empty text for every key in every language', () => {
    for (const language of LANGUAGES) {
      for (const [key, text] of Object.entries(CATALOGUES[language])) {
        expect(text.trim(), `${language} ${key}`).not.toBe('');
      }
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(es[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('fill placeholders and leave unknown ones visible', () => {
    expect(translate('es', 'ticket.typing', { name: 'Ana' })).toBe('Ana está escribiendo…');
    expect(translate('en', 'ticket.typing')).toBe('{name} is typing…');
  });
});
