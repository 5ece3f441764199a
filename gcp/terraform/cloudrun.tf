# The API on Cloud Run, and the migration as a Cloud Run job (run it before each rollout:
# `gcloud run jobs execute scribe-migrate --region REGION --wait`).
locals {
  # Cloud Run's deterministic URL of the API service, SERVICE-PROJECT_NUMBER.REGION.run.app
  # (known before the service exists, so the service can be told its own address; Cloud Run
  # offers it while "SERVICE-PROJECT_NUMBER" fits in 63 characters), unless a custom domain is
  # given.
  public_base_url = var.public_base_url != "" ? trimsuffix(var.public_base_url, "/") : "https://${var.name}-api-${data.google_project.current.number}.${var.region}.run.app"

  run_env = {
    ENVIRONMENT = "production"
    LOG_LEVEL   = "INFO"
    # The GCS backend on the stack's bucket, as the run service account (iam.tf). Presigned
    # upload and download URLs are signed through IAM signBlob, which the account may call on
    # itself (roles/iam.serviceAccountTokenCreator), so no key file exists anywhere.
    STORAGE_BACKEND       = "gcs"
    STORAGE_BUCKET        = google_storage_bucket.storage.name
    PUBLIC_BASE_URL       = local.public_base_url
    ASR_MODEL             = var.asr_model
    ASR_MODELS            = var.asr_models
    DIARIZATION_MODEL     = "pyannote-seg3-campplus"
    ALLOW_MODEL_DOWNLOADS = "false"
  }
  run_secrets = {
    DATABASE_URL = "database-url"
    REDIS_URL    = "redis-url"
  }
}

resource "google_cloud_run_v2_service" "api" {
  name                = "${var.name}-api"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = var.deletion_protection

  template {
    service_account                  = google_service_account.run.email
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    timeout                          = "900s" # large uploads
    max_instance_request_concurrency = 40
    scaling {
      min_instance_count = var.api_min_instances
      max_instance_count = var.api_max_instances
    }
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = google_compute_network.main.id
        subnetwork = google_compute_subnetwork.main.id
      }
    }
    containers {
      image = local.api_image
      args  = ["api"]
      ports {
        container_port = 8000
      }
      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
      }
      dynamic "env" {
        for_each = local.run_env
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.run_secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.secret[env.value].secret_id
              version = "latest"
            }
          }
        }
      }
      startup_probe {
        http_get {
          path = "/health"
          port = 8000
        }
        period_seconds    = 5
        failure_threshold = 24
      }
      liveness_probe {
        http_get {
          path = "/health"
          port = 8000
        }
        period_seconds = 30
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.run,
    google_storage_bucket_iam_member.run,
    google_storage_bucket_iam_member.run_bucket_metadata,
    google_service_account_iam_member.run_signs_urls,
  ]
}

# Public: every call carries an X-API-Key that the API checks itself.
resource "google_cloud_run_v2_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:The API is a public service by design; it authenticates every request with an X-API-Key (keys stored hashed)
  name     = google_cloud_run_v2_service.api.name
  location = google_cloud_run_v2_service.api.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_job" "migrate" {
  name                = "${var.name}-migrate"
  location            = var.region
  deletion_protection = var.deletion_protection

  template {
    task_count = 1
    template {
      service_account = google_service_account.run.email
      max_retries     = 1
      timeout         = "600s"
      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = google_compute_network.main.id
          subnetwork = google_compute_subnetwork.main.id
        }
      }
      containers {
        image = local.api_image
        args  = ["migrate"]
        dynamic "env" {
          for_each = local.run_env
          content {
            name  = env.key
            value = env.value
          }
        }
        dynamic "env" {
          for_each = local.run_secrets
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = google_secret_manager_secret.secret[env.value].secret_id
                version = "latest"
              }
            }
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.run]
}
