package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Exit codes of the command.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// config is the parsed command line.
type config struct {
	pages         int
	quick         bool
	threads       []int
	modelsDir     string
	backendsDir   string
	tesseract     string
	skipTesseract bool
	keepDir       string
	jsonPath      string
	noFail        bool
	speedRatio    float64
	maxOverhead   float64
	showVersion   bool
}

// threadsFlag is a comma-separated list of thread counts.
type threadsFlag []int

func (t *threadsFlag) String() string {
	s := make([]string, len(*t))
	for i, n := range *t {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (t *threadsFlag) Set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("thread count %q: must be a positive integer", f)
		}
		out = append(out, n)
	}
	*t = out
	return nil
}

const usageHeader = `docstrange-ocrbench: OCR speed and accuracy of the ONNX engine against Tesseract.

It renders -pages A4 pages (150 DPI) of generated English paragraphs in
several Go fonts at 9-12 pt, and for each -threads count measures:
  in-process  the PP-OCRv4 engine called as a library (backends/onnx/ocr)
  plugin      the same engine in the real backend binary (-backends-dir/onnx)
              through the plugin host, one Process call per page, with
              DOCSTRANGE_ONNX_THREADS set; in-process and plugin calls
              alternate page by page, so that drift hits both alike
  tesseract   the tesseract CLI on the same pages as PNG files, with
              OMP_THREAD_LIMIT set; its process start is measured apart on
              a blank image
Every engine is told the pages are English: tesseract by -l eng, the ONNX
engine by languages ["en"], which reads with the dictionary's Latin classes.
It reports pages/s and CER (Levenshtein distance over whitespace-normalised
text, divided by the reference length) and the verdicts:
  speed     in-process pages/s >= -speed-ratio x tesseract pages/s
            (tesseract timed with its process start, as the CLI runs)
  accuracy  in-process CER <= tesseract CER
  overhead  (plugin - in-process) time per page <= -max-overhead % of the
            in-process time
Exit status: 0 PASS, 1 FAIL (0 with -no-fail), 2 when it cannot run.

Usage:
  docstrange-ocrbench [flags]

Flags:
`

// parseFlags parses args. It returns flag.ErrHelp after printing the usage
// to stdout for -h/--help, and any other error after printing it with the
// usage to stderr.
func parseFlags(args []string, stdout, stderr io.Writer) (*config, error) {
	cfg := &config{threads: threadsFlag{1, 2}}
	fs := flag.NewFlagSet("docstrange-ocrbench", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	models := os.Getenv("DOCSTRANGE_MODELS_DIR")
	if models == "" {
		models = filepath.Join(".cache", "models")
	}
	fs.IntVar(&cfg.pages, "pages", 6, "number of pages")
	fs.BoolVar(&cfg.quick, "quick", false, "2 pages, for a smoke run (an explicit -pages wins)")
	fs.Var((*threadsFlag)(&cfg.threads), "threads", "comma-separated thread `counts` to measure")
	fs.StringVar(&cfg.modelsDir, "models", models, "model `folder` (default $DOCSTRANGE_MODELS_DIR, else .cache/models)")
	fs.StringVar(&cfg.backendsDir, "backends-dir", filepath.Join("bin", "backends"), "`folder` holding the onnx backend binary")
	fs.StringVar(&cfg.tesseract, "tesseract", "tesseract", "tesseract `command`")
	fs.BoolVar(&cfg.skipTesseract, "skip-tesseract", false, "do not run tesseract; the speed and accuracy verdicts then fail")
	fs.StringVar(&cfg.keepDir, "keep", "", "write the pages (PNG), references and every engine's text to this `folder`")
	fs.StringVar(&cfg.jsonPath, "json", "", "write every number to this JSON `file`")
	fs.BoolVar(&cfg.noFail, "no-fail", false, "exit 0 even when the verdict is FAIL")
	fs.Float64Var(&cfg.speedRatio, "speed-ratio", 2, "smallest in-process/tesseract pages/s ratio that passes")
	fs.Float64Var(&cfg.maxOverhead, "max-overhead", 5, "largest plugin overhead, in % of the in-process time, that passes")
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
	pagesSet := false
	fs.Visit(func(f *flag.Flag) { pagesSet = pagesSet || f.Name == "pages" })
	if cfg.quick && !pagesSet {
		cfg.pages = 2
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *config) validate() error {
	switch {
	case c.pages < 1:
		return fmt.Errorf("-pages %d: must be at least 1", c.pages)
	case len(c.threads) == 0:
		return errors.New("-threads: at least one count")
	case c.speedRatio <= 0:
		return fmt.Errorf("-speed-ratio %v: must be positive", c.speedRatio)
	case c.maxOverhead < 0:
		return fmt.Errorf("-max-overhead %v: must not be negative", c.maxOverhead)
	}
	if _, err := os.Stat(filepath.Join(c.backendsDir, backendName)); err != nil {
		return fmt.Errorf("-backends-dir: %w (make build puts the backend there)", err)
	}
	return nil
}
