package policy_test

import (
	"context"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/docstrange/mesh/policy"
)

// minRegoTests guards against a test file that stops being loaded, or
// tests renamed so the runner no longer sees them.
const minRegoTests = 15

// modules parses every embedded .rego file, tests included, as Rego v1.
func modules(t testing.TB) map[string]*ast.Module {
	t.Helper()
	mods := map[string]*ast.Module{}
	err := fs.WalkDir(policy.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		src, err := fs.ReadFile(policy.FS, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return err
		}
		mods[p] = m
		return nil
	})
	if err != nil {
		t.Fatalf("loading policy modules: %v", err)
	}
	return mods
}

// store mounts the embedded tier data at policy.DataPath in a fresh
// in-memory store, as the authz module does.
func store(t testing.TB) storage.Store {
	t.Helper()
	raw, err := fs.ReadFile(policy.FS, policy.TiersFile)
	if err != nil {
		t.Fatalf("reading tier data: %v", err)
	}
	var tiers any
	if err := util.UnmarshalJSON(raw, &tiers); err != nil {
		t.Fatalf("decoding tier data: %v", err)
	}
	doc := tiers
	parts := strings.Split(strings.Trim(policy.DataPath, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		doc = map[string]any{parts[i]: doc}
	}
	// AST values on read spare a JSON-to-AST conversion of the data per Eval.
	return inmem.NewFromObjectWithOpts(doc.(map[string]any), inmem.OptReturnASTValuesOnRead(true))
}

// TestRego runs the Rego unit tests, so `go test ./policy/` is `opa test`.
func TestRego(t *testing.T) {
	ctx := t.Context()
	ch, err := tester.NewRunner().
		SetStore(store(t)).
		SetModules(modules(t)).
		RaiseBuiltinErrors(true).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("running rego tests: %v", err)
	}
	ran := 0
	for r := range ch {
		ran++
		name := r.Package + "." + r.Name
		switch {
		case r.Error != nil:
			t.Errorf("%s: error: %v", name, r.Error)
		case r.Skip:
			t.Logf("%s: skipped", name)
		case r.Fail:
			t.Errorf("%s: FAIL at %s\n%s", name, r.Location, r.SubResults)
		default:
			t.Logf("%s: PASS (%v)", name, r.Duration)
		}
	}
	if ran < minRegoTests {
		t.Errorf("ran %d rego tests, want at least %d", ran, minRegoTests)
	}
}

func prepare(t testing.TB) rego.PreparedEvalQuery {
	t.Helper()
	opts := []func(*rego.Rego){
		rego.Query(policy.Query),
		rego.Store(store(t)),
	}
	for _, m := range modules(t) {
		opts = append(opts, rego.ParsedModule(m))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		t.Fatalf("preparing %s: %v", policy.Query, err)
	}
	return pq
}

func decide(t testing.TB, pq rego.PreparedEvalQuery, input map[string]any) map[string]any {
	t.Helper()
	rs, err := pq.Eval(context.Background(), rego.EvalInput(input))
	if err != nil {
		t.Fatalf("evaluating %s: %v", policy.Query, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		t.Fatalf("decision undefined for %v: %v", input, rs)
	}
	d, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		t.Fatalf("decision is %T, want an object", rs[0].Expressions[0].Value)
	}
	return d
}

func submit(tier string, options map[string]any, size int64) map[string]any {
	return map[string]any{
		"tier": tier, "tenant": "t1", "method": "POST", "route": "/api/v1/documents",
		"options": options, "size": size,
	}
}

// TestPreparedDecision checks the path the authz module takes: prepare once,
// evaluate per request.
func TestPreparedDecision(t *testing.T) {
	pq := prepare(t)
	tests := []struct {
		name       string
		input      map[string]any
		wantAllow  bool
		wantReason string
		wantRate   string // limits.rate.requests, as JSON renders it
	}{
		{"free plain", submit("free", map[string]any{"device": "cpu"}, 1<<20), true, "OK", "10"},
		{"free gpu", submit("free", map[string]any{"device": "gpu"}, 1), false, "FEATURE_NOT_IN_TIER", "10"},
		{"free too large", submit("free", nil, 10<<20+1), false, "FILE_TOO_LARGE", "10"},
		{"api_key webhook", submit("api_key", map[string]any{"webhook": "https://h.example"}, 1), true, "OK", "120"},
		{"oauth too large", submit("oauth", nil, 100<<20+1), false, "FILE_TOO_LARGE", "120"},
		{"enterprise 1 GiB", submit("enterprise", map[string]any{"device": "gpu", "batch": true}, 1<<30), true, "OK", "1200"},
		{"free job read", map[string]any{"tier": "free", "method": "GET", "route": "/api/v1/jobs/{id}"}, true, "OK", "10"},
		{"unknown tier", submit("gold", nil, 1), false, "UNKNOWN_TIER", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, pq, tt.input)
			if d["allow"] != tt.wantAllow || d["reason"] != tt.wantReason {
				t.Fatalf("decision = %v, want allow=%v reason=%s", d, tt.wantAllow, tt.wantReason)
			}
			limits, _ := d["limits"].(map[string]any)
			if tt.wantRate == "" {
				if limits != nil {
					t.Fatalf("limits = %v, want null", d["limits"])
				}
				return
			}
			rate, _ := limits["rate"].(map[string]any)
			if got := string(util.MustMarshalJSON(rate["requests"])); got != tt.wantRate {
				t.Fatalf("limits.rate.requests = %s, want %s", got, tt.wantRate)
			}
		})
	}
}

// BenchmarkEval is one per-request decision on a prepared query, against
// a trivial prepared query ("true") as the in-run baseline.
func BenchmarkEval(b *testing.B) {
	ctx := context.Background()
	input := rego.EvalInput(submit("api_key", map[string]any{"device": "gpu", "webhook": "https://h.example"}, 5<<20))
	b.Run("baseline", func(b *testing.B) {
		pq, err := rego.New(rego.Query("true")).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pq.Eval(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decision", func(b *testing.B) {
		pq := prepare(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pq.Eval(ctx, input); err != nil {
				b.Fatal(err)
			}
		}
	})
}
