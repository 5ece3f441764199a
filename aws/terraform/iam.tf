# Roles: the ECS agent's (pull images, read secrets), the tasks' (one per kind: storage, metrics),
# the GPU instances', and the service roles for flow logs and RDS monitoring. Each gets only its own.
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name_prefix        = "${var.name}-exec-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.database_url.arn,
      aws_secretsmanager_secret.redis_url.arn,
      aws_secretsmanager_secret.flower_basic_auth.arn,
    ]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

# One role per kind of task, each with only what it uses:
#   api        the bucket (uploads, presigned PUT and GET URLs it signs, deletes) and its key
#   worker     the bucket and its key (both workers read inputs and write results)
#   scheduler  CloudWatch PutMetricData for the queue-depth publisher (beat needs nothing)
#   migrate    nothing (migrations, one-off `scribe keys` commands)
#   flower     nothing but ECS Exec (port forwarding), when Flower runs
# A presigned URL carries the signer's permissions, so clients' direct uploads and downloads are
# authorised as the API role: it needs s3:PutObject and s3:GetObject, and kms:GenerateDataKey /
# kms:Decrypt because the bucket encrypts with the stack's KMS key.
locals {
  task_roles = toset(["api", "worker", "scheduler", "migrate", "flower"])
}

resource "aws_iam_role" "task" {
  for_each           = local.task_roles
  name_prefix        = "${var.name}-${each.key}-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "storage" {
  for_each = toset(["api", "worker"])
  name     = "storage"
  role     = aws_iam_role.task[each.key].id
  policy   = data.aws_iam_policy_document.storage.json
}

data "aws_iam_policy_document" "storage" {
  # ListBucket makes a missing key a 404 (not a 403) and lets a job's prefix be deleted.
  statement {
    sid       = "StorageBucketList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.storage.arn]
  }
  statement {
    sid       = "StorageObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.storage.arn}/*"]
  }
  statement {
    sid       = "StorageKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "queue_metrics" {
  name   = "queue-metrics"
  role   = aws_iam_role.task["scheduler"].id
  policy = data.aws_iam_policy_document.queue_metrics.json
}

data "aws_iam_policy_document" "queue_metrics" {
  # PutMetricData has no resource-level permissions; the namespace condition narrows it.
  statement {
    sid       = "QueueDepthMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.queue_metrics_namespace]
    }
  }
}

# ECS Exec (port forwarding to Flower). Its channel actions have no resource-level permissions.
resource "aws_iam_role_policy" "task_exec" {
  count  = var.flower_enabled ? 1 : 0
  name   = "ecs-exec"
  role   = aws_iam_role.task["flower"].id
  policy = data.aws_iam_policy_document.task_exec.json
}

data "aws_iam_policy_document" "task_exec" {
  statement {
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "gpu_instance" {
  name_prefix        = "${var.name}-gpu-"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy_attachment" "gpu_instance" {
  for_each = toset([
    "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
  ])
  role       = aws_iam_role.gpu_instance.name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "gpu" {
  name_prefix = "${var.name}-gpu-"
  role        = aws_iam_role.gpu_instance.name
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name_prefix        = "${var.name}-flow-"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
    ]
    resources = [aws_cloudwatch_log_group.flow.arn, "${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name_prefix        = "${var.name}-rdsmon-"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
