package redislock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/docstrange/mesh/internal/redistest"
	"github.com/docstrange/mesh/uploads/redislock"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      redislock.Config
		want    redislock.Config // Logger is not compared
		wantErr bool
	}{
		{
			name: "zero takes the defaults",
			want: redislock.Config{Prefix: "tus:lock:", TTL: 10 * time.Second, RenewEvery: 10 * time.Second / 3,
				PollEvery: 100 * time.Millisecond, Timeout: 500 * time.Millisecond},
		},
		{
			name: "renew_every defaults to a third of ttl",
			in:   redislock.Config{Prefix: "p:", TTL: 300 * time.Millisecond},
			want: redislock.Config{Prefix: "p:", TTL: 300 * time.Millisecond, RenewEvery: 100 * time.Millisecond,
				PollEvery: 100 * time.Millisecond, Timeout: 500 * time.Millisecond},
		},
		{name: "negative ttl", in: redislock.Config{TTL: -time.Second}, wantErr: true},
		{name: "negative renew_every", in: redislock.Config{RenewEvery: -time.Second}, wantErr: true},
		{name: "negative poll_every", in: redislock.Config{PollEvery: -time.Second}, wantErr: true},
		{name: "negative timeout", in: redislock.Config{Timeout: -time.Second}, wantErr: true},
		{name: "ttl under 1ms", in: redislock.Config{TTL: time.Microsecond}, wantErr: true},
		{name: "renew_every equal to ttl", in: redislock.Config{TTL: time.Second, RenewEvery: time.Second}, wantErr: true},
		{name: "renew_every above the default ttl", in: redislock.Config{RenewEvery: time.Minute}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			err := got.Validate()
			if tt.wantErr {
				if !errors.Is(err, redislock.ErrInvalidConfig) {
					t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(): %v", err)
			}
			if got.Logger == nil {
				t.Error("Logger not defaulted")
			}
			got.Logger = nil
			if got != tt.want {
				t.Fatalf("Validate() gave %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestNewRefusesBadInput: New never falls back to defaults for a refused
// Config or a nil client; NewLock reports why.
func TestNewRefusesBadInput(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct {
		name   string
		locker *redislock.Locker
		want   error
	}{
		{name: "invalid config", locker: redislock.New(newClient(t, srv), redislock.Config{TTL: -1}), want: redislock.ErrInvalidConfig},
		{name: "nil client", locker: redislock.New(nil, redislock.Config{}), want: redislock.ErrNoClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() { _ = tt.locker.Close() })
			if _, err := tt.locker.NewLock("upload"); !errors.Is(err, tt.want) {
				t.Fatalf("NewLock() = %v, want %v", err, tt.want)
			}
		})
	}
}
