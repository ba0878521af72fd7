import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  AlertEventFilter,
  AlertRuleFilter,
  findAlertEvent,
  findAlertRule,
  insertAlertRule,
  listAlertEvents,
  listAlertRules,
  listDeliveries,
  lockAlertRule,
  summarizeDeliveries,
  softDeleteAlertRule,
  updateAlertRule,
  type AlertDeliveryRow,
  type AlertEventRow,
  type AlertRuleRow,
  type AlertRuleWrite,
  type DeliverySummaryRow,
  type RuleOwner,
  type RuleOwnerScope,
} from '../../db/repositories/alert.repository';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import type { ChannelConfig, DeliveryOutcome } from '../../workflows/contracts/alerts';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  ALERT_ORDERING,
  alertRuleBody,
  alertRulePatch,
  parseAlertInput,
  type AlertHistoryQuery,
  type AlertRuleDefinition,
  type ListActiveAlertsQuery,
  type ListAlertRulesQuery,
} from '../schemas/alerts.schemas';
import { globalAlertRuleBody } from '../schemas/admin-alerts.schemas';
import type { AlertWorkflowGateway } from '../temporal/alert-workflows';
import { recordEvent } from './alert-evaluation';
import type { Actor } from './task.service';

/** How long `test/` waits for the first delivery outcome before answering with what is known so far. */
const TEST_WAIT_MS = 10_000;

const ruleNotFound = () => new AppError(ErrorCode.NOT_FOUND, 404, 'Alert rule not found');
const parseId = (id: string): number => (/^\d{1,10}$/.test(id) ? Number(id) : 0);
const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/**
 * Who changes rules, and whose: a brand route's actor (its brand's rules, audited `alert_rule.*`), or an administrator
 * with no brand (the platform-wide rules, audited `admin.alert_rule.*`).
 */
export type AlertActor = Pick<Actor, 'userId' | 'username' | 'requestId' | 'role' | 'ip'> & { brandId: RuleOwner };

const auditAction = (actor: AlertActor, verb: 'create' | 'update' | 'delete' | 'test') =>
  actor.brandId === null ? `admin.alert_rule.${verb}` : `alert_rule.${verb}`;

export interface Page<T> {
  count: number;
  rows: T[];
  page: number;
  pageSize: number;
}

export interface AlertEventView {
  event: AlertEventRow;
  /** The latest attempts (at most 100 per event), and every attempt counted per channel. */
  deliveries: AlertDeliveryRow[];
  summary: DeliverySummaryRow[];
}

/** The rule's definition as a body, secrets included: what a PATCH is merged onto. */
function definitionOf(row: AlertRuleRow): AlertRuleDefinition {
  return {
    name: row.name,
    description: row.description,
    metric_field: row.metric_field as AlertRuleDefinition['metric_field'],
    aggregation: row.aggregation as AlertRuleDefinition['aggregation'],
    condition: row.condition as AlertRuleDefinition['condition'],
    threshold: row.threshold,
    window_minutes: row.window_minutes,
    min_samples: row.min_samples,
    scope_task_type: row.scope_task_type,
    scope_priority: row.scope_priority,
    cooldown_minutes: row.cooldown_minutes,
    channels: row.channels,
    is_active: row.is_active,
  };
}

function writeOf(d: AlertRuleDefinition): AlertRuleWrite {
  return {
    name: d.name,
    description: d.description,
    metricField: d.metric_field,
    aggregation: d.aggregation,
    condition: d.condition,
    threshold: d.threshold,
    windowMinutes: d.window_minutes,
    minSamples: d.min_samples,
    scopeTaskType: d.scope_task_type,
    scopePriority: d.scope_priority,
    cooldownMinutes: d.cooldown_minutes,
    channels: d.channels,
    isActive: d.is_active,
  };
}

/** What the audit trail keeps of a definition: no secrets. */
function auditSnapshot(d: AlertRuleDefinition) {
  return { ...d, channels: d.channels.map(publicChannel) };
}

/** A channel as the API shows it: webhook secrets are write-only, a Slack webhook URL is a credential (origin only). */
export function publicChannel(c: ChannelConfig): Record<string, unknown> {
  switch (c.type) {
    case 'webhook':
      return { type: 'webhook', url: c.url, has_secret: Boolean(c.secret) };
    case 'email':
      return { type: 'email', to: c.to, subject: c.subject ?? null };
    case 'slack':
      return { type: 'slack', webhook_url: `${new URL(c.webhook_url).origin}/…` };
  }
}

