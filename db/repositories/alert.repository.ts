import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertEventKind, ChannelConfig } from '../../workflows/contracts/alerts';
import { escapeLike } from './task-query.repository';
import { SqlWhere } from './sql-where';

/**
 * Alert rules (alert_rules, soft-deleted, brand-scoped or platform-wide), their events (alert_events: fired, resolved,
 * test) and each delivery attempt of an event to a channel (alert_deliveries). One function per data operation.
 */

/**
 * Whose rules an operation sees: one brand's (the brand routes), or the platform-wide ones, which have no brand (null,
 * the admin routes). Neither ever sees the other's.
 */
export type RuleOwner = number | null;

/** A rule owner, or every rule of every brand and the platform-wide ones (the admin's view of what fires and fired). */
export type RuleOwnerScope = RuleOwner | 'all';

export interface AlertRuleRow {
  id: number;
  /** Null for a platform-wide rule. */
  brand_id: number | null;
  brand_name: string | null;
  created_by_id: number;
  created_by_username: string;
  name: string;
  description: string;
  metric_field: string;
  aggregation: string | null;
  condition: string;
  threshold: number;
  window_minutes: number;
  min_samples: number;
  scope_task_type: string | null;
  scope_priority: string | null;
  cooldown_minutes: number;
  channels: ChannelConfig[];
  is_active: boolean;
  state: 'ok' | 'firing';
  last_value: number | null;
  last_samples: number | null;
  last_evaluated_at: Date | null;
  firing_since: Date | null;
  fired_value: number | null;
  firing_event_id: number | null;
  last_triggered_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** The database's clock when the row was read (cooldowns are judged against it, never the API host's clock). */
  now: Date;
}

/** What a create or an update writes (every definition field). */
export interface AlertRuleWrite {
  name: string;
  description: string;
  metricField: string;
  aggregation: string | null;
  condition: string;
  threshold: number;
  windowMinutes: number;
  minSamples: number;
  scopeTaskType: string | null;
  scopePriority: string | null;
  cooldownMinutes: number;
  channels: ChannelConfig[];
  isActive: boolean;
}

const SELECT_RULE = `
  select r.id, r.brand_id, b.name as brand_name, r.created_by_id, u.username as created_by_username, r.name, r.description,
         r.metric_field, r.aggregation, r.condition, r.threshold, r.window_minutes, r.min_samples, r.scope_task_type,
         r.scope_priority, r.cooldown_minutes, r.channels, r.is_active, r.state, r.last_value, r.last_samples, r.last_evaluated_at,
         r.firing_since, r.fired_value, r.firing_event_id::int as firing_event_id, r.last_triggered_at, r.created_at, r.updated_at,
         clock_timestamp() as now
    from alert_rules r
    left join brands b on b.id = r.brand_id
    join users u on u.id = r.created_by_id`;

const validId = (id: number) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647;

/** `alias.brand_id` restricted to an owner: `= ?` for a brand (its index stays usable), `is null` for platform-wide rules. */
function ownerCondition(alias: string, owner: RuleOwnerScope): [string, ...unknown[]] {
  if (owner === 'all') return ['true'];
  return owner === null ? [`${alias}.brand_id is null`] : [`${alias}.brand_id = ?`, owner];
}

/** A WHERE clause over `alert_rules r`: one owner's (or every) live rows, values bound. */
export class AlertRuleFilter extends SqlWhere {
  constructor(owner: RuleOwnerScope) {
    super();
    this.add(...ownerCondition('r', owner)).add('r.deleted_at is null');
  }

  search(term: string): this {
    return this.add(`r.name ilike ?`, `%${escapeLike(term)}%`);
  }
}

export async function listAlertRules(
  em: EntityManager,
  filter: AlertRuleFilter,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: AlertRuleRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<AlertRuleRow[]>(`${SELECT_RULE} where ${filter.sql} order by ${orderBy} limit ? offset ?`, [...filter.params, limit, offset]),
    em.execute<{ count: number }[]>(`select count(*)::int as count from alert_rules r where ${filter.sql}`, filter.params),
  ]);
  return { count: countRows[0]?.count ?? 0, rows };
}

