import { createServer } from 'node:http';
import { MikroORM } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../db/mikro-orm.config';
import { createApp } from './app';
import { loadConfig, publicUrl } from './config';
import { createLogger } from './observability/logger';
import { createDashboardSource } from './realtime/dashboard-source';
import { attachRealtime } from './realtime/ws-server';
import { createTemporalClient } from './temporal/connection';

async function main(): Promise<void> {
  const config = loadConfig();
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL));
  const { client, connection } = createTemporalClient(config);
  const logger = createLogger(config);
  const app = createApp({ orm, temporal: client, config, logger });
  const server = createServer(app.callback());
  // WebSockets /ws/tasks and /ws/metrics share the port; attached before listening so no upgrade finds nobody.
  const realtime = await attachRealtime(server, { orm, config, logger, dashboard: createDashboardSource({ orm, temporal: client, config }) });
  server.listen(config.PORT, config.HOST, () => {
    logger.info({ url: publicUrl(config) }, 'api listening');
  });
  const shutdown = async () => {
    server.close();
    // Upgraded sockets would keep the server open: close them (1001) and the LISTEN connection before the pool.
    await realtime.close();
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
