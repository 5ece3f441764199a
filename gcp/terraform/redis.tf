# Redis: the Celery broker, on private service access, with AUTH, hourly snapshots, and never
# evicting keys.
resource "google_redis_instance" "main" {
  #checkov:skip=CKV_GCP_97:In-transit TLS is off: the instance is reachable only inside this VPC (private service access) and AUTH is on. Its TLS needs the instance CA mounted into every client and KEDA; turn on transit_encryption_mode and use a rediss:// URL if your policy requires it.
  name               = var.name
  tier               = var.redis_tier
  memory_size_gb     = var.redis_memory_gb
  region             = var.region
  redis_version      = "REDIS_7_2"
  authorized_network = google_compute_network.main.id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  auth_enabled       = true
  redis_configs = {
    maxmemory-policy = "noeviction"
  }
  persistence_config {
    persistence_mode    = "RDB"
    rdb_snapshot_period = "ONE_HOUR"
  }
  depends_on = [google_service_networking_connection.private_services]
}