export async function findAlertRule(em: EntityManager, owner: RuleOwner, id: number): Promise<AlertRuleRow | null> {
  if (!validId(id)) return null;
  const f = new AlertRuleFilter(owner).add('r.id = ?', id);
  const rows = await em.execute<AlertRuleRow[]>(`${SELECT_RULE} where ${f.sql}`, f.params);
  return rows[0] ?? null;
}

/** Reads and locks the rule for the rest of the transaction (serialises edits, tests and evaluations of one rule). */
export async function lockAlertRule(em: EntityManager, owner: RuleOwner, id: number): Promise<AlertRuleRow | null> {
  if (!validId(id)) return null;
  const f = new AlertRuleFilter(owner).add('r.id = ?', id);
  const rows = await em.execute<AlertRuleRow[]>(`${SELECT_RULE} where ${f.sql} for update of r`, f.params);
  return rows[0] ?? null;
}

const WRITE_VALUES = (w: AlertRuleWrite) => [
  w.name,
  w.description,
  w.metricField,
  w.aggregation,
  w.condition,
  w.threshold,
  w.windowMinutes,
  w.minSamples,
  w.scopeTaskType,
  w.scopePriority,
  w.cooldownMinutes,
  JSON.stringify(w.channels),
  w.isActive,
];

export async function insertAlertRule(em: EntityManager, owner: RuleOwner, createdById: number, w: AlertRuleWrite): Promise<number> {
  const rows = await em.execute<{ id: number }[]>(
    `insert into alert_rules (name, description, metric_field, aggregation, condition, threshold, window_minutes, min_samples,
                              scope_task_type, scope_priority, cooldown_minutes, channels, is_active, brand_id, created_by_id,
                              state, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, 'ok', clock_timestamp(), clock_timestamp()) returning id`,
    [...WRITE_VALUES(w), owner, createdById],
  );
  return rows[0]!.id;
}

export async function updateAlertRule(em: EntityManager, id: number, w: AlertRuleWrite): Promise<void> {
  // A rule switched off, or now measuring something else (field, aggregation, scope), starts again from "ok": a firing
  // state left over would hide the next breach (no new event) or send a stale resolution. A new threshold, condition or
  // window keeps the state: the next evaluation fires or resolves (and notifies) as usual.
  await em.execute(
    `update alert_rules r set
            state = case when x.reset then 'ok' else r.state end,
            firing_since = case when x.reset then null else r.firing_since end,
            fired_value = case when x.reset then null else r.fired_value end,
            firing_event_id = case when x.reset then null else r.firing_event_id end,
            name = ?, description = ?, metric_field = ?, aggregation = ?, condition = ?, threshold = ?,
            window_minutes = ?, min_samples = ?, scope_task_type = ?, scope_priority = ?, cooldown_minutes = ?, channels = ?::jsonb,
            is_active = ?, updated_at = clock_timestamp()
       from (select id, (not ?::boolean or metric_field is distinct from ? or aggregation is distinct from ?
                         or scope_task_type is distinct from ? or scope_priority is distinct from ?) as reset
               from alert_rules where id = ?) x
      where r.id = x.id`,
    [
      ...WRITE_VALUES(w),
      w.isActive, w.metricField, w.aggregation, w.scopeTaskType, w.scopePriority,
      id,
    ],
  );
}

export async function softDeleteAlertRule(em: EntityManager, id: number): Promise<void> {
  await em.execute(`update alert_rules set deleted_at = clock_timestamp(), updated_at = clock_timestamp() where id = ?`, [id]);
}

// ---- evaluation ----

/** Which rules an evaluation covers: every active rule (the schedule), or some brands or rules (tests, manual runs). */
export interface EvaluationScope {
  brandIds?: number[];
  ruleIds?: number[];
}

function scopeSql(scope: EvaluationScope, alias: string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (scope.brandIds) {
    parts.push(scope.brandIds.length ? `${alias}.brand_id in (${scope.brandIds.map(() => '?').join(', ')})` : 'false');
    params.push(...scope.brandIds);
  }
  if (scope.ruleIds) {
    parts.push(scope.ruleIds.length ? `${alias}.id in (${scope.ruleIds.map(() => '?').join(', ')})` : 'false');
    params.push(...scope.ruleIds);
  }
  return { sql: parts.map((p) => ` and ${p}`).join(''), params };
}

