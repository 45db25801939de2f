package envdefault

import (
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	tests := []struct {
		name  string
		value string
		str   string
		num   int
		dur   time.Duration
	}{
		{name: "unset", value: "", str: "def", num: 7, dur: time.Second},
		{name: "set", value: "42", str: "42", num: 42, dur: time.Second},
		{name: "duration", value: "3s", str: "3s", num: 7, dur: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ENVDEFAULT_TEST", tt.value)
			if got := String("ENVDEFAULT_TEST", "def"); got != tt.str {
				t.Errorf("String = %q; want %q", got, tt.str)
			}
			if got := Int("ENVDEFAULT_TEST", 7); got != tt.num {
				t.Errorf("Int = %d; want %d", got, tt.num)
			}
			if got := Duration("ENVDEFAULT_TEST", time.Second); got != tt.dur {
				t.Errorf("Duration = %v; want %v", got, tt.dur)
			}
		})
	}
}
