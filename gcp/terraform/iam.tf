# Identities, each with only what it needs:
#   Cloud Run (API and migration job): its two secrets, the bucket's objects and metadata, and
#   signing blobs as itself (the presigned upload and download URLs the API hands out).
#   GKE nodes: logs, metrics and image pulls; nothing else.
#   GKE workloads (the scribe Kubernetes service account): the bucket, through Workload Identity
#   Federation (granted to the Kubernetes identity itself, no key and no Google service account).
resource "google_service_account" "run" {
  account_id   = "${var.name}-run"
  display_name = "Scribe Rabbit on Cloud Run"
}

resource "google_secret_manager_secret_iam_member" "run" {
  for_each  = toset(["database-url", "redis-url"])
  secret_id = google_secret_manager_secret.secret[each.value].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.run.email}"
}

resource "google_storage_bucket_iam_member" "run" {
  bucket = google_storage_bucket.storage.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.run.email}"
}

# The API's readiness check (/ready, scribe_rabbit_component_up) reads the bucket's metadata
# (storage.buckets.get), which objectUser does not include; this role adds only that and
# object listing.
resource "google_storage_bucket_iam_member" "run_bucket_metadata" {
  bucket = google_storage_bucket.storage.name
  role   = "roles/storage.legacyBucketReader"
  member = "serviceAccount:${google_service_account.run.email}"
}

# Signed URLs without a key file: the google-cloud-storage client asks IAM's signBlob to sign as
# the run service account, which needs the Token Creator role on itself (and nothing more).
resource "google_service_account_iam_member" "run_signs_urls" {
  service_account_id = google_service_account.run.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.run.email}"
}

# The GKE workers read inputs and write results; they sign no URLs.
resource "google_storage_bucket_iam_member" "k8s_workloads" {
  bucket = google_storage_bucket.storage.name
  role   = "roles/storage.objectUser"
  member = local.k8s_workloads
}

resource "google_service_account" "nodes" {
  account_id   = "${var.name}-gke-nodes"
  display_name = "Scribe Rabbit GKE nodes"
}

resource "google_project_iam_member" "nodes" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_artifact_registry_repository_iam_member" "nodes" {
  repository = google_artifact_registry_repository.images.name
  location   = google_artifact_registry_repository.images.location
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.nodes.email}"
}
