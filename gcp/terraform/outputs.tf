output "api_url" {
  value = google_cloud_run_v2_service.api.uri
}

output "public_base_url" {
  description = "PUBLIC_BASE_URL of the API and the workers (deployment-values in gcp/k8s/kustomization.yaml)."
  value       = local.public_base_url
}

output "registry" {
  description = "docker push REGISTRY/api:TAG, REGISTRY/worker:TAG and REGISTRY/worker:TAG-cpu"
  value       = local.registry
}

output "storage_bucket" {
  value = google_storage_bucket.storage.name
}

output "gke_cluster" {
  value = google_container_cluster.main.name
}

output "gke_zone" {
  value = var.zone
}

output "migrate_job" {
  value = google_cloud_run_v2_job.migrate.name
}

output "secret_ids" {
  description = "Secret Manager secrets: database-url, redis-url, flower-basic-auth."
  value       = { for key, secret in google_secret_manager_secret.secret : key => secret.secret_id }
}

output "keda_redis_address" {
  description = "host:port for KEDA's Redis trigger (scribe-secrets key keda-redis-address)."
  value       = "${google_redis_instance.main.host}:${google_redis_instance.main.port}"
}

output "keda_redis_password" {
  description = "The Redis AUTH string for KEDA (scribe-secrets key keda-redis-password)."
  value       = google_redis_instance.main.auth_string
  sensitive   = true
}
