# Connection URLs and the Flower login in Secret Manager. Cloud Run reads them directly; the GKE
# workloads get them as the scribe-secrets Kubernetes Secret (docs/deploy-gcp.md).
locals {
  secrets = {
    database-url      = "postgresql://scribe:${random_password.db.result}@${google_sql_database_instance.main.private_ip_address}:5432/scribe?sslmode=require"
    redis-url         = "redis://:${google_redis_instance.main.auth_string}@${google_redis_instance.main.host}:${google_redis_instance.main.port}/0"
    flower-basic-auth = "admin:${random_password.flower.result}"
  }
}

resource "random_password" "flower" {
  length  = 24
  special = false
}

resource "google_secret_manager_secret" "secret" {
  for_each  = local.secrets
  secret_id = "${var.name}-${each.key}"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "secret" {
  for_each    = local.secrets
  secret      = google_secret_manager_secret.secret[each.key].id
  secret_data = each.value
}