export interface RuleMeasurement {
  id: number;
  metric_field: string;
  aggregation: string | null;
  condition: string;
  threshold: number;
  min_samples: number;
  state: 'ok' | 'firing';
  /** Rows the value was computed from: task_metrics rows, finished tasks (failure rate), pending tasks (queue depth). */
  samples: number;
  /** Null when the window holds no rows. */
  value: number | null;
}

const SCOPE_MATCH = (p: string, t: string) =>
  `(${p}.scope_task_type is null or ${t}.task_type = ${p}.scope_task_type) and (${p}.scope_priority is null or ${t}.priority = ${p}.scope_priority)`;
// `is not distinct from`: a platform-wide rule (no brand) matches its probe too.
const SAME_SCOPE = (a: string, b: string) =>
  `${a}.brand_id is not distinct from ${b}.brand_id and ${a}.scope_task_type is not distinct from ${b}.scope_task_type and ${a}.scope_priority is not distinct from ${b}.scope_priority`;

/**
 * The current value of every active rule in scope, in one statement. Rules that read the same data (same brand, scope,
 * window, field and aggregation: they differ only in threshold or condition) share one probe; each probe is a lateral
 * index range scan: task_metrics by (brand_id, finished_at), finished tasks by the partial index tasks_brand_finished_idx,
 * pending tasks by (brand_id, status). A platform-wide rule (no brand: failure rate or queue depth only) has a probe of
 * its own over every brand's tasks — finished ones by tasks_finished_idx (completed_at), pending ones by an index on
 * unfinished tasks — written as a separate branch so the per-brand probes keep their brand index. The probe
 * results are materialized: each probe runs once, not once per rule joined to it.
 */
