# The ECS cluster: Fargate for the API and the light processes, an Auto Scaling group of GPU
# instances (a capacity provider that ECS grows and shrinks with the transcription tasks).
resource "aws_ecs_cluster" "main" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "ecs" {
  name              = "/${var.name}/ecs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_ssm_parameter" "gpu_ami" {
  name = var.gpu_ami_ssm_parameter
}

resource "aws_launch_template" "gpu" {
  name_prefix            = "${var.name}-gpu-"
  image_id               = data.aws_ssm_parameter.gpu_ami.value
  instance_type          = var.gpu_instance_type
  vpc_security_group_ids = [aws_security_group.app.id]
  iam_instance_profile {
    arn = aws_iam_instance_profile.gpu.arn
  }
  # IMDSv2 only, one hop: containers cannot borrow the instance's credentials.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  monitoring {
    enabled = true
  }
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = 100 # the worker image is about 10 GB, plus job scratch space
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }
  user_data = base64encode(<<-EOT
    #!/bin/bash
    cat >> /etc/ecs/ecs.config <<'CONFIG'
    ECS_CLUSTER=${aws_ecs_cluster.main.name}
    ECS_ENABLE_GPU_SUPPORT=true
    ECS_AWSVPC_BLOCK_IMDS=true
    ECS_IMAGE_PULL_BEHAVIOR=prefer-cached
    CONFIG
  EOT
  )
  tag_specifications {
    resource_type = "instance"
    tags = {
      Name = "${var.name}-gpu-worker"
    }
  }
}

resource "aws_autoscaling_group" "gpu" {
  name_prefix           = "${var.name}-gpu-"
  min_size              = 0
  max_size              = var.gpu_workers_max
  vpc_zone_identifier   = aws_subnet.private[*].id
  protect_from_scale_in = true # ECS decides which instance may go (managed termination protection)
  launch_template {
    id      = aws_launch_template.gpu.id
    version = "$Latest"
  }
  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }
  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "gpu" {
  name = "${var.name}-gpu"
  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.gpu.arn
    managed_termination_protection = "ENABLED"
    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 4
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", aws_ecs_capacity_provider.gpu.name]
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}
