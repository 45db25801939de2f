package nomadtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"
)

// TestCleanupStopsTasks: the agent runs a raw_exec task, and once the test
// that started the agent is over, the task is gone with it.
func TestCleanupStopsTasks(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Run("agent", func(t *testing.T) {
		a := Start(t)
		c := a.Client(t)
		job := nomadapi.NewServiceJob("sleeper", "sleeper", "global", 50)
		job.Datacenters = []string{"dc1"}
		task := nomadapi.NewTask("sleep", "raw_exec")
		task.Config = map[string]any{"command": "/bin/sh", "args": []string{"-c", "echo $$ > " + pidFile + "; exec sleep 300"}}
		cpu, mem := 20, 16
		task.Require(&nomadapi.Resources{CPU: &cpu, MemoryMB: &mem})
		job.AddTaskGroup(nomadapi.NewTaskGroup("g", 1).AddTask(task))
		if _, _, err := c.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the task did not start within 30s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("task process %d outlived the agent", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