export async function measureAlertRules(em: EntityManager, scope: EvaluationScope): Promise<RuleMeasurement[]> {
  const s = scopeSql(scope, 'r');
  return em.execute<RuleMeasurement[]>(
    `with rules as (
       select r.id, r.brand_id, r.metric_field, coalesce(r.aggregation, 'avg') as aggregation, r.window_minutes,
              r.scope_task_type, r.scope_priority
         from alert_rules r
        where r.is_active and r.deleted_at is null${s.sql}
     ),
     metric_probes as (
       select distinct brand_id, metric_field, aggregation, window_minutes, scope_task_type, scope_priority
         from rules where metric_field in ('execution_time_ms', 'memory_usage_mb', 'cpu_usage_percent', 'cost_usd', 'error_count')
     ),
     metric_values as materialized (
       select p.*, m.samples, m.value
         from metric_probes p
         cross join lateral (
           select count(x.v)::int as samples,
                  (case p.aggregation
                     when 'avg' then avg(x.v) when 'max' then max(x.v) when 'sum' then sum(x.v) when 'count' then count(x.v)
                     when 'p95' then percentile_cont(0.95) within group (order by x.v) end)::float8 as value
             from (select case p.metric_field
                            when 'execution_time_ms' then tm.execution_time_ms when 'memory_usage_mb' then tm.memory_usage_mb
                            when 'cpu_usage_percent' then tm.cpu_usage_percent when 'cost_usd' then tm.cost_usd
                            else tm.error_count::float8 end as v
                     from task_metrics tm
                    where tm.brand_id = p.brand_id
                      and tm.finished_at >= now() - make_interval(secs => p.window_minutes * 60)
                      and ${SCOPE_MATCH('p', 'tm')}) x
         ) m
     ),
     rate_probes as (
       select distinct brand_id, window_minutes, scope_task_type, scope_priority from rules where metric_field = 'failure_rate_percent'
     ),
     rate_values as materialized (
       select p.*, m.samples, m.value
         from rate_probes p
         cross join lateral (
           select count(*)::int as samples,
                  (100.0 * count(*) filter (where t.status = 'failed') / nullif(count(*), 0))::float8 as value
             from tasks t
            where t.brand_id = p.brand_id and t.deleted_at is null and t.status in ('completed', 'failed')
              and t.completed_at >= now() - make_interval(secs => p.window_minutes * 60)
              and ${SCOPE_MATCH('p', 't')}
         ) m
        where p.brand_id is not null
       union all
       select p.*, m.samples, m.value
         from rate_probes p
         cross join lateral (
           select count(*)::int as samples,
                  (100.0 * count(*) filter (where t.status = 'failed') / nullif(count(*), 0))::float8 as value
             from tasks t
            where t.deleted_at is null and t.status in ('completed', 'failed')
              and t.completed_at >= now() - make_interval(secs => p.window_minutes * 60)
              and ${SCOPE_MATCH('p', 't')}
         ) m
        where p.brand_id is null
     ),
     depth_probes as (
       select distinct brand_id, scope_task_type, scope_priority from rules where metric_field = 'queue_depth'
     ),
     depth_values as materialized (
       select p.*, m.samples, m.samples::float8 as value
         from depth_probes p
         cross join lateral (
           select count(*)::int as samples
             from tasks t
            where t.brand_id = p.brand_id and t.deleted_at is null and t.status = 'pending'
              and (t.scheduled_for is null or t.scheduled_for <= now())
              and ${SCOPE_MATCH('p', 't')}
         ) m
        where p.brand_id is not null
       union all
       select p.*, m.samples, m.samples::float8 as value
         from depth_probes p
         cross join lateral (
           select count(*)::int as samples
             from tasks t
            where t.deleted_at is null and t.status = 'pending'
              and (t.scheduled_for is null or t.scheduled_for <= now())
              and ${SCOPE_MATCH('p', 't')}
         ) m
        where p.brand_id is null
     )
     select a.id, a.metric_field, a.aggregation, a.condition, a.threshold, a.min_samples, a.state,
            coalesce(mv.samples, rv.samples, dv.samples, 0) as samples,
            coalesce(mv.value, rv.value, dv.value) as value
       from rules r
       join alert_rules a on a.id = r.id
       left join metric_values mv on mv.metric_field = r.metric_field and mv.aggregation = r.aggregation
                                 and mv.window_minutes = r.window_minutes and ${SAME_SCOPE('mv', 'r')}
       left join rate_values rv on r.metric_field = 'failure_rate_percent' and rv.window_minutes = r.window_minutes and ${SAME_SCOPE('rv', 'r')}
       left join depth_values dv on r.metric_field = 'queue_depth' and ${SAME_SCOPE('dv', 'r')}
      order by r.id`,
    s.params,
  );
}

/** Stores what this evaluation measured on every rule it covered (one statement). */
export async function recordMeasurements(em: EntityManager, values: { id: number; value: number | null; samples: number }[]): Promise<void> {
  if (values.length === 0) return;
  await em.execute(
    `update alert_rules r set last_value = v.value, last_samples = v.samples, last_evaluated_at = clock_timestamp()
       from jsonb_to_recordset(?::jsonb) as v(id int, value float8, samples int)
      where r.id = v.id`,
    [JSON.stringify(values)],
  );
}

/** The rules about to change state, locked in id order (two evaluations never deadlock, the second sees the first's work). */
export async function lockRulesForTransition(em: EntityManager, ids: number[]): Promise<AlertRuleRow[]> {
  if (ids.length === 0) return [];
  return em.execute<AlertRuleRow[]>(
    `${SELECT_RULE} where r.id in (${ids.map(() => '?').join(', ')}) and r.is_active and r.deleted_at is null order by r.id for update of r`,
    ids,
  );
}

export async function markRuleFiring(
  em: EntityManager,
  id: number,
  f: { value: number; at: Date; eventId: number | null },
): Promise<void> {
  await em.execute(
    `update alert_rules set state = 'firing', firing_since = ?, fired_value = ?, firing_event_id = ?,
            last_triggered_at = case when ?::bigint is null then last_triggered_at else ? end
      where id = ?`,
    [f.at, f.value, f.eventId, f.eventId, f.at, id],
  );
}

export async function markRuleResolved(em: EntityManager, id: number): Promise<void> {
  await em.execute(`update alert_rules set state = 'ok', firing_since = null, fired_value = null, firing_event_id = null where id = ?`, [id]);
}

// ---- events ----

