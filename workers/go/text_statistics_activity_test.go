package main

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func runTextStatistics(t *testing.T, in TextStatisticsInput) (*TextStatisticsResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions((&TextStatisticsActivity{WorkerIdentity: "test-worker"}).Run,
		activity.RegisterOptions{Name: TextStatisticsActivityName})
	value, err := env.ExecuteActivity(TextStatisticsActivityName, in)
	if err != nil {
		return nil, err
	}
	var out TextStatisticsResult
	if err := value.Get(&out); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return &out, nil
}

func TestTextStatisticsCountsWordsLinesAndTopWords(t *testing.T) {
	out, err := runTextStatistics(t, TextStatisticsInput{Text: "The cat saw the dog.\nThe dog ran — déjà vu!\n", TopWords: 2})
	if err != nil {
		t.Fatal(err)
	}
	if out.Words != 10 || out.UniqueWords != 7 || out.Lines != 2 {
		t.Errorf("words=%d unique=%d lines=%d, want 10 7 2", out.Words, out.UniqueWords, out.Lines)
	}
	if out.Characters != 44 || out.Bytes <= out.Characters {
		t.Errorf("characters=%d bytes=%d: runes are counted, not bytes", out.Characters, out.Bytes)
	}
	want := []WordCount{{"the", 3}, {"dog", 2}}
	if len(out.TopWords) != 2 || out.TopWords[0] != want[0] || out.TopWords[1] != want[1] {
		t.Errorf("top words = %v, want %v", out.TopWords, want)
	}
	if out.Runtime != "go" || out.WorkerIdentity != "test-worker" || !strings.HasPrefix(out.RuntimeVersion, "go") {
		t.Errorf("runtime fields = %q %q %q", out.Runtime, out.RuntimeVersion, out.WorkerIdentity)
	}
}

func TestTextStatisticsEmptyText(t *testing.T) {
	out, err := runTextStatistics(t, TextStatisticsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Words != 0 || out.Lines != 0 || len(out.TopWords) != 0 {
		t.Errorf("empty text gave %+v", out)
	}
}

func TestTextStatisticsRejectsOversizedTextWithoutRetry(t *testing.T) {
	_, err := runTextStatistics(t, TextStatisticsInput{Text: strings.Repeat("a", maxTextBytes+1)})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "INVALID_TASK_INPUT" {
		t.Fatalf("err = %v, want a non-retryable INVALID_TASK_INPUT application error", err)
	}
}
