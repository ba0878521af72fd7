/**
 * The `pipeline` task type's pure parts: the step graph check (at creation and in the workflow) and the resolution of
 * `${steps.<id>.result.<path>}` references in a step's input from the results of earlier steps. No I/O: imported by
 * workflow code.
 */

export interface PipelineStepSpec {
  id: string;
  task_type: string;
  input: Record<string, unknown>;
  depends_on: string[];
  compensation?: { task_type: string; input: Record<string, unknown> };
}

export type PipelineStepState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'skipped' | 'compensated';

/** One problem of a step graph, with the path (from `steps`) of the field it is about. */
export interface GraphIssue {
  path: (string | number)[];
  message: string;
}

const REFERENCE = /\$\{steps\.([A-Za-z0-9_-]+)\.result((?:\.[A-Za-z0-9_-]+)*)\}/g;
const WHOLE_REFERENCE = /^\$\{steps\.([A-Za-z0-9_-]+)\.result((?:\.[A-Za-z0-9_-]+)*)\}$/;

/** The step ids an input refers to through `${steps.<id>.result...}`. */
export function referencedSteps(value: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(REFERENCE)) out.add(m[1]!);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  return [...out];
}

/**
 * Duplicate ids, unknown dependencies, cycles (Kahn's algorithm: the steps left once no step without unmet
 * dependencies remains are on or behind a cycle) and references to steps that are not (transitive) dependencies —
 * such a step might not have run yet when the referring one starts.
 */
export function checkStepGraph(steps: readonly Pick<PipelineStepSpec, 'id' | 'depends_on' | 'input'>[]): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (index.has(s.id)) issues.push({ path: [i, 'id'], message: `Duplicate step id "${s.id}"` });
    else index.set(s.id, i);
  });
  steps.forEach((s, i) =>
    s.depends_on.forEach((d, j) => {
      if (!index.has(d)) issues.push({ path: [i, 'depends_on', j], message: `Unknown step "${d}"` });
      else if (d === s.id) issues.push({ path: [i, 'depends_on', j], message: 'A step cannot depend on itself' });
    }),
  );
  if (issues.length) return issues;

  const order = topologicalOrder(steps);
  if (order.length < steps.length) {
    const placed = new Set(order);
    steps.forEach((s, i) => {
      if (!placed.has(s.id)) issues.push({ path: [i, 'depends_on'], message: `Step "${s.id}" is on or behind a dependency cycle` });
    });
    return issues;
  }

  const ancestors = new Map<string, Set<string>>();
  for (const id of order) {
    const step = steps[index.get(id)!]!;
    const mine = new Set<string>();
    for (const d of step.depends_on) {
      mine.add(d);
      for (const a of ancestors.get(d)!) mine.add(a);
    }
    ancestors.set(id, mine);
  }
  steps.forEach((s, i) => {
    for (const ref of referencedSteps(s.input)) {
      if (!ancestors.get(s.id)!.has(ref)) {
        issues.push({ path: [i, 'input'], message: `Refers to step "${ref}", which is not among its dependencies (depends_on)` });
      }
    }
  });
  return issues;
}

/** Step ids in an order where each comes after its dependencies; shorter than `steps` when there is a cycle. */
export function topologicalOrder(steps: readonly Pick<PipelineStepSpec, 'id' | 'depends_on'>[]): string[] {
  const remaining = new Map(steps.map((s) => [s.id, new Set(s.depends_on)]));
  const order: string[] = [];
  let ready = steps.filter((s) => s.depends_on.length === 0).map((s) => s.id);
  while (ready.length) {
    const next: string[] = [];
    for (const id of ready) {
      order.push(id);
      remaining.delete(id);
      for (const [other, deps] of remaining) {
        if (deps.delete(id) && deps.size === 0) next.push(other);
      }
    }
    ready = next;
  }
  return order;
}

/**
 * Replaces references by the results they name. A string that is only a reference takes the referenced value as is
 * (a number stays a number, an object an object); a reference inside a longer string is interpolated as text
 * (objects as JSON). A path that does not exist in the result is an error: the step would run with a hole in its input.
 */
export function resolveStepInput(input: Record<string, unknown>, results: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const lookup = (stepId: string, path: string): unknown => {
    if (!Object.hasOwn(results, stepId)) throw new Error(`\${steps.${stepId}.result${path}}: step ${stepId} has no result`);
    let v: unknown = results[stepId];
    for (const key of path.split('.').filter(Boolean)) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) {
        throw new Error(`\${steps.${stepId}.result${path}}: the result of step ${stepId} has no "${key}"`);
      }
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE_REFERENCE.exec(v);
      if (whole) return lookup(whole[1]!, whole[2]!);
      return v.replace(REFERENCE, (_m, id: string, path: string) => {
        const found = lookup(id, path);
        return typeof found === 'string' ? found : JSON.stringify(found);
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(input) as Record<string, unknown>;
}

/** The task id of a step's child task (and of its compensation): readable, and unique because the parent's is. */
export function stepTaskId(parentTaskId: string, stepId: string, compensation = false): string {
  return `${parentTaskId}-${compensation ? 'undo-' : 'step-'}${stepId}`;
}
