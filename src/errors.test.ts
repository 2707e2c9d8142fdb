// The error vocabulary kept in agreement, as Fastify's errors test does: the
// problem codes of errors.ts against API.md's table, and every problem code
// and field-error code against every language of the pages. A code added to a
// catalog without its translation, or its row in API.md, fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { problems } from './errors.ts';
import { fieldErrors } from './field-errors.ts';
import { builtInPagesDir, type Strings } from './http/pages/render.ts';
import { locales } from './locale.ts';

const apiMd = readFileSync(new URL('../docs/API.md', import.meta.url), 'utf8');
const strings = Object.fromEntries(locales.map((locale) => [locale, JSON.parse(readFileSync(join(builtInPagesDir, 'strings', `${locale}.json`), 'utf8')) as Strings]));

// API.md codes whose feature is not built yet; each leaves this list when its issue lands.
const notBuiltYet: string[] = [];
// Field errors only a page gives: its two password boxes differ; the current password is wrong.
const pageOnlyFieldErrors = ['mismatch', 'wrong_password'];

/** The rows of API.md's problem-code table: code → status. */
function apiTable(): Map<string, number> {
  const rows = [...apiMd.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)];
  return new Map(rows.map(([, code, status]) => [code!, Number(status)]));
}

function lookup(tree: Strings, key: string): string | Strings | undefined {
  let node: string | Strings | undefined = tree;
  for (const part of key.split('.')) node = typeof node === 'object' ? node[part] : undefined;
  return node;
}

function leaves(tree: Strings, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => (typeof value === 'string' ? [`${prefix}${key}`] : leaves(value, `${prefix}${key}.`)));
}

const placeholders = (text: string) => new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));

describe('problem codes', () => {
  test('every problem code is a row of API.md with the same status, and every row is a code', () => {
    const table = apiTable();
    assert.ok(table.size >= 15, 'API.md problem-code table found');
    for (const [code, { status }] of Object.entries(problems)) assert.equal(table.get(code), status, `API.md row for ${code}`);
    const undocumented = [...table.keys()].filter((code) => !(code in problems) && !notBuiltYet.includes(code));
    assert.deepEqual(undocumented, [], 'API.md codes missing from src/errors.ts');
  });

  for (const locale of locales) {
    test(`every problem code has an error page title and detail in ${locale}`, () => {
      for (const code of Object.keys(problems)) {
        for (const part of ['title', 'detail']) {
          const text = lookup(strings[locale]!, `errors.${code}.${part}`);
          assert.ok(typeof text === 'string' && text.trim() !== '', `${locale}: errors.${code}.${part}`);
        }
      }
    });
  }
});

describe('field-error codes', () => {
  for (const locale of locales) {
    test(`${locale} words every field-error code, with no placeholder its English template lacks`, () => {
      const section = lookup(strings[locale]!, 'field_errors');
      assert.ok(typeof section === 'object', `${locale}: field_errors`);
      assert.deepEqual(Object.keys(section).sort(), [...Object.keys(fieldErrors), ...pageOnlyFieldErrors].sort(), `${locale}: field_errors keys`);
      for (const [code, template] of Object.entries(fieldErrors)) {
        const text = section[code];
        assert.ok(typeof text === 'string' && text.trim() !== '', `${locale}: field_errors.${code}`);
        const allowed = placeholders(template);
        for (const name of placeholders(text)) assert.ok(allowed.has(name), `${locale}: field_errors.${code} uses {${name}}, which "${template}" does not fill in`);
      }
    });
  }
});

describe('page strings', () => {
  for (const locale of locales.filter((l) => l !== 'en')) {
    test(`${locale} has every string English has`, () => {
      const missing = leaves(strings.en!).filter((key) => typeof lookup(strings[locale]!, key) !== 'string');
      assert.deepEqual(missing, []);
    });
  }
});
