# A zonal GKE Standard cluster: private nodes, Workload Identity, Dataplane V2 (which enforces the
# NetworkPolicies of gcp/k8s), a small general node pool and a GPU node pool that scales from zero
# with the transcription pods.
resource "google_container_cluster" "main" {
  #checkov:skip=CKV_GCP_66:Binary Authorization needs an attestation pipeline of your own; images come only from this project's Artifact Registry with immutable tags
  #checkov:skip=CKV_GCP_12:Dataplane V2 (datapath_provider ADVANCED_DATAPATH) enforces NetworkPolicy itself; the older network_policy add-on cannot be combined with it
  #checkov:skip=CKV_GCP_69:The GKE metadata server is on in every node pool (workload_metadata_config GKE_METADATA); the default pool is removed
  #checkov:skip=CKV_GCP_65:Google Groups for RBAC needs a Workspace or Cloud Identity domain that a new project may not have; add authenticator_groups_config if yours does
  #checkov:skip=CKV_GCP_24:PodSecurityPolicy no longer exists; the namespace enforces the restricted Pod Security Standard (gcp/k8s/namespace.yaml)
  name                        = var.name
  location                    = var.zone
  network                     = google_compute_network.main.id
  subnetwork                  = google_compute_subnetwork.main.id
  remove_default_node_pool    = true
  initial_node_count          = 1
  deletion_protection         = var.deletion_protection
  datapath_provider           = "ADVANCED_DATAPATH"
  enable_shielded_nodes       = true
  enable_intranode_visibility = true

  release_channel {
    channel = "REGULAR"
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.gke_authorized_networks
      content {
        cidr_block = cidr_blocks.value
      }
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  resource_labels = {
    app = "scribe-rabbit"
  }

  depends_on = [google_project_service.apis]
}

locals {
  node_metadata = {
    disable-legacy-endpoints = "true"
  }
}

resource "google_container_node_pool" "general" {
  name     = "general"
  cluster  = google_container_cluster.main.id
  location = var.zone
  autoscaling {
    min_node_count = 1
    max_node_count = 3
  }
  management {
    auto_repair  = true
    auto_upgrade = true
  }
  node_config {
    machine_type    = var.general_machine_type
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-balanced"
    disk_size_gb    = 50
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    metadata        = local.node_metadata
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}

resource "google_container_node_pool" "gpu" {
  name     = "gpu"
  cluster  = google_container_cluster.main.id
  location = var.zone
  autoscaling {
    min_node_count = 0
    max_node_count = var.gpu_nodes_max
  }
  management {
    auto_repair  = true
    auto_upgrade = true
  }
  node_config {
    machine_type    = var.gpu_machine_type
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-balanced"
    disk_size_gb    = 100 # the worker image is about 10 GB
    spot            = var.gpu_spot
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    metadata        = local.node_metadata
    labels = {
      role = "transcribe"
    }
    guest_accelerator {
      type  = var.gpu_type
      count = 1
      gpu_driver_installation_config {
        gpu_driver_version = "LATEST"
      }
    }
    taint {
      key    = "nvidia.com/gpu"
      value  = "present"
      effect = "NO_SCHEDULE"
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}