export interface AlertEventInsert {
  ruleId: number;
  brandId: number | null;
  kind: AlertEventKind;
  value: number | null;
  threshold: number;
  samples: number | null;
  payload: Record<string, unknown>;
  deliveryWorkflowId: string | null;
}

/** An event id and the database time, reserved before the insert so the payload and workflow id can carry them. */
export async function reserveAlertEvent(em: EntityManager): Promise<{ id: number; at: Date }> {
  const rows = await em.execute<{ id: number; at: Date }[]>(
    `select nextval(pg_get_serial_sequence('alert_events', 'id'))::int as id, clock_timestamp() as at`,
  );
  return rows[0]!;
}

export async function insertAlertEvent(em: EntityManager, reserved: { id: number; at: Date }, e: AlertEventInsert): Promise<void> {
  await em.execute(
    `insert into alert_events (id, rule_id, brand_id, kind, value, threshold, samples, payload, delivery_workflow_id, occurred_at)
     values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)`,
    [reserved.id, e.ruleId, e.brandId, e.kind, e.value, e.threshold, e.samples, JSON.stringify(e.payload), e.deliveryWorkflowId, reserved.at],
  );
}

export interface AlertEventRow {
  id: number;
  rule_id: number;
  rule_name: string;
  /** Null for an event of a platform-wide rule. */
  brand_id: number | null;
  brand_name: string | null;
  kind: AlertEventKind;
  value: number | null;
  threshold: number;
  samples: number | null;
  payload: Record<string, unknown>;
  delivery_workflow_id: string | null;
  occurred_at: Date;
}

/** A WHERE clause over `alert_events e` (joined to its rule `r`): one owner's events, or every one. Deleted rules keep their history. */
export class AlertEventFilter extends SqlWhere {
  constructor(owner: RuleOwnerScope) {
    super();
    this.add(...ownerCondition('e', owner));
  }
}

export async function listAlertEvents(
  em: EntityManager,
  filter: AlertEventFilter,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: AlertEventRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<AlertEventRow[]>(
      `select e.id::int as id, e.rule_id, r.name as rule_name, e.brand_id, b.name as brand_name, e.kind, e.value, e.threshold,
              e.samples, e.payload, e.delivery_workflow_id, e.occurred_at
         from alert_events e join alert_rules r on r.id = e.rule_id left join brands b on b.id = e.brand_id
        where ${filter.sql}
        order by e.occurred_at desc, e.id desc limit ? offset ?`,
      [...filter.params, limit, offset],
    ),
    em.execute<{ count: number }[]>(`select count(*)::int as count from alert_events e where ${filter.sql}`, filter.params),
  ]);
  return { count: countRows[0]?.count ?? 0, rows };
}

export async function findAlertEvent(em: EntityManager, owner: RuleOwner, id: number): Promise<AlertEventRow | null> {
  const f = new AlertEventFilter(owner).add('e.id = ?', id);
  return (await listAlertEvents(em, f, 1, 0)).rows[0] ?? null;
}

/**
 * Events whose delivery workflow may never have started (the evaluation run ended between committing them and starting
 * it, or the API could not reach Temporal after a test/): a delivery workflow id, no attempt yet, older than a minute.
 * Starting them again is harmless: the workflow id is started at most once.
 */
export async function findUndeliveredEvents(
  em: EntityManager,
  scope: EvaluationScope,
  olderThanSeconds: number,
  newerThanMinutes: number,
): Promise<{ id: number; rule_id: number; delivery_workflow_id: string; channels: ChannelConfig[] }[]> {
  const s = scopeSql({ brandIds: scope.brandIds, ruleIds: scope.ruleIds }, 'r');
  return em.execute(
    `select e.id::int as id, e.rule_id, e.delivery_workflow_id, r.channels
       from alert_events e join alert_rules r on r.id = e.rule_id
      where e.delivery_workflow_id is not null
        and e.occurred_at < now() - make_interval(secs => ?) and e.occurred_at > now() - make_interval(mins => ?)
        and not exists (select 1 from alert_deliveries d where d.event_id = e.id)${s.sql}
      order by e.id limit 500`,
    [olderThanSeconds, newerThanMinutes, ...s.params],
  );
}

