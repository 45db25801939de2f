// Package webhook delivers the webhook events that jobs record in the store
// (scheduler.RecordEvents): signed by the Standard Webhooks scheme, retried
// with exponential backoff and jitter for a bounded time, and moved to the
// dead-letter state when that time runs out.
//
// Deliveries live in the job records, so any number of senders (one per
// edge) can share a store: a sender claims a delivery by moving its due time
// forward in an atomic Update, and only the claim's holder records the
// outcome. A sender that dies mid-attempt leaves a claim that expires, and
// the delivery is tried again, with the same event id.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/docstrange/mesh/scheduler"
)

// Defaults of Config.
const (
	DefaultRetryBase   = 10 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultMaxAge      = 24 * time.Hour
	DefaultTimeout     = 10 * time.Second
	DefaultPoll        = time.Second
	DefaultConcurrency = 8
)

// Config tunes a Sender.
type Config struct {
	// RetryBase is the delay before the first retry; each further retry
	// doubles it. Default: 10s.
	RetryBase time.Duration `json:"retry_base,omitempty"`
	// RetryMax caps one delay. Default: 1h.
	RetryMax time.Duration `json:"retry_max,omitempty"`
	// MaxAge is how long after its event a delivery is retried; a failure
	// past it is dead-lettered. Default: 24h.
	MaxAge time.Duration `json:"max_age,omitempty"`
	// Timeout bounds one attempt. Default: 10s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Poll is how often the store is asked for due deliveries. Default: 1s.
	Poll time.Duration `json:"poll,omitempty"`
	// Concurrency is how many jobs' deliveries run at once. Default: 8.
	Concurrency int `json:"concurrency,omitempty"`
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RetryBase, DefaultRetryBase)
	def(&c.RetryMax, DefaultRetryMax)
	def(&c.MaxAge, DefaultMaxAge)
	def(&c.Timeout, DefaultTimeout)
	def(&c.Poll, DefaultPoll)
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	return c
}

// Poster sends one delivery. The edge's is urlfetch's, which refuses
// private and loopback addresses unless the operator allowed them.
type Poster interface {
	Post(ctx context.Context, url string, header http.Header, body []byte) (status int, err error)
}

// Sender delivers due webhook events until its Run ends.
type Sender struct {
	store     scheduler.Store
	post      Poster
	tenantKey func(tenant string) []byte
	cfg       Config
	log       *slog.Logger
	wake      chan struct{}

	delivered, retried, dead *metrics.Counter
	duration                 *metrics.Histogram
}

// New builds a Sender. tenantKey gives the signing key of a tenant's
// webhooks that carry no secret of their own (see TenantSecret); set, when
// non-nil, receives the sender's metrics.
func New(store scheduler.Store, post Poster, tenantKey func(tenant string) []byte, cfg Config, log *slog.Logger, set *metrics.Set) *Sender {
	if set == nil {
		set = metrics.NewSet()
	}
	return &Sender{
		store: store, post: post, tenantKey: tenantKey, cfg: cfg.withDefaults(), log: log,
		wake:      make(chan struct{}, 1),
		delivered: set.GetOrCreateCounter(`docstrange_webhook_deliveries_total{outcome="delivered"}`),
		retried:   set.GetOrCreateCounter(`docstrange_webhook_deliveries_total{outcome="retry"}`),
		dead:      set.GetOrCreateCounter(`docstrange_webhook_deliveries_total{outcome="dead"}`),
		duration:  set.GetOrCreateHistogram(`docstrange_webhook_attempt_seconds`),
	}
}

