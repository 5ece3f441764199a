variable "name" {
  description = "Name of this stack; prefixes every resource."
  type        = string
  default     = "scribe"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "vpc_cidr" {
  description = "Address range of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones to spread subnets over (RDS and the ALB need two)."
  type        = number
  default     = 2
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone (zone-failure tolerant)."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "ACM certificate for the API's HTTPS listener (a domain you own)."
  type        = string
}

variable "allowed_ingress_cidrs" {
  description = "Who may reach the API load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "image_tag" {
  description = "Tag of the images pushed to the two ECR repositories."
  type        = string
}

variable "api_cpu" {
  description = "Fargate CPU units of one API task."
  type        = number
  default     = 512
}

variable "api_memory" {
  description = "Fargate memory (MiB) of one API task."
  type        = number
  default     = 1024
}

variable "api_min_tasks" {
  description = "API tasks at least (two spread over zones survive a zone or task loss)."
  type        = number
  default     = 2
}

variable "api_max_tasks" {
  description = "API tasks at most (scaled on CPU)."
  type        = number
  default     = 6
}

variable "public_base_url" {
  description = "Public URL of the API (https://api.example.com), the start of the links in webhook payloads. Empty: https:// plus the load balancer's DNS name."
  type        = string
  default     = ""
}

variable "storage_cors_origins" {
  description = "Web origins whose browsers may use presigned upload and download URLs directly (S3 CORS). Empty: no CORS rule."
  type        = list(string)
  default     = []
}

variable "worker_default_cpu" {
  description = "Fargate CPU units of the default-queue worker (two processes; the enhancement step runs spaCy and MiniLM on the CPU)."
  type        = number
  default     = 1024
}

variable "worker_default_memory" {
  description = "Fargate memory (MiB) of the default-queue worker (each of its two processes may load the enhancement models, about 1 GB)."
  type        = number
  default     = 4096
}

variable "gpu_instance_type" {
  description = "EC2 instance type of the transcription workers (one GPU each): g6.xlarge (L4), g5.xlarge (A10G), g4dn.xlarge (T4)."
  type        = string
  default     = "g6.xlarge"
}

variable "gpu_task_cpu" {
  description = "CPU units of one transcription task (fits a 4-vCPU instance beside the ECS agent)."
  type        = number
  default     = 3584
}

variable "gpu_task_memory" {
  description = "Memory (MiB) of one transcription task (fits a 16 GiB instance beside the ECS agent)."
  type        = number
  default     = 14336
}

variable "gpu_ami_ssm_parameter" {
  description = "SSM parameter holding the ECS GPU-optimized AMI id."
  type        = string
  default     = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
}

variable "gpu_workers_min" {
  description = "Transcription workers always running. 0 scales to zero when the queue has been idle."
  type        = number
  default     = 0
}

variable "gpu_workers_max" {
  description = "Transcription workers at most (one GPU instance each)."
  type        = number
  default     = 4
}

variable "scale_in_idle_minutes" {
  description = "Minutes with nothing queued or running before workers scale in to gpu_workers_min."
  type        = number
  default     = 15
}

variable "asr_model" {
  description = "Default ASR model (ASR_MODEL)."
  type        = string
  default     = "base"
}

variable "asr_models" {
  description = "ASR models clients may ask for (ASR_MODELS, comma-separated)."
  type        = string
  default     = "tiny.en,base"
}

variable "diarization_model" {
  description = "Diarization pipeline (DIARIZATION_MODEL)."
  type        = string
  default     = "pyannote-seg3-campplus"
}

variable "allow_model_downloads" {
  description = "Let workers download hub models (needs the NAT gateway; HF_TOKEN for gated ones)."
  type        = bool
  default     = false
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.small"
}

variable "db_allocated_storage" {
  description = "RDS storage (GiB); grows automatically up to four times this."
  type        = number
  default     = 20
}

variable "db_multi_az" {
  description = "A standby database in a second zone."
  type        = bool
  default     = false
}

variable "db_performance_insights" {
  description = "RDS Performance Insights (not offered on the smallest burstable classes)."
  type        = bool
  default     = false
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_replicas" {
  description = "Redis replicas beside the primary (1 or more turns on automatic failover)."
  type        = number
  default     = 0
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer from `terraform destroy`."
  type        = bool
  default     = true
}

variable "flower_enabled" {
  description = "Run Flower (reachable only through ECS Exec port forwarding, never the internet)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 365
}
