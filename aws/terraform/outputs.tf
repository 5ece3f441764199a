output "api_url" {
  description = "Point your domain's DNS (CNAME/alias) here; the certificate must match it."
  value       = "https://${aws_lb.api.dns_name}"
}

output "public_base_url" {
  description = "PUBLIC_BASE_URL of every task: the start of the links in webhook payloads."
  value       = local.public_base_url
}

output "ecr_api_repository" {
  value = aws_ecr_repository.api.repository_url
}

output "ecr_worker_repository" {
  description = "Push the worker image's GPU target as TAG and its CPU target as TAG-cpu."
  value       = aws_ecr_repository.worker.repository_url
}

output "cluster" {
  value = aws_ecs_cluster.main.name
}

output "storage_bucket" {
  value = aws_s3_bucket.storage.bucket
}

output "flower_basic_auth_secret" {
  description = "Secrets Manager secret holding Flower's user:password."
  value       = aws_secretsmanager_secret.flower_basic_auth.name
}

output "migrate_command" {
  description = "Runs the migrations as a one-off task; do it before each rollout."
  value = join(" ", [
    "aws ecs run-task --region ${var.region} --cluster ${aws_ecs_cluster.main.name}",
    "--launch-type FARGATE --task-definition ${aws_ecs_task_definition.role["migrate"].family}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", aws_subnet.private[*].id)}],securityGroups=[${aws_security_group.app.id}],assignPublicIp=DISABLED}'",
  ])
}
