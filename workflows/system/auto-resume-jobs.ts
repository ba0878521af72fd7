import { proxyActivities } from '@temporalio/workflow';
import type { AutoResumeJobsInput } from '../../activities/job-maintenance.activities';
import type { TaskActivities } from '../../activities';
import type { AutoResumeReport } from '../../api/services/job-maintenance.service';

const { autoResumeJobs } = proxyActivities<Pick<TaskActivities, 'autoResumeJobs'>>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3 },
});

/**
 * Started by the `system-auto-resume-jobs` schedule (see api/temporal/system-schedules.ts): resumes the persistent
 * jobs of every brand that have `auto_resume` and can resume now. Its result (visible in the Web UI) lists each job.
 */
export async function autoResumeJobsWorkflow(input: AutoResumeJobsInput = {}): Promise<AutoResumeReport> {
  return autoResumeJobs(input);
}
