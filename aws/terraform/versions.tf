# Scribe Rabbit on AWS: ECS (API and light workers on Fargate, transcription workers on EC2 GPU
# instances through a capacity provider), RDS PostgreSQL, ElastiCache Redis, S3 (recordings and
# results), an ALB, Secrets Manager, and worker scaling on queue depth. docs/deploy-aws.md walks through it.
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project = "scribe-rabbit"
      Stack   = var.name
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first az_count zone names (sorted) are used, so a zone AWS adds later never moves a subnet
  state = "available"
}

locals {
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  azs          = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  api_image    = "${aws_ecr_repository.api.repository_url}:${var.image_tag}"
  worker_image = "${aws_ecr_repository.worker.repository_url}:${var.image_tag}"
  # The worker image's CPU target (Dockerfile.worker --target cpu), for the default worker.
  worker_image_cpu = "${aws_ecr_repository.worker.repository_url}:${var.image_tag}-cpu"
}
