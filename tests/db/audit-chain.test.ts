import { IsolationLevel } from '@mikro-orm/core';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../../db/mikro-orm.config';
import { canonicalText, chainHash, insertAudit, verifyAuditChain, type AuditEntry } from '../../db/repositories/audit.repository';

/**
 * The hash chain of audit_log, built by the database (trigger audit_log_chain) and verified in TypeScript, on the
 * real PostgreSQL. The test database is shared with other test files running at the same time: every tampering
 * happens inside a transaction that is rolled back, so no other session ever sees a broken chain.
 */
describe('audit_log hash chain', () => {
  let orm: MikroORM;
  const marker = `chain-${process.pid}-${Date.now()}`;
  let n = 0;

  beforeAll(async () => {
    orm = await MikroORM.init(createOrmConfig(process.env.TEST_DATABASE_URL!, { pool: { min: 0, max: 30 } }));
  });
  afterAll(async () => {
    await orm.close(true);
  });

  const entry = (extra: Partial<AuditEntry> = {}): AuditEntry => ({
    actorId: null,
    brandId: null,
    action: 'test.chain',
    targetType: 'test',
    targetId: `${marker}-${n++}`,
    details: {},
    requestId: null,
    ...extra,
  });
  type Row = { id: string; target_id: string; prev_hash: string; hash: string };
  const rowsOf = (em: EntityManager, prefix: string) =>
    em.execute<Row[]>(`select a.id::text, a.target_id, a.prev_hash, a.hash from audit_log a where a.target_id like ? order by a.id`, [`${prefix}%`]);
  const idOf = async (em: EntityManager, targetId: string) => Number((await rowsOf(em, targetId))[0]!.id);

  it('chains every row of many concurrent transactions in id order; a transaction’s rows are consecutive, a rolled-back one leaves no link', async () => {
    const prefix = `${marker}-concurrent-`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) =>
        orm.em.fork().transactional(async (tx) => {
          // Work before the first audit row, so the transactions really overlap.
          await tx.execute(`select pg_sleep(?)`, [Math.random() * 0.05]);
          await insertAudit(tx, entry({ targetId: `${prefix}${String(i).padStart(2, '0')}-a`, details: { i, step: 'a' } }));
          await tx.execute(`select pg_sleep(?)`, [Math.random() * 0.01]);
          await insertAudit(tx, entry({ targetId: `${prefix}${String(i).padStart(2, '0')}-b`, details: { i, step: 'b' } }));
          if (i % 6 === 5) throw new Error('roll back');
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(4);

    const em = orm.em.fork();
    const rows = await rowsOf(em, prefix);
    expect(rows).toHaveLength(40);
    expect(rows.some((r) => /-(05|11|17|23)-/.test(r.target_id))).toBe(false);
    for (let i = 0; i < rows.length; i += 2) {
      // Both rows of one transaction, one right after the other: the chain lock is held until commit.
      expect(rows[i]!.target_id.replace(/-a$/, '')).toBe(rows[i + 1]!.target_id.replace(/-b$/, ''));
      expect(Number(rows[i + 1]!.id)).toBe(Number(rows[i]!.id) + 1);
      expect(rows[i + 1]!.prev_hash).toBe(rows[i]!.hash);
    }
    // Every row links to the row right before it in id order, whoever wrote it.
    const links = await em.execute<{ broken: number }[]>(
      `select count(*)::int as broken from (
         select prev_hash, coalesce(lag(hash) over (order by id), repeat('0', 64)) as previous_hash, id from audit_log) c
        where c.id >= ? and c.prev_hash is distinct from c.previous_hash`,
      [Number(rows[0]!.id)],
    );
    expect(links[0]!.broken).toBe(0);
    const result = await verifyAuditChain(em, { fromId: Number(rows[0]!.id), batch: 7 });
    expect(result).toMatchObject({ ok: true, first_broken: null });
    expect(result.checked).toBeGreaterThanOrEqual(40);
  });

  it('recomputes in TypeScript exactly the hash the trigger computed, for awkward values and for every insert path', async () => {
    const em = orm.em.fork();
    const prefix = `${marker}-awkward-`;
    await insertAudit(
      em,
      entry({
        targetId: `${prefix}1`,
        actorId: 7,
        actorName: 'ann|\\x',
        actorRole: 'admin',
        brandId: 3,
        action: 'a|b',
        details: { z: 1, a: 'pipe | and \\ backslash', nested: { emoji: '✓ 日本', n: 1.5e-7, big: 12345678901234567890 } },
        before: { status: 'failed' },
        after: { status: 'pending', list: [1, null, true] },
        requestId: 'req|1',
        ip: '::ffff:127.0.0.1',
      }),
    );
    // A multi-row insert written by hand (no occurred_at: the trigger fills it) is chained row by row too.
    await em.execute(
      `insert into audit_log (action, target_type, target_id, details) select 'test.raw', 'test', ? || g, '{}'::jsonb from generate_series(2, 4) g`,
      [prefix],
    );
    const rows = await rowsOf(em, prefix);
    expect(rows).toHaveLength(4);
    expect(await verifyAuditChain(em, { fromId: Number(rows[0]!.id) })).toMatchObject({ ok: true, first_broken: null });

    // The canonical text escapes separators, so a `|` moved from one field to the next changes the hash.
    const base = {
      prev_hash: '0'.repeat(64), id: '1', occurred_at: '2026-01-01T00:00:00.000000Z', actor_id: null, actor_name: 'a|b', actor_role: '',
      brand_id: null, action: 'x', target_type: 't', target_id: '1', details: '{}', before: null, after: null, request_id: null, ip: null,
    };
    expect(canonicalText(base)).toBe(`${'0'.repeat(64)}|1|2026-01-01T00:00:00.000000Z||a\\|b|||x|t|1|{}||||`);
    expect(chainHash(base)).not.toBe(chainHash({ ...base, actor_name: 'a', actor_role: 'b' }));
  });

  it('ignores an id, prev_hash or hash given by the writer', async () => {
    const em = orm.em.fork();
    const targetId = `${marker}-forged`;
    await em.execute(
      `insert into audit_log (id, occurred_at, action, target_type, target_id, details, prev_hash, hash)
       values (1, clock_timestamp(), 'test.forged', 'test', ?, '{}', repeat('a', 64), repeat('b', 64))`,
      [targetId],
    );
    const [row] = await rowsOf(em, targetId);
    expect(Number(row!.id)).toBeGreaterThan(1);
    expect(row!.hash).not.toBe('b'.repeat(64));
    expect(row!.prev_hash).not.toBe('a'.repeat(64));
    expect(await verifyAuditChain(em, { fromId: Number(row!.id) })).toMatchObject({ ok: true });
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    const em = orm.em.fork();
    const targetId = `${marker}-append-only`;
    await insertAudit(em, entry({ targetId }));
    await expect(em.execute(`update audit_log set details = '{"x": 1}' where target_id = ?`, [targetId])).rejects.toThrow(/append-only/);
    await expect(em.execute(`delete from audit_log where target_id = ?`, [targetId])).rejects.toThrow(/append-only/);
    await expect(em.execute(`truncate audit_log`)).rejects.toThrow(/append-only/);
    expect(await rowsOf(em, targetId)).toHaveLength(1);
  });

  /**
   * A superuser session with its triggers off (`session_replication_role = replica`; `alter table ... disable trigger`
   * would switch them off for every session of the shared test database) edits the table; the transaction is rolled
   * back afterwards, which restores the rows.
   */
  async function tampered<T>(edit: (tx: EntityManager) => Promise<T>): Promise<T> {
    let out: T | undefined;
    await orm.em
      .fork()
      .transactional(async (tx) => {
        await tx.execute(`set local session_replication_role = replica`);
        out = await edit(tx);
        throw new Error('restore');
      })
      .catch((err: Error) => {
        if (err.message !== 'restore') throw err;
      });
    return out!;
  }

  it('reports a row whose content was changed as the first broken link, then verifies again once it is restored', async () => {
    const em = orm.em.fork();
    const prefix = `${marker}-tamper-`;
    for (let i = 0; i < 5; i++) await insertAudit(em, entry({ targetId: `${prefix}${i}`, details: { amount: i } }));
    const victim = await idOf(em, `${prefix}2`);

    const seen = await tampered(async (tx) => {
      await tx.execute(`update audit_log set details = '{"amount": 1000}' where id = ?`, [victim]);
      // From the very first row: everything before the victim verifies, the victim does not.
      return verifyAuditChain(tx, { batch: 500 });
    });
    expect(seen.ok).toBe(false);
    expect(seen.first_broken).toEqual({ id: victim, reason: 'hash_mismatch' });
    expect(seen.checked).toBeGreaterThanOrEqual(2);

    const after = await verifyAuditChain(em, { batch: 500 });
    expect(after).toMatchObject({ ok: true, first_broken: null });
  });

  it('reports the next row when a changed row was re-hashed, or a row was deleted', async () => {
    const em = orm.em.fork();
    const prefix = `${marker}-rehash-`;
    for (let i = 0; i < 4; i++) await insertAudit(em, entry({ targetId: `${prefix}${i}` }));
    const rows = await rowsOf(em, prefix);
    const [, second, third] = rows.map((r) => Number(r.id));

    const rehashed = await tampered(async (tx) => {
      await tx.execute(`update audit_log set details = '{"forged": true}' where id = ?`, [second]);
      await tx.execute(`update audit_log a set hash = audit_log_hash(a) where id = ?`, [second]);
      return verifyAuditChain(tx, { fromId: Number(rows[0]!.id) });
    });
    expect(rehashed.first_broken).toEqual({ id: third, reason: 'prev_hash_mismatch' });

    const deleted = await tampered(async (tx) => {
      await tx.execute(`delete from audit_log where id = ?`, [second]);
      return verifyAuditChain(tx, { fromId: Number(rows[0]!.id) });
    });
    expect(deleted.first_broken).toEqual({ id: third, reason: 'prev_hash_mismatch' });
  });

  it('refuses a row that would fork the chain (a REPEATABLE READ snapshot older than the last row)', async () => {
    const targetId = `${marker}-fork`;
    await expect(
      orm.em.fork().transactional(
        async (tx) => {
          await tx.execute(`select count(*) from audit_log`); // takes the snapshot
          await insertAudit(orm.em.fork(), entry({ targetId: `${targetId}-other` })); // committed after it
          await insertAudit(tx, entry({ targetId }));
        },
        { isolationLevel: IsolationLevel.REPEATABLE_READ },
      ),
    ).rejects.toThrow(/audit_log_prev_hash_unique|could not serialize/);
    const em = orm.em.fork();
    expect(await rowsOf(em, targetId)).toHaveLength(1); // only the `-other` row (prefix match)
    expect(await verifyAuditChain(em, { fromId: await idOf(em, `${targetId}-other`) })).toMatchObject({ ok: true });
  });
});
