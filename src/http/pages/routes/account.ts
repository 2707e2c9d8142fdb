// /account: who you are, change name, password and email, delete the account, log out. Every form
// here needs the session cookie; without one the visitor is sent to log in
// and brought back.
import type { FastifyInstance } from 'fastify';
import { confirmDeletionPassword, deleteAccount, deletionTicketValid } from '../../../flows/delete-account.ts';
import { updateEmail } from '../../../flows/update-email.ts';
import { updateName } from '../../../flows/update-name.ts';
import { clientOf } from '../../shared/client.ts';
import { updatePassword } from '../../../flows/update-password.ts';
import { endpointLimits } from '../../shared/rate-limits.ts';
import { activityValues } from './account-activity.ts';
import type { Page, Pages } from '../context.ts';
import { formField, samePassword } from '../forms.ts';
import { sessionRows } from './account-sessions.ts';

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

  app.post('/account/name', { config: { askAgain: backToAccount } }, async function changeName(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    const name = formField(request, 'name');
    try {
      await updateName(deps, page.session, { name });
    } catch (error) {
      return page.formError(error, 'account', { ...(await accountValues(page)), values: { name } });
    }
    return page.redirect('/account', 'name_changed');
  });

  // Deleting asks twice: the password here (counted as a log-in attempt, like
  // DELETE /api/me), then a page that says what will happen, whose button
  // carries a short-lived ticket bound to this session instead of the password.
  app.post('/account/delete', { config: { limits: endpointLimits.deleteAccount, askAgain: backToAccount } }, async function askToDelete(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    let ticket: string;
    try {
      ticket = await confirmDeletionPassword(deps, page.session, { password: formField(request, 'delete_password') });
    } catch (error) {
      return page.formError(error, 'account', await accountValues(page), 'delete_password');
    }
    return page.render('account-delete-confirm', { ticket });
  });

  app.post('/account/delete/confirm', { config: { askAgain: backToAccount } }, async function deleteForGood(request, reply) {
    const page = await pages.open(request, reply);
    if (page.session === undefined) return page.redirect(loginFirst, 'login_required');
    if (!deletionTicketValid(deps, page.session, formField(request, 'ticket'))) {
      return page.render('account', { ...(await accountValues(page)), errors: { delete_password: page.text('account_delete.expired') } }, 400);
    }
    await deleteAccount(deps, clientOf(request), page.session.user);
    page.endSession();
    return page.redirect('/', 'account_deleted');
  });
}

async function accountValues(page: Page): Promise<Record<string, unknown>> {
  const created = page.session!.user.created_at;
  return {
    member_since: new Intl.DateTimeFormat(page.locale, { dateStyle: 'long', timeZone: 'UTC' }).format(created),
    sessions: await sessionRows(page),
    ...(await activityValues(page)),
  };
}
