# Recordings and results: the GCS storage backend (STORAGE_BACKEND=gcs, STORAGE_BUCKET) in Cloud
# Run and the GKE pods, through the client library (no FUSE mount). Clients upload and download
# directly with signed URLs the API hands out. Retention (RETENTION_DAYS) is the application's:
# beat's purge deletes a job's objects; the lifecycle rules only tidy old versions and uploads.
resource "google_storage_bucket" "storage" {
  #checkov:skip=CKV_GCP_62:Object access is recorded by Cloud Audit Logs (turn on Data Access logs for Cloud Storage); a second bucket of usage logs adds nothing here
  name                        = "${var.project_id}-${var.name}-storage"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  versioning {
    enabled = true
  }
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      age = 2
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }
  # Browsers may PUT direct uploads and GET download links from these origins (none by default).
  dynamic "cors" {
    for_each = length(var.storage_cors_origins) > 0 ? [1] : []
    content {
      origin          = var.storage_cors_origins
      method          = ["PUT", "GET"]
      response_header = ["Content-Type"]
      max_age_seconds = 3600
    }
  }
  depends_on = [google_project_service.apis]
}
