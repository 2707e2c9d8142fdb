// /account: who you are, change password, change email, log out. Every form
// here needs the session cookie; without one the visitor is sent to log in
// and brought back.
import { clientOf } from '../../shared/client.ts';
import type { FastifyInstance } from 'fastify';
import { updateEmail } from '../../../flows/update-email.ts';
import { updatePassword } from '../../../flows/update-password.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { activityValues } from './account-activity.ts';
import type { Page, Pages } from '../context.ts';
import { formField, samePassword } from '../forms.ts';

const loginFirst = '/login?next=/account';
// Both forms live on /account: a refused POST (csrf_failed, rate_limited) goes back there.
const backToAccount = { form: '/account' };

export function accountRoutes(app: FastifyInstance, pages: Pages): void {
  const { deps } = pages;

  app.get('/account', async function account(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    return page.render('account', await accountValues(page));
  });

  app.post('/account/password', { config: { limits: endpointLimits.updatePassword, askAgain: backToAccount } }, async function changePassword(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    const input = { current_password: formField(request, 'current_password'), new_password: formField(request, 'new_password') };
    if (!samePassword(input.new_password, formField(request, 'new_password_confirmation'))) {
      return page.passwordsDiffer('account', await accountValues(page), 'new_password_confirmation');
    }
    try {
      await updatePassword(deps, page.session, input, clientOf(request));
    } catch (error) {
      return page.formError(error, 'account', await accountValues(page), 'current_password');
    }
    return page.redirect('/account', 'password_changed');
  });

  app.post('/account/email', { config: { limits: endpointLimits.updateEmail, askAgain: backToAccount } }, async function changeEmail(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    const newEmail = formField(request, 'new_email');
    try {
      await updateEmail(deps, page.session, { new_email: newEmail, password: formField(request, 'password') });
    } catch (error) {
      return page.formError(error, 'account', { ...await accountValues(page), values: { new_email: newEmail } }, 'password');
    }
    return page.redirect('/account', 'email_change_requested');
  });
}

async function accountValues(page: Page): Promise<Record<string, unknown>> {
  const created = page.session!.user.created_at;
  return {
    member_since: new Intl.DateTimeFormat(page.locale, { dateStyle: 'long', timeZone: 'UTC' }).format(created),
    ...(await activityValues(page)),
  };
}
