import { MikroORM } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../db/mikro-orm.config';
import { createApp } from './app';
import { loadConfig, publicUrl } from './config';
import { createLogger } from './observability/logger';
import { createTemporalClient } from './temporal/connection';

async function main(): Promise<void> {
  const config = loadConfig();
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL));
  const { client, connection } = createTemporalClient(config);
  const logger = createLogger(config);
  const app = createApp({ orm, temporal: client, config, logger });
  const server = app.listen(config.PORT, config.HOST, () => {
    logger.info({ url: publicUrl(config) }, 'api listening');
  });
  const shutdown = async () => {
    server.close();
    await Promise.allSettled([orm.close(), connection.close()]);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
