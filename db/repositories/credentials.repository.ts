import type { EntityManager } from '@mikro-orm/postgresql';
import type { UserRole } from '../entities/user.entity';

/** What a password login needs to know about a user. */
export interface UserCredentials {
  id: number;
  username: string;
  role: UserRole;
  isActive: boolean;
  passwordHash: string | null;
}

export async function findCredentials(em: EntityManager, username: string): Promise<UserCredentials | null> {
  const rows = await em.execute<{ id: number; username: string; role: UserRole; is_active: boolean; password_hash: string | null }[]>(
    `select id, username, role, is_active, password_hash from users where username = ?`,
    [username],
  );
  const row = rows[0];
  return row ? { id: row.id, username: row.username, role: row.role, isActive: row.is_active, passwordHash: row.password_hash } : null;
}

/** Returns false when no user has that id. */
export async function setPasswordHash(em: EntityManager, userId: number, passwordHash: string | null): Promise<boolean> {
  const rows = await em.execute<{ id: number }[]>(`update users set password_hash = ? where id = ? returning id`, [passwordHash, userId]);
  return rows.length > 0;
}

export type LoginAttemptScope = 'user' | 'ip';

export interface LoginAttemptCount {
  scope: LoginAttemptScope;
  /** Attempts counted in the current window, this one included. */
  failures: number;
  /** Seconds until the current window ends (at least 1). */
  windowEndsInSeconds: number;
}

/**
 * Counts one attempt for the username and for the IP before the password is checked: the increment and the read are
 * one atomic upsert, so concurrent attempts (from any number of API processes) cannot all see the count under the
 * limit. A window starts at its first attempt and lasts `windowSeconds`; an attempt after it starts a new one.
 * The user row is written before the IP row in every call, so two logins never lock them in opposite orders.
 */
export async function countLoginAttempt(
  em: EntityManager,
  keys: { username: string; ip: string },
  windowSeconds: number,
): Promise<LoginAttemptCount[]> {
  const rows = await em.execute<{ scope: LoginAttemptScope; failures: number; ends_in: number }[]>(
    `insert into login_attempts as a (scope, key, window_start, failures)
     values ('user', ?, now(), 1), ('ip', ?, now(), 1)
     on conflict (scope, key) do update set
       window_start = case when a.window_start <= now() - make_interval(secs => ?) then now() else a.window_start end,
       failures = case when a.window_start <= now() - make_interval(secs => ?) then 1 else a.failures + 1 end
     returning scope, failures,
       greatest(1, ceil(extract(epoch from (window_start + make_interval(secs => ?) - now()))))::int as ends_in`,
    [userKey(keys.username), keys.ip, windowSeconds, windowSeconds, windowSeconds],
  );
  return rows.map((r) => ({ scope: r.scope, failures: Number(r.failures), windowEndsInSeconds: Number(r.ends_in) }));
}

/**
 * A successful login was not a failure: the username's window is cleared, and the IP gets back the attempt counted
 * for it (not cleared: one account an attacker owns must not reset the budget of an IP that guesses other accounts).
 */
export async function forgiveLoginAttempt(em: EntityManager, keys: { username: string; ip: string }): Promise<void> {
  await em.execute(`delete from login_attempts where scope = 'user' and key = ?`, [userKey(keys.username)]);
  await em.execute(`update login_attempts set failures = greatest(0, failures - 1) where scope = 'ip' and key = ?`, [keys.ip]);
}

/** Drops windows that ended long ago, so guessed usernames do not pile up rows. */
export async function sweepLoginAttempts(em: EntityManager, windowSeconds: number): Promise<void> {
  await em.execute(`delete from login_attempts where window_start < now() - make_interval(secs => ?)`, [windowSeconds]);
}

/** Case variants of one username share a counter, so `Admin` and `admin` do not get five guesses each. */
function userKey(username: string): string {
  return username.toLowerCase().slice(0, 160);
}
