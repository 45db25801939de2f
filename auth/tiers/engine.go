package tiers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/docstrange/mesh/policy"
)

// cacheSize bounds the memoised decisions. Inputs are mostly a handful of
// (tier, method, route) triples; submits add their sizes, so the map is
// dropped when it fills rather than tracking recency.
const cacheSize = 4096

// Config configures an Engine.
type Config struct {
	// DataFile is a JSON file with the tier data (policy/data/tiers.json's
	// shape). Empty uses the data embedded in the binary.
	DataFile string
}

// Engine evaluates the tier policy. It is safe for concurrent use; Reload
// swaps the data under running requests.
type Engine struct {
	cfg     Config
	modules []*ast.Module
	cur     atomic.Pointer[prepared]
	mu      sync.Mutex // serialises Reload
}

// prepared is one generation of data with its compiled query and its
// decision cache.
type prepared struct {
	query rego.PreparedEvalQuery
	tiers []string
	raw   []byte

	mu    sync.RWMutex
	cache map[Input]*Decision
}

// New compiles the policy once and loads the tier data.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	mods, err := loadModules()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, modules: mods}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// loadModules parses the embedded Rego, leaving out its tests.
func loadModules() ([]*ast.Module, error) {
	var mods []*ast.Module
	err := fs.WalkDir(policy.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" || strings.HasSuffix(p, "_test.rego") {
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
		mods = append(mods, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading policy: %w", err)
	}
	return mods, nil
}

// Reload reads the tier data again, checks it, and swaps it in. On any
// error the data in force stays, so a bad edit never opens or closes the
// edge by accident.
func (e *Engine) Reload(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	raw, err := e.readData()
	if err != nil {
		return err
	}
	if old := e.cur.Load(); old != nil && bytes.Equal(old.raw, raw) {
		return nil
	}
	p, err := e.prepare(ctx, raw)
	if err != nil {
		return err
	}
	e.cur.Store(p)
	return nil
}

func (e *Engine) readData() ([]byte, error) {
	if e.cfg.DataFile == "" {
		raw, err := fs.ReadFile(policy.FS, policy.TiersFile)
		if err != nil {
			return nil, fmt.Errorf("reading embedded tier data: %w", err)
		}
		return raw, nil
	}
	raw, err := os.ReadFile(e.cfg.DataFile)
	if err != nil {
		return nil, fmt.Errorf("reading tier data: %w", err)
	}
	return raw, nil
}

func (e *Engine) prepare(ctx context.Context, raw []byte) (*prepared, error) {
	names, err := validateData(raw)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding tier data: %w", err)
	}
	root := map[string]any{strings.Trim(policy.DataPath, "/"): doc}
	// AST values on read spare a JSON-to-AST conversion of the data per Eval.
	store := inmem.NewFromObjectWithOpts(root, inmem.OptReturnASTValuesOnRead(true))
	opts := []func(*rego.Rego){rego.Query(policy.Query), rego.Store(store)}
	for _, m := range e.modules {
		opts = append(opts, rego.ParsedModule(m))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing %s: %w", policy.Query, err)
	}
	p := &prepared{query: q, tiers: names, raw: raw, cache: map[Input]*Decision{}}
	// Every tier must yield limits the edge can read before the data goes
	// live.
	for _, t := range names {
		d, err := p.eval(ctx, Input{Tier: t, Method: "GET", Route: "/api/v1/jobs", Size: -1})
		if err != nil {
			return nil, err
		}
		if d.Limits == nil {
			return nil, fmt.Errorf("checking tier data: tier %q yields no limits (reason %s)", t, d.Reason)
		}
	}
	return p, nil
}

// Decide evaluates the policy for one request.
func (e *Engine) Decide(ctx context.Context, in Input) (*Decision, error) {
	return e.cur.Load().decide(ctx, in)
}

// Tiers lists the tier names in the data in force, sorted.
func (e *Engine) Tiers() []string { return e.cur.Load().tiers }

// HasTier reports whether t is a tier in the data in force.
func (e *Engine) HasTier(t string) bool {
	for _, x := range e.cur.Load().tiers {
		if x == t {
			return true
		}
	}
	return false
}

// Data is the tier data in force, as JSON.
func (e *Engine) Data() []byte { return e.cur.Load().raw }

// DataFile is the watched data file, empty for the embedded data.
func (e *Engine) DataFile() string { return e.cfg.DataFile }

func (p *prepared) decide(ctx context.Context, in Input) (*Decision, error) {
	p.mu.RLock()
	d, ok := p.cache[in]
	p.mu.RUnlock()
	if ok {
		return d, nil
	}
	d, err := p.eval(ctx, in)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if len(p.cache) >= cacheSize {
		clear(p.cache)
	}
	p.cache[in] = d
	p.mu.Unlock()
	return d, nil
}

