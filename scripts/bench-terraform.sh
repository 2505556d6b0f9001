#!/usr/bin/env bash
# Comparison with Terraform, where it can run here: Terraform with the hashicorp/aws
# provider from a local filesystem mirror (no registry download is possible from this
# machine). Looks for `terraform` on PATH and the provider under TF_PLUGIN_MIRROR (default
# /opt/tf-plugins); skips with a note when either is missing. Applies the network part of
# stack.toml.example (VPC, 4 subnets, IGW, EIP, NAT, 2 route tables with routes and 4
# associations, 2 security groups with inline rules) through the same fault proxy
# (LATENCY, default 100ms): apply, a no-op plan (refresh), destroy. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY_MS=${LATENCY_MS:-100}
TF_PLUGIN_MIRROR=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}
TF_AWS_VERSION=${TF_AWS_VERSION:-$(ls "$TF_PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws" 2>/dev/null | sort -V | tail -1)}
echo "### Terraform on the same emulator and proxy"
echo
if ! command -v terraform >/dev/null || [ -z "$TF_AWS_VERSION" ]; then
  echo "Skipped: Terraform is not installed (it is in none of the allowed registries: PyPI, npm, Debian) or the hashicorp/aws provider is not in $TF_PLUGIN_MIRROR."
  exit 0
fi
. scripts/bench-lib.sh
TF=$BENCH_WORK/tf
mkdir -p "$TF"
cat >"$TF/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$TF_PLUGIN_MIRROR"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
RC
export TF_CLI_CONFIG_FILE=$TF/terraformrc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
sed "s/@VERSION@/$TF_AWS_VERSION/" >"$TF/main.tf" <<'HCL'
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "@VERSION@" }
  }
}
variable "endpoint" { type = string }
provider "aws" {
  region                      = "eu-west-2"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2 = var.endpoint
    sts = var.endpoint
  }
}
locals {
  azs     = ["eu-west-2a", "eu-west-2b"]
  public  = ["10.0.0.0/24", "10.0.1.0/24"]
  private = ["10.0.128.0/24", "10.0.129.0/24"]
  tags    = { Environment = "dev", "ecsctl:stack" = "tfbench" }
}
resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = "tfbench" })
}
resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
  tags   = merge(local.tags, { Name = "tfbench" })
}
resource "aws_subnet" "public" {
  count                   = 2
  vpc_id                  = aws_vpc.main.id
  cidr_block              = local.public[count.index]
  availability_zone       = local.azs[count.index]
  map_public_ip_on_launch = true
  tags                    = merge(local.tags, { Name = "tfbench-public-${count.index}" })
}
resource "aws_subnet" "private" {
  count             = 2
  vpc_id            = aws_vpc.main.id
  cidr_block        = local.private[count.index]
  availability_zone = local.azs[count.index]
  tags              = merge(local.tags, { Name = "tfbench-private-${count.index}" })
}
resource "aws_eip" "nat" {
  domain = "vpc"
  tags   = merge(local.tags, { Name = "tfbench-nat" })
}
resource "aws_nat_gateway" "main" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public[0].id
  tags          = merge(local.tags, { Name = "tfbench" })
  depends_on    = [aws_internet_gateway.main]
}
resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
  tags = merge(local.tags, { Name = "tfbench-public" })
}
resource "aws_route_table_association" "public" {
  count          = 2
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.main.id
  }
  tags = merge(local.tags, { Name = "tfbench-private" })
}
resource "aws_route_table_association" "private" {
  count          = 2
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}
resource "aws_security_group" "alb" {
  name        = "tfbench-alb"
  description = "load balancer"
  vpc_id      = aws_vpc.main.id
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = merge(local.tags, { Name = "tfbench-alb" })
}
resource "aws_security_group" "instances" {
  name        = "tfbench-instances"
  description = "container instances"
  vpc_id      = aws_vpc.main.id
  ingress {
    from_port       = 32768
    to_port         = 65535
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = merge(local.tags, { Name = "tfbench-instances" })
}
HCL
tf() { terraform -chdir="$TF" "$@" -input=false -no-color; }
tf init >"$BENCH_WORK/tf-init.log" 2>&1 || { echo "terraform init failed:"; sed 's/^/    /' "$BENCH_WORK/tf-init.log"; exit 0; }
timed() { # timed NAME CMD...
  local name=$1; shift; local t0; t0=$(now_ms)
  if ! "$@" >"$BENCH_WORK/$name.log" 2>&1; then echo "terraform $name failed:" >&2; tail -30 "$BENCH_WORK/$name.log" >&2; exit 1; fi
  echo $(( $(now_ms) - t0 )) >"$BENCH_WORK/$name.ms"
}
start_proxy 0ms
# Warm-up (moto's first calls are slow), not measured.
timed warm-apply tf apply -auto-approve -var "endpoint=$PROXY_URL"
timed warm-destroy tf destroy -auto-approve -var "endpoint=$PROXY_URL"
start_proxy "${LATENCY_MS}ms"
row() { # row NAME: wall, calls
  proxy_stats "$BENCH_WORK/$1.json"
  echo "| terraform $2 | $(awk -v m="$(cat "$BENCH_WORK/$1.ms")" 'BEGIN{printf "%.2f s", m/1000}') | $(stats_total "$BENCH_WORK/$1.json") | $(awk -v c="$(stats_total "$BENCH_WORK/$1.json")" 'BEGIN{printf "%.2f", c/16}') |"
}
echo "Terraform $(terraform version | sed -n 's/^Terraform v//p' | head -1), hashicorp/aws $TF_AWS_VERSION, 16 resources, parallelism 10 (its default), ${LATENCY_MS} ms added to every call:"
echo
echo "| run | wall time | calls | calls per resource |"
echo "|---|---:|---:|---:|"
proxy_reset; timed apply tf apply -auto-approve -var "endpoint=$PROXY_URL"; row apply "apply -auto-approve"
proxy_reset; timed plan tf plan -detailed-exitcode -var "endpoint=$PROXY_URL" || true; row plan "plan (no changes: refresh)"
proxy_reset; timed destroy tf destroy -auto-approve -var "endpoint=$PROXY_URL"; row destroy "destroy -auto-approve"
echo
echo "Slowest resources of the apply (Terraform's own timings):"
echo
grep -E "Creation complete after [0-9]+s" "$BENCH_WORK/apply.log" | sort -t' ' -k5 -rn | awk '{ $1=$1; print "    " $0 }' | sort -k5 -rn | head -5
echo
echo "#### Terraform calls by action: apply"
echo
stats_table "$BENCH_WORK/apply.json"
echo
echo "#### Terraform calls by action: no-op plan"
echo
stats_table "$BENCH_WORK/plan.json"
echo
