// API.md's one canonical form of an email address, and the typed form kept for display.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fieldMessage, isFieldError } from '../field-errors.ts';
import { parseEmail, type EmailAddress } from './email-address.ts';

function accepted(input: string): EmailAddress {
  const result = parseEmail(input);
  assert.ok(!isFieldError(result), `expected ${JSON.stringify(input)} to be accepted, got: ${JSON.stringify(result)}`);
  return result;
}

/** The reason, as the JSON API words it. */
function refused(input: string): string {
  const result = parseEmail(input);
  assert.ok(isFieldError(result), `expected ${JSON.stringify(input)} to be refused, got ${JSON.stringify(result)}`);
  return fieldMessage(result);
}

describe('parseEmail canonical form', () => {
  test('surrounding whitespace is trimmed from both forms', () => {
    const address = accepted('  \t alice@example.com \n');
    assert.equal(address.display, 'alice@example.com');
    assert.equal(address.canonical, 'alice@example.com');
  });

  test('the domain is lower-cased', () => {
    assert.equal(accepted('alice@Example.COM').canonical, 'alice@example.com');
  });

  test('an internationalised domain is lower-cased through IDNA: Bob@BÜCHER.example → bob@xn--bcher-kva.example', () => {
    assert.equal(accepted('Bob@BÜCHER.example').canonical, 'bob@xn--bcher-kva.example');
  });

  test('the Unicode and the punycode spelling of a domain have the same canonical form', () => {
    assert.equal(accepted('bob@bücher.example').canonical, accepted('bob@XN--BCHER-KVA.example').canonical);
  });

  test('the ASCII local part is lower-cased', () => {
    assert.equal(accepted('Alice.Smith+Tag@example.com').canonical, 'alice.smith+tag@example.com');
  });

  test('addresses differing only in ASCII case share one canonical form', () => {
    assert.equal(accepted('ALICE@EXAMPLE.COM').canonical, accepted('alice@example.com').canonical);
  });
});

describe('parseEmail display form', () => {
  test('display keeps the address as typed, trimmed, with its case', () => {
    assert.equal(accepted('  Alice.Smith@Example.COM  ').display, 'Alice.Smith@Example.COM');
  });

  test('display keeps a Unicode domain as typed rather than in punycode', () => {
    assert.equal(accepted(' Bob@BÜCHER.example ').display, 'Bob@BÜCHER.example');
  });
});

describe('parseEmail refuses non-ASCII local parts', () => {
  test('a non-ASCII local part is refused', () => {
    refused('jösé@example.com');
  });

  test('a local part with a dotless ı (U+0131) is refused, never folded into i', () => {
    refused('adm\u0131n@example.com');
    // Unicode lower-casing maps ADMıN to admın, and a careless fold would reach admin.
    refused('ADM\u0131N@example.com');
  });

  test('a local part with a long s ſ (U+017F) is refused, never folded into s', () => {
    refused('\u017Fam@example.com');
    refused('ro\u017Fe@example.com');
  });

  test('a local part with a Kelvin sign K (U+212A) is refused, never folded into k', () => {
    // String.prototype.toLowerCase turns U+212A into an ASCII "k".
    assert.equal('\u212A'.toLowerCase(), 'k');
    refused('\u212Aate@example.com');
  });

  test('a local part with a dotted capital İ (U+0130) is refused', () => {
    refused('\u0130nfo@example.com');
  });

  test('a local part in full-width letters is refused', () => {
    refused('\uFF41dmin@example.com');
  });

  test('every refusal is a reason string a client can show', () => {
    assert.match(refused('adm\u0131n@example.com'), /\S/);
  });
});

describe('parseEmail refuses what is not an address', () => {
  test('a string without @ is refused', () => {
    refused('alice.example.com');
  });

  test('an empty local part or domain is refused', () => {
    refused('@example.com');
    refused('alice@');
  });

  test('a domain without a dot is refused', () => {
    refused('alice@localhost');
  });

  test('an address longer than 254 characters is refused', () => {
    refused(`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`);
  });

  test('whitespace inside the address is refused', () => {
    refused('ali ce@example.com');
  });
});

describe('parseEmail refuses control characters anywhere', () => {
  // IDNA drops CR, LF and tab from a domain: "victim@exa\r\nmple.com" would
  // canonicalise to victim@example.com while Nodemailer sent it to "victim@exa".
  test('CR, LF or tab inside the domain is refused, not dropped', () => {
    refused('victim@exa\r\nmple.com');
    refused('victim@exa\tmple.com');
    refused('victim@example.com\r\nBcc: other@example.com');
  });

  test('NUL, DEL and C1 controls are refused', () => {
    refused('victim@exa\u0000mple.com');
    refused('victim@exa\u007fmple.com');
    refused('victim@exa\u0085mple.com');
  });
});
