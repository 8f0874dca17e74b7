variable "region" {
  description = "AWS region, e.g. eu-central-1."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1 or us-east-1."
  }
}

variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "mlops-vm"
}

variable "instance_type" {
  description = "EC2 instance type (8 GB memory or more; see the module's description)."
  type        = string
  default     = "m7i.large"
}

variable "root_volume_gb" {
  description = "Root disk size in GB."
  type        = number
  default     = 30
}

variable "data_volume_gb" {
  description = "Data volume size in GB (databases, artifacts, logs)."
  type        = number
  default     = 50
}

variable "allowed_cidrs" {
  description = "CIDR blocks allowed to reach 22, 80 and 443 (required, e.g. [\"198.51.100.7/32\"])."
  type        = list(string)
}

variable "public_web_cidrs" {
  description = "Extra CIDR blocks allowed to reach only 80 and 443."
  type        = list(string)
  default     = []
}

variable "ssh_public_key_file" {
  description = "Path of your SSH public key on this machine."
  type        = string
  default     = "~/.ssh/id_ed25519.pub"

  validation {
    condition     = endswith(var.ssh_public_key_file, ".pub")
    error_message = "ssh_public_key_file must be the public key (a .pub file); the private key stays with you."
  }
}

variable "public_hostname" {
  description = "DNS name you point at the Elastic IP (for TLS and MLflow's allowed hosts); empty = the Elastic IP."
  type        = string
  default     = ""
}

variable "inventory_path" {
  description = "Where the Ansible inventory is written; the default is where site.yml looks."
  type        = string
  default     = "../../../ansible/inventory/hosts.yml"
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
