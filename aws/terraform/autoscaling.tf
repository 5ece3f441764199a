# Scaling.
#
# Transcription workers follow the queue. The scheduler task publishes, every 30 s, the
# transcribe queue's QueueWaiting (messages nobody took yet) and QueueBacklog (waiting plus
# running) to CloudWatch (workers/queue_metrics.py). While jobs wait, workers are added in steps
# (ECS then starts GPU instances through the capacity provider). Workers are removed only when
# nothing has waited or run for scale_in_idle_minutes, down to gpu_workers_min (0 = scale to
# zero), so a scale-in never cuts a running job short: ECS stops a task within 120 s, far less
# than a long transcription.
locals {
  transcribe_metric_dimensions = {
    Deployment = var.name
    Queue      = "transcribe"
  }
  transcribe_resource_id = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker_transcribe.name}"
}

resource "aws_appautoscaling_target" "transcribe" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = local.transcribe_resource_id
  min_capacity       = var.gpu_workers_min
  max_capacity       = var.gpu_workers_max
}

resource "aws_appautoscaling_policy" "transcribe_out" {
  name               = "${var.name}-transcribe-out"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.transcribe.service_namespace
  scalable_dimension = aws_appautoscaling_target.transcribe.scalable_dimension
  resource_id        = aws_appautoscaling_target.transcribe.resource_id
  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    metric_aggregation_type = "Maximum"
    cooldown                = 300 # a new GPU instance needs a few minutes before it takes jobs
    # Bounds are relative to the alarm threshold (1 waiting job).
    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = 4
      scaling_adjustment          = 1
    }
    step_adjustment {
      metric_interval_lower_bound = 4
      metric_interval_upper_bound = 9
      scaling_adjustment          = 2
    }
    step_adjustment {
      metric_interval_lower_bound = 9
      scaling_adjustment          = 4
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "transcribe_waiting" {
  alarm_name          = "${var.name}-transcribe-jobs-waiting"
  alarm_description   = "Transcription jobs wait for a worker: add workers"
  namespace           = local.queue_metrics_namespace
  metric_name         = "QueueWaiting"
  dimensions          = local.transcribe_metric_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.transcribe_out.arn]
}

resource "aws_appautoscaling_policy" "transcribe_in" {
  name               = "${var.name}-transcribe-in"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.transcribe.service_namespace
  scalable_dimension = aws_appautoscaling_target.transcribe.scalable_dimension
  resource_id        = aws_appautoscaling_target.transcribe.resource_id
  step_scaling_policy_configuration {
    adjustment_type         = "ExactCapacity"
    metric_aggregation_type = "Maximum"
    cooldown                = 60
    step_adjustment {
      metric_interval_upper_bound = 0
      scaling_adjustment          = var.gpu_workers_min
    }
  }
}

# Missing samples count as "not idle": if the publisher stops, workers are kept, not cut.
resource "aws_cloudwatch_metric_alarm" "transcribe_idle" {
  alarm_name          = "${var.name}-transcribe-idle"
  alarm_description   = "No transcription job waiting or running: scale in to the minimum"
  namespace           = local.queue_metrics_namespace
  metric_name         = "QueueBacklog"
  dimensions          = local.transcribe_metric_dimensions
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = var.scale_in_idle_minutes
  datapoints_to_alarm = var.scale_in_idle_minutes
  threshold           = 0
  comparison_operator = "LessThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.transcribe_in.arn]
}

# The API follows its CPU.
resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
  min_capacity       = var.api_min_tasks
  max_capacity       = var.api_max_tasks
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${var.name}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension
  resource_id        = aws_appautoscaling_target.api.resource_id
  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
