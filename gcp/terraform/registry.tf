# Where the two images live: tags are immutable, and untagged or old images are cleaned up.
resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption: the images hold code and public model weights, no secrets; a CMEK would add a key ring and a service-agent grant for nothing
  repository_id = var.name
  location      = var.region
  format        = "DOCKER"
  description   = "Scribe Rabbit images (api, worker)"
  docker_config {
    immutable_tags = true
  }
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state = "UNTAGGED"
    }
  }
  depends_on = [google_project_service.apis]
}
