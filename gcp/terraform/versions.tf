# Scribe Rabbit on Google Cloud: the API on Cloud Run, transcription workers on a GKE GPU node
# pool (Kubernetes manifests in gcp/k8s, scaled by KEDA), Cloud SQL PostgreSQL, Memorystore
# Redis, a Cloud Storage bucket, Artifact Registry, Secret Manager and Workload Identity.
# docs/deploy-gcp.md walks through it.
terraform {
  required_version = ">= 1.6"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.20, < 8.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_project" "current" {}

locals {
  registry     = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  api_image    = "${local.registry}/api:${var.image_tag}"
  worker_image = "${local.registry}/worker:${var.image_tag}"
  # The Kubernetes service account of gcp/k8s, as an IAM principal (Workload Identity Federation).
  k8s_workloads = "principal://iam.googleapis.com/projects/${data.google_project.current.number}/locations/global/workloadIdentityPools/${var.project_id}.svc.id.goog/subject/ns/scribe/sa/scribe"
}
