import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config';

export interface TemporalClientBundle {
  client: Client;
  connection: Connection;
}

/** Connection.lazy: the API starts (and answers /health with Temporal down) even when the server is not up yet. */
export function createTemporalClient(config: Pick<AppConfig, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>): TemporalClientBundle {
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  return { client, connection };
}
