import { MikroORM } from '@mikro-orm/postgresql';
import { parseArgs } from 'node:util';
import { loadConfig } from '../api/config';
import { signAccessToken } from '../api/services/token.service';
import { createOrmConfig } from './mikro-orm.config';
import {
  ensureBrand,
  ensureUser,
  findUserByUsername,
  grantMembership,
  listBrands,
  setAdmin,
} from './repositories/identity.repository';

export const DEMO_BRAND = 'Demo Brand';
export const DEMO_ADMIN = 'admin';

const USAGE = `usage: npm run admin -- <command> [options]
  seed-demo                                   create the demo brand and the admin user (idempotent)
  create-brand --name <name>                  prints the brand id
  create-user --username <u> [--admin]        creates (or promotes) a user
  grant --username <u> --brand-id <id>        makes the user a member of the brand
  set-admin --username <u> [--revoke]         grants or revokes the admin role
  token --username <u> [--ttl <seconds>]      prints a signed access token (default ttl 86400)
  demo-brand-id                               prints the demo brand's id
  list-brands                                 prints id<TAB>name lines`;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      username: { type: 'string' },
      'brand-id': { type: 'string' },
      ttl: { type: 'string' },
      admin: { type: 'boolean', default: false },
      revoke: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig();
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL));
  const em = orm.em.fork();
  const need = (v: string | undefined, flag: string): string => {
    if (!v) throw new Error(`--${flag} is required\n${USAGE}`);
    return v;
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
        const admin = await ensureUser(em, DEMO_ADMIN, true);
        await grantMembership(em, admin.id, brand.id);
        console.log(`demo brand "${brand.name}" (id ${brand.id}), admin user "${admin.username}" (id ${admin.id})`);
        break;
      }
      case 'create-brand':
        console.log((await ensureBrand(em, need(values.name, 'name'))).id);
        break;
      case 'create-user': {
        const u = await ensureUser(em, need(values.username, 'username'), values.admin);
        console.log(u.id);
        break;
      }
      case 'grant': {
        const brandId = Number(need(values['brand-id'], 'brand-id'));
        await grantMembership(em, (await user()).id, brandId);
        console.log(`granted brand ${brandId} to ${values.username}`);
        break;
      }
      case 'set-admin':
        await setAdmin(em, (await user()).id, !values.revoke);
        console.log(`${values.username} is ${values.revoke ? 'no longer' : 'now'} an admin`);
        break;
      case 'token': {
        const ttl = values.ttl ? Number(values.ttl) : 86_400;
        if (!Number.isInteger(ttl) || ttl <= 0) throw new Error('--ttl must be a positive number of seconds');
        process.stdout.write(`${signAccessToken(config, await user(), ttl)}\n`);
        break;
      }
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

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