// Kick makes Run look for due deliveries now rather than at its next poll.
func (s *Sender) Kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. Store errors are logged and retried at the
// next poll.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	// busy holds the jobs in flight, so one job's events go out one at a
	// time, in order.
	var mu sync.Mutex
	busy := map[string]bool{}
	for {
		ids, err := s.store.WebhooksDue(ctx, time.Now(), 4*s.cfg.Concurrency)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "listing due webhooks", "error", err)
		}
		for _, id := range ids {
			mu.Lock()
			if busy[id] {
				mu.Unlock()
				continue
			}
			busy[id] = true
			mu.Unlock()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.deliverJob(ctx, id)
				mu.Lock()
				delete(busy, id)
				mu.Unlock()
				<-sem
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// errNothingDue ends a job's turn: its next delivery is not due (another
// sender holds it, or it waits for its retry).
var errNothingDue = errors.New("no delivery due")

// deliverJob sends the job's due deliveries, oldest first, until none is due.
func (s *Sender) deliverJob(ctx context.Context, id string) {
	for ctx.Err() == nil {
		if !s.deliverOne(ctx, id) {
			return
		}
	}
}

// deliverOne claims, sends and records one delivery; it reports whether one
// was attempted.
func (s *Sender) deliverOne(ctx context.Context, id string) bool {
	token := rand.Text()
	now := time.Now()
	var d scheduler.Delivery
	job, err := s.store.Update(ctx, id, func(j *scheduler.Job) error {
		next := j.NextDelivery()
		if next == nil || next.NextAttempt.After(now) || j.Options.Webhook == nil {
			return errNothingDue
		}
		next.Claim = token
		// The claim outlives the attempt, so no other sender starts the
		// same delivery while this one may still be sending it.
		next.NextAttempt = now.Add(s.cfg.Timeout + 5*time.Second)
		d = *next
		return nil
	})
	switch {
	case errors.Is(err, errNothingDue) || errors.Is(err, scheduler.ErrNotFound):
		return false
	case err != nil:
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "claiming a webhook delivery", "job_id", id, "error", err)
		}
		return false
	}
	attempt := s.send(ctx, job, &d)
	state, next := s.judge(&d, attempt)
	_, err = s.store.Update(ctx, id, func(j *scheduler.Job) error {
		for i := range j.Webhooks {
			w := &j.Webhooks[i]
			if w.ID != d.ID || w.Claim != token {
				continue
			}
			w.Attempts = append(w.Attempts, attempt)
			w.State, w.NextAttempt, w.Claim = state, next, ""
			return nil
		}
		return errNothingDue // the claim expired and another sender took over
	})
	if err != nil && !errors.Is(err, errNothingDue) && ctx.Err() == nil {
		s.log.WarnContext(ctx, "recording a webhook delivery", "job_id", id, "event_id", d.ID, "error", err)
	}
	log := s.log.With("job_id", id, "event_id", d.ID, "event", d.Event, "attempt", len(d.Attempts)+1, "status_code", attempt.StatusCode)
	switch state {
	case scheduler.DeliveryDelivered:
		s.delivered.Inc()
		log.InfoContext(ctx, "webhook delivered")
	case scheduler.DeliveryDead:
		s.dead.Inc()
		log.WarnContext(ctx, "webhook dead-lettered", "error", attempt.Error)
	default:
		s.retried.Inc()
		log.InfoContext(ctx, "webhook attempt failed; retrying", "error", attempt.Error, "next_attempt", next)
	}
	return state == scheduler.DeliveryDelivered
}

// send makes one attempt.
func (s *Sender) send(ctx context.Context, job *scheduler.Job, d *scheduler.Delivery) scheduler.DeliveryAttempt {
	start := time.Now()
	a := scheduler.DeliveryAttempt{At: start.UTC()}
	defer func() {
		a.Duration = time.Since(start)
		s.duration.Update(a.Duration.Seconds())
	}()
	key, err := s.key(job)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	wh, _ := standardwebhooks.NewWebhookRaw(key) // never fails
	sig, err := wh.Sign(d.ID, start, d.Payload)
	if err != nil {
		a.Error = fmt.Sprintf("signing: %v", err)
		return a
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "DocStrange-Mesh-Webhooks/1")
	h.Set(standardwebhooks.HeaderWebhookID, d.ID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(start.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	h.Set("X-DocStrange-Event", d.Event)
	h.Set("X-DocStrange-Job-ID", job.ID)
	if job.RequestID != "" {
		h.Set("X-Request-ID", job.RequestID)
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	a.StatusCode, err = s.post.Post(actx, job.Options.Webhook.URL, h, d.Payload)
	switch {
	case err != nil:
		a.Error = err.Error()
	case a.StatusCode < 200 || a.StatusCode > 299:
		a.Error = fmt.Sprintf("the receiver answered %d", a.StatusCode)
	}
	return a
}

func (s *Sender) key(job *scheduler.Job) ([]byte, error) {
	if sec := job.Options.Webhook.Secret; sec != "" {
		return scheduler.WebhookKey(sec)
	}
	if s.tenantKey == nil {
		return nil, errors.New("the webhook has no secret and this server has no tenant signing key")
	}
	return s.tenantKey(job.Tenant), nil
}

// judge decides what an attempt leaves the delivery in, and when it is
// tried next.
func (s *Sender) judge(d *scheduler.Delivery, a scheduler.DeliveryAttempt) (scheduler.DeliveryState, time.Time) {
	switch {
	case a.Error == "":
		return scheduler.DeliveryDelivered, time.Time{}
	case a.StatusCode == http.StatusGone:
		// The receiver says the endpoint is gone for good.
		return scheduler.DeliveryDead, time.Time{}
	}
	next := a.At.Add(a.Duration + s.Backoff(len(d.Attempts)+1))
	if next.Sub(d.CreatedAt) > s.cfg.MaxAge {
		return scheduler.DeliveryDead, time.Time{}
	}
	return scheduler.DeliveryPending, next
}

// Backoff is the wait after the n-th failed attempt: RetryBase doubled n-1
// times, capped at RetryMax, then jittered down by up to a half ("equal
// jitter"), so receivers that failed together are not retried together.
// Hand-written because the delay is a pure function of the attempt count
// stored with the delivery; a stateful backoff object (cenkalti/backoff)
// would not survive a restart.
func (s *Sender) Backoff(n int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	half := d / 2
	return half + time.Duration(mrand.Int64N(int64(half)+1))
}

// TenantSecret derives the signing secret of a tenant's webhooks that carry
// none, in the Standard Webhooks form (whsec_ and base64), from the
// server's key: every edge sharing the key signs alike, and no secret is
// stored.
func TenantSecret(serverKey []byte, tenant string) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(TenantKey(serverKey, tenant))
}

// TenantKey is the HMAC key TenantSecret encodes.
func TenantKey(serverKey []byte, tenant string) []byte {
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte("docstrange webhook secret v1\x00" + tenant))
	return m.Sum(nil)
}
