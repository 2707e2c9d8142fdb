// Request bodies as TypeBox schemas: one definition gives Fastify its JSON
// Schema (strict types, no coercion) and the routes their TypeScript types.
import Type, { type Static, type TSchema } from 'typebox';

const text = (maxLength = 1024) => Type.String({ maxLength });
// Length and strength are the password policy's to judge, after NFKC; the
// body limit bounds it here.
const password = () => Type.String();

export const SignUpBody = Type.Object({
  email: text(),
  password: password(),
  name: Type.Optional(text()),
  confirm_url: Type.Optional(text(2048)),
});
// Any string is a token to judge (unknown ones are 400 invalid_token), so no length limit of its own.
export const ConfirmBody = Type.Object({ token: Type.String() });
export const ResendConfirmBody = Type.Object({ email: text(), confirm_url: Type.Optional(text(2048)) });
export const SignInBody = Type.Object({ email: text(), password: password() });
export const ResetRequestBody = Type.Object({ email: text(), reset_url: Type.Optional(text(2048)) });
export const ResetPasswordBody = Type.Object({ token: Type.String(), password: password() });
export const UpdatePasswordBody = Type.Object({ current_password: password(), new_password: password() });
export const UpdateEmailBody = Type.Object({ new_email: text(), password: password() });

export type Body<T extends TSchema> = Static<T>;
