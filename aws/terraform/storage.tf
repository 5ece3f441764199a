# Where recordings and results live.
#
# Today the service stores them with STORAGE_BACKEND=local on an EFS file system that every task
# mounts at /var/lib/scribe/storage. The S3 bucket is there for the S3 storage backend: the tasks'
# role may already read and write it, so switching is a change of settings in aws/ecs/*.json.

resource "aws_efs_file_system" "storage" {
  creation_token   = "${var.name}-storage"
  encrypted        = true
  kms_key_id       = aws_kms_key.main.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
  tags = {
    Name = "${var.name}-storage"
  }
}

resource "aws_efs_backup_policy" "storage" {
  file_system_id = aws_efs_file_system.storage.id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "storage" {
  count           = var.az_count
  file_system_id  = aws_efs_file_system.storage.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.data.id]
}

# Tasks enter as uid/gid 10001 (the images' user) under /storage, whatever uid asks.
resource "aws_efs_access_point" "storage" {
  file_system_id = aws_efs_file_system.storage.id
  posix_user {
    uid = 10001
    gid = 10001
  }
  root_directory {
    path = "/storage"
    creation_info {
      owner_uid   = 10001
      owner_gid   = 10001
      permissions = "0750"
    }
  }
}

# Only the tasks' role, only through the access point, only over TLS.
resource "aws_efs_file_system_policy" "storage" {
  file_system_id = aws_efs_file_system.storage.id
  policy         = data.aws_iam_policy_document.efs.json
}

data "aws_iam_policy_document" "efs" {
  statement {
    sid       = "TasksThroughAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.storage.arn]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.task.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.storage.arn]
    }
  }
  statement {
    sid       = "DenyWithoutTLS"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.storage.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket" "storage" {
  #checkov:skip=CKV2_AWS_62:Nothing reacts to new objects: the API queues jobs itself after storing an input
  #checkov:skip=CKV_AWS_144:Recordings and results are working data with a retention period; versioning covers mistakes, a second region would double the cost
  bucket_prefix = "${var.name}-storage-"
  force_destroy = false
}

resource "aws_s3_bucket_logging" "storage" {
  bucket        = aws_s3_bucket.storage.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/storage/"
}

resource "aws_s3_bucket_public_access_block" "storage" {
  bucket                  = aws_s3_bucket.storage.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "storage" {
  bucket = aws_s3_bucket.storage.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "storage" {
  bucket = aws_s3_bucket.storage.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "storage" {
  bucket = aws_s3_bucket.storage.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "storage" {
  bucket = aws_s3_bucket.storage.id
  rule {
    id     = "tidy"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }
}

resource "aws_s3_bucket_policy" "storage" {
  bucket = aws_s3_bucket.storage.id
  policy = data.aws_iam_policy_document.storage_bucket.json
}

data "aws_iam_policy_document" "storage_bucket" {
  statement {
    sid       = "DenyWithoutTLS"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.storage.arn, "${aws_s3_bucket.storage.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
