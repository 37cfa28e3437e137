import { describe, expect, it } from 'vitest';
import { linkify, safeHref } from './linkify';

describe('linkify', () => {
  it('turns an https address into a link and keeps the sentence full stop as text', () => {
    expect(linkify('See https://bank.example/help.')).toEqual([
      { kind: 'text', text: 'See ' },
      { kind: 'link', text: 'https://bank.example/help', href: 'https://bank.example/help' },
      { kind: 'text', text: '.' },
    ]);
  });

  it('never makes a link of javascript: or data: addresses', () => {
    expect(linkify('javascript:alert(1) data:text/html,hi')).toEqual([
      { kind: 'text', text: 'javascript:alert(1) data:text/html,hi' },
    ]);
    expect(safeHref('javascript:alert(1)')).toBeNull();
  });

  it('leaves HTML as plain text for React to escape', () => {
    expect(linkify('<img src=x onerror=alert(1)>')).toEqual([{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
  });
});