/** What a delivery attempt needs: the event's payload and its rule's channels as they are now (secrets included). */
export async function loadEventForDelivery(
  em: EntityManager,
  eventId: number,
): Promise<{ payload: Record<string, unknown>; channels: ChannelConfig[]; kind: AlertEventKind } | null> {
  const rows = await em.execute<{ payload: Record<string, unknown>; channels: ChannelConfig[]; kind: AlertEventKind }[]>(
    `select e.payload, r.channels, e.kind from alert_events e join alert_rules r on r.id = e.rule_id where e.id = ?`,
    [eventId],
  );
  return rows[0] ?? null;
}

// ---- deliveries ----

export interface AlertDeliveryRow {
  id: number;
  event_id: number;
  channel: string;
  channel_index: number;
  target: string;
  attempt: number;
  status: 'pending' | 'delivered' | 'failed';
  response_status: number | null;
  error: string | null;
  idempotency_key: string;
  created_at: Date;
  delivered_at: Date | null;
}

export async function insertDeliveryAttempt(
  em: EntityManager,
  d: { eventId: number; channel: string; channelIndex: number; target: string; attempt: number; idempotencyKey: string },
): Promise<number> {
  const rows = await em.execute<{ id: number }[]>(
    `insert into alert_deliveries (event_id, channel, channel_index, target, attempt, status, idempotency_key, created_at)
     values (?, ?, ?, ?, ?, 'pending', ?, clock_timestamp()) returning id::int as id`,
    [d.eventId, d.channel, d.channelIndex, d.target, d.attempt, d.idempotencyKey],
  );
  return rows[0]!.id;
}

export async function finishDeliveryAttempt(
  em: EntityManager,
  id: number,
  r: { status: 'delivered' | 'failed'; responseStatus: number | null; error: string | null },
): Promise<void> {
  await em.execute(
    `update alert_deliveries set status = ?, response_status = ?, error = ?,
            delivered_at = case when ? = 'delivered' then clock_timestamp() else null end
      where id = ?`,
    [r.status, r.responseStatus, r.error, r.status, id],
  );
}

/** Every attempt of these events, by channel, oldest first (at most the latest `perEvent` per event). */
export async function listDeliveries(em: EntityManager, eventIds: number[], perEvent = 100): Promise<AlertDeliveryRow[]> {
  if (eventIds.length === 0) return [];
  return em.execute<AlertDeliveryRow[]>(
    `select id, event_id, channel, channel_index, target, attempt, status, response_status, error, idempotency_key, created_at, delivered_at
       from (select d.id::int as id, d.event_id::int as event_id, d.channel, d.channel_index, d.target, d.attempt, d.status,
                    d.response_status, d.error, d.idempotency_key, d.created_at, d.delivered_at,
                    row_number() over (partition by d.event_id order by d.id desc) as rn
               from alert_deliveries d
              where d.event_id in (${eventIds.map(() => '?').join(', ')})) x
      where rn <= ?
      order by event_id, channel_index, id`,
    [...eventIds, perEvent],
  );
}

export interface DeliverySummaryRow {
  event_id: number;
  channel_index: number;
  channel: string;
  target: string;
  attempts: number;
  delivered: boolean;
  last_status: 'pending' | 'delivered' | 'failed';
  delivered_at: Date | null;
}

/** Per event and channel: every attempt counted (not only the listed ones), delivered or not, the latest status. */
export async function summarizeDeliveries(em: EntityManager, eventIds: number[]): Promise<DeliverySummaryRow[]> {
  if (eventIds.length === 0) return [];
  return em.execute<DeliverySummaryRow[]>(
    `select d.event_id::int as event_id, d.channel_index, (array_agg(d.channel order by d.id desc))[1] as channel,
            (array_agg(d.target order by d.id desc))[1] as target, count(*)::int as attempts,
            bool_or(d.status = 'delivered') as delivered, (array_agg(d.status order by d.id desc))[1] as last_status,
            max(d.delivered_at) as delivered_at
       from alert_deliveries d
      where d.event_id in (${eventIds.map(() => '?').join(', ')})
      group by d.event_id, d.channel_index
      order by d.event_id, d.channel_index`,
    eventIds,
  );
}
