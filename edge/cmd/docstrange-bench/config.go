package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"strings"
	"time"
)

// Exit codes of the command.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// config is the parsed command line.
type config struct {
	baseURL           *url.URL
	clients           int
	chainClients      int // 0: no chain comparison
	chainP99Added     time.Duration
	chainMinRatio     float64 // 0: the saturated throughput is only reported
	chainRate         float64 // 0: chainRateFraction of the saturated baseline
	chainRateFraction float64
	chainRounds       int
	duration          time.Duration
	warmup            time.Duration
	drain             time.Duration
	p99Target         time.Duration
	file              string
	jsonPath          string
	noFail            bool
	timeout           time.Duration
	readyTimeout      time.Duration
	pollConcurrency   int
	headers           headerFlag
	showVersion       bool
}

// headerFlag collects repeated -header "Name: value" flags, for an
// Authorization header when the edge requires one.
type headerFlag [][2]string

func (h *headerFlag) String() string {
	parts := make([]string, 0, len(*h))
	for _, kv := range *h {
		parts = append(parts, kv[0]+": "+kv[1])
	}
	return strings.Join(parts, ", ")
}

func (h *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("header %q is not of the form \"Name: value\"", s)
	}
	*h = append(*h, [2]string{name, strings.TrimSpace(value)})
	return nil
}

const usageHeader = `docstrange-bench: HTTP load against a DocStrange Mesh edge.

It runs its phases in one invocation. A closed-loop phase has concurrent
clients that each send a request, wait for the answer and send the next,
as fast as the edge answers; an open-loop phase offers a fixed number of
requests per second from its clients, whatever the answers, and times
each request from when it was due.
  1. baseline  GET  /api/v1/ping       (Caddy's static respond, before the
                                        auth chain) at -chain-clients,
                                        closed loop: the saturated rate
  2. chain     GET  /api/v1/me         (request id, authn, authz, rate
                                        limit; no I/O of its own) at
                                        -chain-clients, closed loop
  3. baseline  GET  /api/v1/ping       open loop at a fixed rate from
                                        -chain-clients: -chain-rate, or
                                        -chain-rate-fraction of phase 1's
                                        throughput
  4. chain     GET  /api/v1/me         open loop at the same rate
  5. baseline  GET  /api/v1/ping       at -clients (skipped when it equals
                                        -chain-clients: phase 1 serves both)
  6. submit    POST /api/v1/documents  (multipart, part "file" = -file) at
                                        -clients
then polls every accepted job until it is terminal or -drain expires. Each
phase is compared with the baseline under the same load, in this run. The
chain and its baseline take turns (1, 2, 1, 2, … then 3, 4, 3, 4, …),
-chain-rounds each, so that a busy neighbour on the machine slows both.
It prints latency percentiles, errors by kind, jobs finished per second,
the chain's added latency and throughput ratio, the submit/baseline ratios
and a verdict:
  PASS when submit p99 <= -p99-target, no submit errors, no failed jobs,
  and the chain answers every request 2xx and, at the fixed rate, adds
  <= -chain-p99-added at p99 end to end. Beside it the verdict gives the
  p99 the chain adds as the edge times its own handlers (its /metrics
  histograms, read around each fixed-rate turn): on a machine the bench
  shares with the edge, a request's waits outside the handlers move a
  turn's end-to-end p99 by tens of milliseconds, and the two tell the
  chain's own time from them. At
  saturation every microsecond a route costs becomes queueing delay, so
  there the chain's latency and throughput are reported, and judged only
  by -chain-min-ratio when it is set.
The chain needs an API key whose tier allows the load, sent with -header
"Authorization: Bearer dsk_…" (sent on every request). A 401, 403 or 429
from the chain is a setup error: the run stops and exits 2.
Exit status: 0 PASS, 1 FAIL (0 with -no-fail), 2 when it cannot run.

Usage:
  docstrange-bench -url http://127.0.0.1:8080 -file one-page.pdf [flags]

Flags:
`

