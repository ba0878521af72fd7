import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadConfig } from '../api/config';
import { createApiKey, isApiKeyRole, MAX_EXPIRES_IN_DAYS, revokeApiKeyAudited } from '../api/services/api-key.service';
import { checkNewPassword, hashPassword, verifyPassword } from '../api/services/auth.service';
import { signAccessToken } from '../api/services/token.service';
import { USER_ROLES, type UserRole } from './entities/user.entity';
import { createOrmConfig } from './mikro-orm.config';
import { insertAudit, verifyAuditChain, type AuditActorFields, type AuditEntry } from './repositories/audit.repository';
import { listApiKeys } from './repositories/api-key.repository';
import { findCredentials, setPasswordHash } from './repositories/credentials.repository';
import {
  ensureBrand,
  ensureUser,
  findPrincipal,
  findUserByUsername,
  grantMembership,
  listBrands,
  setRole,
} from './repositories/identity.repository';

export const DEMO_BRAND = 'Demo Brand';
export const DEMO_ADMIN = 'admin';

const USAGE = `usage: npm run admin -- <command> [options]
  seed-demo                                   create the demo brand and the admin user (idempotent); with
                                              DEMO_ADMIN_PASSWORD set, that becomes the admin's dashboard password
  create-brand --name <name>                  prints the brand id
  create-user --username <u> [--role <r>]     creates a user (role user|admin|admin_viewer; --admin = --role admin)
  grant --username <u> --brand-id <id>        makes the user a member of the brand
  set-role --username <u> --role <r>          gives the user a role: user, admin or admin_viewer
  set-admin --username <u> [--revoke]         set-role admin (or user with --revoke)
  set-password --username <u> [--password <p>]  sets the login password (read from stdin when --password is absent)
  token --username <u> [--ttl <seconds>]      prints a signed access token (default ttl 86400)
  audit-verify [--from-id <id>]               verifies the audit trail's hash chain; exit code 1 when it is broken
  api-key create --username <u> --brand-id <id> [--role <r>] [--name <n>] [--expires-in-days <d>]
                                              prints a new API key once (role worker|user|admin_viewer|admin, not
                                              above the user's; the user must belong to the brand unless admin)
  api-key list [--username <u>]               prints id, prefix, status, role, brand, owner, last use and name lines
  api-key revoke --id <id>                    revokes a key (refused within 5 s by every API process)
  demo-brand-id                               prints the demo brand's id
  list-brands                                 prints id<TAB>name lines`;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      username: { type: 'string' },
      'brand-id': { type: 'string' },
      ttl: { type: 'string' },
      admin: { type: 'boolean', default: false },
      role: { type: 'string' },
      revoke: { type: 'boolean', default: false },
      password: { type: 'string' },
      'from-id': { type: 'string' },
      id: { type: 'string' },
      'expires-in-days': { type: 'string' },
    },
  });
  const config = loadConfig();
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL));
  const em = orm.em.fork();
  const need = (v: string | undefined, flag: string): string => {
    if (!v) throw new Error(`--${flag} is required\n${USAGE}`);
    return v;
  };
  const role = (fallback?: UserRole): UserRole | undefined => {
    const r = values.role ?? (values.admin ? 'admin' : fallback);
    if (r !== undefined && !(USER_ROLES as readonly string[]).includes(r)) throw new Error(`--role must be one of ${USER_ROLES.join(', ')}`);
    return r as UserRole | undefined;
  };
  const user = async () => {
    const u = await findUserByUsername(em, need(values.username, 'username'));
    if (!u) throw new Error(`no user named ${values.username}`);
    return u;
  };
  try {
    switch (command) {
      case 'seed-demo': {
        const brand = await ensureBrand(em, DEMO_BRAND);
        const admin = await ensureUser(em, DEMO_ADMIN, 'admin');
        await grantMembership(em, admin.id, brand.id);
        console.log(`demo brand "${brand.name}" (id ${brand.id}), admin user "${admin.username}" (id ${admin.id})`);
        const demoPassword = process.env.DEMO_ADMIN_PASSWORD;
        // Set only when it changed, so re-running the setup adds no audit row.
        const current = demoPassword ? (await findCredentials(em, admin.username))?.passwordHash : null;
        if (demoPassword && !(current && (await verifyPassword(demoPassword, current)))) {
          await setPasswordAudited(em, admin, demoPassword, 'DEMO_ADMIN_PASSWORD');
          console.log(`admin user "${admin.username}" has the password from DEMO_ADMIN_PASSWORD`);
        }
        break;
      }
      case 'create-brand':
        console.log((await ensureBrand(em, need(values.name, 'name'))).id);
        break;
      case 'create-user': {
        const username = need(values.username, 'username');
        const u = await em.transactional(async (tx) => {
          const before = await findUserByUsername(tx, username);
          const after = await ensureUser(tx, username, role());
          if (!before) await cliAudit(tx, after.id, 'user.create', null, { username, role: after.role });
          else if (before.role !== after.role) await cliAudit(tx, after.id, 'user.role_grant', { role: before.role }, { role: after.role }, { username });
          return after;
        });
        console.log(u.id);
        break;
      }
      case 'grant': {
        const brandId = Number(need(values['brand-id'], 'brand-id'));
        const u = await user();
        await em.transactional(async (tx) => {
          if (await grantMembership(tx, u.id, brandId)) {
            await cliAudit(tx, u.id, 'user.brand_grant', { member: false }, { member: true }, { brand_id: brandId }, brandId);
          }
        });
        console.log(`granted brand ${brandId} to ${values.username}`);
        break;
      }
      case 'set-role': {
        const r = role();
        if (!r) throw new Error(`--role is required\n${USAGE}`);
        await setRoleAudited(em, await user(), r);
        console.log(`${values.username} is now ${r}`);
        break;
      }
      case 'set-admin':
        await setRoleAudited(em, await user(), values.revoke ? 'user' : 'admin');
        console.log(`${values.username} is ${values.revoke ? 'no longer' : 'now'} an admin`);
        break;
      case 'set-password': {
        const u = await user();
        await setPasswordAudited(em, u, values.password ?? (await readPassword()), values.password === undefined ? 'stdin' : 'argument');
        console.log(`password set for ${u.username}`);
        break;
      }
      case 'token': {
        const ttl = values.ttl ? Number(values.ttl) : 86_400;
        if (!Number.isInteger(ttl) || ttl <= 0) throw new Error('--ttl must be a positive number of seconds');
        const u = await user();
        const token = signAccessToken(config, u, ttl);
        // The row names the user and the lifetime, never the token itself.
        await cliAudit(em, u.id, 'auth.token_mint', null, null, { ttl_seconds: ttl, expires_at: new Date(Date.now() + ttl * 1000).toISOString() });
        process.stdout.write(`${token}\n`);
        break;
      }
      case 'audit-verify': {
        const fromId = values['from-id'] === undefined ? undefined : Number(values['from-id']);
        if (fromId !== undefined && (!Number.isSafeInteger(fromId) || fromId < 1)) throw new Error('--from-id must be a positive integer');
        const result = await verifyAuditChain(em, { fromId, batch: 1000 });
        console.log(JSON.stringify(result));
        if (!result.ok) process.exitCode = 1;
        break;
      }
      case 'api-key':
        await apiKeyCommand(em, positionals[0], values, user);
        break;
      case 'demo-brand-id': {
        const brand = (await listBrands(em)).find((b) => b.name === DEMO_BRAND);
        if (!brand) throw new Error('no demo brand; run seed-demo first');
        console.log(brand.id);
        break;
      }
      case 'list-brands':
        for (const b of await listBrands(em)) console.log(`${b.id}\t${b.name}`);
        break;
      default:
        console.error(USAGE);
        process.exitCode = 2;
    }
  } finally {
    await orm.close(true);
  }
}

