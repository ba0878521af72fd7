import { createServer } from 'node:http';
import { MikroORM } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../db/mikro-orm.config';
import { createApp } from './app';
import { loadConfig, publicUrl } from './config';
import { loadServicesAndClients } from './services-config/services-config.loader';
import { closeHttpServer } from './http-shutdown';
import { createLogger } from './observability/logger';
import { createDashboardSource } from './realtime/dashboard-source';
import { attachRealtime } from './realtime/ws-server';
import { createTemporalClient } from './temporal/connection';

/** Requests still running this long after SIGTERM are cut (below compose's stop_grace_period of 30 s). */
const SHUTDOWN_GRACE_MS = 20_000;

async function main(): Promise<void> {
  const config = loadConfig();
  // Fail fast on a bad services.yaml / clients.yaml (the error names file, path and reason); read once, so a change
  // takes effect on restart.
  loadServicesAndClients();
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
    logger.info('api stopping: no new connections, finishing requests in flight');
    // Stop accepting first; upgraded sockets would keep the server open: close them (1001) and the LISTEN connection;
    // then wait for requests in flight, which still need the pool and Temporal, before closing those.
    const httpClosed = closeHttpServer(server, SHUTDOWN_GRACE_MS);
    await realtime.close();
    await httpClosed;
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
