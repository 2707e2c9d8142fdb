import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLocale, matchLocale, negotiateLocale } from './locale.ts';

describe('negotiateLocale', () => {
  test('picks the supported language with the highest q-value', () => {
    assert.equal(negotiateLocale('de-DE,de;q=0.9,ru;q=0.8,en;q=0.7'), 'ru');
    assert.equal(negotiateLocale('en;q=0.5,zh-CN;q=0.9'), 'zh-CN');
  });

  test('keeps the header order between equal q-values', () => {
    assert.equal(negotiateLocale('ru,en'), 'ru');
    assert.equal(negotiateLocale('en,ru'), 'en');
  });

  test('maps every Chinese tag to Simplified Chinese and every Russian or English variant to its language', () => {
    for (const tag of ['zh', 'zh-CN', 'zh-Hans', 'zh-Hans-CN', 'zh-TW', 'ZH-cn']) assert.equal(negotiateLocale(tag), 'zh-CN', tag);
    assert.equal(negotiateLocale('ru-RU'), 'ru');
    assert.equal(negotiateLocale('en-GB'), 'en');
  });

  test('has no answer for unsupported languages, q=0, a missing header or garbage', () => {
    for (const header of [undefined, '', 'fr-FR,de;q=0.8', 'ru;q=0', '*', ';;;,,,q=x']) assert.equal(negotiateLocale(header), undefined, String(header));
  });
});

describe('matchLocale and isLocale', () => {
  test('a ?lang= value is matched loosely, a stored locale exactly', () => {
    assert.equal(matchLocale('zh-cn'), 'zh-CN');
    assert.equal(matchLocale('RU'), 'ru');
    assert.equal(matchLocale('fr'), undefined);
    assert.equal(isLocale('zh-CN'), true);
    assert.equal(isLocale('zh-cn'), false);
    assert.equal(isLocale(undefined), false);
  });
});
