package main

import (
	"reflect"
	"testing"

	"github.com/docstrange/mesh/nomad"
)

func TestParseScaleGroups(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []nomad.ScaleGroup
		wantErr bool
	}{
		{name: "default", in: "cpu:2,gpu:4", want: []nomad.ScaleGroup{{Device: "cpu", Group: "cpu", Slots: 2}, {Device: "gpu", Group: "gpu", Slots: 4}}},
		{name: "cpu only, spaces", in: " cpu:8 ", want: []nomad.ScaleGroup{{Device: "cpu", Group: "cpu", Slots: 8}}},
		{name: "none", in: "", want: nil},
		{name: "no slots", in: "cpu", wantErr: true},
		{name: "zero slots", in: "cpu:0", wantErr: true},
		{name: "unknown class", in: "tpu:2", wantErr: true},
		{name: "not a number", in: "gpu:four", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseScaleGroups(tt.in)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseScaleGroups(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseConfigAutoscaling(t *testing.T) {
	t.Setenv("NOMAD_ADDR", "http://127.0.0.1:4646")
	t.Setenv("DOCSTRANGE_SCALE_GROUPS", "cpu:3")
	t.Setenv("DOCSTRANGE_SCALE_COOLDOWN", "5s")
	c, err := parseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.NomadAddr != "http://127.0.0.1:4646" || len(c.ScaleGroups) != 1 || c.ScaleGroups[0].Slots != 3 || c.ScaleCoolDown.String() != "5s" || c.WorkerJob != nomad.DefaultWorkerJob {
		t.Fatalf("config = %+v", c)
	}
	if _, err := parseConfig([]string{"-scale-groups", "cpu:x"}); err == nil {
		t.Fatal("a bad -scale-groups was accepted")
	}
}
