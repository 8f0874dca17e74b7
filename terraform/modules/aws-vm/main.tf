# One Debian 12 VM for the whole platform: encrypted disks, a separate data
# volume that outlives the instance, an Elastic IP, and a firewall that opens
# only 22/80/443 to the CIDRs the user names.

locals {
  tags         = merge({ Name = var.name, Project = "mlops-vm", ManagedBy = "terraform" }, var.tags)
  subnet_id    = var.subnet_id != "" ? var.subnet_id : data.aws_subnets.default[0].ids[0]
  kms_key_id   = var.kms_key_id != "" ? var.kms_key_id : null
  web_ports    = [80, 443]
  admin_access = { for pair in setproduct(var.allowed_cidrs, concat([22], local.web_ports)) : "${pair[0]}:${pair[1]}" => { cidr = pair[0], port = pair[1] } }
  web_access   = { for pair in setproduct(var.public_web_cidrs, local.web_ports) : "${pair[0]}:${pair[1]}" => { cidr = pair[0], port = pair[1] } }
  ingress      = merge(local.admin_access, local.web_access)
}

# Debian's official AMIs (account 136693429031, documented on wiki.debian.org/Cloud/AmazonEC2Image)
data "aws_ami" "debian12" {
  most_recent = true
  owners      = ["136693429031"]

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

data "aws_vpc" "default" {
  count   = var.subnet_id == "" ? 1 : 0
  default = true
}

data "aws_subnets" "default" {
  count = var.subnet_id == "" ? 1 : 0
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default[0].id]
  }
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

data "aws_subnet" "selected" {
  id = local.subnet_id
}

resource "aws_key_pair" "admin" {
  key_name_prefix = "${var.name}-"
  public_key      = var.ssh_public_key
  tags            = local.tags
}

resource "aws_security_group" "vm" {
  name_prefix = "${var.name}-"
  description = "mlops-vm: SSH and HTTPS from allowed CIDRs only"
  vpc_id      = data.aws_subnet.selected.vpc_id
  tags        = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "allowed" {
  for_each          = local.ingress
  security_group_id = aws_security_group.vm.id
  description       = each.value.port == 22 ? "SSH for Ansible" : "nginx (TLS entry point; 80 redirects to 443)"
  cidr_ipv4         = can(cidrnetmask(each.value.cidr)) ? each.value.cidr : null
  cidr_ipv6         = can(cidrnetmask(each.value.cidr)) ? null : each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "all" {
  #checkov:skip=CKV_AWS_382:outbound to package mirrors, PyPI and ACME is required; inbound is what is restricted
  security_group_id = aws_security_group.vm.id
  description       = "Package mirrors, PyPI, ACME (Let's Encrypt)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  tags              = local.tags
}

resource "aws_instance" "vm" {
  #checkov:skip=CKV2_AWS_41:the platform calls no AWS API; an instance role would only widen what a compromised host could do
  ami                    = data.aws_ami.debian12.id
  instance_type          = var.instance_type
  subnet_id              = local.subnet_id
  vpc_security_group_ids = [aws_security_group.vm.id]
  key_name               = aws_key_pair.admin.key_name
  monitoring             = true
  ebs_optimized          = true
  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    volume_id = aws_ebs_volume.data.id
    data_dir  = var.data_dir
  })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_gb
    encrypted             = true
    kms_key_id            = local.kms_key_id
    delete_on_termination = true
    tags                  = local.tags
  }

  tags = local.tags

  lifecycle {
    # a newer Debian AMI must not replace a running platform; rebuild deliberately
    ignore_changes = [ami, user_data]
  }
}

resource "aws_ebs_volume" "data" {
  availability_zone = data.aws_subnet.selected.availability_zone
  size              = var.data_volume_gb
  type              = "gp3"
  encrypted         = true
  kms_key_id        = local.kms_key_id
  tags              = merge(local.tags, { Name = "${var.name}-data" })
}

resource "aws_volume_attachment" "data" {
  device_name                    = "/dev/sdf"
  volume_id                      = aws_ebs_volume.data.id
  instance_id                    = aws_instance.vm.id
  stop_instance_before_detaching = true
}

resource "aws_eip" "vm" {
  domain   = "vpc"
  instance = aws_instance.vm.id
  tags     = local.tags
}