/** `api-key create|list|revoke`: the same rules and audit rows as /api/v1/api-keys, acted by the CLI's OS user. */
async function apiKeyCommand(
  em: EntityManager,
  sub: string | undefined,
  values: { name?: string; username?: string; role?: string; id?: string; 'brand-id'?: string; 'expires-in-days'?: string },
  user: () => Promise<{ id: number; username: string }>,
): Promise<void> {
  const positiveInt = (raw: string | undefined, flag: string, max = 2_147_483_647): number => {
    const n = Number(raw);
    if (!raw || !Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${flag} must be an integer from 1 to ${max}\n${USAGE}`);
    return n;
  };
  switch (sub) {
    case 'create': {
      const owner = await findPrincipal(em, (await user()).id);
      if (!owner || !owner.isActive) throw new Error(`user ${values.username} is inactive`);
      const role = values.role ?? 'user';
      if (!isApiKeyRole(role)) throw new Error('--role must be one of worker, user, admin_viewer, admin');
      const brandId = positiveInt(values['brand-id'], 'brand-id');
      const expiresInDays = values['expires-in-days'] === undefined ? null : positiveInt(values['expires-in-days'], 'expires-in-days', MAX_EXPIRES_IN_DAYS);
      const name = (values.name ?? `cli key ${new Date().toISOString().slice(0, 10)}`).slice(0, 100);
      const { key, view } = await createApiKey(em, owner, { name, brandId, role, expiresInDays }, cliActor());
      // The key alone on stdout (for `KEY=$(npm run -s admin -- api-key create ...)`), the rest on stderr.
      process.stdout.write(`${key}\n`);
      console.error(`API key ${view.id} (prefix ${view.prefix}) for ${owner.username} on brand ${brandId} as ${role}: shown once, store it now`);
      return;
    }
    case 'list': {
      const createdById = values.username === undefined ? undefined : (await user()).id;
      for (let skip = 0; ; skip += 500) {
        const { rows } = await listApiKeys(em, { createdById }, { skip, limit: 500 });
        for (const r of rows) {
          const status = r.revoked_at ? 'revoked' : r.expires_at && r.expires_at.getTime() <= Date.now() ? 'expired' : 'active';
          const lastUsed = r.last_used_at ? r.last_used_at.toISOString() : 'never';
          console.log([r.id, r.prefix, status, r.role, r.brand_id, r.created_by_username, lastUsed, r.name].join('\t'));
        }
        if (rows.length < 500) return;
      }
    }
    case 'revoke': {
      const id = positiveInt(values.id, 'id');
      const view = await revokeApiKeyAudited(em, id, cliActor());
      if (!view) throw new Error(`no API key with id ${id}`);
      console.log(`API key ${id} (prefix ${view.prefix}) is revoked; every API process refuses it within 5 seconds`);
      return;
    }
    default:
      throw new Error(`api-key needs create, list or revoke\n${USAGE}`);
  }
}

/** Who acts from the CLI: the operating-system account that ran it (there is no API user behind a shell). */
function cliActor(): AuditActorFields {
  let osUser: string;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = process.env.USER ?? 'unknown'; // no passwd entry (some containers)
  }
  return { actorId: null, actorName: `cli:${osUser}`.slice(0, 150), actorRole: null, brandId: null, requestId: null, ip: null };
}

/** An audit row for a CLI change on a user, in the transaction `em` of that change. */
function cliAudit(
  em: EntityManager,
  userId: number,
  action: string,
  before: AuditEntry['before'],
  after: AuditEntry['after'],
  details: Record<string, unknown> = {},
  brandId: number | null = null,
): Promise<void> {
  return insertAudit(em, { ...cliActor(), brandId, action, targetType: 'user', targetId: String(userId), details, before, after });
}

async function setRoleAudited(em: EntityManager, u: { id: number; username: string; role: UserRole }, next: UserRole): Promise<void> {
  if (u.role === next) return;
  await em.transactional(async (tx) => {
    await setRole(tx, u.id, next);
    await cliAudit(tx, u.id, 'user.role_grant', { role: u.role }, { role: next }, { username: u.username });
  });
}

/** A credential change is audited like a role grant (the row says how the password came, never what it is). */
async function setPasswordAudited(em: EntityManager, u: { id: number; username: string }, password: string, source: string): Promise<void> {
  checkNewPassword(password);
  const hash = await hashPassword(password);
  await em.transactional(async (tx) => {
    await setPasswordHash(tx, u.id, hash);
    await cliAudit(tx, u.id, 'user.password_set', null, null, { username: u.username, source });
  });
}

/**
 * The password from stdin, so it stays out of the shell history and the process list: the first line of piped input,
 * or typed at a prompt without echo.
 */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  process.stderr.write('Password: ');
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
