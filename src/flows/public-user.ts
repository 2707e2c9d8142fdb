// API.md's user object, as every answer that names a user gives it.
import type { User } from '../store/schema.ts';

export type PublicUser = {
  id: string;
  email: string;
  name: string | null;
  confirmed: boolean;
  created_at: string;
};

export function publicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    confirmed: user.confirmed_at !== null,
    created_at: isoSeconds(user.created_at),
  };
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
