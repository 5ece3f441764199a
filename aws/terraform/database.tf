# PostgreSQL: the job database (the truth). Private, encrypted, TLS required, backed up.
resource "random_password" "db" {
  length  = 32
  special = false # it goes into a URL unescaped
}

resource "aws_db_subnet_group" "main" {
  name       = var.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name   = "${var.name}-postgres17"
  family = "postgres17"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
}

resource "aws_db_instance" "main" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is the db_multi_az variable: off in the small setup (half the cost), on in the production setup of docs/deploy-aws.md
  #checkov:skip=CKV_AWS_353:Performance Insights is a variable (db_performance_insights), off by default because the smallest burstable classes do not offer it
  identifier                          = var.name
  engine                              = "postgres"
  engine_version                      = "17"
  instance_class                      = var.db_instance_class
  allocated_storage                   = var.db_allocated_storage
  max_allocated_storage               = var.db_allocated_storage * 4
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.main.arn
  db_name                             = "scribe"
  username                            = "scribe"
  password                            = random_password.db.result
  port                                = 5432
  db_subnet_group_name                = aws_db_subnet_group.main.name
  parameter_group_name                = aws_db_parameter_group.main.name
  vpc_security_group_ids              = [aws_security_group.data.id]
  publicly_accessible                 = false
  multi_az                            = var.db_multi_az
  backup_retention_period             = 7
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  monitoring_interval                 = 60
  monitoring_role_arn                 = aws_iam_role.rds_monitoring.arn
  performance_insights_enabled        = var.db_performance_insights
  performance_insights_kms_key_id     = var.db_performance_insights ? aws_kms_key.main.arn : null
}
