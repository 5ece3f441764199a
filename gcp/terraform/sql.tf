# PostgreSQL: private IP only, TLS required, backups with point-in-time recovery.
resource "random_password" "db" {
  length  = 32
  special = false # it goes into a URL unescaped
}

resource "google_sql_database_instance" "main" {
  #checkov:skip=CKV_GCP_6:ssl_mode ENCRYPTED_ONLY refuses every connection without TLS; client certificates on top would need per-client certificate distribution on an instance that has only a private IP
  #checkov:skip=CKV_GCP_79:PostgreSQL 17 on both clouds (RDS and Cloud SQL); nothing in the service needs a newer major version
  name                = var.name
  database_version    = "POSTGRES_17"
  region              = var.region
  deletion_protection = var.deletion_protection
  settings {
    tier              = var.db_tier
    edition           = "ENTERPRISE"
    availability_type = var.db_high_availability ? "REGIONAL" : "ZONAL"
    disk_type         = "PD_SSD"
    disk_size         = 20
    disk_autoresize   = true
    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.main.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }
    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "03:00"
      backup_retention_settings {
        retained_backups = 7
      }
    }
    insights_config {
      query_insights_enabled = true
    }
    maintenance_window {
      day  = 7
      hour = 3
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }
  depends_on = [google_service_networking_connection.private_services]
}

resource "google_sql_database" "scribe" {
  name     = "scribe"
  instance = google_sql_database_instance.main.name
}

resource "google_sql_user" "scribe" {
  name     = "scribe"
  instance = google_sql_database_instance.main.name
  password = random_password.db.result
}
