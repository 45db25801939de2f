package plugins_test

import (
	"errors"
	"testing"

	"github.com/docstrange/mesh/plugins"
)

func TestNegotiateAPIVersion(t *testing.T) {
	tests := []struct {
		name   string
		host   []string
		plugin []string
		want   string
		errMsg string
	}{
		{name: "same single", host: []string{"v1"}, plugin: []string{"v1"}, want: "v1"},
		{name: "highest common minor", host: []string{"v1", "v1.1"}, plugin: []string{"v1", "v1.1"}, want: "v1.1"},
		{name: "plugin newer", host: []string{"v1"}, plugin: []string{"v1", "v1.1"}, want: "v1"},
		{name: "host newer", host: []string{"v1", "v1.1", "v2"}, plugin: []string{"v1"}, want: "v1"},
		{name: "major wins over minor", host: []string{"v1.9", "v2"}, plugin: []string{"v2", "v1.9"}, want: "v2"},
		{name: "order does not matter", host: []string{"v2", "v1"}, plugin: []string{"v1", "v2"}, want: "v2"},
		{name: "v1 equals v1.0", host: []string{"v1"}, plugin: []string{"v1.0"}, want: "v1"},
		{name: "garbage ignored", host: []string{"1", "vx", "v1"}, plugin: []string{"latest", "v1"}, want: "v1"},
		{name: "none in common", host: []string{"v1", "v1.1"}, plugin: []string{"v2"},
			errMsg: "no common backend API version: host supports [v1, v1.1], plugin supports [v2]"},
		{name: "plugin lists nothing", host: []string{"v1"}, plugin: nil,
			errMsg: "no common backend API version: host supports [v1], plugin supports []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := plugins.NegotiateAPIVersion(tt.host, tt.plugin)
			if tt.errMsg != "" {
				var vm *plugins.VersionMismatchError
				if err == nil || err.Error() != tt.errMsg || !errors.Is(err, plugins.ErrNoCommonAPIVersion) || !errors.As(err, &vm) {
					t.Fatalf("err = %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NegotiateAPIVersion(%v, %v) = %q, %v; want %q", tt.host, tt.plugin, got, err, tt.want)
			}
		})
	}
}
