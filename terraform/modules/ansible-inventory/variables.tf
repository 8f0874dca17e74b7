variable "host" {
  description = "Address Ansible connects to: the VM's public IP or DNS name."
  type        = string

  validation {
    condition     = length(trimspace(var.host)) > 0 && !can(regex("\\s", var.host))
    error_message = "host must be a non-empty IP address or DNS name without spaces."
  }
}

variable "ssh_user" {
  description = "SSH user with passwordless sudo on the host (admin on Debian's cloud images)."
  type        = string
  default     = "admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user))
    error_message = "ssh_user must be a valid Linux user name (lowercase letters, digits, _ and -)."
  }
}

variable "ssh_port" {
  description = "Port of the host's sshd (22 on Debian's cloud images)."
  type        = number
  default     = 22

  validation {
    condition     = var.ssh_port == floor(var.ssh_port) && var.ssh_port >= 1 && var.ssh_port <= 65535
    error_message = "ssh_port must be a whole number from 1 to 65535."
  }
}

variable "ssh_private_key_file" {
  description = "Path on the controller to the private key Ansible uses (e.g. ~/.ssh/id_ed25519)."
  type        = string

  validation {
    condition     = length(trimspace(var.ssh_private_key_file)) > 0 && !endswith(var.ssh_private_key_file, ".pub")
    error_message = "ssh_private_key_file must be the private key's path, not the .pub file."
  }
}

variable "public_hostname" {
  description = "Name users type in the browser: used for TLS certificates and MLflow's allowed hosts. Defaults to host."
  type        = string
  default     = ""

  validation {
    condition     = var.public_hostname == "" || can(regex("^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$", var.public_hostname))
    error_message = "public_hostname must be a DNS name or IPv4 address (letters, digits, dots and hyphens), without scheme or port."
  }
}

variable "data_dir" {
  description = "Absolute path of the data volume's mount point on the host; databases and artifacts live below it."
  type        = string
  default     = "/var/lib/mlops"

  validation {
    condition     = startswith(var.data_dir, "/") && !endswith(var.data_dir, "/") && !strcontains(var.data_dir, "..")
    error_message = "data_dir must be an absolute path without a trailing slash or '..', e.g. /var/lib/mlops."
  }
}

variable "group" {
  description = "Inventory group the host joins; site.yml targets this group."
  type        = string
  default     = "mlops"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]*$", var.group))
    error_message = "group must be a valid Ansible group name (lowercase letters, digits and _)."
  }
}