/** End of the cooldown started by the last notified firing, when it is still running at `now` (the database's clock). */
export function cooldownUntil(row: Pick<AlertRuleRow, 'last_triggered_at' | 'cooldown_minutes' | 'now'>): Date | null {
  if (!row.last_triggered_at) return null;
  const until = new Date(new Date(row.last_triggered_at).getTime() + row.cooldown_minutes * 60_000);
  return until > new Date(row.now) ? until : null;
}

export function serializeAlertRule(row: AlertRuleRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    brand: row.brand_id === null ? null : { id: row.brand_id, name: row.brand_name },
    created_by: { id: row.created_by_id, username: row.created_by_username },
    metric_field: row.metric_field,
    aggregation: row.aggregation,
    condition: row.condition,
    threshold: row.threshold,
    window_minutes: row.window_minutes,
    min_samples: row.min_samples,
    scope_task_type: row.scope_task_type,
    scope_priority: row.scope_priority,
    cooldown_minutes: row.cooldown_minutes,
    channels: row.channels.map(publicChannel),
    is_active: row.is_active,
    state: row.state,
    last_value: row.last_value,
    last_samples: row.last_samples,
    last_evaluated_at: iso(row.last_evaluated_at),
    firing_since: iso(row.firing_since),
    last_triggered_at: iso(row.last_triggered_at),
    cooldown_until: iso(cooldownUntil(row)),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** active/: the rule, the value that fired, the latest value, since when, and whether its channels were notified. */
export function serializeActiveAlert(row: AlertRuleRow) {
  return {
    ...serializeAlertRule(row),
    fired_value: row.fired_value,
    since: iso(row.firing_since),
    notified: row.firing_event_id !== null,
    event_id: row.firing_event_id,
  };
}

export function serializeDelivery(d: AlertDeliveryRow) {
  return {
    id: d.id,
    channel: d.channel,
    channel_index: d.channel_index,
    target: d.target,
    attempt: d.attempt,
    status: d.status,
    response_status: d.response_status,
    error: d.error,
    idempotency_key: d.idempotency_key,
    created_at: iso(d.created_at),
    delivered_at: iso(d.delivered_at),
  };
}

export function serializeAlertEvent(v: AlertEventView) {
  const e = v.event;
  return {
    id: e.id,
    rule: { id: e.rule_id, name: e.rule_name },
    kind: e.kind,
    value: e.value,
    threshold: e.threshold,
    samples: e.samples,
    occurred_at: iso(e.occurred_at),
    payload: e.payload,
    delivery_workflow_id: e.delivery_workflow_id,
    delivery_summary: v.summary.map((s) => ({
      channel_index: s.channel_index,
      channel: s.channel,
      target: s.target,
      attempts: s.attempts,
      status: s.delivered ? 'delivered' : s.last_status,
      delivered_at: iso(s.delivered_at),
    })),
    deliveries: v.deliveries.map(serializeDelivery),
  };
}

/**
 * task_monitoring alert rules: CRUD (audited), `test/` through the real delivery path, `active/` and `history/`, for
 * one owner at a time: a brand (the brand routes) or the platform-wide rules (null: the admin routes). Evaluation itself
 * runs in the worker (api/services/alert-evaluation.ts, evaluateAlertsWorkflow).
 */
export class AlertService {
  private readonly bodySchema;
  private readonly globalBodySchema;

  constructor(private readonly deps: { orm: MikroORM; config: AppConfig; workflows: AlertWorkflowGateway }) {
    const opts = { smtpConfigured: Boolean(deps.config.SMTP_URL) };
    this.bodySchema = alertRuleBody(opts);
    this.globalBodySchema = globalAlertRuleBody(opts);
  }

  /** The definition's validation: a platform-wide rule is limited to the fields measurable over every brand. */
  private parseDefinition(owner: RuleOwner, raw: unknown) {
    return owner === null ? parseAlertInput(this.globalBodySchema, raw) : parseAlertInput(this.bodySchema, raw);
  }

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  private pageSize(requested: number | undefined): number {
    return Math.min(requested ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
  }

  // ---- reads ----

  async list(owner: RuleOwner, q: ListAlertRulesQuery): Promise<Page<AlertRuleRow>> {
    const f = new AlertRuleFilter(owner);
    if (q.is_active !== undefined) f.add('r.is_active = ?', q.is_active);
    if (q.metric_field) f.in('r.metric_field', q.metric_field);
    if (q.condition) f.in('r.condition', q.condition);
    if (q.state) f.in('r.state', q.state);
    if (q.aggregation) f.in('r.aggregation', q.aggregation);
    if (q.scope_task_type) f.add('r.scope_task_type = ?', q.scope_task_type);
    if (q.scope_priority) f.in('r.scope_priority', q.scope_priority);
    if (q.last_triggered_after) f.add('r.last_triggered_at >= ?', q.last_triggered_after);
    if (q.last_triggered_before) f.add('r.last_triggered_at <= ?', q.last_triggered_before);
    if (q.search?.trim()) f.search(q.search.trim());
    const orderBy = (q.ordering ?? ['-created_at'])
      .map((o) => `${ALERT_ORDERING[o.replace(/^-/, '') as keyof typeof ALERT_ORDERING]} ${o.startsWith('-') ? 'desc' : 'asc'} nulls last`)
      .concat('r.id desc')
      .join(', ');
    const pageSize = this.pageSize(q.page_size);
    const { count, rows } = await listAlertRules(this.em(), f, orderBy, pageSize, (q.page - 1) * pageSize);
    return { count, rows, page: q.page, pageSize };
  }

  async get(owner: RuleOwner, id: string): Promise<AlertRuleRow> {
    const row = await findAlertRule(this.em(), owner, parseId(id));
    if (!row) throw ruleNotFound();
    return row;
  }

  /** Rules firing now (active ones), the longest-firing first; `all`: every brand's and the platform-wide ones. */
  async active(owner: RuleOwnerScope, q: ListActiveAlertsQuery): Promise<Page<AlertRuleRow>> {
    const f = new AlertRuleFilter(owner).add('r.is_active').add(`r.state = 'firing'`);
    if (q.metric_field) f.in('r.metric_field', q.metric_field);
    const pageSize = this.pageSize(q.page_size);
    const { count, rows } = await listAlertRules(this.em(), f, 'r.firing_since asc nulls last, r.id asc', pageSize, (q.page - 1) * pageSize);
    return { count, rows, page: q.page, pageSize };
  }

  /**
   * Every firing, resolution and test of the owner's rules (deleted rules included; `all`: every rule), newest first,
   * with their deliveries. `refine` narrows further (the admin history's brand filter).
   */
  async history(owner: RuleOwnerScope, q: AlertHistoryQuery, refine?: (f: AlertEventFilter) => void): Promise<Page<AlertEventView>> {
    const f = new AlertEventFilter(owner);
    refine?.(f);
    const rule = q.rule ?? q.rule_id;
    if (rule !== undefined) f.add('e.rule_id = ?', rule);
    if (q.kind) f.add(`e.kind in (${q.kind.map(() => '?').join(', ')})`, ...q.kind);
    if (q.occurred_after) f.add('e.occurred_at >= ?', q.occurred_after);
    if (q.occurred_before) f.add('e.occurred_at <= ?', q.occurred_before);
    const pageSize = this.pageSize(q.page_size);
    const em = this.em();
    const { count, rows } = await listAlertEvents(em, f, pageSize, (q.page - 1) * pageSize);
    const ids = rows.map((r) => r.id);
    const [deliveries, summary] = await Promise.all([listDeliveries(em, ids), summarizeDeliveries(em, ids)]);
    return {
      count,
      rows: rows.map((event) => ({
        event,
        deliveries: deliveries.filter((d) => d.event_id === event.id),
        summary: summary.filter((s) => s.event_id === event.id),
      })),
      page: q.page,
      pageSize,
    };
  }

  // ---- writes ----

  async create(actor: AlertActor, raw: unknown): Promise<AlertRuleRow> {
    const parsed = this.parseDefinition(actor.brandId, raw);
    const def: AlertRuleDefinition = { ...parsed, channels: parsed.channels ?? [] };
    const id = await this.em().transactional(async (tx) => {
      const ruleId = await insertAlertRule(tx, actor.brandId, actor.userId, writeOf(def));
      await insertAudit(tx, {
        ...auditActor(actor),
        action: auditAction(actor, 'create'),
        targetType: 'alert_rule',
        targetId: String(ruleId),
        details: auditSnapshot(def),
        after: { name: def.name, metric_field: def.metric_field, condition: def.condition, threshold: def.threshold },
      });
      return ruleId;
    });
    return (await findAlertRule(this.em(), actor.brandId, id))!;
  }

  /** PUT (the whole definition; `channels` omitted keeps them) or PATCH (the fields given, merged and validated whole). */
  async update(actor: AlertActor, idParam: string, raw: unknown, mode: 'put' | 'patch'): Promise<AlertRuleRow> {
    const id = parseId(idParam);
    const patch = mode === 'patch' ? parseAlertInput(alertRulePatch, raw) : null;
    await this.em().transactional(async (tx) => {
      const row = await lockAlertRule(tx, actor.brandId, id);
      if (!row) throw ruleNotFound();
      const before = definitionOf(row);
      let next: AlertRuleDefinition;
      if (patch) {
        const merged: Record<string, unknown> = { ...before, ...patch };
        // A new metric field brings its own defaults unless they are given too.
        if (patch.metric_field !== undefined && patch.metric_field !== before.metric_field) {
          if (patch.aggregation === undefined) delete merged.aggregation;
          if (patch.min_samples === undefined) delete merged.min_samples;
        }
        const parsed = this.parseDefinition(actor.brandId, merged);
        next = { ...parsed, channels: parsed.channels ?? before.channels };
      } else {
        const parsed = this.parseDefinition(actor.brandId, raw);
        next = { ...parsed, channels: parsed.channels ?? before.channels };
      }
      await updateAlertRule(tx, id, writeOf(next));
      const previous = auditSnapshot(before) as Record<string, unknown>;
      const changes = Object.fromEntries(Object.entries(auditSnapshot(next)).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(previous[k])));
      await insertAudit(tx, {
        ...auditActor(actor),
        action: auditAction(actor, 'update'),
        targetType: 'alert_rule',
        targetId: String(id),
        details: { method: mode.toUpperCase(), before: previous, changes },
        before: Object.fromEntries(Object.keys(changes).map((k) => [k, previous[k] ?? null])),
        after: changes,
      });
    });
    return (await findAlertRule(this.em(), actor.brandId, id))!;
  }

  /** Soft delete: the rule stops being evaluated; its history stays readable. */
  async remove(actor: AlertActor, idParam: string): Promise<void> {
    const id = parseId(idParam);
    await this.em().transactional(async (tx) => {
      const row = await lockAlertRule(tx, actor.brandId, id);
      if (!row) throw ruleNotFound();
      await softDeleteAlertRule(tx, id);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: auditAction(actor, 'delete'),
        targetType: 'alert_rule',
        targetId: String(id),
        details: { rule: auditSnapshot(definitionOf(row)), state: row.state },
        before: { name: row.name, state: row.state },
      });
    });
  }

  /**
   * Sends a sample payload (kind `test`) to the rule's channels through the same workflow and activity as a real
   * firing. Refused with ALERT_COOLDOWN_ACTIVE (409) while the rule's last firing is within its cooldown, unless forced.
   * Answers once every channel has an outcome, or after a few seconds with the attempts so far (retries go on).
   */
  async test(actor: AlertActor, idParam: string, force: boolean): Promise<AlertEventView & { outcome: DeliveryOutcome[] | null }> {
    const id = parseId(idParam);
    const recorded = await this.em().transactional(async (tx) => {
      const row = await lockAlertRule(tx, actor.brandId, id);
      if (!row) throw ruleNotFound();
      const until = cooldownUntil(row);
      if (until && !force) {
        throw new AppError(
          ErrorCode.ALERT_COOLDOWN_ACTIVE,
          409,
          `Alert rule ${row.id} fired at ${iso(row.last_triggered_at)} and is in its cooldown until ${until.toISOString()}; send {"force": true} to test anyway`,
          { last_triggered_at: iso(row.last_triggered_at), cooldown_until: until.toISOString() },
        );
      }
      const event = await recordEvent(tx, row, 'test', { value: row.last_value ?? row.threshold, samples: row.last_samples });
      await insertAudit(tx, {
        ...auditActor(actor),
        action: auditAction(actor, 'test'),
        targetType: 'alert_rule',
        targetId: String(row.id),
        details: { event_id: event.id, forced: Boolean(until && force), channels: row.channels.map(publicChannel) },
      });
      return event;
    });
    let outcome: DeliveryOutcome[] | null = null;
    if (recorded.dispatch) {
      // The event is committed first: if Temporal cannot be reached now, the next evaluation starts its delivery.
      await this.deps.workflows.startDelivery(recorded.dispatch);
      outcome = await this.deps.workflows.waitForDelivery(recorded.dispatch.workflowId, TEST_WAIT_MS);
    }
    const em = this.em();
    const event = (await findAlertEvent(em, actor.brandId, recorded.id))!;
    const [deliveries, summary] = await Promise.all([listDeliveries(em, [recorded.id]), summarizeDeliveries(em, [recorded.id])]);
    return { event, deliveries, summary, outcome };
  }
}
