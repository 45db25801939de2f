# The scheduler: two replicas, one leading through a Consul lock, the other
# standing by to take over. The leader places queued jobs on healthy worker
# allocations and sets the worker groups' counts through Nomad's API within
# their scaling bounds.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "region" {
  type    = string
  default = "global"
}

variable "driver" {
  type        = string
  default     = "exec"
  description = "Task driver: exec in production, raw_exec on the dev cluster."
}

variable "bin_dir" {
  type        = string
  description = "Folder holding docstrange-scheduler on every client node."
}

variable "redis_addr" {
  type    = string
  default = "127.0.0.1:6379"
}

variable "consul_addr" {
  type        = string
  default     = "127.0.0.1:8500"
  description = "The Consul agent on each client node."
}

variable "nomad_addr" {
  type        = string
  default     = ""
  description = "Nomad's HTTP API for the autoscaler; empty means the client node's own agent on port 4646."
}

variable "scale_groups" {
  type        = string
  default     = "cpu:2,gpu:4"
  description = "Worker groups the leader scales, as group:slots (the worker job's cpu_slots and gpu_slots); empty turns autoscaling off."
}

variable "scale_cooldown" {
  type    = string
  default = "30s"
}

variable "scale_down_after" {
  type    = string
  default = "60s"
}

variable "dead_after" {
  type        = string
  default     = "30s"
  description = "How long a worker may be gone from Consul before its placed jobs are placed again."
}

variable "cpu" {
  type    = number
  default = 500
}

variable "memory" {
  type    = number
  default = 256
}

job "docstrange-scheduler" {
  datacenters = var.datacenters
  region      = var.region
  type        = "service"

  group "scheduler" {
    count = 2

    # Two replicas on one node would die together.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "http" {}
    }

    service {
      name     = "docstrange-scheduler"
      port     = "http"
      provider = "consul"
      check {
        name     = "live"
        type     = "http"
        path     = "/health"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "scheduler" {
      driver = var.driver

      config {
        command = "${var.bin_dir}/docstrange-scheduler"
      }

      env {
        DOCSTRANGE_REDIS_ADDR       = var.redis_addr
        DOCSTRANGE_REGION           = var.region
        DOCSTRANGE_HTTP_ADDR        = "${NOMAD_ADDR_http}"
        DOCSTRANGE_SCHEDULER_NAME   = "${NOMAD_ALLOC_ID}"
        DOCSTRANGE_DEAD_AFTER       = var.dead_after
        CONSUL_HTTP_ADDR            = var.consul_addr
        NOMAD_ADDR                  = var.nomad_addr != "" ? var.nomad_addr : "http://${attr.unique.network.ip-address}:4646"
        DOCSTRANGE_WORKER_JOB       = "docstrange-worker"
        DOCSTRANGE_SCALE_GROUPS     = var.scale_groups
        DOCSTRANGE_SCALE_COOLDOWN   = var.scale_cooldown
        DOCSTRANGE_SCALE_DOWN_AFTER = var.scale_down_after
      }

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
