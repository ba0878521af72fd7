import type { EntityManager } from '@mikro-orm/postgresql';
import {
  findUndeliveredEvents,
  insertAlertEvent,
  lockRulesForTransition,
  markRuleFiring,
  markRuleResolved,
  measureAlertRules,
  recordMeasurements,
  reserveAlertEvent,
  type AlertRuleRow,
  type EvaluationScope,
  type RuleMeasurement,
} from '../../db/repositories/alert.repository';
import {
  alertDeliveryWorkflowId,
  breaches,
  CONDITION_SYMBOL,
  type AlertCondition,
  type AlertDispatch,
  type AlertEventKind,
} from '../../workflows/contracts/alerts';

/**
 * Alert evaluation: measure every active rule (one grouped statement), then record the rules whose verdict changed —
 * ok → firing (a `fired` event, unless the rule is within its cooldown) and firing → ok (`resolved`) — in one
 * transaction that locks those rules first, so two evaluations running at once never record a transition twice.
 */

export interface EvaluationReport {
  evaluated: number;
  /** Event ids recorded by this run. */
  fired: number[];
  resolved: number[];
  /** Rules that crossed their threshold within their cooldown: firing, no event, nothing sent. */
  silenced: number[];
  /** Events to hand to deliverAlertWorkflow (new ones, and older ones whose delivery never started). */
  dispatch: AlertDispatch[];
}

/** What a verdict is made of. Fewer samples than `min_samples` give no verdict: not breaching. */
export function verdict(m: Pick<RuleMeasurement, 'metric_field' | 'aggregation' | 'condition' | 'threshold' | 'min_samples' | 'samples' | 'value'>): {
  value: number | null;
  breach: boolean;
} {
  // A count (of task_metrics rows, of pending tasks) is a value even at zero; every other figure needs its samples.
  const counts = m.metric_field === 'queue_depth' || m.aggregation === 'count';
  const value = counts ? (m.value ?? 0) : m.samples >= Math.max(1, m.min_samples) ? m.value : null;
  return { value, breach: value !== null && breaches(value, m.condition as AlertCondition, m.threshold) };
}

export async function evaluateAlerts(em: EntityManager, scope: EvaluationScope): Promise<EvaluationReport> {
  const startedAt = await dbNow(em);
  const measured = await measureAlertRules(em, scope);
  const verdicts = new Map(measured.map((m) => [m.id, { ...verdict(m), samples: m.samples }]));
  await recordMeasurements(
    em,
    measured.map((m) => ({ id: m.id, value: verdicts.get(m.id)!.value, samples: m.samples })),
  );
  const changing = measured.filter((m) => (verdicts.get(m.id)!.breach ? 'firing' : 'ok') !== m.state).map((m) => m.id);
  // Still breaching after a firing the cooldown silenced: once the cooldown is over, that incident is notified.
  const stillBreaching = measured.filter((m) => m.state === 'firing' && verdicts.get(m.id)!.breach).map((m) => m.id);
  if (stillBreaching.length) {
    const silenced = await em.execute<{ id: number }[]>(
      `select id from alert_rules where state = 'firing' and firing_event_id is null and id in (${stillBreaching.map(() => '?').join(', ')})`,
      stillBreaching,
    );
    changing.push(...silenced.map((r) => r.id));
  }
  const report: EvaluationReport = { evaluated: measured.length, fired: [], resolved: [], silenced: [], dispatch: [] };

  if (changing.length) {
    await em.transactional(async (tx) => {
      for (const rule of await lockRulesForTransition(tx, changing)) {
        // Edited since this run measured it: the next run judges the new definition.
        if (new Date(rule.updated_at) > startedAt) continue;
        const v = verdicts.get(rule.id)!;
        const breach = v.value !== null && breaches(v.value, rule.condition as AlertCondition, rule.threshold);
        const silencedFiring = rule.state === 'firing' && breach && rule.firing_event_id === null;
        if ((rule.state === 'ok' || silencedFiring) && breach) {
          const now = new Date(rule.now);
          const lastTriggered = rule.last_triggered_at ? new Date(rule.last_triggered_at).getTime() : null;
          if (lastTriggered !== null && now.getTime() - lastTriggered < rule.cooldown_minutes * 60_000) {
            if (!silencedFiring) await markRuleFiring(tx, rule.id, { value: v.value!, at: now, eventId: null });
            report.silenced.push(rule.id);
            continue;
          }
          const event = await recordEvent(tx, rule, 'fired', { value: v.value, samples: v.samples });
          await markRuleFiring(tx, rule.id, { value: v.value!, at: event.at, eventId: event.id });
          report.fired.push(event.id);
          if (event.dispatch) report.dispatch.push(event.dispatch);
        } else if (rule.state === 'firing' && !breach) {
          // A firing the cooldown silenced ends silently too: history pairs every resolution with its firing.
          if (rule.firing_event_id !== null) {
            const event = await recordEvent(tx, rule, 'resolved', { value: v.value, samples: v.samples });
            report.resolved.push(event.id);
            if (event.dispatch) report.dispatch.push(event.dispatch);
          }
          await markRuleResolved(tx, rule.id);
        }
      }
    });
  }

  const known = new Set(report.dispatch.map((d) => d.eventId));
  for (const e of await findUndeliveredEvents(em, scope, 60, 60)) {
    if (known.has(e.id) || e.channels.length === 0) continue;
    report.dispatch.push(dispatchOf(e.id, e.delivery_workflow_id, e.channels));
  }
  return report;
}

