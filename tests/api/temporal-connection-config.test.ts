import { loadConfig } from '../../api/config';
import { temporalConnectionOptions } from '../../api/temporal/connection';

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

/** Env → validated config → connection options, the path the API and the worker take at startup. */
function optionsFor(env: Record<string, string>, files: Record<string, string> = {}) {
  const config = loadConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', ...env });
  return temporalConnectionOptions(config, (path) => {
    const content = files[path];
    if (content === undefined) throw new Error(`ENOENT: ${path}`);
    return Buffer.from(content);
  });
}

describe('Temporal connection from configuration', () => {
  it('connects in plain text to the local dev server by default', () => {
    expect(temporalConnectionOptions(loadConfig({}))).toEqual({ address: '127.0.0.1:7233' });
  });

  it('takes empty values as unset (compose passes ${VAR:-} through)', () => {
    const empty = { TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '', TEMPORAL_TLS_CA: '', TEMPORAL_TLS_SERVER_NAME: '', TEMPORAL_API_KEY: '' };
    expect(optionsFor({ ...empty, TEMPORAL_TLS: 'false' })).toEqual({ address: 'temporal.example.com:7233' });
  });

  it('turns TLS on without customization when TEMPORAL_TLS is set', () => {
    expect(optionsFor({ TEMPORAL_TLS: 'true' })).toEqual({ address: 'temporal.example.com:7233', tls: true });
  });

  it('uses an API key over TLS for Temporal Cloud', () => {
    expect(optionsFor({ TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY: 'key-123' })).toEqual({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      tls: true,
      apiKey: 'key-123',
    });
  });

  it('reads mTLS certificate, key and CA from files and overrides the server name', () => {
    const options = optionsFor(
      { TEMPORAL_TLS_CERT: '/certs/client.pem', TEMPORAL_TLS_KEY: '/certs/client.key', TEMPORAL_TLS_CA: '/certs/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' },
      { '/certs/client.pem': PEM_CERT, '/certs/client.key': PEM_KEY, '/certs/ca.pem': 'CA' },
    );
    expect(options.tls).toEqual({
      clientCertPair: { crt: Buffer.from(PEM_CERT), key: Buffer.from(PEM_KEY) },
      serverRootCACertificate: Buffer.from('CA'),
      serverNameOverride: 'temporal.internal',
    });
    expect(options.apiKey).toBeUndefined();
  });

  it('takes inline PEM values as they are (secrets passed as environment variables)', () => {
    const options = optionsFor({ TEMPORAL_TLS_CERT: PEM_CERT, TEMPORAL_TLS_KEY: PEM_KEY });
    expect(options.tls).toEqual({ clientCertPair: { crt: Buffer.from(PEM_CERT), key: Buffer.from(PEM_KEY) } });
  });

  it('refuses a client certificate without its key, and a key without its certificate, naming the missing one', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: PEM_CERT })).toThrow(/TEMPORAL_TLS_KEY: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together/);
    expect(() => loadConfig({ TEMPORAL_TLS_KEY: PEM_KEY })).toThrow(/TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together/);
  });

  it('refuses a TEMPORAL_TLS that is not a boolean', () => {
    expect(() => loadConfig({ TEMPORAL_TLS: 'maybe' })).toThrow(/TEMPORAL_TLS/);
  });
});
