variable "name" {
  description = "Name prefix of every resource (and the Name tag)."
  type        = string
  default     = "mlops-vm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "instance_type" {
  description = "EC2 instance type. The stack idles at about 3 GB RSS (MLflow, 4 Airflow components, 3 PostgreSQL clusters, model server, observability); training and DAG runs need headroom: 8 GB and 2 vCPUs (m7i.large / t3.large) is the sensible floor."
  type        = string
  default     = "m7i.large"

  validation {
    condition     = contains(["t3", "t3a", "m5", "m5a", "m6i", "m6a", "m7i", "m7a", "c6i", "c7i", "r6i", "r7i"], split(".", var.instance_type)[0]) && !contains(["nano", "micro", "small", "medium"], try(split(".", var.instance_type)[1], ""))
    error_message = "instance_type must be an x86_64 family among t3, t3a, m5, m5a, m6i, m6a, m7i, m7a, c6i, c7i, r6i, r7i, of size large or bigger (the stack needs at least 8 GB of memory), e.g. m7i.large."
  }
}

variable "root_volume_gb" {
  description = "Root disk (OS, venvs, packages): about 12 GB used after a converge."
  type        = number
  default     = 30

  validation {
    condition     = var.root_volume_gb >= 20 && var.root_volume_gb <= 1000
    error_message = "root_volume_gb must be between 20 and 1000 (the venvs and packages need about 12 GB)."
  }
}

variable "data_volume_gb" {
  description = "Separate encrypted data volume mounted at data_dir: PostgreSQL clusters, S3 artifacts, logs. It survives a rebuild of the VM."
  type        = number
  default     = 50

  validation {
    condition     = var.data_volume_gb >= 10 && var.data_volume_gb <= 16000
    error_message = "data_volume_gb must be between 10 and 16000."
  }
}

variable "data_dir" {
  description = "Where the data volume is mounted on the VM."
  type        = string
  default     = "/var/lib/mlops"

  validation {
    condition     = startswith(var.data_dir, "/") && !endswith(var.data_dir, "/")
    error_message = "data_dir must be an absolute path without a trailing slash."
  }
}

variable "allowed_cidrs" {
  description = "CIDR blocks allowed to reach SSH (22) and the web entry point (80, 443). Required: there is no open-to-the-world default. Use your office or VPN range, e.g. [\"198.51.100.0/24\"]."
  type        = list(string)

  validation {
    condition     = length(var.allowed_cidrs) > 0
    error_message = "allowed_cidrs must list at least one CIDR block, e.g. [\"198.51.100.7/32\"] for your own address."
  }
  validation {
    condition     = alltrue([for c in var.allowed_cidrs : can(cidrnetmask(c)) || can(cidrhost(c, 0))])
    error_message = "every entry of allowed_cidrs must be a CIDR block like 198.51.100.0/24 or 2001:db8::/32."
  }
  validation {
    condition     = !anytrue([for c in var.allowed_cidrs : contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "allowed_cidrs must not contain 0.0.0.0/0 or ::/0: SSH would be open to the internet. To publish the web UIs widely, use public_web_cidrs."
  }
}

variable "public_web_cidrs" {
  description = "Extra CIDR blocks allowed to reach only 80 and 443 (e.g. [\"0.0.0.0/0\"] to publish the UIs, which sit behind TLS and a login). Empty by default."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.public_web_cidrs : can(cidrnetmask(c)) || can(cidrhost(c, 0))])
    error_message = "every entry of public_web_cidrs must be a CIDR block like 0.0.0.0/0 or 203.0.113.0/24."
  }
}

variable "ssh_public_key" {
  description = "Public key (OpenSSH format) installed for the admin user, e.g. the content of ~/.ssh/id_ed25519.pub."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/=]+", var.ssh_public_key))
    error_message = "ssh_public_key must be an OpenSSH public key line (ssh-ed25519 AAAA...), not a path or a private key."
  }
}

variable "subnet_id" {
  description = "Subnet to launch in; empty = the default VPC's default subnet of the first availability zone."
  type        = string
  default     = ""
}

variable "kms_key_id" {
  description = "KMS key ARN for the volumes; empty = the account's AWS-managed EBS key (still encrypted)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
