variable "project_id" {
  description = "Google Cloud project."
  type        = string
}

variable "name" {
  description = "Name of this stack; prefixes every resource."
  type        = string
  default     = "scribe"
}

variable "region" {
  description = "Region (pick one with L4 GPUs, e.g. us-central1, europe-west4)."
  type        = string
  default     = "us-central1"
}

variable "zone" {
  description = "Zone of the GKE cluster (a zonal cluster's management fee is covered by GKE's free tier)."
  type        = string
  default     = "us-central1-a"
}

variable "image_tag" {
  description = "Tag of the images pushed to Artifact Registry."
  type        = string
}

variable "public_base_url" {
  description = "Public URL of the API (a custom domain mapped to Cloud Run), the start of the links in webhook payloads. Empty: the service's run.app URL."
  type        = string
  default     = ""
}

variable "storage_cors_origins" {
  description = "Web origins whose browsers may use signed upload and download URLs directly (bucket CORS). Empty: no CORS rule."
  type        = list(string)
  default     = []
}

variable "gke_authorized_networks" {
  description = "Address ranges allowed to reach the GKE control plane (your office, CI)."
  type        = list(string)
}

variable "gpu_machine_type" {
  description = "Machine type of the GPU node pool (g2-standard-8: 1 L4, 8 vCPU, 32 GB)."
  type        = string
  default     = "g2-standard-8"
}

variable "gpu_type" {
  description = "GPU of each GPU node."
  type        = string
  default     = "nvidia-l4"
}

variable "gpu_nodes_max" {
  description = "GPU nodes at most (KEDA's maxReplicaCount in gcp/k8s/keda.yaml should match)."
  type        = number
  default     = 4
}

variable "gpu_spot" {
  description = "Spot GPU nodes (about a third of the price; a preempted job is retried)."
  type        = bool
  default     = false
}

variable "general_machine_type" {
  description = "Machine type of the general node pool (default worker, beat, Flower, KEDA)."
  type        = string
  default     = "e2-standard-2"
}

variable "api_min_instances" {
  description = "Cloud Run instances kept warm (0 lets the API scale to zero; the first request then waits)."
  type        = number
  default     = 1
}

variable "api_max_instances" {
  description = "Cloud Run instances at most."
  type        = number
  default     = 10
}

variable "asr_model" {
  description = "Default ASR model (ASR_MODEL)."
  type        = string
  default     = "base"
}

variable "asr_models" {
  description = "ASR models clients may ask for (ASR_MODELS)."
  type        = string
  default     = "tiny.en,base"
}

variable "db_tier" {
  description = "Cloud SQL machine tier."
  type        = string
  default     = "db-g1-small"
}

variable "db_high_availability" {
  description = "A standby in a second zone (REGIONAL)."
  type        = bool
  default     = false
}

variable "redis_tier" {
  description = "Memorystore tier: BASIC (one node) or STANDARD_HA (replicated)."
  type        = string
  default     = "BASIC"
}

variable "redis_memory_gb" {
  description = "Memorystore capacity."
  type        = number
  default     = 1
}

variable "deletion_protection" {
  description = "Protect the database and the cluster from `terraform destroy`."
  type        = bool
  default     = true
}