func (p *prepared) eval(ctx context.Context, in Input) (*Decision, error) {
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(in.value()))
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", policy.Query, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("evaluating %s: %w", policy.Query, ErrUndefined)
	}
	return decode(rs[0].Expressions[0].Value)
}

// value builds the policy input as an AST object directly, without a trip
// through reflection.
func (in Input) value() ast.Value {
	opts := ast.NewObject(
		ast.Item(ast.StringTerm("device"), ast.StringTerm(in.Options.Device)),
		ast.Item(ast.StringTerm("batch"), ast.BooleanTerm(in.Options.Batch)),
		ast.Item(ast.StringTerm("webhook"), ast.BooleanTerm(in.Options.Webhook)),
		ast.Item(ast.StringTerm("url_source"), ast.BooleanTerm(in.Options.URLSource)),
	)
	obj := ast.NewObject(
		ast.Item(ast.StringTerm("tier"), ast.StringTerm(in.Tier)),
		ast.Item(ast.StringTerm("tenant"), ast.StringTerm(in.Tenant)),
		ast.Item(ast.StringTerm("method"), ast.StringTerm(in.Method)),
		ast.Item(ast.StringTerm("route"), ast.StringTerm(in.Route)),
		ast.Item(ast.StringTerm("options"), ast.NewTerm(opts)),
	)
	if in.Size >= 0 {
		obj.Insert(ast.StringTerm("size"), ast.IntNumberTerm(int(in.Size)))
	}
	return obj
}

// ErrUndefined means the policy gave no decision: a broken policy, never a
// denial to hand to a client.
var ErrUndefined = errors.New("policy decision undefined")

// tierData is the shape each tier's data must have. It checks structure
// and ranges, not numbers: the numbers are the operator's.
type tierData struct {
	Rate struct {
		Requests      *int64 `json:"requests"`
		PeriodSeconds *int64 `json:"period_seconds"`
	} `json:"rate"`
	Quota struct {
		Documents *int64  `json:"documents"`
		Period    *string `json:"period"`
	} `json:"quota"`
	MaxFileSize  *int64          `json:"max_file_size"`
	MaxBatchSize *int64          `json:"max_batch_size"`
	Priority     *int            `json:"priority"`
	Features     map[string]bool `json:"features"`
}

// validateData checks tier data and returns the tier names, sorted.
func validateData(raw []byte) ([]string, error) {
	var tiers map[string]json.RawMessage
	if err := json.Unmarshal(raw, &tiers); err != nil {
		return nil, fmt.Errorf("checking tier data: not a JSON object of tiers: %w", err)
	}
	if len(tiers) == 0 {
		return nil, errors.New("checking tier data: no tiers")
	}
	names := make([]string, 0, len(tiers))
	for name, body := range tiers {
		var t tierData
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("checking tier %q: %w", name, err)
		}
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("checking tier %q: %w", name, err)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (t *tierData) check() error {
	switch {
	case t.Rate.Requests == nil || *t.Rate.Requests < 0:
		return errors.New("rate.requests must be a number ≥ 0 (0 means unlimited)")
	case t.Rate.PeriodSeconds == nil || *t.Rate.PeriodSeconds <= 0:
		return errors.New("rate.period_seconds must be a number > 0")
	case t.Quota.Documents != nil && *t.Quota.Documents < 0:
		return errors.New("quota.documents must be ≥ 0, or null for unlimited")
	case t.Quota.Documents != nil && (t.Quota.Period == nil || (*t.Quota.Period != "day" && *t.Quota.Period != "month")):
		return errors.New(`quota.period must be "day" or "month" when quota.documents is set`)
	case t.MaxFileSize == nil || *t.MaxFileSize <= 0:
		return errors.New("max_file_size must be a number of bytes > 0")
	case t.MaxBatchSize != nil && *t.MaxBatchSize < 0:
		return errors.New("max_batch_size must be a number of documents ≥ 0")
	case t.Features["batch"] && (t.MaxBatchSize == nil || *t.MaxBatchSize < 1):
		return errors.New("max_batch_size must be ≥ 1 when the batch feature is on")
	case t.Priority == nil:
		return errors.New("priority is required")
	case t.Features == nil:
		return errors.New("features is required")
	}
	return nil
}

// logKeyFile is the log key of the data file.
const logKeyFile = "file"

// logReload reports a reload's outcome.
func logReload(log *slog.Logger, file string, err error) {
	if err != nil {
		log.Error("tier data refused; the previous data stays in force", logKeyFile, file, "error", err)
		return
	}
	log.Info("tier data reloaded", logKeyFile, file)
}
