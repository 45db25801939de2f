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
        DOCSTRANGE_REDIS_ADDR  = var.redis_addr
        DOCSTRANGE_REGION      = var.region
        DOCSTRANGE_HTTP_ADDR   = "${NOMAD_ADDR_http}"
        CONSUL_HTTP_ADDR       = "127.0.0.1:8500"
        NOMAD_ADDR             = "http://${attr.unique.network.ip-address}:4646"
        DOCSTRANGE_WORKER_JOB  = "docstrange-worker"
        DOCSTRANGE_SCALE_GROUPS = "cpu,gpu"
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
