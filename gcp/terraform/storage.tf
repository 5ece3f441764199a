# Recordings and results. Today the service uses STORAGE_BACKEND=local on this bucket, mounted
# with Cloud Storage FUSE at /var/lib/scribe/storage in Cloud Run and in the GKE pods; the GCS
# storage backend will use the same bucket directly.
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
  depends_on = [google_project_service.apis]
}
