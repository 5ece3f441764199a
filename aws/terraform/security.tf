# Who may talk to whom: internet -> ALB (HTTPS only) -> API; API and workers -> database, Redis;
# S3 through the VPC's gateway endpoint. (Group descriptions cannot change without replacing the
# group, so "data" still mentions the EFS file system that earlier versions had.)
resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Scribe Rabbit load balancer"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks"
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
}

# Every Scribe Rabbit task (API, workers, beat, Flower) and the GPU instances.
resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "Scribe Rabbit tasks"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "API port from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 8000
  to_port                      = 8000
}

resource "aws_vpc_security_group_egress_rule" "app_out" {
  security_group_id = aws_security_group.app.id
  description       = "Database, Redis, EFS, AWS APIs, image pulls, URL inputs and webhooks to any client endpoint"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_security_group" "data" {
  name        = "${var.name}-data"
  description = "PostgreSQL, Redis and EFS, reachable from Scribe Rabbit tasks only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "data_from_app" {
  for_each = {
    postgres = 5432
    redis    = 6379
  }
  security_group_id            = aws_security_group.data.id
  description                  = "${each.key} from Scribe Rabbit tasks"
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}