async function dbNow(em: EntityManager): Promise<Date> {
  const rows = await em.execute<{ now: Date }[]>(`select clock_timestamp() as now`);
  return new Date(rows[0]!.now);
}

function dispatchOf(eventId: number, workflowId: string, channels: AlertRuleRow['channels']): AlertDispatch {
  return { eventId, workflowId, channels: channels.map((c, index) => ({ index, type: c.type })) };
}

/**
 * Inserts an event with its payload and, when the rule has channels, the id of the workflow that will deliver it.
 * Used by evaluations (fired, resolved) and by `test/` (test).
 */
export async function recordEvent(
  em: EntityManager,
  rule: AlertRuleRow,
  kind: AlertEventKind,
  m: { value: number | null; samples: number | null },
): Promise<{ id: number; at: Date; payload: Record<string, unknown>; dispatch: AlertDispatch | null }> {
  const reserved = await reserveAlertEvent(em);
  const at = new Date(reserved.at);
  const payload = alertPayload(kind, rule, { eventId: reserved.id, value: m.value, samples: m.samples, at });
  const workflowId = rule.channels.length ? alertDeliveryWorkflowId(reserved.id, at) : null;
  await insertAlertEvent(em, { id: reserved.id, at }, {
    ruleId: rule.id,
    brandId: rule.brand_id,
    kind,
    value: m.value,
    threshold: rule.threshold,
    samples: m.samples,
    payload,
    deliveryWorkflowId: workflowId,
  });
  return { id: reserved.id, at, payload, dispatch: workflowId ? dispatchOf(reserved.id, workflowId, rule.channels) : null };
}

const FIELD_LABEL: Record<string, string> = {
  execution_time_ms: 'execution time (ms)',
  memory_usage_mb: 'memory (MB)',
  cpu_usage_percent: 'CPU (%)',
  cost_usd: 'cost (USD)',
  error_count: 'errors',
  failure_rate_percent: 'failure rate (%)',
  queue_depth: 'pending tasks',
};

const round = (v: number) => Math.round(v * 1000) / 1000;

/** The JSON every channel receives (the webhook body; Slack and e-mail show `text`). */
export function alertPayload(
  kind: AlertEventKind,
  rule: AlertRuleRow,
  e: { eventId: number; value: number | null; samples: number | null; at: Date },
): Record<string, unknown> {
  const tag = kind === 'fired' ? 'FIRING' : kind === 'resolved' ? 'RESOLVED' : 'TEST';
  const measure =
    rule.metric_field === 'queue_depth' || rule.metric_field === 'failure_rate_percent'
      ? FIELD_LABEL[rule.metric_field]
      : `${rule.aggregation ?? 'avg'} ${FIELD_LABEL[rule.metric_field] ?? rule.metric_field}`;
  const scope = [rule.scope_task_type && `task type ${rule.scope_task_type}`, rule.scope_priority && `priority ${rule.scope_priority}`].filter(Boolean);
  const window = rule.metric_field === 'queue_depth' ? 'now' : `over the last ${rule.window_minutes} min`;
  const shown = e.value === null ? 'no data' : String(round(e.value));
  // A platform-wide rule (no brand) measures every brand's tasks.
  const brand = rule.brand_id === null ? 'all brands' : `brand ${rule.brand_name}`;
  const text =
    `[${tag}] ${rule.name}: ${measure} = ${shown} ` +
    `(threshold ${CONDITION_SYMBOL[rule.condition as AlertCondition] ?? rule.condition} ${rule.threshold}) ${window}` +
    `${e.samples !== null ? `, ${e.samples} samples` : ''}; ${brand}${scope.length ? `, ${scope.join(', ')}` : ''}` +
    (kind === 'test' ? ' — test notification, nothing is wrong' : '');
  return {
    kind,
    event_id: e.eventId,
    title: `[${tag}] ${rule.name}`,
    text,
    occurred_at: e.at.toISOString(),
    value: e.value === null ? null : round(e.value),
    samples: e.samples,
    threshold: rule.threshold,
    rule: {
      id: rule.id,
      name: rule.name,
      metric_field: rule.metric_field,
      aggregation: rule.aggregation,
      condition: rule.condition,
      threshold: rule.threshold,
      window_minutes: rule.window_minutes,
      min_samples: rule.min_samples,
      scope_task_type: rule.scope_task_type,
      scope_priority: rule.scope_priority,
    },
    // null: a platform-wide rule (the text says "all brands").
    brand: rule.brand_id === null ? null : { id: rule.brand_id, name: rule.brand_name },
    ...(kind === 'resolved' && rule.firing_since ? { firing_since: new Date(rule.firing_since).toISOString() } : {}),
  };
}
