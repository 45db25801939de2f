# Workers: one process per allocation, in two groups. The CPU group runs on
# any node; the GPU group asks Nomad for a GPU device (nvidia/gpu in
# production; the dev cluster passes Nomad's example device plugin's
# nomad/file/mock as a stand-in). Each allocation registers itself in
# Consul with its device, backends, slots and region as service meta; the
# scheduler places jobs from that, and the worker pulls the jobs placed on
# it.

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
  description = "Folder holding docstrange-worker and backends/ on every client node."
}

variable "models_dir" {
  type        = string
  description = "Folder holding the ONNX Runtime library and the models (make models)."
}

variable "blob_dir" {
  type        = string
  description = "Folder for inputs and results, shared with the edges (a network file system mounted on each client node)."
}

variable "lease_ttl" {
  type        = string
  default     = "30s"
  description = "Lease on a running job: a worker killed mid-job loses it this long after its last renewal, and the job runs again elsewhere."
}

variable "cpu_max" {
  type        = number
  default     = 20
  description = "Most CPU workers the autoscaler may run."
}

variable "gpu_max" {
  type        = number
  default     = 8
  description = "Most GPU workers the autoscaler may run."
}

variable "cpu_mhz" {
  type    = number
  default = 2000
}

variable "memory_mb" {
  type    = number
  default = 2048
}

variable "redis_addr" {
  type    = string
  default = "127.0.0.1:6379"
}

variable "gpu_device" {
  type        = string
  default     = "nvidia/gpu"
  description = "The device a GPU worker asks for: nvidia/gpu, or nomad/file/mock on the dev cluster."
}

variable "cpu_slots" {
  type    = number
  default = 2
}

variable "gpu_slots" {
  type    = number
  default = 4
}

variable "cpu_count" {
  type    = number
  default = 1
}

variable "gpu_count" {
  type    = number
  default = 1
}

job "docstrange-worker" {
  datacenters = var.datacenters
  region      = var.region
  type        = "service"

  # No deployments: Nomad refuses to scale a job while one of its
  # deployments runs, so every count change the autoscaler made would block
  # the next (of either group) until its new workers turned healthy, or for
  # the whole progress deadline when a group cannot be placed (no GPU node).
  # An update replaces the workers at once instead of rolling; that loses
  # capacity for a moment, not jobs: a worker hands its jobs back on
  # SIGINT, and a killed one's leases run out and the jobs run elsewhere.
  update {
    max_parallel = 0
  }

  group "cpu" {
    count = var.cpu_count

    network {
      port "http" {}
    }

    # Leave Consul first, so the scheduler stops placing here, then stop:
    # the worker hands what it holds back to the main queue on SIGINT.
    shutdown_delay = "2s"

    # The scheduler moves this count with the queue, within these bounds.
    scaling {
      enabled = true
      min     = 1
      max     = var.cpu_max
    }

    service {
      name     = "docstrange-worker"
      port     = "http"
      provider = "consul"
      tags     = ["cpu", "region-${var.region}"]
      meta {
        device   = "cpu"
        slots    = "${var.cpu_slots}"
        backends = "onnx"
        region   = var.region
        alloc_id = "${NOMAD_ALLOC_ID}"
      }
      check {
        name     = "ready"
        type     = "http"
        path     = "/health"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "worker" {
      driver = var.driver

      config {
        command = "${var.bin_dir}/docstrange-worker"
      }

      env {
        DOCSTRANGE_REDIS_ADDR   = var.redis_addr
        DOCSTRANGE_REGION       = var.region
        DOCSTRANGE_DEVICE       = "cpu"
        DOCSTRANGE_SLOTS        = "${var.cpu_slots}"
        DOCSTRANGE_WORKER_ID    = "${NOMAD_ALLOC_ID}"
        DOCSTRANGE_QUEUE        = "assigned"
        DOCSTRANGE_HTTP_ADDR    = "${NOMAD_ADDR_http}"
        DOCSTRANGE_BACKENDS_DIR = "${var.bin_dir}/backends"
        DOCSTRANGE_MODELS_DIR   = var.models_dir
        DOCSTRANGE_ONNX_PROVIDER = "cpu"
        DOCSTRANGE_BLOB_DIR      = var.blob_dir
        DOCSTRANGE_LEASE_TTL     = var.lease_ttl
      }

      resources {
        cpu    = var.cpu_mhz
        memory = var.memory_mb
      }

      # A worker hands its jobs back on SIGINT; give it time to.
      kill_signal  = "SIGINT"
      kill_timeout = "30s"
    }
  }

  group "gpu" {
    count = var.gpu_count

    network {
      port "http" {}
    }

    # Leave Consul first, so the scheduler stops placing here, then stop:
    # the worker hands what it holds back to the main queue on SIGINT.
    shutdown_delay = "2s"

    scaling {
      enabled = true
      min     = 0
      max     = var.gpu_max
    }

    service {
      name     = "docstrange-worker"
      port     = "http"
      provider = "consul"
      tags     = ["gpu", "region-${var.region}"]
      meta {
        device   = "gpu"
        slots    = "${var.gpu_slots}"
        backends = "onnx"
        region   = var.region
        alloc_id = "${NOMAD_ALLOC_ID}"
      }
      check {
        name     = "ready"
        type     = "http"
        path     = "/health"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "worker" {
      driver = var.driver

      config {
        command = "${var.bin_dir}/docstrange-worker"
      }

      env {
        DOCSTRANGE_REDIS_ADDR    = var.redis_addr
        DOCSTRANGE_REGION        = var.region
        DOCSTRANGE_DEVICE        = "gpu"
        DOCSTRANGE_SLOTS         = "${var.gpu_slots}"
        DOCSTRANGE_WORKER_ID     = "${NOMAD_ALLOC_ID}"
        DOCSTRANGE_QUEUE         = "assigned"
        DOCSTRANGE_HTTP_ADDR     = "${NOMAD_ADDR_http}"
        DOCSTRANGE_BACKENDS_DIR  = "${var.bin_dir}/backends"
        DOCSTRANGE_MODELS_DIR    = var.models_dir
        DOCSTRANGE_ONNX_PROVIDER = "cuda"
        DOCSTRANGE_BLOB_DIR      = var.blob_dir
        DOCSTRANGE_LEASE_TTL     = var.lease_ttl
      }

      resources {
        cpu    = var.cpu_mhz
        memory = 2 * var.memory_mb

        # A block label cannot interpolate; a dynamic block can.
        dynamic "device" {
          for_each = [var.gpu_device]
          labels   = [device.value]
          content {
            count = 1
          }
        }
      }

      kill_signal  = "SIGINT"
      kill_timeout = "30s"
    }
  }
}
