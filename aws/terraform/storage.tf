# Where recordings and results live: the S3 bucket, used by the S3 storage backend
# (STORAGE_BACKEND=s3, STORAGE_BUCKET, S3_REGION in aws/ecs/*.json). The API and worker task roles
# may read and write it (iam.tf); clients upload and download directly with presigned URLs that
# the API signs. Traffic goes through the VPC's S3 gateway endpoint. Retention (RETENTION_DAYS)
# is the application's: beat's purge deletes a job's objects; the lifecycle rules below only
# tidy old versions and abandoned multipart uploads.

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

# Browsers may PUT direct uploads and GET download links from these origins (none by default:
# curl and server-side clients need no CORS).
resource "aws_s3_bucket_cors_configuration" "storage" {
  count  = length(var.storage_cors_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.storage.id
  cors_rule {
    allowed_methods = ["PUT", "GET"]
    allowed_origins = var.storage_cors_origins
    allowed_headers = ["Content-Type"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
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
