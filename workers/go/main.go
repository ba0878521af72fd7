// Command go-worker is a Temporal worker written in Go. It polls its own task queue and serves activities only:
// the task workflows (lifecycle, mirror rows) stay in the TypeScript worker, which schedules the activity here.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

func main() {
	if err := run(); err != nil {
		slog.Error("go worker stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	address := envOr("TEMPORAL_ADDRESS", "localhost:7233")
	namespace := envOr("TEMPORAL_NAMESPACE", "default")
	// The TS workflows schedule Go activities on "<TEMPORAL_TASK_QUEUE>-go" (workflows/contracts/go-worker.ts).
	taskQueue := envOr("GO_WORKER_TASK_QUEUE", envOr("TEMPORAL_TASK_QUEUE", "durable-tasks")+"-go")
	identity := envOr("GO_WORKER_IDENTITY", fmt.Sprintf("go-worker-%d@%s", os.Getpid(), hostname()))

	c, err := client.Dial(client.Options{
		HostPort:  address,
		Namespace: namespace,
		Identity:  identity,
		Logger:    slogAdapter{slog.Default()},
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", address, err)
	}
	defer c.Close()

	w := worker.New(c, taskQueue, worker.Options{})
	// Register each activity under the name the TS workflow calls (see README.md, "Adding an activity").
	w.RegisterActivityWithOptions(
		(&TextStatisticsActivity{WorkerIdentity: identity}).Run,
		activity.RegisterOptions{Name: TextStatisticsActivityName},
	)

	slog.Info("go worker polling", "address", address, "namespace", namespace, "task_queue", taskQueue, "identity", identity)
	// Run returns after SIGINT/SIGTERM once in-flight activities finish (or WorkerStopTimeout passes).
	return w.Run(worker.InterruptCh())
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// slogAdapter makes the SDK log through log/slog (the SDK's logger takes alternating key/value pairs, like slog).
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(msg string, kv ...any) { a.l.Debug(msg, kv...) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.l.Info(msg, kv...) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.l.Warn(msg, kv...) }
func (a slogAdapter) Error(msg string, kv ...any) { a.l.Error(msg, kv...) }
