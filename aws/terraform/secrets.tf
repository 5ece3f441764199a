# Connection URLs (with their passwords) and the Flower login, handed to tasks as secrets:
# they never appear in a task definition, only their ARNs do.
resource "aws_secretsmanager_secret" "database_url" {
  #checkov:skip=CKV2_AWS_57:Holds a URL whose password Terraform also sets on the server; rotate both together by replacing the random_password and applying (docs/deploy-aws.md)
  name_prefix = "${var.name}/database-url-"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgresql://scribe:${random_password.db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/scribe?sslmode=require"
}

resource "aws_secretsmanager_secret" "redis_url" {
  #checkov:skip=CKV2_AWS_57:Holds a URL whose password Terraform also sets on the server; rotate both together by replacing the random_password and applying (docs/deploy-aws.md)
  name_prefix = "${var.name}/redis-url-"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:6379/0?ssl_cert_reqs=required"
}

resource "random_password" "flower" {
  length  = 24
  special = false
}

resource "aws_secretsmanager_secret" "flower_basic_auth" {
  #checkov:skip=CKV2_AWS_57:Holds a URL whose password Terraform also sets on the server; rotate both together by replacing the random_password and applying (docs/deploy-aws.md)
  name_prefix = "${var.name}/flower-basic-auth-"
  kms_key_id  = aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret_version" "flower_basic_auth" {
  secret_id     = aws_secretsmanager_secret.flower_basic_auth.id
  secret_string = "admin:${random_password.flower.result}"
}
