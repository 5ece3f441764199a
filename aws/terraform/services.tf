# Task definitions come from aws/ecs/*.json (the same files `make deploy-check` validates
# against the ECS API's own model); Terraform fills in their ${...} placeholders.
locals {
  queue_metrics_namespace = "ScribeRabbit"
  # Links in webhook payloads: your domain when set, else the load balancer's own name.
  public_base_url = var.public_base_url != "" ? trimsuffix(var.public_base_url, "/") : "https://${aws_lb.api.dns_name}"

  ecs_template_vars = {
    name                         = var.name
    region                       = var.region
    api_image                    = local.api_image
    worker_image                 = local.worker_image
    worker_image_cpu             = local.worker_image_cpu
    log_group                    = aws_cloudwatch_log_group.ecs.name
    execution_role_arn           = aws_iam_role.execution.arn
    api_task_role_arn            = aws_iam_role.task["api"].arn
    worker_task_role_arn         = aws_iam_role.task["worker"].arn
    scheduler_task_role_arn      = aws_iam_role.task["scheduler"].arn
    migrate_task_role_arn        = aws_iam_role.task["migrate"].arn
    flower_task_role_arn         = aws_iam_role.task["flower"].arn
    database_url_secret_arn      = aws_secretsmanager_secret.database_url.arn
    redis_url_secret_arn         = aws_secretsmanager_secret.redis_url.arn
    flower_basic_auth_secret_arn = aws_secretsmanager_secret.flower_basic_auth.arn
    storage_bucket               = aws_s3_bucket.storage.bucket
    public_base_url              = local.public_base_url
    asr_model                    = var.asr_model
    asr_models                   = var.asr_models
    diarization_model            = var.diarization_model
    allow_model_downloads        = tostring(var.allow_model_downloads)
    queue_metrics_namespace      = local.queue_metrics_namespace
    api_cpu                      = var.api_cpu
    api_memory                   = var.api_memory
    worker_default_cpu           = var.worker_default_cpu
    worker_default_memory        = var.worker_default_memory
    gpu_task_cpu                 = var.gpu_task_cpu
    gpu_task_memory              = var.gpu_task_memory
  }

  task_definitions = {
    for role in ["api", "migrate", "worker-default", "scheduler", "flower", "worker-transcribe"] :
    role => jsondecode(templatefile("${path.module}/../ecs/${role}.json", local.ecs_template_vars))
  }

  private_network = {
    subnets         = aws_subnet.private[*].id
    security_groups = [aws_security_group.app.id]
  }
}

resource "aws_ecs_task_definition" "role" {
  for_each                 = local.task_definitions
  family                   = each.value.family
  network_mode             = each.value.networkMode
  requires_compatibilities = each.value.requiresCompatibilities
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = each.value.executionRoleArn
  task_role_arn            = each.value.taskRoleArn
  container_definitions    = jsonencode(each.value.containerDefinitions)

  dynamic "runtime_platform" {
    for_each = can(each.value.runtimePlatform) ? [each.value.runtimePlatform] : []
    content {
      operating_system_family = runtime_platform.value.operatingSystemFamily
      cpu_architecture        = runtime_platform.value.cpuArchitecture
    }
  }

  # Task-local scratch volumes only (/tmp and DATA_DIR): recordings and results live in S3.
  dynamic "volume" {
    for_each = each.value.volumes
    content {
      name = volume.value.name
    }
  }
}

resource "aws_ecs_service" "api" {
  name                              = "api"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.role["api"].arn
  desired_count                     = var.api_min_tasks
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 120
  propagate_tags                    = "SERVICE"
  network_configuration {
    subnets          = local.private_network.subnets
    security_groups  = local.private_network.security_groups
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8000
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  lifecycle {
    ignore_changes = [desired_count] # the scaling policy owns it
  }
  depends_on = [aws_lb_listener.https]
}

# The default-queue worker (reconciler, retention, webhooks, enhancement) on Fargate, from the
# worker image's CPU target: the offline enhancement provider imports torch and spaCy.
resource "aws_ecs_service" "worker_default" {
  name            = "worker-default"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.role["worker-default"].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  network_configuration {
    subnets          = local.private_network.subnets
    security_groups  = local.private_network.security_groups
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

# Beat and the queue-depth publisher. Exactly one: a deployment stops the old task first.
resource "aws_ecs_service" "scheduler" {
  name                               = "scheduler"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.role["scheduler"].arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  propagate_tags                     = "SERVICE"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  network_configuration {
    subnets          = local.private_network.subnets
    security_groups  = local.private_network.security_groups
    assign_public_ip = false
  }
}

resource "aws_ecs_service" "flower" {
  name                   = "flower"
  cluster                = aws_ecs_cluster.main.id
  task_definition        = aws_ecs_task_definition.role["flower"].arn
  desired_count          = var.flower_enabled ? 1 : 0
  launch_type            = "FARGATE"
  propagate_tags         = "SERVICE"
  enable_execute_command = var.flower_enabled
  network_configuration {
    subnets          = local.private_network.subnets
    security_groups  = local.private_network.security_groups
    assign_public_ip = false
  }
}

# Transcription workers on the GPU capacity provider; the scaling policies own desired_count.
resource "aws_ecs_service" "worker_transcribe" {
  name            = "worker-transcribe"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.role["worker-transcribe"].arn
  desired_count   = var.gpu_workers_min
  propagate_tags  = "SERVICE"
  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.gpu.name
    weight            = 1
  }
  network_configuration {
    subnets          = local.private_network.subnets
    security_groups  = local.private_network.security_groups
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  lifecycle {
    ignore_changes = [desired_count]
  }
  depends_on = [aws_ecs_cluster_capacity_providers.main]
}
