// API.md, Email: a link message "says what to do if the reader did not ask for
// it" — in the HTML part too (a reader of the HTML part never sees the text
// part), in each language. The sentences are written here, not read from the
// templates: a template that lost its sentence, or kept an English one in a
// translation, fails.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkTo, requestEmailChange, strongPassword, uniqueEmail } from './support/accounts.ts';
import { visibleText } from './support/forms.ts';
import { startServer, type TestServer } from './support/latchkey.ts';
import { tokenFromLink, type ReceivedMail } from './support/smtp-sink.ts';

type Sentences = { confirm: string; reset: string; emailChange: string };

const expected: Record<'en' | 'zh-CN' | 'ru', Sentences> = {
  en: {
    confirm: 'If you did not create an account, ignore this message: without confirmation the account stays inactive.',
    reset: 'If you did not ask for this, ignore this message: your password stays as it is.',
    emailChange: 'If you did not ask for this, ignore this message and nothing will change.',
  },
  'zh-CN': {
    confirm: '如果您没有注册账户，请忽略此邮件：未经确认，该账户不会启用。',
    reset: '如果这不是您本人的请求，请忽略此邮件：您的密码不会改变。',
    emailChange: '如果这不是您本人的请求，请忽略此邮件，不会有任何改变。',
  },
  ru: {
    confirm: 'Если вы не создавали учётную запись, просто проигнорируйте это письмо: без подтверждения она останется неактивной.',
    reset: 'Если вы ничего не запрашивали, проигнорируйте это письмо: ваш пароль останется прежним.',
    emailChange: 'Если вы этого не запрашивали, проигнорируйте письмо, и ничего не изменится.',
  },
};

function assertSays(mail: ReceivedMail, sentence: string, what: string): void {
  assert.ok(visibleText(mail.html).includes(sentence), `the HTML part of the ${what} mail says "${sentence}":\n${visibleText(mail.html)}`);
  assert.ok(mail.text.replace(/\s+/g, ' ').includes(sentence), `the text part of the ${what} mail says "${sentence}":\n${mail.text}`);
}

describe('every link mail says, in its HTML part, what to do if the reader did not ask for it', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer('sqlite');
  });
  after(() => server?.stop());

  for (const [locale, sentences] of Object.entries(expected)) {
    test(`in ${locale}: confirmation, reset link and email-change confirmation`, async () => {
      const email = uniqueEmail(`disclaimer-${locale}`);
      const password = strongPassword();
      // The account's language comes from the sign-up's Accept-Language and stays with the account.
      const signedUp = await server.request('POST', '/api/users', { body: { email, password }, headers: { 'accept-language': locale } });
      assert.equal(signedUp.status, 202, signedUp.text);
      const confirmMail = await server.smtp.waitForMailTo(email);
      assertSays(confirmMail, sentences.confirm, 'confirmation');
      const confirmed = await server.request('POST', '/api/confirm', { body: { token: tokenFromLink(linkTo(confirmMail, '/confirm')) } });
      assert.equal(confirmed.status, 200, confirmed.text);

      assert.equal((await server.request('POST', '/api/reset-password-request', { body: { email } })).status, 202);
      assertSays(await server.smtp.waitForMailTo(email, 1), sentences.reset, 'reset');

      const session = await server.request('POST', '/api/sessions', { body: { email, password } });
      assert.equal(session.status, 201, session.text);
      const newEmail = uniqueEmail(`disclaimer-${locale}-new`);
      await requestEmailChange(server, session.json.token as string, newEmail, password);
      assertSays(server.smtp.to(newEmail)[0]!, sentences.emailChange, 'email-change confirmation');
    });
  }
});
