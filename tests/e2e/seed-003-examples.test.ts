import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../api/services/auth.service';
import { setPasswordHash } from '../../db/repositories/credentials.repository';
import { ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext } from '../support/harness';

/**
 * Seed 003's examples, copied verbatim into tests/fixtures/seed-003/, run against a real API server on 127.0.0.1 with a
 * worker: only `http://localhost:5000` (the base URL) and `<token>` / `your-bearer-token` are replaced. The bash
 * examples run under bash with the system's curl and jq; the Python example under python3 with requests when one is
 * installed (scripts/setup.sh installs it), else its equivalent in Node.
 */
const FIXTURES = join(__dirname, '..', 'fixtures', 'seed-003');
const SEED_BASE = 'http://localhost:5000';

function which(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A python3 that can `import requests`, or null. */
function pythonWithRequests(): string | null {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import requests'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

function run(command: string, args: string[], options: { cwd?: string; timeoutMs: number }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} failed: ${err.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe("seed 003's examples, literally, against a running API and worker", () => {
  let t: TestContext;
  let server: Server;
  let base: string;
  let token: string;
  const work = mkdtempSync(join(tmpdir(), 'seed-003-'));
  const adapt = (file: string) => readFileSync(join(FIXTURES, file), 'utf8').replaceAll(SEED_BASE, base).replaceAll('<token>', token);

  beforeAll(async () => {
    for (const tool of ['bash', 'curl', 'jq']) {
      if (!which(tool)) throw new Error(`${tool} is missing: run scripts/setup.sh (it installs curl and jq)`);
    }
    t = await createTestContext();
    server = t.app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The seed's login example signs in as admin / password: that account, an administrator of the test brand.
    const em = t.orm.em.fork();
    const admin = await ensureUser(em, 'admin', 'admin');
    await setPasswordHash(em, admin.id, await hashPassword('password'));
    await grantMembership(em, admin.id, t.brand.id);
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await t.close();
  });

  it("'Testing API / Using cURL': logs in with jq -r '.token' and lists tasks with it", async () => {
    // The example as written, then one line that shows the token it obtained.
    const script = `${adapt('get-bearer-token.sh')}\nprintf '\\nTOKEN=%s\\n' "$TOKEN"\n`;
    const { stdout } = await run('bash', ['-e', '-c', script], { cwd: work, timeoutMs: 30_000 });
    const [listing = '', tokenLine = ''] = stdout.split('\nTOKEN=');
    token = tokenLine.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(JSON.parse(listing)).toMatchObject({ status: 'success', data: expect.any(Array), pagination: { skip: 0, limit: 50 } });
  });

  it("'Create and Monitor Task' (bash, curl + jq) ends in completed", async () => {
    expect(token).toBeDefined();
    const { stdout } = await run('bash', ['-c', adapt('create-and-monitor-task.sh')], { cwd: work, timeoutMs: 60_000 });
    const lines = stdout.trim().split('\n');
    const created = /^Created task: (task_\w+)$/.exec(lines[0]!);
    expect(created).not.toBeNull();
    expect(lines.at(-1)).toBe('Status: completed');
    expect(lines.slice(1).every((l) => /^Status: (pending|running|completed)$/.test(l))).toBe(true);
    const task = await t.http.get(`/api/v1/tasks/${created![1]}`).set({ Authorization: `Bearer ${token}` });
    expect(task.body.data).toMatchObject({ name: 'Data Processing', priority: 'high', status: 'completed', type: 'generic' });
  });

  it("'Export Analytics Data' writes the JSON and the CSV export", async () => {
    await run('bash', ['-e', '-c', adapt('export-analytics-data.sh')], { cwd: work, timeoutMs: 30_000 });
    const json = JSON.parse(readFileSync(join(work, 'analytics-export.json'), 'utf8'));
    expect(json).toMatchObject({ status: 'success', data: expect.any(Array) });
    expect(json.data.map((r: { name: string }) => r.name)).toContain('Data Processing');
    const csv = readFileSync(join(work, 'analytics-export.csv'), 'utf8').trimEnd().split('\r\n');
    expect(csv[0]).toMatch(/^task_id,name,type,status,/);
    expect(csv.length).toBe(json.data.length + 1);
  });

  it("'Using Python' (requests) gets the tasks and creates one — or its Node equivalent without Python", async () => {
    const python = pythonWithRequests();
    let result: { tasks: Record<string, unknown>[]; task: Record<string, unknown> };
    if (python) {
      const snippet = join(work, 'using_python.py');
      writeFileSync(snippet, readFileSync(join(FIXTURES, 'using-python.py'), 'utf8').replaceAll(SEED_BASE, base).replaceAll('your-bearer-token', token));
      // The example runs as written; its globals `tasks` and `task` are printed afterwards.
      const { stdout } = await run(python, ['-c', `import json, runpy, sys\nns = runpy.run_path(sys.argv[1])\nprint(json.dumps({"tasks": ns["tasks"], "task": ns["task"]}))`, snippet], {
        timeoutMs: 30_000,
      });
      result = JSON.parse(stdout);
    } else {
      console.warn('python3 with requests not found: running the Python example as its Node equivalent');
      const BASE_URL = `${base}/api/v1`;
      const HEADERS = { Authorization: `Bearer ${token}` };
      const tasks = ((await (await fetch(`${BASE_URL}/tasks`, { headers: HEADERS })).json()) as { data: Record<string, unknown>[] }).data;
      const payload = { name: 'New Task', priority: 'high' };
      const response = await fetch(`${BASE_URL}/tasks`, { method: 'POST', headers: { ...HEADERS, 'Content-Type': 'application/json' }, body: JSON.stringify(payload) });
      const task = ((await response.json()) as { data: Record<string, unknown> }).data;
      result = { tasks, task };
    }
    expect(result.tasks.map((x) => x.name)).toContain('Data Processing');
    expect(result.task).toMatchObject({ id: expect.stringMatching(/^task_/), name: 'New Task', priority: 'high', status: 'pending' });
    const read = await t.http.get(`/api/v1/tasks/${String(result.task.id)}`).set({ Authorization: `Bearer ${token}` });
    expect(read.status).toBe(200);
  });
});
