import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { AppConfig } from '../config';

export interface TemporalClientBundle {
  client: Client;
  connection: Connection;
}

export type TemporalConnectionConfig = Pick<
  AppConfig,
  'TEMPORAL_ADDRESS' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME' | 'TEMPORAL_API_KEY'
>;

/** What the client's Connection and the worker's NativeConnection both take. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | true;
  apiKey?: string;
}

/** A TLS setting holds either the PEM itself (containers get secrets as env vars) or the path of a PEM file. */
function pem(value: string, readFile: (path: string) => Buffer): Buffer {
  return value.includes('-----BEGIN ') ? Buffer.from(value) : readFile(value);
}

/**
 * Config → connection options, shared by the API and the worker so both reach the same cluster the same way. TLS is on
 * when asked for or implied (a certificate, a CA, a server name, or an API key: Temporal Cloud only speaks TLS).
 */
export function temporalConnectionOptions(
  config: TemporalConnectionConfig,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: config.TEMPORAL_ADDRESS };
  const tls: TLSConfig = {};
  if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) {
    tls.clientCertPair = { crt: pem(config.TEMPORAL_TLS_CERT, readFile), key: pem(config.TEMPORAL_TLS_KEY, readFile) };
  }
  if (config.TEMPORAL_TLS_CA) tls.serverRootCACertificate = pem(config.TEMPORAL_TLS_CA, readFile);
  if (config.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
  if (Object.keys(tls).length > 0) options.tls = tls;
  else if (config.TEMPORAL_TLS || config.TEMPORAL_API_KEY) options.tls = true;
  if (config.TEMPORAL_API_KEY) options.apiKey = config.TEMPORAL_API_KEY;
  return options;
}

/** Connection.lazy: the API starts (and answers /health with Temporal down) even when the server is not up yet. */
export function createTemporalClient(config: TemporalConnectionConfig & Pick<AppConfig, 'TEMPORAL_NAMESPACE'>): TemporalClientBundle {
  const connection = Connection.lazy(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  return { client, connection };
}
