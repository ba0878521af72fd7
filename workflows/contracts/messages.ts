import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { TaskAmendment, TaskProgressView } from './task-workflow';

/**
 * Workflow messages, defined once and used by both sides. An update (not a signal) amends a pending task,
 * so the caller learns synchronously whether the task had already started: the check and the change are atomic.
 */
export const amendTaskUpdate = defineUpdate<TaskAmendment, [TaskAmendment]>('amendTask');
export const taskProgressQuery = defineQuery<TaskProgressView>('taskProgress');
