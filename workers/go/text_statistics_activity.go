package main

import (
	"context"
	"runtime"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
)

// TextStatisticsActivityName is the name the TS workflow calls (workflows/tasks/text-statistics.ts).
const TextStatisticsActivityName = "computeTextStatistics"

// maxTextBytes matches the context schema's limit; the check here guards callers other than the API.
const maxTextBytes = 1_000_000

// TextStatisticsInput is the JSON the TS workflow sends (snake_case, like the API's context_data).
type TextStatisticsInput struct {
	Text     string `json:"text"`
	TopWords int    `json:"top_words"`
}

// WordCount is one entry of the most frequent words.
type WordCount struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

// TextStatisticsResult becomes the task's result_data.
type TextStatisticsResult struct {
	Characters     int         `json:"characters"`
	Bytes          int         `json:"bytes"`
	Words          int         `json:"words"`
	UniqueWords    int         `json:"unique_words"`
	Lines          int         `json:"lines"`
	TopWords       []WordCount `json:"top_words"`
	Runtime        string      `json:"runtime"`
	RuntimeVersion string      `json:"runtime_version"`
	WorkerIdentity string      `json:"worker_identity"`
}

// TextStatisticsActivity counts characters, words and lines of a text and lists its most frequent words.
type TextStatisticsActivity struct {
	// WorkerIdentity is reported in the result so callers can see which worker did the work.
	WorkerIdentity string
}

// Run is the activity function. Pure CPU work on a bounded input: no heartbeats needed.
func (a *TextStatisticsActivity) Run(_ context.Context, in TextStatisticsInput) (*TextStatisticsResult, error) {
	if len(in.Text) > maxTextBytes {
		return nil, temporal.NewNonRetryableApplicationError("text is larger than 1 MB", "INVALID_TASK_INPUT", nil)
	}
	topN := in.TopWords
	if topN <= 0 {
		topN = 10
	}

	counts := map[string]int{}
	words := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(in.Text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\''
	}) {
		w = strings.Trim(w, "'")
		if w == "" {
			continue
		}
		words++
		counts[w]++
	}

	top := make([]WordCount, 0, len(counts))
	for w, n := range counts {
		top = append(top, WordCount{Word: w, Count: n})
	}
	// Most frequent first, ties alphabetical: the same text always gives the same result.
	sort.Slice(top, func(i, j int) bool {
		if top[i].Count != top[j].Count {
			return top[i].Count > top[j].Count
		}
		return top[i].Word < top[j].Word
	})
	if len(top) > topN {
		top = top[:topN]
	}

	lines := 0
	if in.Text != "" {
		lines = strings.Count(in.Text, "\n") + 1
		if strings.HasSuffix(in.Text, "\n") {
			lines--
		}
	}

	return &TextStatisticsResult{
		Characters:     utf8.RuneCountInString(in.Text),
		Bytes:          len(in.Text),
		Words:          words,
		UniqueWords:    len(counts),
		Lines:          lines,
		TopWords:       top,
		Runtime:        "go",
		RuntimeVersion: runtime.Version(),
		WorkerIdentity: a.WorkerIdentity,
	}, nil
}
