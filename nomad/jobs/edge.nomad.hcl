# The edge: Caddy with the DocStrange modules, in production (redis) mode.
# It accepts jobs into Redis and serves results; it runs no embedded worker
# (DOCSTRANGE_WORKERS=-1): placement is the scheduler's, work the workers'.
# Put a load balancer in front that reads the Consul service
# "docstrange-edge" (Fabio, Traefik, Consul's ingress, or an external LB).

variable "datacenters" {
  type        = list(string)
  default     = ["dc1"]
  description = "Nomad datacenters the edges may run in."
}

variable "region" {
  type        = string
  default     = "global"
  description = "The Nomad region, and the region jobs accepted here run in."
}

variable "driver" {
  type        = string
  default     = "exec"
  description = "Task driver: exec (isolated) in production, raw_exec on the dev cluster."
}

variable "bin_dir" {
  type        = string
  description = "Folder holding docstrange-edge and the edge Caddyfile on every client node."
}

variable "redis_addr" {
  type        = string
  default     = "127.0.0.1:6379"
  description = "Redis host:port shared by edges, schedulers and workers."
}

variable "blob_dir" {
  type        = string
  description = "Folder for inputs and results, shared by every edge and worker (a network file system mounted on each client node)."
}

variable "cpu" {
  type        = number
  default     = 1000
  description = "CPU MHz reserved per edge."
}

variable "memory" {
  type        = number
  default     = 768
  description = "Memory MiB reserved per edge."
}

variable "count" {
  type    = number
  default = 2
}

job "docstrange-edge" {
  datacenters = var.datacenters
  region      = var.region
  type        = "service"

  update {
    max_parallel     = 1
    min_healthy_time = "10s"
    healthy_deadline = "2m"
    auto_revert      = true
  }

  group "edge" {
    count = var.count

    # Spread edges over nodes so one node's loss keeps the API up.
    spread {
      attribute = "${node.unique.id}"
    }

    network {
      port "http" {}
      port "https" {}
      port "admin" {}
    }

    scaling {
      enabled = true
      min     = 2
      max     = 10
    }

    service {
      name     = "docstrange-edge"
      port     = "http"
      provider = "consul"
      tags     = ["api", "region-${var.region}"]
      meta {
        region = var.region
      }
      check {
        name     = "ready"
        type     = "http"
        path     = "/api/v1/health/ready"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "edge" {
      driver = var.driver

      config {
        command = "${var.bin_dir}/docstrange-edge"
        args    = ["run", "--config", "${var.bin_dir}/Caddyfile", "--adapter", "caddyfile"]
      }

      env {
        DOCSTRANGE_STORE      = "redis"
        DOCSTRANGE_REDIS_ADDR = var.redis_addr
        DOCSTRANGE_WORKERS    = "-1"
        DOCSTRANGE_DATA_DIR   = "${NOMAD_ALLOC_DIR}/data"
        DOCSTRANGE_HTTP_HOST  = "0.0.0.0"
        DOCSTRANGE_HTTP_PORT  = "${NOMAD_PORT_http}"
        DOCSTRANGE_HTTPS_PORT = "${NOMAD_PORT_https}"
        DOCSTRANGE_ADMIN_PORT = "${NOMAD_PORT_admin}"
        DOCSTRANGE_BLOB_DIR   = var.blob_dir
        DOCSTRANGE_REGION     = var.region
      }

      # The pepper and the admin token are secrets: Nomad Variables (or
      # Vault) render them; they are never in this file.
      template {
        destination = "${NOMAD_SECRETS_DIR}/env"
        env         = true
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/docstrange-edge" }}
        DOCSTRANGE_KEY_PEPPER={{ .key_pepper }}
        DOCSTRANGE_ADMIN_TOKEN={{ .admin_token }}
        {{ end }}
        EOT
      }

      resources {
        cpu    = var.cpu
        memory = var.memory
      }

      kill_timeout = "30s"
    }
  }
}