// parseFlags parses args. It returns flag.ErrHelp after printing the usage
// to stdout for -h/--help, and any other error after printing it with the
// usage to stderr.
func parseFlags(args []string, stdout, stderr io.Writer) (*config, error) {
	cfg := &config{}
	var rawURL string
	fs := flag.NewFlagSet("docstrange-bench", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	fs.StringVar(&rawURL, "url", "http://127.0.0.1:8080", "base `URL` of the edge")
	fs.IntVar(&cfg.clients, "clients", 200, "concurrent closed-loop clients per phase")
	fs.IntVar(&cfg.chainClients, "chain-clients", 100, "concurrent clients of the chain and its baseline; 0 skips the chain comparison")
	fs.DurationVar(&cfg.chainP99Added, "chain-p99-added", time.Millisecond, "largest p99 latency the chain may add to the baseline's at the fixed rate")
	fs.Float64Var(&cfg.chainMinRatio, "chain-min-ratio", 0, "smallest saturated chain/baseline throughput ratio that passes; 0 only reports it")
	fs.Float64Var(&cfg.chainRate, "chain-rate", 0, "requests per second the fixed-rate chain phases offer; 0 derives it from -chain-rate-fraction")
	fs.Float64Var(&cfg.chainRateFraction, "chain-rate-fraction", 0.5, "share of the saturated baseline's throughput the fixed-rate chain phases offer")
	fs.IntVar(&cfg.chainRounds, "chain-rounds", 4, "turns the chain and its baseline take, each -duration/N long, so that a noisy neighbour slows both alike")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "measured length of each phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before each phase's measurement")
	fs.DurationVar(&cfg.drain, "drain", 120*time.Second, "how long to wait after the submit phase for accepted jobs to finish")
	fs.DurationVar(&cfg.p99Target, "p99-target", 50*time.Millisecond, "largest submit p99 latency that passes")
	fs.StringVar(&cfg.file, "file", "", "`path` of the document to submit (required; read once, sent from memory)")
	fs.StringVar(&cfg.jsonPath, "json", "", "write every number to this JSON `file`")
	fs.BoolVar(&cfg.noFail, "no-fail", false, "exit 0 even when the verdict is FAIL")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "per-request timeout; a request that runs out counts as a transport error")
	fs.DurationVar(&cfg.readyTimeout, "ready-timeout", 10*time.Second, "how long to wait for GET /api/v1/health/ready to answer 200 before the load")
	fs.IntVar(&cfg.pollConcurrency, "poll-concurrency", 16, "concurrent job status polls while draining")
	fs.Var(&cfg.headers, "header", "extra request `header` \"Name: value\" (repeatable), e.g. an Authorization header")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		stdout.Write(out.Bytes())
		return nil, err
	case err != nil:
		stderr.Write(out.Bytes())
		return nil, err
	}
	if cfg.showVersion {
		return cfg, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.baseURL, err = parseBaseURL(rawURL); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("-url %q: must start with http:// or https://", raw)
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("parsing -url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("-url %q: no host", raw)
	}
	return u, nil
}

func (c *config) validate() error {
	switch {
	case c.clients < 1:
		return fmt.Errorf("-clients %d: must be at least 1", c.clients)
	case c.chainClients < 0:
		return fmt.Errorf("-chain-clients %d: must not be negative (0 skips the chain)", c.chainClients)
	case c.chainP99Added < 0:
		return fmt.Errorf("-chain-p99-added %s: must not be negative", c.chainP99Added)
	case !(c.chainMinRatio >= 0 && c.chainMinRatio <= 1):
		return fmt.Errorf("-chain-min-ratio %g: must be between 0 and 1", c.chainMinRatio)
	case !(c.chainRate >= 0) || math.IsInf(c.chainRate, 0):
		return fmt.Errorf("-chain-rate %g: must be a number of requests per second, or 0", c.chainRate)
	case !(c.chainRateFraction > 0 && c.chainRateFraction <= 1):
		return fmt.Errorf("-chain-rate-fraction %g: must be above 0 and at most 1", c.chainRateFraction)
	case c.duration <= 0:
		return fmt.Errorf("-duration %s: must be positive", c.duration)
	case c.chainRounds < 1 || c.duration/time.Duration(max(c.chainRounds, 1)) < time.Millisecond:
		return fmt.Errorf("-chain-rounds %d: must be at least 1, with turns of -duration/%d at least 1ms", c.chainRounds, c.chainRounds)
	case c.warmup < 0:
		return fmt.Errorf("-warmup %s: must not be negative", c.warmup)
	case c.drain < 0:
		return fmt.Errorf("-drain %s: must not be negative", c.drain)
	case c.p99Target <= 0:
		return fmt.Errorf("-p99-target %s: must be positive", c.p99Target)
	case c.timeout <= 0:
		return fmt.Errorf("-timeout %s: must be positive", c.timeout)
	case c.readyTimeout < 0:
		return fmt.Errorf("-ready-timeout %s: must not be negative", c.readyTimeout)
	case c.pollConcurrency < 1:
		return fmt.Errorf("-poll-concurrency %d: must be at least 1", c.pollConcurrency)
	case c.file == "":
		return errors.New("-file is required: a small PDF to submit")
	}
	return nil
}

// endpoint joins the base URL's path with p.
func (c *config) endpoint(p string) string {
	u := *c.baseURL
	u.Path = strings.TrimRight(u.Path, "/") + p
	u.RawQuery = ""
	return u.String()
}
