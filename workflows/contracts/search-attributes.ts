import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes set on every task workflow so operators can filter in the Temporal Web UI
 * (e.g. `BrandId = "9" AND TaskType = "data_export"`). The dev server registers them at start
 * (scripts/dev-stack.sh, tests/support/temporal-server.ts); names are defined only here.
 */
export const TaskTypeKey = defineSearchAttributeKey('TaskType', SearchAttributeType.KEYWORD);
export const TaskIdKey = defineSearchAttributeKey('TaskId', SearchAttributeType.KEYWORD);
export const BrandIdKey = defineSearchAttributeKey('BrandId', SearchAttributeType.KEYWORD);
export const TaskPriorityKey = defineSearchAttributeKey('TaskPriority', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_DEFINITIONS: ReadonlyArray<{ name: string; type: 'Keyword' }> = [
  { name: TaskTypeKey.name, type: 'Keyword' },
  { name: TaskIdKey.name, type: 'Keyword' },
  { name: BrandIdKey.name, type: 'Keyword' },
  { name: TaskPriorityKey.name, type: 'Keyword' },
];

/** Set by Temporal on every workflow a Schedule starts: the nominal fire time (a system attribute, not registered by us). */
export const TemporalScheduledStartTimeKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
